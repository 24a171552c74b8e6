"""The IdP match (`filter=userName eq "…"`, first page) is planned once per connection on
Postgres, not on every request: a prepared statement with an OFFSET parameter is re-planned
on each run (PostgreSQL 15: several times the CPU of the lookup itself), so a first page has
no OFFSET."""

from __future__ import annotations

import pytest

from app.provisioning.search import compile_query
from app.scim.listing import PageLimits, RawListQuery, bind_query
from app.scim.schemas import USER_RESOURCE
from storage.sql_fields import USERS

RUNS = 10


async def plans(stores) -> tuple[int, int]:
    query = bind_query(
        RawListQuery(filter='userName eq "nobody@example.com"'),
        USER_RESOURCE,
        PageLimits(100, 1000),
    )
    compiled = compile_query(stores, USER_RESOURCE, USERS, query)
    for _ in range(RUNS):
        page = await stores.users.search_with_groups(compiled)
        assert page.items == []
    row = await stores.conn.fetchrow(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
        " WHERE statement LIKE '%FROM users u WHERE%LIMIT%' AND statement NOT LIKE '%pg_prepared%'"
    )
    return row["generic_plans"], row["custom_plans"]


async def test_a_first_page_keeps_its_generic_plan(server, backend):
    if backend != "postgres":
        pytest.skip("prepared-statement plans are Postgres'")
    async with server.services.repo.reader() as stores:  # one connection: its statements
        generic, custom = await plans(stores)
    assert custom <= 5 and generic >= RUNS - 5, (generic, custom)

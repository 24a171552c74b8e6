"""Creating a user: what it writes and in how many statements, on both backends.

A create writes the user, their e-mails and its audit event together: one statement on
Postgres (no BEGIN/COMMIT round trips either), one transaction of three short in-loop
statements on SQLite. Each create is all-or-nothing, and none is answered before it is
committed.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.support.provisioning_data import unique
from tests.support.scim_data import USER_URN, assert_scim_error
from tests.support.statement_counter import StatementCounter, touching, without_authentication


@pytest.fixture(scope="module")
def statements(server):
    counter = StatementCounter().install(server.services.db)
    yield counter
    counter.uninstall()


def body(user_name: str, *emails: dict) -> dict:
    return {"schemas": [USER_URN], "userName": user_name, "emails": list(emails)}


async def email_rows(server, user_id: str) -> list[tuple]:
    async with server.services.repo.reader() as stores:
        rows = await stores.conn.fetch(
            "SELECT position, value, value_lower, type, display, is_primary FROM user_emails"
            " WHERE user_id = ? ORDER BY position",
            user_id,
        )
    return [(r[0], r[1], r[2], r[3], r[4], None if r[5] is None else bool(r[5])) for r in rows]


async def create_events(server, user_id: str) -> list[str]:
    page = await server.services.audit.page(target_id=user_id)
    return [event.action for event in page.items]


async def test_a_create_is_one_statement_on_postgres(scim, statements, backend):
    name = unique("one-statement") + "@example.com"
    with statements.counting() as executed:
        created = await scim.post("/Users", body(name, {"value": name, "primary": True}))
    assert created.status == 201, created
    work = without_authentication(executed)
    assert {s.scope.split("-")[0] for s in work} == {"tx"}, work
    written = [touching(work, f"INSERT INTO {table}") for table in ("users", "user_emails")]
    written.append(touching(work, "INSERT INTO audit_events"))
    assert all(len(found) == 1 for found in written), work
    assert len(work) == (1 if backend == "postgres" else 3), work


async def test_every_email_is_stored_as_sent_one_or_many(scim, server):
    """One e-mail goes as VALUES, several as one JSON parameter (Postgres): the same rows."""
    name = unique("mails") + "@example.com"
    many = [
        {"value": name.upper(), "type": "work", "primary": True},
        {"value": "Home-" + name, "type": "home", "display": "At home"},
        {"value": "o'brien\"quoted\\" + name, "primary": False},
        {"type": "other"},
    ]
    created = await scim.post("/Users", body(name, *many))
    assert created.status == 201, created
    assert await email_rows(server, created.json["id"]) == [
        (0, name.upper(), name.lower(), "work", None, True),
        (1, "Home-" + name, "home-" + name.lower(), "home", "At home", None),
        (2, "o'brien\"quoted\\" + name, "o'brien\"quoted\\" + name.lower(), None, None, False),
        (3, None, None, "other", None, None),
    ]
    found = await scim.get("/Users", params={"filter": f'emails.value eq "home-{name}"'})
    assert [u["id"] for u in found.json["Resources"]] == [created.json["id"]]
    assert await create_events(server, created.json["id"]) == ["user.create"]

    single = await scim.post("/Users", body("1" + name, {"value": "1" + name}))
    assert await email_rows(server, single.json["id"]) == [
        (0, "1" + name, "1" + name.lower(), None, None, None)
    ]
    none = await scim.post("/Users", body("2" + name))
    assert await email_rows(server, none.json["id"]) == []
    assert await create_events(server, none.json["id"]) == ["user.create"]


async def test_a_conflicting_create_writes_nothing(scim, server):
    name = unique("taken") + "@example.com"
    first = await scim.post("/Users", body(name, {"value": name}))
    assert first.status == 201, first
    again = await scim.post("/Users", body(name.upper(), {"value": "again-" + name}))
    assert_scim_error(again, 409, "uniqueness")
    async with server.services.repo.reader() as stores:
        stray = await stores.conn.fetchval(
            "SELECT count(*) FROM user_emails WHERE value_lower = ?", "again-" + name
        )
        events = await stores.conn.fetchval(
            "SELECT count(*) FROM audit_events WHERE action = 'user.create' AND target_id = ?",
            first.json["id"],
        )
        total_events = await stores.conn.fetchval(
            "SELECT count(*) FROM audit_events WHERE action = 'user.create'"
        )
        users = await stores.conn.fetchval("SELECT count(*) FROM users")
    assert stray == 0
    assert events == 1
    assert total_events == users  # no audit event without its user


async def test_concurrent_creates_each_commit_or_conflict_on_their_own(scim, server):
    """Creates arriving together: the ones that clash get 409 and leave nothing behind, every
    other one is committed before it is answered."""
    taken = unique("contested") + "@example.com"
    names = [unique(f"together-{n}") + "@example.com" for n in range(30)]
    bodies = [body(name, {"value": name}) for name in names]
    bodies += [body(taken, {"value": f"clash-{n}-{taken}"}) for n in range(10)]

    async def create_then_read(payload: dict):
        response = await scim.post("/Users", payload)
        if response.status != 201:
            return response, None
        return response, await scim.get(f"/Users/{response.json['id']}")

    answers = await asyncio.gather(*(create_then_read(b) for b in bodies))
    statuses = [response.status for response, _ in answers]
    assert statuses[:30] == [201] * 30, statuses
    assert sorted(statuses[30:]) == [201] + [409] * 9, statuses
    for response, read in answers:
        if response.status == 201:
            assert read.status == 200, read  # committed before the 201 went out
            assert await create_events(server, response.json["id"]) == ["user.create"]
        else:
            assert_scim_error(response, 409, "uniqueness")
    found = await scim.get("/Users", params={"filter": f'userName eq "{taken}"'})
    assert found.json["totalResults"] == 1
    async with server.services.repo.reader() as stores:
        clashes = await stores.conn.fetchval(
            "SELECT count(*) FROM user_emails WHERE value_lower LIKE ?", f"clash-%-{taken}"
        )
    assert clashes == 1

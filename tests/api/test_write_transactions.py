"""Write transactions under concurrency, through the live server's own repository.

Each is all-or-nothing on its own and committed once its block is left, however many run
at once; on Postgres a one-statement transaction runs without BEGIN/COMMIT and refuses a
second statement. Real databases, no mocks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from storage.records import UserRecord


class Refused(Exception):
    pass


def record(label: str) -> UserRecord:
    now = dt.datetime.now(dt.UTC)
    name = f"{label}-{uuid.uuid4().hex[:10]}@example.com"
    return UserRecord(
        id=str(uuid.uuid4()),
        user_name=name,
        external_id=None,
        display_name=None,
        active=True,
        doc={"userName": name, "active": True},
        version=1,
        created_at=now,
        updated_at=now,
    )


async def stored(repo, user_id: str) -> bool:
    async with repo.quick_reader() as stores:
        return await stores.users.get(user_id) is not None


async def test_a_failed_write_among_concurrent_ones_takes_only_its_own_rows(server):
    repo = server.services.repo
    users = [record(f"together-{n}") for n in range(40)]

    async def write(n: int) -> bool:
        async with repo.transaction() as stores:
            await stores.users.insert(users[n], [{"value": users[n].user_name}])
            if n % 5 == 0:
                raise Refused(n)
        return await stored(repo, users[n].id)  # left the block: committed, seen elsewhere

    outcomes = await asyncio.gather(*(write(n) for n in range(40)), return_exceptions=True)
    for n, outcome in enumerate(outcomes):
        if n % 5 == 0:
            assert isinstance(outcome, Refused), outcome
            assert not await stored(repo, users[n].id)
        else:
            assert outcome is True, (n, outcome)


async def test_a_one_statement_transaction_refuses_a_second_statement_on_postgres(server, backend):
    repo = server.services.repo
    first, second = record("first"), record("second")
    if backend == "sqlite":  # an ordinary transaction there: both statements, all or nothing
        async with repo.transaction(one_statement=True) as stores:
            await stores.users.insert(first, [])
            await stores.users.insert(second, [])
        assert await stored(repo, first.id) and await stored(repo, second.id)
        return
    with pytest.raises(RuntimeError, match="second statement"):
        async with repo.transaction(one_statement=True) as stores:
            await stores.users.insert(first, [])
            await stores.users.insert(second, [])
    assert await stored(repo, first.id)  # committed as it ran
    assert not await stored(repo, second.id)

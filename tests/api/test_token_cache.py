"""The SCIM-token cache (app.provisioning.token_cache): a known token costs no token read, and
the cache is trusted only while revocations reach it (Postgres LISTEN/NOTIFY, SQLite's signal
file). Revoked and expired tokens are refused by the very next request either way."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import asyncpg
import pytest

from app.provisioning.common import Actor, new_id, utcnow
from app.provisioning.secrets import SCIM_TOKEN_PREFIX, hash_secret, new_secret
from app.provisioning.services import open_services
from storage.records import ScimTokenRecord
from tests.support.statement_counter import StatementCounter

TESTS = Actor("cli", None, "tests")


@pytest.fixture(scope="module")
def statements(server):
    counter = StatementCounter().install(server.services.db)
    yield counter
    counter.uninstall()


def token_reads(executed: list[str]) -> list[str]:
    return [sql for sql in executed if "FROM scim_tokens" in sql]


async def reads_per_request(scim, statements) -> int:
    for _ in range(2):  # the first use records `last used`
        await scim.get("/ServiceProviderConfig")
    with statements.counting() as executed:
        assert (await scim.get("/ServiceProviderConfig")).status == 200
    return len(token_reads(executed))


async def test_a_known_token_costs_no_token_read(scim, statements):
    assert await reads_per_request(scim, statements) == 0


async def test_other_writes_leave_the_cache_trusted(scim, statements):
    """Only a revocation distrusts the cache: an IdP's sync (a commit on every request) keeps
    costing no token read."""
    await reads_per_request(scim, statements)
    with statements.counting() as executed:
        created = await scim.post("/Users", {"userName": f"cache-{new_id()}@example.com"})
        assert created.status == 201
        assert (await scim.get("/ServiceProviderConfig")).status == 200
    assert token_reads(executed) == []


async def test_a_token_revoked_by_another_process_is_refused_by_the_next_request(server, scim):
    """Another process: its own services (own cache, own connections) on the same database.
    SQLite sees the announcement in its signal file; Postgres the NOTIFY that the
    revocation's commit delivers."""
    token = await server.new_scim_token("revoked-elsewhere")
    client = scim.with_token(token)
    assert (await client.get("/ServiceProviderConfig")).status == 200
    assert (await client.get("/ServiceProviderConfig")).status == 200  # served from the cache
    other = await open_services(server.settings)
    try:
        token_id = next(
            t.id for t in await other.scim_tokens.list() if t.name == "revoked-elsewhere"
        )
        assert await other.scim_tokens.revoke(token_id, TESTS)
    finally:
        await other.db.close()
    assert (await client.get("/ServiceProviderConfig")).status == 401


async def test_a_token_revoked_here_is_refused_by_the_next_request(server, scim):
    token = await server.new_scim_token("revoke-me")
    client = scim.with_token(token)
    assert (await client.get("/ServiceProviderConfig")).status == 200
    token_id = next(t.id for t in await server.services.scim_tokens.list() if t.name == "revoke-me")
    assert await server.services.scim_tokens.revoke(token_id, TESTS)
    assert (await client.get("/ServiceProviderConfig")).status == 401


async def test_an_expired_token_is_refused_by_the_first_request_after_expiry(server, scim):
    secret = new_secret(SCIM_TOKEN_PREFIX)
    now = utcnow()
    record = ScimTokenRecord(
        new_id(), "short-lived", now, "tests", None, now + dt.timedelta(seconds=1), None
    )
    async with server.services.repo.transaction() as stores:
        await stores.scim_tokens.insert(record, hash_secret(secret))
    client = scim.with_token(secret)
    assert (await client.get("/ServiceProviderConfig")).status == 200  # and cached on Postgres
    while utcnow() <= record.expires_at:
        await asyncio.sleep(0.05)
    assert (await client.get("/ServiceProviderConfig")).status == 401


async def test_without_its_feed_the_cache_is_not_trusted(server, scim, statements, backend):
    if backend != "postgres":
        pytest.skip("only Postgres has a notification feed (and so a cache)")
    url = server.settings.database_url
    conn = await asyncpg.connect(url)
    try:
        killed = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        )
    finally:
        await conn.close()
    assert killed == 1
    with statements.counting() as executed:
        assert (await scim.get("/ServiceProviderConfig")).status == 200
    assert len(token_reads(executed)) == 1, "no cache while notifications may be missed"
    deadline = time.monotonic() + 10
    while await reads_per_request(scim, statements) != 0:  # the feed reconnects by itself
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)

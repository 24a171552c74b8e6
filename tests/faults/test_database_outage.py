"""Database outages on Postgres: the server answers 503 (SCIM error, Retry-After) instead of
500 or hanging, says so on /health, and recovers by itself, losing no acknowledged write.

"Down" is made with a TCP proxy in front of the shared Postgres (tests/support/tcp_proxy.py),
and connection loss with pg_terminate_backend on the test database's own connections; the
shared server itself is never stopped.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp
import asyncpg
import pytest

from tests.support.databases import create_postgres_database, drop_postgres_database
from tests.support.server import Client, LiveServer
from tests.support.tcp_proxy import TcpProxy

DB_TIMEOUT = 1.0
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture(scope="module")
async def database_url():
    url = await create_postgres_database()
    yield url
    await drop_postgres_database(url)


@pytest.fixture(scope="module")
async def proxy():
    proxy = await TcpProxy("127.0.0.1", 5432).start()
    yield proxy
    await proxy.close()


@pytest.fixture(scope="module")
async def proxied(database_url, proxy):
    """A server whose only way to the database is the proxy."""
    live = await LiveServer(proxy.url_for(database_url), db_timeout_seconds=DB_TIMEOUT).start()
    yield live
    proxy.forward()
    await live.stop()


class Ledger:
    """What the server acknowledged (2xx) and everything else it answered."""

    def __init__(self):
        self.created: dict[str, str] = {}  # user id -> userName
        self.titles: dict[str, str] = {}  # user id -> last acknowledged title
        self.statuses: list[int] = []
        self.bad: list[str] = []

    def check_refusal(self, response) -> None:
        """A non-2xx answer during an outage must be a SCIM 503 with Retry-After."""
        body = response.json or {}
        if (
            response.status != 503
            or not response.headers.get("Retry-After", "").isdigit()
            or body.get("status") != "503"
            or "urn:ietf:params:scim:api:messages:2.0:Error" not in body.get("schemas", [])
        ):
            self.bad.append(repr(response))


async def write_loop(client: Client, ledger: Ledger, stop: asyncio.Event) -> None:
    mine: list[str] = []
    turn = 0
    while not stop.is_set():
        turn += 1
        if mine and turn % 2:
            user_id = mine[-1]
            title = uuid.uuid4().hex
            body = {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "title", "value": title}],
            }
            response = await client.patch(f"/Users/{user_id}", body)
            if response.status == 200:
                ledger.titles[user_id] = title
        else:
            name = f"outage-{uuid.uuid4().hex}"
            response = await client.post("/Users", {"userName": name})
            if response.status == 201:
                ledger.created[response.json["id"]] = name
                mine.append(response.json["id"])
        ledger.statuses.append(response.status)
        if response.status >= 300:
            ledger.check_refusal(response)
            await asyncio.sleep(0.01)


async def assert_acknowledged_writes_kept(database_url: str, ledger: Ledger) -> None:
    """Read straight from the database, not through the server under test."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT id, user_name, doc->>'title' AS title FROM users WHERE id = ANY($1::text[])",
            list(ledger.created),
        )
    finally:
        await conn.close()
    found = {row["id"]: row for row in rows}
    assert set(found) == set(ledger.created), "an acknowledged create was lost"
    for user_id, name in ledger.created.items():
        assert found[user_id]["user_name"] == name
    for user_id, title in ledger.titles.items():
        assert found[user_id]["title"] == title, "an acknowledged PATCH was lost"


async def wait_for_status(client: Client, path: str, status: int, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        response = await client.get(path)
        if response.status == status:
            return
        assert time.monotonic() < deadline, f"{path} still answers {response}"
        await asyncio.sleep(0.05)


async def test_outage_gives_503_then_recovers_without_restart(proxied, proxy, database_url):
    token = await proxied.new_scim_token()
    ledger = Ledger()
    stop = asyncio.Event()
    async with aiohttp.ClientSession() as session:
        scim = Client(session, proxied.scim_url, token)
        anonymous = Client(session, proxied.base_url, None)
        writers = [asyncio.create_task(write_loop(scim, ledger, stop)) for _ in range(4)]
        try:
            await asyncio.sleep(0.3)
            acknowledged_before = len(ledger.created)
            assert acknowledged_before > 0

            proxy.refuse()  # the database went away: connections cut, new ones refused
            await wait_for_status(anonymous, "/health/ready", 503, within=5)
            down = await anonymous.get("/health")
            assert down.status == 503 and down.headers["Retry-After"].isdigit()
            assert (await anonymous.get("/health/live")).status == 200
            refused = await scim.get("/Users")
            assert refused.status == 503, refused
            ledger.check_refusal(refused)
            await asyncio.sleep(0.3)

            proxy.blackhole()  # the network hangs: only timeouts can answer
            started = time.monotonic()
            hung = await scim.post("/Users", {"userName": f"hung-{uuid.uuid4().hex}"})
            assert hung.status == 503, hung
            assert time.monotonic() - started < 3 * DB_TIMEOUT + 1
            started = time.monotonic()
            assert (await anonymous.get("/health/ready")).status == 503
            assert time.monotonic() - started < DB_TIMEOUT + 1
            await asyncio.sleep(0.3)

            proxy.forward()  # the database is back; nobody restarts the server
            await wait_for_status(anonymous, "/health/ready", 200, within=10)
            count_at_recovery = len(ledger.created)
            deadline = time.monotonic() + 10
            while len(ledger.created) < count_at_recovery + 5 or ledger.statuses[-1] == 503:
                assert time.monotonic() < deadline, "writes did not resume after the outage"
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await asyncio.gather(*writers)
        assert (await scim.get("/Users", params={"count": "1"})).status == 200
    assert not ledger.bad, ledger.bad[:5]
    assert 500 not in ledger.statuses
    assert set(ledger.statuses) <= {200, 201, 503}
    await assert_acknowledged_writes_kept(database_url, ledger)


async def test_terminated_connections_give_503_or_success_and_the_pool_heals(database_url):
    """pg_terminate_backend on every connection of the test database, again and again, under
    load: each answer is a success or a SCIM 503, and the pool replaces what was killed."""
    live = await LiveServer(database_url, db_timeout_seconds=2.0).start()
    killer = await asyncpg.connect(database_url)
    ledger = Ledger()
    stop = asyncio.Event()
    try:
        token = await live.new_scim_token()
        async with aiohttp.ClientSession() as session:
            scim = Client(session, live.scim_url, token)
            writers = [asyncio.create_task(write_loop(scim, ledger, stop)) for _ in range(6)]
            terminated = 0
            try:
                for _ in range(8):
                    await asyncio.sleep(0.1)
                    terminated += await killer.fetchval(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
            finally:
                stop.set()
                await asyncio.gather(*writers)
            assert terminated > 0
            for _ in range(5):  # healed: no restart, every request succeeds again
                response = await scim.post("/Users", {"userName": f"after-{uuid.uuid4().hex}"})
                assert response.status == 201, response
    finally:
        await killer.close()
        await live.stop()
    assert not ledger.bad, ledger.bad[:5]
    assert set(ledger.statuses) <= {200, 201, 503}, set(ledger.statuses)
    await assert_acknowledged_writes_kept(database_url, ledger)


async def test_a_process_keeps_within_its_connection_budget():
    """Point reads run on connections kept for them, writes and transactions on the others
    (storage.pg_connections): together never more than `db_pool_size`, plus the LISTEN
    connection, however busy.
    (A database of its own: the module's other servers stay connected to theirs.)"""
    database_url = await create_postgres_database()
    live = await LiveServer(database_url, db_pool_size=6).start()
    observer = await asyncpg.connect(database_url)
    try:
        token = await live.new_scim_token()
        async with aiohttp.ClientSession() as session:
            scim = Client(session, live.scim_url, token)
            created = await scim.post("/Users", {"userName": f"budget-{uuid.uuid4().hex}"})
            user_id = created.json["id"]
            peak = 0

            async def reads_and_writes(n: int) -> None:
                for i in range(15):
                    assert (await scim.get(f"/Users/{user_id}")).status == 200
                    assert (await scim.get(f"/Users/{uuid.uuid4()}")).status == 404
                    if i % 5 == 0:
                        name = f"budget-{n}-{i}-{uuid.uuid4().hex}"
                        assert (await scim.post("/Users", {"userName": name})).status == 201

            work = asyncio.gather(*(reads_and_writes(n) for n in range(24)))
            while not work.done():
                peak = max(peak, await observer.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid()"
                ))  # fmt: skip
                await asyncio.sleep(0.01)
            await work
    finally:
        await observer.close()
        await live.stop()
        await drop_postgres_database(database_url)
    assert 2 <= peak <= 6 + 1, peak

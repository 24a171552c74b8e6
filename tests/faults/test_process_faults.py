"""The server process dies or is stopped: `run.py serve` in a child process, on both backends.

- SIGKILL in the middle of a stream of writes: nothing acknowledged is lost, nothing half
  written is left (SQLite's integrity check), and a deprovisioned user's keys stay gone.
- SIGTERM with a request in flight: it is answered, then the pool is closed and the process
  exits 0. (A request whose body is still arriving when SIGTERM comes is cut: aiohttp stops
  reading from connections once it shuts down; docs/operations.md.)
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path

import aiohttp
import asyncpg
import orjson
import pytest

from tests.support.databases import dispose_database_url, new_database_url
from tests.support.processes import create_token_cli
from tests.support.serve_process import ServeProcess
from tests.support.server import MASTER_KEY, Client

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
async def database_url(backend, tmp_path):
    url = await new_database_url(backend, tmp_path)
    yield url
    await dispose_database_url(url)


def sqlite_file(url: str) -> Path | None:
    return Path(url[len("sqlite:///") :]) if url.startswith("sqlite:") else None


async def query(url: str, sql: str, *args) -> list[tuple]:
    """Read the database directly, not through a server."""
    path = sqlite_file(url)
    if path is not None:
        with closing(sqlite3.connect(path)) as conn:
            return conn.execute(sql.replace("$1", "?"), args).fetchall()
    conn = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


class Acknowledged:
    """Writes the server answered with 2xx before it was killed."""

    def __init__(self):
        self.users: dict[str, str] = {}  # id -> userName
        self.titles: dict[str, str] = {}
        self.keys: dict[str, str] = {}  # secret -> user id
        self.deactivated: set[str] = set()
        self.deleted: set[str] = set()
        self.count = 0


async def provisioning_stream(scim: Client, admin: Client, seen: Acknowledged) -> None:
    """Create a user, give them a key, change them, then deprovision them (alternately by
    `active: false` and by DELETE), over and over, until the connection breaks."""
    try:
        while True:
            created = await scim.post("/Users", {"userName": f"crash-{uuid.uuid4().hex}"})
            assert created.status == 201, created
            user_id = created.json["id"]
            seen.users[user_id] = created.json["userName"]
            key = await admin.post("/key/generate", {"user_id": user_id})
            assert key.status == 200, key
            seen.keys[key.json["key"]] = user_id
            title = uuid.uuid4().hex
            patched = await scim.patch(
                f"/Users/{user_id}",
                {
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "replace", "path": "title", "value": title}],
                },
            )
            assert patched.status == 200, patched
            seen.titles[user_id] = title
            if len(seen.users) % 2:
                gone = await scim.delete(f"/Users/{user_id}")
                assert gone.status == 204, gone
                seen.deleted.add(user_id)
            else:
                off = await scim.patch(
                    f"/Users/{user_id}",
                    {
                        "schemas": [PATCH_OP],
                        "Operations": [{"op": "replace", "path": "active", "value": False}],
                    },
                )
                assert off.status == 200, off
                seen.deactivated.add(user_id)
            seen.count += 1
    except (TimeoutError, aiohttp.ClientError):
        return  # the server died under us: whatever was in flight is not acknowledged


async def test_sigkill_during_writes_loses_nothing_acknowledged(database_url):
    token = await create_token_cli(database_url, "crash-test")
    server = await ServeProcess(database_url).start()
    seen = Acknowledged()
    try:
        async with aiohttp.ClientSession() as session:
            scim = Client(session, server.scim_url, token)
            admin = Client(session, server.base_url, MASTER_KEY)
            streams = [
                asyncio.create_task(provisioning_stream(scim, admin, seen)) for _ in range(4)
            ]
            deadline = time.monotonic() + 30
            while seen.count < 12:
                assert time.monotonic() < deadline, server.log_text()[-3000:]
                assert not any(s.done() and s.exception() for s in streams), [
                    s.exception() for s in streams if s.done()
                ]
                await asyncio.sleep(0.01)
            server.signal(signal.SIGKILL)  # writes are in flight in all four streams
            await asyncio.gather(*streams)
            assert await server.wait() == -signal.SIGKILL
    finally:
        await server.kill()
        server.close()

    path = sqlite_file(database_url)
    if path is not None:
        with closing(sqlite3.connect(path)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []

    deprovisioned = sorted(seen.deleted | seen.deactivated)
    placeholders = ", ".join(f"'{user_id}'" for user_id in deprovisioned)  # uuids we made
    assert (
        await query(database_url, f"SELECT id FROM api_keys WHERE user_id IN ({placeholders})")
        == []
    )

    restarted = await ServeProcess(database_url).start()
    try:
        async with aiohttp.ClientSession() as session:
            scim = Client(session, restarted.scim_url, token)
            gateway = Client(session, restarted.base_url, None)
            for user_id, name in seen.users.items():
                found = await scim.get(f"/Users/{user_id}")
                if user_id in seen.deleted:
                    assert found.status == 404, found
                    continue
                assert found.status == 200, found
                assert found.json["userName"] == name
                if user_id in seen.titles:
                    assert found.json["title"] == seen.titles[user_id]
                if user_id in seen.deactivated:
                    assert found.json["active"] is False
            for secret, user_id in seen.keys.items():
                if user_id in seen.deleted or user_id in seen.deactivated:
                    info = await gateway.with_token(secret).get("/key/info")
                    assert info.status == 401, (user_id, info)
    finally:
        await restarted.stop()
        restarted.close()


@asynccontextmanager
async def write_lock(url: str) -> AsyncIterator[None]:
    """Hold the database's write lock on users from outside the server, so a write request
    stays in flight (its body fully received) for as long as the test wants."""
    path = sqlite_file(url)
    if path is not None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("COMMIT")
            conn.close()
        return
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE users IN EXCLUSIVE MODE")
            yield
    finally:
        await conn.close()


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


async def in_progress(client: Client, route: str) -> float:
    text = (await client.get("/metrics")).body.decode()
    prefix = f'haimaker_http_requests_in_progress{{route="{route}"}} '
    return next(
        (float(line[len(prefix) :]) for line in text.splitlines() if line.startswith(prefix)), 0
    )


async def test_sigterm_finishes_the_request_in_flight_then_closes_the_pool(database_url):
    token = await create_token_cli(database_url, "shutdown-test")
    server = await ServeProcess(
        database_url, shutdown_timeout_seconds=15, log_format="json"
    ).start()
    name = f"in-flight-{uuid.uuid4().hex}"
    try:
        async with aiohttp.ClientSession() as session:
            scim = Client(session, server.scim_url, token)
            anonymous = Client(session, server.base_url, None)
            async with write_lock(database_url):
                creating = asyncio.create_task(scim.post("/Users", {"userName": name}))
                deadline = time.monotonic() + 10
                while await in_progress(anonymous, "/scim/v2/Users") < 1:
                    assert time.monotonic() < deadline and not creating.done(), creating
                    await asyncio.sleep(0.02)
                server.signal(signal.SIGTERM)
                while not await asyncio.to_thread(refuses_connections, server.port):
                    assert time.monotonic() < deadline, "still accepting connections after SIGTERM"
                    await asyncio.sleep(0.05)
                assert server.process.returncode is None, "exited with a request in flight"
                assert not creating.done()
            created = await creating  # the lock is gone: the request completes
            assert created.status == 201, created
        assert await server.wait(20) == 0, server.log_text()[-3000:]
    finally:
        await server.kill()
    lines = [orjson.loads(line) for line in server.log_text().splitlines() if line.startswith("{")]
    server.close()
    messages = [line["message"] for line in lines]
    assert "database connections closed" in messages
    answered = next(
        i
        for i, line in enumerate(lines)
        if line.get("route") == "/scim/v2/Users" and line.get("status") == 201
    )
    assert messages.index("database connections closed") > answered
    path = sqlite_file(database_url)
    if path is not None:  # the last connection to close checkpoints and removes the WAL
        assert not Path(f"{path}-wal").exists()
    assert await query(database_url, "SELECT user_name FROM users WHERE user_name = $1", name) == [
        (name,)
    ]

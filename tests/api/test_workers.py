"""`run.py serve --workers 2`: two processes on one port over one database, and the security
invariant across them: a revoked SCIM token and a deleted API key are refused at once by every
process (each request below opens a new connection, so the kernel spreads them over both)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import aiohttp
import pytest

from tests.support.databases import dispose_database_url, new_database_url
from tests.support.processes import ServerProcess, run_cli
from tests.support.scim_data import user_body
from tests.support.server import MASTER_KEY

REQUESTS = 24  # per check: with two workers, all landing on one has odds of 2**-23


@pytest.fixture(scope="module")
async def workers(backend, tmp_path_factory):
    url = await new_database_url(backend, tmp_path_factory.mktemp("workers"))
    server = await ServerProcess(url, "--workers", "2").start()
    await _wait_for_listeners(server, 2)
    yield server
    await server.stop()
    await dispose_database_url(url)


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                inodes.add(fields[9])
    return inodes


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[len("socket:[") : -1])
    return found


def _workers_listening(server: ServerProcess) -> list[int]:
    listening = _listening_inodes(server.port)
    return [pid for pid in _children(server.pid) if _socket_inodes(pid) & listening]


async def _wait_for_listeners(server: ServerProcess, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(_workers_listening(server)) < count:
        assert time.monotonic() < deadline, server.log_text()[-2000:]
        await asyncio.sleep(0.05)


async def _statuses(url: str, token: str, count: int = REQUESTS) -> list[int]:
    """`count` requests, each on a connection of its own."""
    statuses = []
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(count):
        connector = aiohttp.TCPConnector(force_close=True)
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.get(url, headers=headers) as response,
        ):
            statuses.append(response.status)
    return statuses


async def _scim_token(server: ServerProcess) -> tuple[str, str]:
    code, stdout, stderr = await run_cli(
        server.database_url, "token", "create", "--name", "workers-test"
    )
    assert code == 0, stderr
    token_id = stdout.split("Created SCIM token ", 1)[1].split()[0]
    return token_id, stdout.strip().splitlines()[-1]


async def test_two_workers_listen_on_one_port(workers):
    listening = _workers_listening(workers)
    assert len(listening) == 2 and workers.pid not in listening


async def test_a_token_revoked_by_another_process_is_refused_at_once_by_every_worker(workers):
    token_id, token = await _scim_token(workers)
    url = workers.scim_url + "/Users?count=1"
    assert set(await _statuses(url, token)) == {200}  # now cached wherever a cache is allowed
    code, _, stderr = await run_cli(workers.database_url, "token", "revoke", token_id)
    assert code == 0, stderr
    assert set(await _statuses(url, token)) == {401}


async def test_a_deleted_key_is_refused_at_once_by_every_worker(workers):
    _, token = await _scim_token(workers)
    admin = {"Authorization": f"Bearer {MASTER_KEY}"}
    async with aiohttp.ClientSession() as session:
        async with session.post(
            workers.scim_url + "/Users",
            json=user_body(),
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            user_id = (await response.json(content_type=None))["id"]
        async with session.post(
            workers.base_url + "/key/generate", json={"user_id": user_id}, headers=admin
        ) as response:
            key = await response.json(content_type=None)
        info = workers.base_url + "/key/info"
        assert set(await _statuses(info, key["key"])) == {200}
        async with session.post(
            workers.base_url + "/key/delete", json={"key_ids": [key["key_id"]]}, headers=admin
        ) as response:
            assert response.status == 200
    assert set(await _statuses(info, key["key"])) == {401}


async def test_writes_through_both_workers_lose_nothing(workers):
    _, token = await _scim_token(workers)
    headers = {"Authorization": f"Bearer {token}"}
    names = [user_body()["userName"] for _ in range(REQUESTS)]

    async def create(name: str) -> int:
        connector = aiohttp.TCPConnector(force_close=True)
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.post(workers.scim_url + "/Users", json=user_body(name), headers=headers) as r,
        ):
            return r.status

    assert set(await asyncio.gather(*(create(name) for name in names))) == {201}
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            workers.scim_url + "/Users",
            params={"filter": 'userName sw "user-"', "count": "1000"},
            headers=headers,
        ) as response,
    ):
        listed = {r["userName"] for r in (await response.json(content_type=None))["Resources"]}
    assert set(names) <= listed


async def test_a_write_through_one_worker_is_read_at_once_through_every_worker(workers):
    """Both workers are kept busy with point reads meanwhile (on SQLite each then holds a read
    transaction across the requests of a loop turn, storage.sqlite_snapshot): every read on a
    fresh connection, whichever worker takes it, shows the write answered just before."""
    _, token = await _scim_token(workers)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session:
        async with session.post(
            workers.scim_url + "/Users", json=user_body(), headers=headers
        ) as response:
            user_url = workers.scim_url + "/Users/" + (await response.json(content_type=None))["id"]
        stop = asyncio.Event()

        async def keep_reading() -> None:
            while not stop.is_set():
                async with session.get(user_url, headers=headers) as response:
                    assert response.status == 200

        readers = [asyncio.create_task(keep_reading()) for _ in range(8)]
        try:
            for n in range(REQUESTS):
                name = f"Renamed {n}"
                patch = {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "displayName", "value": name}],
                }
                async with session.patch(user_url, json=patch, headers=headers) as response:
                    assert response.status == 200
                connector = aiohttp.TCPConnector(force_close=True)
                async with (
                    aiohttp.ClientSession(connector=connector) as fresh,
                    fresh.get(user_url, headers=headers) as response,
                ):
                    assert (await response.json(content_type=None))["displayName"] == name
        finally:
            stop.set()
            await asyncio.gather(*readers)

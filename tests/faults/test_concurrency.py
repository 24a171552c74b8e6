"""Random concurrent PUT/PATCH/DELETE on overlapping users and teams, from many clients through
two server processes on one database (both backends), must leave the database consistent:

- no membership of a deleted user, no key of an inactive or deleted user, no team key of a
  user who left the team;
- versions only move forward and no two changing writes get the same version (no lost update);
- every 412 is right (the resource had moved past the If-Match version), every successful
  If-Match write moved it by exactly one;
- nothing but the expected answers: no 5xx (a deadlock victim's 503 is retried, as IdPs do).
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass

import aiohttp
import asyncpg
import pytest

from tests.support.databases import dispose_database_url, new_database_url
from tests.support.processes import create_token_cli
from tests.support.serve_process import ServeProcess
from tests.support.server import MASTER_KEY, Client

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
CLIENTS = 8
OPERATIONS_PER_CLIENT = 30


@dataclass
class Outcome:
    client: int
    kind: str  # users | groups | keys
    resource: str
    action: str
    status: int
    if_match: int | None = None
    version: int | None = None  # from the answer's ETag
    changes: bool = False  # the write always changes the resource when it succeeds


class IdpClient(Client):
    """Retries a 503 that carries Retry-After, as identity providers do. Postgres may pick a
    transaction as a deadlock victim; the server answers it 503 (storage/postgres.py), and the
    retry must then succeed. Retries are counted so a storm of them still fails the test."""

    retries = 0

    async def request(self, method: str, path: str, **kw):
        for _ in range(3):
            response = await super().request(method, path, **kw)
            if response.status != 503 or "Retry-After" not in response.headers:
                return response
            IdpClient.retries += 1
            await asyncio.sleep(0.05)
        return response


def version_of(response) -> int | None:
    etag = response.headers.get("ETag")
    return int(etag.split('"')[1]) if etag else None


def patch(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


class Workload:
    def __init__(self, seed: int, users: dict[str, str], teams: dict[str, str]):
        self.random = random.Random(seed)
        self.users = users  # id -> userName
        self.teams = teams  # id -> displayName
        self.outcomes: list[Outcome] = []
        self.seen: dict[str, int] = {}  # resource -> last version this client saw

    def pick_users(self, most: int = 3) -> list[str]:
        return self.random.sample(sorted(self.users), self.random.randint(1, most))

    async def run(self, number: int, scim: list[Client], admin: list[Client]) -> None:
        for _ in range(OPERATIONS_PER_CLIENT):
            server = self.random.randrange(len(scim))
            await self.step(number, scim[server], admin[server])

    async def step(self, number: int, scim: Client, admin: Client) -> None:
        roll = self.random.random()
        user_id = self.random.choice(sorted(self.users))
        team_id = self.random.choice(sorted(self.teams))
        if_match = self.seen.get(user_id) if self.random.random() < 0.4 else None
        headers = {"If-Match": f'W/"{if_match}"'} if if_match is not None else {}
        if roll < 0.2:
            action, changes = "retitle", True
            response = await scim.patch(
                f"/Users/{user_id}",
                patch({"op": "replace", "path": "title", "value": uuid.uuid4().hex}),
                headers=headers,
            )
        elif roll < 0.3:
            action, changes = "replace", True
            body = {
                "schemas": [USER_URN],
                "userName": self.users[user_id],
                "displayName": uuid.uuid4().hex,
                "active": self.random.random() < 0.7,
            }
            response = await scim.put(f"/Users/{user_id}", body, headers=headers)
        elif roll < 0.45:
            action, changes = "activate", False
            active = self.random.random() < 0.5
            response = await scim.patch(
                f"/Users/{user_id}",
                patch({"op": "replace", "path": "active", "value": active}),
                headers=headers,
            )
        elif roll < 0.48:
            action, changes = "delete", False
            response = await scim.delete(f"/Users/{user_id}", headers=headers)
        elif roll < 0.65:
            action, changes = "add_members", False
            if_match = None
            response = await scim.patch(
                f"/Groups/{team_id}",
                patch(
                    {
                        "op": "add",
                        "path": "members",
                        "value": [{"value": i} for i in self.pick_users()],
                    }
                ),
            )
            user_id = team_id
        elif roll < 0.75:
            action, changes = "remove_members", False
            if_match = None
            removed = " or ".join(f'value eq "{i}"' for i in self.pick_users())
            response = await scim.patch(
                f"/Groups/{team_id}", patch({"op": "remove", "path": f"members[{removed}]"})
            )
            user_id = team_id
        elif roll < 0.85:
            action, changes = "rename_team", True
            if_match = self.seen.get(team_id) if self.random.random() < 0.4 else None
            headers = {"If-Match": f'W/"{if_match}"'} if if_match is not None else {}
            body = {
                "schemas": [GROUP_URN],
                "displayName": f"{self.teams[team_id]}",
                "externalId": uuid.uuid4().hex,
                "members": [{"value": i} for i in self.pick_users(4)],
            }
            response = await scim.put(f"/Groups/{team_id}", body, headers=headers)
            user_id = team_id
        else:
            action, changes = "key", False
            if_match = None
            scoped = self.random.random() < 0.5
            response = await admin.post(
                "/key/generate", {"user_id": user_id, "team_id": team_id if scoped else None}
            )
        kind = "keys" if action == "key" else ("groups" if user_id in self.teams else "users")
        version = version_of(response) if kind != "keys" else None
        if version is not None:
            self.seen[user_id] = max(version, self.seen.get(user_id, 0))
        self.outcomes.append(
            Outcome(number, kind, user_id, action, response.status, if_match, version, changes)
        )


async def final_versions(url: str) -> dict[str, int]:
    rows = await query(url, "SELECT id, version FROM users UNION ALL SELECT id, version FROM teams")
    return dict(rows)


async def query(url: str, sql: str) -> list[tuple]:
    if url.startswith("sqlite:"):
        with closing(sqlite3.connect(url[len("sqlite:///") :])) as conn:
            return conn.execute(sql).fetchall()
    conn = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


@pytest.fixture
async def database_url(backend, tmp_path):
    url = await new_database_url(backend, tmp_path)
    yield url
    await dispose_database_url(url)


async def test_concurrent_writes_through_two_processes_stay_consistent(database_url):
    token = await create_token_cli(database_url, "concurrency")
    servers = [await ServeProcess(database_url, log_level="WARNING").start() for _ in range(2)]
    try:
        async with aiohttp.ClientSession() as session:
            scim = [IdpClient(session, s.scim_url, token) for s in servers]
            admin = [IdpClient(session, s.base_url, MASTER_KEY) for s in servers]
            users, teams = {}, {}
            for _ in range(12):
                name = f"race-{uuid.uuid4().hex[:10]}"
                created = await scim[0].post("/Users", {"schemas": [USER_URN], "userName": name})
                assert created.status == 201, created
                users[created.json["id"]] = name
                assert (
                    await admin[0].post("/key/generate", {"user_id": created.json["id"]})
                ).status == 200
            for _ in range(3):
                name = f"race-team-{uuid.uuid4().hex[:8]}"
                body = {"schemas": [GROUP_URN], "displayName": name}
                created = await scim[1].post("/Groups", body)
                assert created.status == 201, created
                teams[created.json["id"]] = name
            workloads = [Workload(seed, users, teams) for seed in range(CLIENTS)]
            await asyncio.gather(
                *(workload.run(number, scim, admin) for number, workload in enumerate(workloads))
            )
    finally:
        for server in servers:
            await server.stop()
    logs = "".join(server.log_text() for server in servers)
    for server in servers:
        server.close()
    outcomes = [outcome for workload in workloads for outcome in workload.outcomes]

    unexpected = [o for o in outcomes if o.status not in (200, 201, 204, 400, 404, 412)]
    first_error = logs.find("Traceback")
    assert not unexpected, (unexpected[:5], logs[max(0, first_error - 500) : first_error + 6000])
    assert "Traceback" not in logs
    assert sum(o.status in (200, 201, 204) for o in outcomes) > len(outcomes) // 3
    assert IdpClient.retries <= len(outcomes) // 20, f"{IdpClient.retries} retried 503s"

    # The database is consistent.
    assert (
        await query(
            database_url,
            "SELECT m.user_id FROM team_members m LEFT JOIN users u ON u.id = m.user_id"
            " WHERE u.id IS NULL",
        )
        == []
    )
    assert (
        await query(
            database_url,
            "SELECT k.id FROM api_keys k LEFT JOIN users u ON u.id = k.user_id"
            " WHERE u.id IS NULL OR NOT u.active",
        )
        == []
    )
    assert (
        await query(
            database_url,
            "SELECT k.id FROM api_keys k WHERE k.team_id IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM team_members m WHERE m.team_id = k.team_id AND m.user_id = k.user_id)",
        )
        == []
    )

    # Versions only move forward, and no two changing writes share one (no lost update).
    final = await final_versions(database_url)
    deleted = {o.resource for o in outcomes if o.action == "delete" and o.status == 204}
    changing: dict[str, list[int]] = {}
    for o in outcomes:
        if o.version is None or o.status != 200:
            continue
        if o.resource in final:
            assert o.version <= final[o.resource], o
        if o.changes:
            changing.setdefault(o.resource, []).append(o.version)
    for resource, versions in changing.items():
        assert len(versions) == len(set(versions)), (resource, sorted(versions))
    for workload in workloads:
        last: dict[str, int] = {}
        for o in workload.outcomes:
            if o.version is not None and o.status == 200:
                assert o.version >= last.get(o.resource, 0), o
                last[o.resource] = o.version

    # Every 412 was right, and every successful If-Match write moved the version by one.
    for o in outcomes:
        if o.if_match is None:
            continue
        if o.status == 412:
            assert o.resource in deleted or final[o.resource] > o.if_match, o
        elif o.status == 200 and o.changes:
            assert o.version == o.if_match + 1, o

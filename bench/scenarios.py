"""The scenarios: what an IdP does to the server, each measured over HTTP.

Throughput scenarios run under the load generator for a fixed time; single-shot ones (one
PATCH adding 10,000 members, deprovisioning) are timed request by request; the initial sync is
an Entra-style client (match with a filter, then create) with 8 concurrent workers.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from urllib.parse import quote

import aiohttp
import orjson
from attrs import frozen

from bench.load import UNIQUE, Measurement, Request, measure, timed
from bench.seed import Directory, user_name

SCIM = "/scim/v2"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
BULK_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
MINIMAL = (("Prefer", "return=minimal"),)


@frozen
class Settings:
    seconds: float
    connections: int
    use_wrk: bool
    rounds: int = 3  # turns alternating with the yardstick per throughput scenario


def _filter(expression: str) -> str:
    return f"{SCIM}/Users?filter={quote(expression)}"


def _add_member(user_id: str) -> bytes:
    return orjson.dumps(
        {
            "schemas": [PATCH_URN],
            "Operations": [{"op": "Add", "path": "members", "value": [{"value": user_id}]}],
        }
    )


def _numbers(directory: Directory, count: int = 2000) -> list[int]:
    rng = random.Random(7)
    return [rng.randrange(directory.users) for _ in range(count)]


def lookups(directory: Directory) -> dict[str, list[Request]]:
    """The indexed lookups, whose cost must not grow with the directory."""
    numbers = _numbers(directory)
    return {
        "GET /Users/{id}": [Request("GET", f"{SCIM}/Users/{i}") for i in directory.sample_ids],
        "filter userName eq": [
            Request("GET", _filter(f'userName eq "{user_name(n)}"')) for n in numbers
        ],
        "filter externalId eq": [
            Request("GET", _filter(f'externalId eq "ext-{n}"')) for n in numbers
        ],
        "filter emails.value eq": [
            Request("GET", _filter(f'emails.value eq "{user_name(n)}"')) for n in numbers
        ],
        "filter displayName eq": [
            Request("GET", _filter(f'displayName eq "User {n}"')) for n in numbers
        ],
    }


def scans(directory: Directory) -> dict[str, list[Request]]:
    numbers = _numbers(directory, 200)
    deep = max(1, directory.users - 100)
    return {
        "filter emails.value co": [
            Request("GET", _filter(f'emails.value co "user{n}@"')) for n in numbers
        ],
        "list page deep (startIndex=n-100)": [
            Request("GET", f"{SCIM}/Users?startIndex={deep}&count=100")
        ],
    }


def writes(directory: Directory, spare_ids: list[str]) -> dict[str, tuple[list[Request], int]]:
    """(requests, expected status). POST bodies carry a number unique in the run."""
    run = uuid.uuid4().hex[:8]
    body = orjson.dumps(
        {
            "schemas": [USER_URN],
            "userName": f"post-{run}-{UNIQUE}@bench.example",
            "externalId": f"post-{run}-{UNIQUE}",
            "name": {"givenName": "Posted", "familyName": UNIQUE},
            "emails": [
                {"value": f"post-{run}-{UNIQUE}@bench.example", "type": "work", "primary": True}
            ],
            "active": True,
        }
    )
    return {
        "POST /Users": ([Request("POST", f"{SCIM}/Users", body)], 201),
        "PATCH +1 member, 10,000-member team": (
            [
                Request("PATCH", f"{SCIM}/Groups/{directory.big_team}", _add_member(i), MINIMAL)
                for i in spare_ids
            ],
            204,
        ),
        "PATCH +1 member, small team": (
            [
                Request("PATCH", f"{SCIM}/Groups/{directory.small_team}", _add_member(i), MINIMAL)
                for i in spare_ids
            ],
            204,
        ),
        "GET the 10,000-member team": (
            [Request("GET", f"{SCIM}/Groups/{directory.big_team}")],
            200,
        ),
    }


async def run_throughput(
    base_url: str, requests: list[Request], headers: dict, settings: Settings, expected=200,
    connections: int | None = None,
) -> Measurement:  # fmt: skip
    return await measure(
        base_url,
        requests,
        headers=headers,
        expected=expected,
        connections=connections or settings.connections,
        seconds=settings.seconds,
        use_wrk=settings.use_wrk,
    )


async def patch_ten_thousand(
    base_url: str, headers: dict, member_ids: list[str], repeats: int = 3
) -> list[float]:
    """One PATCH adding 10,000 members to a new, empty group: milliseconds per request."""
    timings = []
    async with aiohttp.ClientSession() as session:
        for _ in range(repeats):
            async with session.post(
                f"{base_url}{SCIM}/Groups",
                data=orjson.dumps({"displayName": f"ten-k-{uuid.uuid4().hex[:8]}"}),
                headers=headers,
            ) as response:
                group_id = (await response.json(content_type=None))["id"]
            body = orjson.dumps(
                {
                    "schemas": [PATCH_URN],
                    "Operations": [
                        {
                            "op": "Add",
                            "path": "members",
                            "value": [{"value": i} for i in member_ids],
                        }
                    ],
                }
            )
            ms, status = await timed(
                session,
                base_url,
                Request("PATCH", f"{SCIM}/Groups/{group_id}", body, MINIMAL),
                headers,
            )
            assert status == 204, status
            timings.append(ms)
    return timings


async def deprovision(base_url: str, headers: dict, user_ids: list[str]) -> list[float]:
    """Entra's soft delete of users holding 20 keys each, one after the other: ms each."""
    body = orjson.dumps(
        {
            "schemas": [PATCH_URN],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
        }
    )
    timings = []
    async with aiohttp.ClientSession() as session:
        for user_id in user_ids:
            ms, status = await timed(
                session,
                base_url,
                Request("PATCH", f"{SCIM}/Users/{user_id}", body, MINIMAL),
                headers,
            )
            assert status == 204, status
            timings.append(ms)
    return timings


@frozen
class SyncResult:
    users: int
    groups: int
    seconds: float
    requests: int

    @property
    def users_per_second(self) -> float:
        return self.users / self.seconds


async def entra_initial_sync(
    base_url: str, headers: dict, users: int = 10_000, groups: int = 500, clients: int = 8,
    members_per_group: int = 20,
) -> SyncResult:  # fmt: skip
    """Entra-style: for each user a match (`userName eq`) then a POST; for each group a match
    (`displayName eq`, members excluded), a POST, and a PATCH adding its members. 8 workers."""
    run = uuid.uuid4().hex[:8]
    queue: asyncio.Queue = asyncio.Queue()
    for n in range(users):
        queue.put_nowait(n)
    created: list[str] = []
    requests = 0
    connector = aiohttp.TCPConnector(limit=clients)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def call(method: str, path: str, body=None) -> dict | None:
            nonlocal requests
            requests += 1
            data = orjson.dumps(body) if body is not None else None
            async with session.request(method, base_url + path, data=data) as response:
                raw = await response.read()
                if response.status >= 400:
                    raise RuntimeError(f"{method} {path}: {response.status} {raw[:200]!r}")
                return orjson.loads(raw) if raw else None

        async def sync_users() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                name = f"sync-{run}-{n}@bench.example"
                found = await call("GET", _filter(f'userName eq "{name}"'))
                assert found["totalResults"] == 0
                user = await call(
                    "POST",
                    f"{SCIM}/Users",
                    {
                        "schemas": [USER_URN],
                        "externalId": f"sync-{run}-{n}",
                        "userName": name,
                        "active": True,
                        "displayName": f"Synced {n}",
                        "emails": [{"primary": True, "type": "work", "value": name}],
                        "name": {
                            "formatted": f"Synced {n}",
                            "familyName": str(n),
                            "givenName": "S",
                        },
                        "meta": {"resourceType": "User"},
                        "roles": [],
                    },
                )
                created.append(user["id"])

        await asyncio.gather(*(sync_users() for _ in range(clients)))
        for g in range(groups):
            queue.put_nowait(g)

        async def sync_groups() -> None:
            rng = random.Random()
            while not queue.empty():
                g = queue.get_nowait()
                name = f"Sync {run} group {g}"
                match = quote(f'displayName eq "{name}"')
                path = f"{SCIM}/Groups?excludedAttributes=members&filter={match}"
                assert (await call("GET", path))["totalResults"] == 0
                group = await call(
                    "POST", f"{SCIM}/Groups", {"displayName": name, "externalId": name}
                )
                members = rng.sample(created, members_per_group)
                await call(
                    "PATCH",
                    f"{SCIM}/Groups/{group['id']}",
                    {
                        "schemas": [PATCH_URN],
                        "Operations": [
                            {"op": "Add", "path": "members",
                             "value": [{"$ref": None, "value": m} for m in members]}
                        ],
                    },
                )  # fmt: skip

        await asyncio.gather(*(sync_groups() for _ in range(clients)))
    return SyncResult(users, groups, time.perf_counter() - started, requests)


async def bulk_initial_sync(
    base_url: str, headers: dict, users: int = 10_000, groups: int = 500, clients: int = 8,
    per_request: int = 100, members_per_group: int = 20,
) -> SyncResult:  # fmt: skip
    """The same directory pushed through /Bulk: 100 operations a request, 8 workers; each
    group is created with its members by bulkId references inside its request."""
    run = uuid.uuid4().hex[:8]
    batches: asyncio.Queue = asyncio.Queue()
    groups_per_batch = max(1, groups * per_request // users)
    for start in range(0, users, per_request):
        batches.put_nowait(start)
    requests = 0
    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal requests
            rng = random.Random()
            while not batches.empty():
                start = batches.get_nowait()
                ops = []
                for n in range(start, min(users, start + per_request)):
                    name = f"bulk-{run}-{n}@bench.example"
                    ops.append(
                        {
                            "method": "POST",
                            "path": "/Users",
                            "bulkId": f"u{n}",
                            "data": {"userName": name, "externalId": f"bulk-{run}-{n}",
                                     "emails": [{"value": name, "type": "work", "primary": True}]},
                        }
                    )  # fmt: skip
                group_ops = [
                    {
                        "method": "POST",
                        "path": "/Groups",
                        "bulkId": f"g{start}-{k}",
                        "data": {
                            "displayName": f"Bulk {run} {start}-{k}",
                            "members": [
                                {"value": f"bulkId:{op['bulkId']}"}
                                for op in rng.sample(ops, min(members_per_group, len(ops)))
                            ],
                        },
                    }
                    for k in range(groups_per_batch)
                ]
                body = orjson.dumps({"schemas": [BULK_URN], "Operations": ops + group_ops})
                requests += 1
                async with session.post(f"{base_url}{SCIM}/Bulk", data=body) as response:
                    result = orjson.loads(await response.read())
                bad = [op for op in result["Operations"] if op["status"] != "201"]
                assert response.status == 200 and not bad, (response.status, bad[:2])

        await asyncio.gather(*(worker() for _ in range(clients)))
    return SyncResult(users, groups, time.perf_counter() - started, requests)

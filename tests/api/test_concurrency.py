"""Concurrent writers lose nothing: IdPs send membership PATCHes in parallel (a lost member is
a person without access), sometimes to several server processes over one database."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.databases import dispose_database_url, new_database_url
from tests.support.processes import ServerProcess, create_token_cli
from tests.support.provisioning_data import (
    create_group,
    create_user,
    group_body,
    member_ids,
    patch_body,
    unique,
)
from tests.support.server import Client

PARALLEL = 50


@pytest.fixture(scope="module")
async def two_processes(backend, tmp_path_factory):
    """Two `run.py serve` processes over one fresh database, and a token from `run.py token
    create`."""
    url = await new_database_url(backend, tmp_path_factory.mktemp("shared"))
    token = await create_token_cli(url, "concurrency")
    processes = [ServerProcess(url), ServerProcess(url)]
    try:
        await asyncio.gather(*(process.start() for process in processes))
        yield processes, token
    finally:
        await asyncio.gather(*(process.stop() for process in processes))
        await dispose_database_url(url)


@pytest.fixture
def spread_clients(two_processes, http_session) -> list[Client]:
    processes, token = two_processes
    return [Client(http_session, process.scim_url, token) for process in processes]


def add_member(user_id: str) -> dict:
    return patch_body({"op": "add", "path": "members", "value": [{"value": user_id}]})


def add_email(address: str) -> dict:
    return patch_body(
        {"op": "add", "path": "emails", "value": [{"value": address, "type": "other"}]}
    )


async def concurrent_member_adds(clients: list[Client]) -> None:
    first = clients[0]
    user_ids = [(await create_user(first))["id"] for _ in range(PARALLEL)]
    group = await create_group(first)
    responses = await asyncio.gather(
        *(
            clients[n % len(clients)].patch(f"/Groups/{group['id']}", add_member(user_id))
            for n, user_id in enumerate(user_ids)
        )
    )
    assert [r.status for r in responses] == [200] * PARALLEL, responses
    for client in clients:
        fetched = await client.get(f"/Groups/{group['id']}")
        assert member_ids(fetched.json) == set(user_ids)


async def concurrent_email_adds(clients: list[Client]) -> None:
    user = await create_user(clients[0])
    addresses = [f"{unique('mail')}@example.com" for _ in range(PARALLEL)]
    responses = await asyncio.gather(
        *(
            clients[n % len(clients)].patch(f"/Users/{user['id']}", add_email(address))
            for n, address in enumerate(addresses)
        )
    )
    assert [r.status for r in responses] == [200] * PARALLEL, responses
    fetched = (await clients[-1].get(f"/Users/{user['id']}")).json
    stored = {email["value"] for email in fetched["emails"]}
    assert stored == set(addresses) | {user["userName"]}
    assert fetched["meta"]["version"] == f'W/"{PARALLEL + 1}"'


async def test_parallel_member_adds_keep_every_member(scim):
    await concurrent_member_adds([scim])


async def test_parallel_user_patches_lose_no_update(scim):
    await concurrent_email_adds([scim])


async def test_parallel_member_adds_through_two_processes(spread_clients):
    await concurrent_member_adds(spread_clients)


async def test_parallel_user_patches_through_two_processes(spread_clients):
    await concurrent_email_adds(spread_clients)


async def test_parallel_adds_and_removes_on_one_team(scim):
    """Half the requests add a new member while the other half remove an existing one: the
    result is exactly the new members."""
    leaving = [(await create_user(scim))["id"] for _ in range(PARALLEL // 2)]
    joining = [(await create_user(scim))["id"] for _ in range(PARALLEL // 2)]
    group = await create_group(scim, member_ids=leaving)
    path = f"/Groups/{group['id']}"
    removals = [
        scim.patch(path, patch_body({"op": "remove", "path": f'members[value eq "{user_id}"]'}))
        for user_id in leaving
    ]
    additions = [scim.patch(path, add_member(user_id)) for user_id in joining]
    mixed = [call for pair in zip(removals, additions, strict=True) for call in pair]
    responses = await asyncio.gather(*mixed)
    assert all(r.status == 200 for r in responses), responses
    assert member_ids((await scim.get(path)).json) == set(joining)


async def test_parallel_creates_with_one_name_make_one_team(spread_clients):
    name = unique("Race")
    responses = await asyncio.gather(
        *(
            spread_clients[n % 2].post("/Groups", group_body(name.upper() if n % 3 else name))
            for n in range(10)
        )
    )
    statuses = sorted(r.status for r in responses)
    assert statuses == [201] + [409] * 9, responses
    assert all(r.json["scimType"] == "uniqueness" for r in responses if r.status == 409)
    found = await spread_clients[0].get("/Groups", params={"filter": f'displayName eq "{name}"'})
    assert found.json["totalResults"] == 1


async def test_parallel_if_match_writes_let_exactly_one_through(scim):
    """Optimistic concurrency (RFC 7644 §3.14): of many writes naming the same version, one
    wins and the others get 412."""
    group = await create_group(scim)
    path = f"/Groups/{group['id']}"
    etag = (await scim.get(path)).headers["ETag"]
    responses = await asyncio.gather(
        *(
            scim.patch(
                path,
                patch_body({"op": "replace", "path": "displayName", "value": unique("v")}),
                headers={"If-Match": etag},
            )
            for _ in range(10)
        )
    )
    assert sorted(r.status for r in responses) == [200] + [412] * 9, responses


# -- races between membership, keys and deletion (each once a 500 or a surviving key) ---------

ANSWERS = {200, 204, 400, 404}


async def new_users(scim, count: int) -> list[str]:
    return [(await create_user(scim))["id"] for _ in range(count)]


async def test_adding_members_while_they_are_deleted(scim):
    """A member deleted while the PATCH adding it runs is refused by name (400), never a
    broken foreign key (500); the team holds only users that exist."""
    group = await create_group(scim)
    path = f"/Groups/{group['id']}"
    user_ids = await new_users(scim, 30)
    calls = []
    for user_id in user_ids:
        calls += [scim.patch(path, add_member(user_id)), scim.delete(f"/Users/{user_id}")]
    responses = await asyncio.gather(*calls)
    assert {r.status for r in responses} <= ANSWERS, [r for r in responses if r.status >= 500]
    assert member_ids((await scim.get(path)).json) == set()


async def test_team_keys_raced_with_leaving_the_team(scim, admin):
    """A team key generated while its user leaves the team is either refused or deleted with
    the membership: no team key outlives its user's membership."""
    user_ids = await new_users(scim, 24)
    group = await create_group(scim, member_ids=user_ids)
    path = f"/Groups/{group['id']}"
    calls = []
    for user_id in user_ids:
        calls += [
            admin.post("/key/generate", {"user_id": user_id, "team_id": group["id"]}),
            scim.patch(
                path, patch_body({"op": "remove", "path": f'members[value eq "{user_id}"]'})
            ),
        ]
    responses = await asyncio.gather(*calls)
    assert {r.status for r in responses} <= ANSWERS, [r for r in responses if r.status >= 500]
    for user_id in user_ids:
        keys = (await admin.get("/key/list", params={"user_id": user_id})).json["keys"]
        assert keys == [], f"a team key survived its user leaving the team: {keys}"


async def test_team_keys_raced_with_deleting_the_team(scim, admin):
    user_ids = await new_users(scim, 3)
    groups = [await create_group(scim, member_ids=user_ids) for _ in range(8)]
    calls = []
    for group in groups:
        calls += [
            admin.post("/key/generate", {"user_id": user_id, "team_id": group["id"]})
            for user_id in user_ids
        ]
        calls.append(scim.delete(f"/Groups/{group['id']}"))
    responses = await asyncio.gather(*calls)
    assert {r.status for r in responses} <= ANSWERS, [r for r in responses if r.status >= 500]
    for user_id in user_ids:
        assert (await admin.get("/key/list", params={"user_id": user_id})).json["keys"] == []


async def test_membership_patches_raced_with_deprovisioning(scim, admin):
    """Remove/re-add PATCHes on the user's teams, deactivation and deletion of the same users
    at once: every request answers (no deadlock), and every key is gone."""
    user_ids = await new_users(scim, 6)
    teams = [(await create_group(scim, member_ids=user_ids))["id"] for _ in range(2)]
    for user_id in user_ids:
        for team_id in teams:
            await admin.post("/key/generate", {"user_id": user_id, "team_id": team_id})
    calls = []
    for user_id in user_ids:
        for team_id in teams:
            value = [{"value": user_id}]
            calls += [
                scim.patch(
                    f"/Groups/{team_id}",
                    patch_body({"op": "remove", "path": "members", "value": value}),
                ),
                scim.patch(
                    f"/Groups/{team_id}",
                    patch_body({"op": "add", "path": "members", "value": value}),
                ),
            ]
        calls += [
            scim.delete(f"/Users/{user_id}"),
            scim.patch(
                f"/Users/{user_id}", patch_body({"op": "replace", "path": "active", "value": False})
            ),
        ]
    responses = await asyncio.gather(*calls)
    assert {r.status for r in responses} <= ANSWERS, [r for r in responses if r.status >= 500]
    for team_id in teams:
        assert member_ids((await scim.get(f"/Groups/{team_id}")).json) == set()

"""Deprovisioning cuts access at once (design.md): DELETE, or `active` false in any IdP dialect,
deletes every API key and access token of the user in the same transaction as the user change,
so the next `GET /key/info` is 401 in this process and in another one on the same database."""

from __future__ import annotations

import datetime as dt

import pytest

from app.provisioning.common import new_id, utcnow
from app.provisioning.secrets import hash_secret, new_secret
from storage.records import AccessTokenRecord
from tests.support.processes import ServerProcess
from tests.support.provisioning_data import (
    create_group,
    create_user,
    member_ids,
    patch_body,
    user_body,
)
from tests.support.server import Client
from tests.support.statement_counter import StatementCounter, touching


@pytest.fixture(scope="module")
async def other_process(server):
    """`run.py serve` in a second process over the same database as `server`."""
    process = await ServerProcess(server.settings.database_url).start()
    yield process
    await process.stop()


@pytest.fixture
def elsewhere(other_process, http_session) -> Client:
    """No credential: `/key/info` on the other process, keys passed with `with_token`."""
    return Client(http_session, other_process.base_url, None)


@pytest.fixture(scope="module")
def statements(server):
    counter = StatementCounter().install(server.services.db)
    yield counter
    counter.uninstall()


async def generate(admin, user_id: str, **body) -> dict:
    response = await admin.post("/key/generate", {"user_id": user_id, **body})
    assert response.status == 200, response
    return response.json


async def key_status(client: Client, key: str) -> int:
    return (await client.with_token(key).get("/key/info")).status


async def plant_access_token(server, user_id: str) -> str:
    """An access token (admin-page session and the like) for the user, through the storage
    layer: the pages that issue them are another part of the system."""
    secret = new_secret("hmsess_")
    now = utcnow()
    async with server.services.repo.transaction() as stores:
        await stores.access_tokens.insert(
            AccessTokenRecord(
                id=new_id(),
                kind="session",
                user_id=user_id,
                data={},
                created_at=now,
                expires_at=now + dt.timedelta(hours=1),
            ),
            hash_secret(secret),
        )
    return secret


async def access_token_alive(server, secret: str) -> bool:
    async with server.services.repo.reader() as stores:
        return await stores.access_tokens.find_by_hash(hash_secret(secret), utcnow()) is not None


async def user_with_credentials(
    scim, admin, server, anonymous, elsewhere
) -> tuple[dict, list, str]:
    user = await create_user(scim)
    team = await create_group(scim, member_ids=[user["id"]])
    keys = [
        (await generate(admin, user["id"], key_alias="personal"))["key"],
        (await generate(admin, user["id"], team_id=team["id"], key_alias="team"))["key"],
    ]
    token = await plant_access_token(server, user["id"])
    for key in keys:
        assert await key_status(anonymous, key) == 200
        assert await key_status(elsewhere, key) == 200, "the other process accepts it before"
    assert await access_token_alive(server, token)
    return user, keys, token


async def assert_access_cut(server, anonymous, elsewhere, keys, token) -> None:
    for key in keys:
        assert await key_status(anonymous, key) == 401
        assert await key_status(elsewhere, key) == 401
    assert not await access_token_alive(server, token)


DEACTIVATIONS = {
    "entra_string_False": patch_body({"op": "Replace", "path": "active", "value": "False"}),
    "lowercase_boolean": patch_body({"op": "replace", "path": "active", "value": False}),
    "okta_pathless": patch_body({"op": "replace", "value": {"active": False}}),
    "keycloak_string_false": patch_body({"op": "replace", "path": "active", "value": "false"}),
    "pathless_add": patch_body({"op": "add", "value": {"active": "False"}}),
}


@pytest.mark.parametrize("dialect", sorted(DEACTIVATIONS))
async def test_patch_deactivation_cuts_access_everywhere(
    scim, admin, server, anonymous, elsewhere, dialect
):
    user, keys, token = await user_with_credentials(scim, admin, server, anonymous, elsewhere)
    response = await scim.patch(f"/Users/{user['id']}", DEACTIVATIONS[dialect])
    assert response.status == 200, response
    assert response.json["active"] is False
    await assert_access_cut(server, anonymous, elsewhere, keys, token)
    fetched = (await scim.get(f"/Users/{user['id']}")).json
    assert fetched["active"] is False, "a deactivated user stays readable"
    assert (await admin.get("/key/list", params={"user_id": user["id"]})).json["keys"] == []


async def test_okta_wizard_put_with_active_false_cuts_access(
    scim, admin, server, anonymous, elsewhere
):
    user, keys, token = await user_with_credentials(scim, admin, server, anonymous, elsewhere)
    whole = (await scim.get(f"/Users/{user['id']}")).json
    whole["active"] = False
    response = await scim.put(f"/Users/{user['id']}", whole)
    assert response.status == 200, response
    await assert_access_cut(server, anonymous, elsewhere, keys, token)


async def test_onelogin_put_with_string_false_cuts_access(
    scim, admin, server, anonymous, elsewhere
):
    user, keys, token = await user_with_credentials(scim, admin, server, anonymous, elsewhere)
    response = await scim.put(f"/Users/{user['id']}", user_body(user["userName"], active="false"))
    assert response.status == 200, response
    assert response.json["active"] is False
    await assert_access_cut(server, anonymous, elsewhere, keys, token)


async def test_delete_cuts_access_and_memberships(scim, admin, server, anonymous, elsewhere):
    user, keys, token = await user_with_credentials(scim, admin, server, anonymous, elsewhere)
    teammate = await create_user(scim)
    team = await create_group(scim, member_ids=[user["id"], teammate["id"]])
    response = await scim.delete(f"/Users/{user['id']}")
    assert response.status == 204, response
    await assert_access_cut(server, anonymous, elsewhere, keys, token)
    assert (await scim.get(f"/Users/{user['id']}")).status == 404
    assert member_ids((await scim.get(f"/Groups/{team['id']}")).json) == {teammate["id"]}
    found = await scim.get("/Groups", params={"filter": f'members.value eq "{user["id"]}"'})
    assert found.json["totalResults"] == 0


async def test_deprovisioning_through_the_other_process_is_seen_here(
    scim, admin, server, anonymous, elsewhere, other_process, scim_token
):
    user, keys, token = await user_with_credentials(scim, admin, server, anonymous, elsewhere)
    there = Client(scim.session, other_process.scim_url, scim_token)
    response = await there.patch(
        f"/Users/{user['id']}", patch_body({"op": "replace", "value": {"active": False}})
    )
    assert response.status == 200, response
    await assert_access_cut(server, anonymous, elsewhere, keys, token)


async def test_only_the_deprovisioned_users_keys_go(scim, admin, server, anonymous, elsewhere):
    leaving, staying = await create_user(scim), await create_user(scim)
    leaving_key = (await generate(admin, leaving["id"]))["key"]
    staying_key = (await generate(admin, staying["id"]))["key"]
    staying_token = await plant_access_token(server, staying["id"])
    assert (await scim.delete(f"/Users/{leaving['id']}")).status == 204
    assert await key_status(anonymous, leaving_key) == 401
    assert await key_status(anonymous, staying_key) == 200
    assert await key_status(elsewhere, staying_key) == 200
    assert await access_token_alive(server, staying_token)


async def test_reactivation_does_not_bring_keys_back(scim, admin, server, anonymous, elsewhere):
    user, keys, token = await user_with_credentials(scim, admin, server, anonymous, elsewhere)
    path = f"/Users/{user['id']}"
    assert (await scim.patch(path, DEACTIVATIONS["entra_string_False"])).status == 200
    back = await scim.patch(path, patch_body({"op": "Replace", "path": "active", "value": "True"}))
    assert back.status == 200, back
    assert back.json["active"] is True
    await assert_access_cut(server, anonymous, elsewhere, keys, token)
    assert (await admin.get("/key/list", params={"user_id": user["id"]})).json["keys"] == []
    fresh = (await generate(admin, user["id"]))["key"]
    assert await key_status(elsewhere, fresh) == 200


async def test_a_put_without_active_does_not_reactivate(scim, admin):
    user = await create_user(scim)
    path = f"/Users/{user['id']}"
    assert (await scim.patch(path, DEACTIVATIONS["lowercase_boolean"])).status == 200
    body = user_body(user["userName"])
    del body["active"]
    response = await scim.put(path, body)
    assert response.status == 200, response
    assert response.json["active"] is False
    assert (await admin.post("/key/generate", {"user_id": user["id"]})).status == 400


async def test_deactivation_cuts_access_in_the_same_transaction(
    scim, admin, server, anonymous, elsewhere, statements
):
    user, _keys, _token = await user_with_credentials(scim, admin, server, anonymous, elsewhere)
    with statements.counting() as executed:
        response = await scim.patch(f"/Users/{user['id']}", DEACTIVATIONS["okta_pathless"])
    assert response.status == 200, response
    writes = [
        *touching(executed, "UPDATE users"),
        *touching(executed, "DELETE FROM api_keys"),
        *touching(executed, "DELETE FROM access_tokens"),
        *touching(executed, "INSERT INTO audit_events"),
    ]
    assert len(writes) == 4, executed
    assert len({statement.scope for statement in writes}) == 1, writes
    assert writes[0].scope.startswith("tx-")


async def test_delete_cuts_access_in_the_same_transaction(
    scim, admin, server, anonymous, elsewhere, statements
):
    user, _keys, _token = await user_with_credentials(scim, admin, server, anonymous, elsewhere)
    with statements.counting() as executed:
        assert (await scim.delete(f"/Users/{user['id']}")).status == 204
    writes = [
        *touching(executed, "DELETE FROM users"),
        *touching(executed, "DELETE FROM team_members"),
        *touching(executed, "DELETE FROM api_keys"),
        *touching(executed, "DELETE FROM access_tokens"),
        *touching(executed, "INSERT INTO audit_events"),
    ]
    assert len(writes) == 5, executed
    assert len({statement.scope for statement in writes}) == 1, writes


# -- team-scoped keys -------------------------------------------------------------------------


async def test_leaving_a_team_deletes_only_that_teams_keys(scim, admin, anonymous, elsewhere):
    user = await create_user(scim)
    first = await create_group(scim, member_ids=[user["id"]])
    second = await create_group(scim, member_ids=[user["id"]])
    personal = (await generate(admin, user["id"]))["key"]
    first_key = (await generate(admin, user["id"], team_id=first["id"]))["key"]
    second_key = (await generate(admin, user["id"], team_id=second["id"]))["key"]
    removed = await scim.patch(
        f"/Groups/{first['id']}",
        patch_body({"op": "remove", "path": f'members[value eq "{user["id"]}"]'}),
    )
    assert removed.status == 200, removed
    assert await key_status(anonymous, first_key) == 401
    assert await key_status(elsewhere, first_key) == 401
    assert await key_status(anonymous, personal) == 200
    assert await key_status(anonymous, second_key) == 200
    rejoined = await scim.patch(
        f"/Groups/{first['id']}",
        patch_body({"op": "add", "path": "members", "value": [{"value": user["id"]}]}),
    )
    assert rejoined.status == 200
    assert await key_status(anonymous, first_key) == 401, "rejoining does not revive the key"


@pytest.mark.parametrize("how", ["value_list", "replace", "clear", "put"])
async def test_every_way_of_leaving_a_team_deletes_its_keys(scim, admin, anonymous, how):
    leaving, staying = await create_user(scim), await create_user(scim)
    team = await create_group(scim, member_ids=[leaving["id"], staying["id"]])
    leaving_key = (await generate(admin, leaving["id"], team_id=team["id"]))["key"]
    staying_key = (await generate(admin, staying["id"], team_id=team["id"]))["key"]
    path = f"/Groups/{team['id']}"
    if how == "value_list":
        body = patch_body({"op": "Remove", "path": "members", "value": [{"value": leaving["id"]}]})
        response = await scim.patch(path, body)
    elif how == "replace":
        body = patch_body({"op": "replace", "path": "members", "value": [{"value": staying["id"]}]})
        response = await scim.patch(path, body)
    elif how == "clear":
        response = await scim.patch(path, patch_body({"op": "remove", "path": "members"}))
    else:
        response = await scim.put(
            path, {"displayName": team["displayName"], "members": [{"value": staying["id"]}]}
        )
    assert response.status == 200, response
    assert await key_status(anonymous, leaving_key) == 401
    expected = 401 if how == "clear" else 200
    assert await key_status(anonymous, staying_key) == expected


async def test_deleting_a_team_deletes_its_keys(scim, admin, anonymous, elsewhere):
    user = await create_user(scim)
    team = await create_group(scim, member_ids=[user["id"]])
    team_key = (await generate(admin, user["id"], team_id=team["id"]))["key"]
    personal = (await generate(admin, user["id"]))["key"]
    assert (await scim.delete(f"/Groups/{team['id']}")).status == 204
    assert await key_status(anonymous, team_key) == 401
    assert await key_status(elsewhere, team_key) == 401
    assert await key_status(anonymous, personal) == 200
    assert (await scim.get(f"/Users/{user['id']}")).json["active"] is True

"""The gateway key API (interface.md): generate, list, delete with the master key, and
`GET /key/info`, the check made on every LLM call. Each credential works only where it
belongs."""

from __future__ import annotations

import hashlib

import pytest

from app.provisioning.common import new_id, utcnow
from storage.records import ApiKeyRecord
from tests.support.dumps import dump_database
from tests.support.provisioning_data import create_group, create_user, patch_body, unique
from tests.support.server import MASTER_KEY

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"


async def generate(admin, user_id: str, **body) -> dict:
    response = await admin.post("/key/generate", {"user_id": user_id, **body})
    assert response.status == 200, response
    return response.json


async def key_info(anonymous, key: str | None):
    return await anonymous.with_token(key).get("/key/info")


async def test_generate_a_key_and_use_it(scim, admin, anonymous):
    user = await create_user(scim)
    generated = await generate(admin, user["id"], key_alias="laptop")
    assert generated["key"].startswith("sk-")
    assert generated["user_id"] == user["id"]
    assert generated["team_id"] is None
    assert generated["key_alias"] == "laptop"
    info = await key_info(anonymous, generated["key"])
    assert info.status == 200, info
    assert info.json == {
        "key_id": generated["key_id"],
        "user_id": user["id"],
        "team_id": None,
        "key_alias": "laptop",
    }


async def test_a_team_key_needs_membership(scim, admin, anonymous):
    member, outsider = await create_user(scim), await create_user(scim)
    team = await create_group(scim, member_ids=[member["id"]])
    generated = await generate(admin, member["id"], team_id=team["id"])
    assert generated["team_id"] == team["id"]
    info = await key_info(anonymous, generated["key"])
    assert info.json["team_id"] == team["id"]

    refused = await admin.post("/key/generate", {"user_id": outsider["id"], "team_id": team["id"]})
    assert refused.status == 400, refused
    assert (await admin.get("/key/list", params={"user_id": outsider["id"]})).json["keys"] == []
    unknown_team = await admin.post(
        "/key/generate", {"user_id": member["id"], "team_id": UNKNOWN_ID}
    )
    assert unknown_team.status == 404, unknown_team


async def test_generate_for_unknown_or_inactive_users(scim, admin):
    unknown = await admin.post("/key/generate", {"user_id": UNKNOWN_ID})
    assert unknown.status == 404, unknown
    inactive = await create_user(scim, active=False)
    refused = await admin.post("/key/generate", {"user_id": inactive["id"]})
    assert refused.status == 400, refused


@pytest.mark.parametrize(
    "body",
    [{}, {"user_id": 5}, {"user_id": ""}, [], {"user_id": "x", "key_alias": ["no"]}],
)
async def test_generate_with_a_bad_body_is_400(admin, body):
    response = await admin.post("/key/generate", body)
    assert response.status == 400, response


async def test_generate_with_malformed_json_is_400(admin):
    response = await admin.request("POST", "/key/generate", data=b"{not json")
    assert response.status == 400, response


async def test_the_key_is_shown_once_and_stored_only_as_a_hash(scim, admin, server):
    user = await create_user(scim)
    generated = await generate(admin, user["id"], key_alias="once")
    listed = await admin.get("/key/list", params={"user_id": user["id"]})
    assert listed.status == 200
    [entry] = listed.json["keys"]
    assert entry["key_id"] == generated["key_id"]
    assert entry["key_alias"] == "once"
    assert "key" not in entry
    assert generated["key"] not in listed.body.decode()
    dump = await dump_database(server.settings.database_url)
    assert generated["key"] not in dump
    assert generated["key"].removeprefix("sk-") not in dump
    assert hashlib.sha256(generated["key"].encode()).hexdigest() in dump


async def test_list_keys(scim, admin):
    user = await create_user(scim)
    first = await generate(admin, user["id"], key_alias="a")
    second = await generate(admin, user["id"])
    listed = (await admin.get("/key/list", params={"user_id": user["id"]})).json["keys"]
    assert {k["key_id"] for k in listed} == {first["key_id"], second["key_id"]}
    assert (await admin.get("/key/list", params={"user_id": UNKNOWN_ID})).status == 404
    assert (await admin.get("/key/list")).status == 400


async def test_delete_keys(scim, admin, anonymous):
    user = await create_user(scim)
    doomed, kept = await generate(admin, user["id"]), await generate(admin, user["id"])
    response = await admin.post("/key/delete", {"key_ids": [doomed["key_id"], UNKNOWN_ID]})
    assert response.status == 200, response
    assert response.json["deleted_keys"] == [doomed["key_id"]]
    assert (await key_info(anonymous, doomed["key"])).status == 401
    assert (await key_info(anonymous, kept["key"])).status == 200
    listed = (await admin.get("/key/list", params={"user_id": user["id"]})).json["keys"]
    assert [k["key_id"] for k in listed] == [kept["key_id"]]
    for bad in ({}, {"key_ids": []}, {"key_ids": "x"}, {"key_ids": [1]}):
        assert (await admin.post("/key/delete", bad)).status == 400


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer sk-not-a-real-key", "Basic c2s6eA==", "sk-without-scheme"],
)
async def test_key_info_refuses_anything_but_a_live_key(anonymous, header):
    headers = {} if header is None else {"Authorization": header}
    response = await anonymous.get("/key/info", headers=headers)
    assert response.status == 401, response
    assert "WWW-Authenticate" in response.headers


async def test_keys_of_inactive_users_never_authenticate(scim, server, anonymous):
    """Even a key row that survived (written past the use cases) is refused for an inactive
    user: /key/info checks the user on every call."""
    user = await create_user(scim, active=False)
    secret = "sk-" + unique("planted")
    async with server.services.repo.transaction() as stores:
        await stores.api_keys.insert(
            ApiKeyRecord(
                id=new_id(), user_id=user["id"], team_id=None, key_alias=None, created_at=utcnow()
            ),
            hashlib.sha256(secret.encode()).hexdigest(),
        )
    assert (await key_info(anonymous, secret)).status == 401
    activated = await scim.patch(
        f"/Users/{user['id']}", patch_body({"op": "replace", "path": "active", "value": True})
    )
    assert activated.status == 200
    assert (await key_info(anonymous, secret)).status == 200, "the same row, now an active user"


# -- each credential only where it belongs ----------------------------------------------------


async def test_a_scim_token_is_not_the_master_key(admin, scim_token, scim):
    user = await create_user(scim)
    as_scim = admin.with_token(scim_token)
    assert (await as_scim.post("/key/generate", {"user_id": user["id"]})).status == 401
    assert (await as_scim.get("/key/list", params={"user_id": user["id"]})).status == 401
    assert (await as_scim.post("/key/delete", {"key_ids": ["x"]})).status == 401
    assert (await as_scim.get("/key/info")).status == 401


async def test_an_api_key_is_not_a_scim_token_nor_the_master_key(scim, admin):
    user = await create_user(scim)
    key = (await generate(admin, user["id"]))["key"]
    on_scim = await scim.with_token(key).get("/Users")
    assert on_scim.status == 401
    assert on_scim.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert on_scim.json["status"] == "401"
    assert (
        await admin.with_token(key).post("/key/generate", {"user_id": user["id"]})
    ).status == 401


async def test_the_master_key_is_not_an_api_key_nor_a_scim_token(anonymous, scim):
    assert (await key_info(anonymous, MASTER_KEY)).status == 401
    assert (await scim.with_token(MASTER_KEY).get("/Users")).status == 401


async def test_no_credential_on_the_admin_api_is_401(anonymous):
    response = await anonymous.post("/key/generate", {"user_id": "x"})
    assert response.status == 401
    assert response.json["error"]["code"] == "401"

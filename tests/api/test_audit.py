"""The audit log: every provisioning change says who (which SCIM token, or the admin), what and
when; it is written in the transaction of the change; it is readable with `run.py audit` and
`GET /audit`; and no secret ever reaches it."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from app.provisioning.common import Actor
from tests.support.dumps import dump_database
from tests.support.processes import run_cli
from tests.support.provisioning_data import (
    create_group,
    create_user,
    patch_body,
    unique,
    user_body,
)
from tests.support.server import MASTER_KEY, Client
from tests.support.statement_counter import StatementCounter, touching


@pytest.fixture(scope="module")
async def idp(server, http_session):
    """A SCIM client whose token's id and name the tests know."""
    name = unique("audited-idp")
    record, secret = await server.services.scim_tokens.create(name, Actor("cli", None, "tests"))
    return Client(http_session, server.scim_url, secret), record


@pytest.fixture(scope="module")
def statements(server):
    counter = StatementCounter().install(server.services.db)
    yield counter
    counter.uninstall()


async def audit(admin, **query) -> dict:
    response = await admin.get("/audit", params={k: str(v) for k, v in query.items()})
    assert response.status == 200, response
    return response.json


def actions(events: list[dict]) -> list[str]:
    return [event["action"] for event in events]


async def test_a_users_whole_life_is_in_the_log(idp, admin, server):
    scim, token = idp
    started = dt.datetime.now(dt.UTC)
    user = await create_user(scim)
    path = f"/Users/{user['id']}"
    await scim.patch(path, patch_body({"op": "replace", "path": "displayName", "value": "New"}))
    keys = [
        (await admin.post("/key/generate", {"user_id": user["id"], "key_alias": alias})).json
        for alias in ("laptop", "ci")
    ]
    await scim.patch(path, patch_body({"op": "Replace", "path": "active", "value": "False"}))
    await scim.patch(path, patch_body({"op": "Replace", "path": "active", "value": "True"}))
    assert (await scim.delete(path)).status == 204

    events = (await audit(admin, target_id=user["id"]))["events"]
    assert actions(events) == [
        "user.delete",
        "user.reactivate",
        "user.update",
        "key.delete",
        "key.delete",
        "user.deactivate",
        "user.update",
        "key.create",
        "key.create",
        "user.update",
        "user.create",
    ]
    by_scim = [e for e in events if not e["action"].startswith("key.")]
    assert all(
        e["actor"] == {"kind": "scim_token", "id": token.id, "name": token.name} for e in by_scim
    )
    created = [e for e in events if e["action"] == "key.create"]
    assert all(e["actor"]["kind"] == "admin" for e in created)
    deleted = [e for e in events if e["action"] == "key.delete"]
    assert {e["target_id"] for e in deleted} == {k["key_id"] for k in keys}
    assert {e["details"]["key_alias"] for e in deleted} == {"laptop", "ci"}
    assert all(e["details"]["user_id"] == user["id"] for e in deleted)
    assert all(e["actor"]["id"] == token.id for e in deleted), "the deactivating token"
    assert events[-1]["details"]["userName"] == user["userName"]
    update = events[-2]
    assert update["details"]["changed"] == ["displayName"]
    for event in events:
        at = dt.datetime.fromisoformat(event["at"].replace("Z", "+00:00"))
        assert started - dt.timedelta(seconds=1) <= at <= dt.datetime.now(dt.UTC)
        assert event["target_type"] in {"user", "api_key"}


async def test_team_changes_are_in_the_log(idp, admin):
    scim, token = idp
    alice, bob = await create_user(scim), await create_user(scim)
    team = await create_group(scim, member_ids=[alice["id"]])
    path = f"/Groups/{team['id']}"
    key = (
        await admin.post(
            "/key/generate", {"user_id": alice["id"], "team_id": team["id"], "key_alias": "t"}
        )
    ).json
    await scim.patch(
        path, patch_body({"op": "add", "path": "members", "value": [{"value": bob["id"]}]})
    )
    await scim.patch(
        path, patch_body({"op": "remove", "path": f'members[value eq "{alice["id"]}"]'})
    )
    await scim.patch(
        path, patch_body({"op": "replace", "path": "displayName", "value": unique("R")})
    )
    assert (await scim.delete(path)).status == 204

    events = (await audit(admin, target_id=team["id"]))["events"]
    assert actions(events) == [
        "team.delete",
        "team.update",
        "team.member_remove",
        "team.member_add",
        "team.member_add",
        "team.create",
    ]
    assert events[2]["details"]["user_ids"] == [alice["id"]]
    assert events[3]["details"]["user_ids"] == [bob["id"]]
    assert events[4]["details"]["user_ids"] == [alice["id"]]
    assert all(e["actor"]["id"] == token.id for e in events)
    [key_deleted] = (await audit(admin, target_id=key["key_id"], action="key.delete"))["events"]
    assert key_deleted["details"]["team_id"] == team["id"]
    assert key_deleted["details"]["key_alias"] == "t"
    assert key_deleted["details"]["reason"] == "removed from team"


async def test_admin_key_deletion_is_in_the_log(scim, admin):
    user = await create_user(scim)
    key = (await admin.post("/key/generate", {"user_id": user["id"], "key_alias": "old"})).json
    await admin.post("/key/delete", {"key_ids": [key["key_id"]]})
    [event] = (await audit(admin, target_id=key["key_id"], action="key.delete"))["events"]
    assert event["actor"] == {"kind": "admin", "id": None, "name": "master key"}
    assert event["details"]["key_alias"] == "old"


async def test_paging_and_filters(idp, admin):
    scim, _ = idp
    user = await create_user(scim)
    for n in range(4):
        await scim.patch(
            f"/Users/{user['id']}",
            patch_body({"op": "replace", "path": "displayName", "value": f"n{n}"}),
        )
    everything = await audit(admin, target_id=user["id"])
    assert everything["total"] == 5
    updates = await audit(admin, target_id=user["id"], action="user.update", limit=2, offset=1)
    assert updates["total"] == 4
    assert updates["limit"] == 2 and updates["offset"] == 1
    assert [e["details"]["changed"] for e in updates["events"]] == [["displayName"]] * 2
    assert updates["events"] == everything["events"][1:3]
    assert (await audit(admin, target_id=user["id"], offset=10))["events"] == []
    assert (await audit(admin, action="no.such.action"))["events"] == []


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=x", "offset=-1", "limit=1.5"])
async def test_bad_paging_is_400(admin, query):
    response = await admin.get(f"/audit?{query}")
    assert response.status == 400, response


async def test_the_audit_api_needs_the_master_key(admin, scim_token, scim):
    user = await create_user(scim)
    api_key = (await admin.post("/key/generate", {"user_id": user["id"]})).json["key"]
    for credential in (None, scim_token, api_key, MASTER_KEY + "x"):
        assert (await admin.with_token(credential).get("/audit")).status == 401


async def test_run_py_audit_prints_json_lines(idp, admin, server):
    scim, token = idp
    user = await create_user(scim)
    await scim.patch(
        f"/Users/{user['id']}", patch_body({"op": "replace", "value": {"active": False}})
    )
    code, stdout, stderr = await run_cli(
        server.settings.database_url, "audit", "--target", user["id"], "--limit", "10"
    )
    assert code == 0, stderr
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert actions(lines) == ["user.deactivate", "user.update", "user.create"]
    assert lines == (await audit(admin, target_id=user["id"]))["events"]
    assert lines[0]["actor"] == {"kind": "scim_token", "id": token.id, "name": token.name}
    code, stdout, _ = await run_cli(
        server.settings.database_url,
        "audit",
        "--target",
        user["id"],
        "--action",
        "user.create",
    )
    assert code == 0
    assert actions([json.loads(line) for line in stdout.splitlines()]) == ["user.create"]


# -- the same transaction ---------------------------------------------------------------------


async def test_each_change_and_its_audit_event_commit_together(idp, admin, statements):
    scim, _ = idp

    async def same_transaction(call, *writes: str) -> None:
        with statements.counting() as executed:
            response = await call()
        assert response.status in (200, 201, 204), response
        found = [touching(executed, write) for write in (*writes, "INSERT INTO audit_events")]
        assert all(len(f) == 1 for f in found), executed
        assert len({f[0].scope for f in found}) == 1, found

    user_id = None

    async def create():
        nonlocal user_id
        response = await scim.post("/Users", user_body())
        user_id = response.json["id"]
        return response

    await same_transaction(create, "INSERT INTO users")
    await same_transaction(
        lambda: scim.patch(
            f"/Users/{user_id}",
            patch_body({"op": "replace", "path": "displayName", "value": "x"}),
        ),
        "UPDATE users",
    )
    group = await create_group(scim)
    await same_transaction(
        lambda: scim.patch(
            f"/Groups/{group['id']}",
            patch_body({"op": "add", "path": "members", "value": [{"value": user_id}]}),
        ),
        "INSERT INTO team_members",
    )
    await same_transaction(
        lambda: admin.post("/key/generate", {"user_id": user_id}), "INSERT INTO api_keys"
    )
    await same_transaction(lambda: scim.delete(f"/Groups/{group['id']}"), "DELETE FROM teams")


# -- no secrets -------------------------------------------------------------------------------


async def test_no_secret_ever_reaches_the_audit_log_or_the_database(idp, admin, server):
    scim, _ = idp
    password = "Okta-Random-" + unique("pw")
    user = (await scim.post("/Users", user_body(password=password))).json
    team = await create_group(scim, member_ids=[user["id"]])
    keys = [
        (await admin.post("/key/generate", {"user_id": user["id"], "team_id": team["id"]})).json[
            "key"
        ],
        (await admin.post("/key/generate", {"user_id": user["id"]})).json["key"],
    ]
    _, other_token = await server.services.scim_tokens.create(unique("t"), Actor("cli", None, "t"))
    await scim.patch(
        f"/Users/{user['id']}", patch_body({"op": "Replace", "path": "active", "value": "False"})
    )
    scim_secret = scim.token
    secrets = [password, scim_secret, other_token, MASTER_KEY, *keys]

    events = (await audit(admin, limit=1000))["events"]
    assert len(events) > 5
    log_text = json.dumps(events)
    code, cli_text, _ = await run_cli(server.settings.database_url, "audit", "--limit", "1000")
    assert code == 0
    dump = await dump_database(server.settings.database_url)
    audit_rows = "\n".join(line for line in dump.splitlines() if "audit_events" in line)
    assert audit_rows
    for secret in secrets:
        for text in (log_text, cli_text, audit_rows, dump):
            assert secret not in text
            assert secret.split("_", 1)[-1].removeprefix("sk-") not in text

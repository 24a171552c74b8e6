"""Bulk (RFC 7644 §3.7) through the live server, on both backends: bulkId references in data
and paths, per-operation status, failOnErrors, limits advertised and enforced with 413."""

from __future__ import annotations

import orjson
import pytest

from tests.support.databases import dispose_database_url, new_database_url
from tests.support.scim_data import assert_scim_error, patch_body, unique_name, user_body
from tests.support.server import Client, LiveServer

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


def bulk(*operations: dict, **extra) -> dict:
    return {"schemas": [BULK_REQUEST], "Operations": list(operations), **extra}


def post_user(bulk_id: str, user_name: str | None = None) -> dict:
    return {"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": user_body(user_name)}


def post_group(bulk_id: str, member_refs: list[str], name: str | None = None) -> dict:
    return {
        "method": "POST",
        "path": "/Groups",
        "bulkId": bulk_id,
        "data": {
            "displayName": name or unique_name("team"),
            "members": [{"value": ref} for ref in member_refs],
        },
    }


async def run(scim: Client, body: dict) -> list[dict]:
    response = await scim.post("/Bulk", body)
    assert response.status == 200, response
    assert response.json["schemas"] == [BULK_RESPONSE]
    return response.json["Operations"]


async def test_service_provider_config_advertises_bulk_truthfully(scim, server):
    config = (await scim.get("/ServiceProviderConfig")).json
    assert config["bulk"] == {
        "supported": True,
        "maxOperations": server.settings.bulk_max_operations,
        "maxPayloadSize": min(
            server.settings.bulk_max_payload_bytes, server.settings.max_body_bytes
        ),
    }


async def test_group_created_with_members_created_earlier_in_the_same_request(scim):
    operations = await run(
        scim,
        bulk(
            post_user("alice"), post_user("bob"), post_group("eng", ["bulkId:alice", "bulkId:bob"])
        ),
    )
    assert [op["status"] for op in operations] == ["201", "201", "201"]
    assert [op["bulkId"] for op in operations] == ["alice", "bob", "eng"]
    assert all(op["method"] == "POST" for op in operations)
    user_ids = []
    for op in operations:
        fetched = await scim.get(op["location"].split("/scim/v2", 1)[1])
        assert fetched.status == 200
        assert fetched.headers["ETag"] == op["version"]
        user_ids.append(fetched.json["id"])
    group = await scim.get(operations[2]["location"].split("/scim/v2", 1)[1])
    assert {m["value"] for m in group.json["members"]} == set(user_ids[:2])


async def test_a_reference_to_a_later_post_runs_that_post_first(scim):
    operations = await run(scim, bulk(post_group("team", ["bulkId:later"]), post_user("later")))
    by_id = {op["bulkId"]: op for op in operations}
    assert by_id["team"]["status"] == "201" and by_id["later"]["status"] == "201"
    group = await scim.get(by_id["team"]["location"].split("/scim/v2", 1)[1])
    user_id = by_id["later"]["location"].rsplit("/", 1)[1]
    assert [m["value"] for m in group.json["members"]] == [user_id]


async def test_bulk_id_in_a_path_and_in_any_value(scim):
    manager_name = unique_name("manager")
    operations = await run(
        scim,
        bulk(
            post_user("boss", manager_name),
            post_user("worker"),
            {
                "method": "PATCH",
                "path": "/Users/bulkId:worker",
                "data": patch_body(
                    {
                        "op": "add",
                        "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                        "value": "bulkId:boss",
                    }
                ),
            },
        ),
    )
    assert [op["status"] for op in operations] == ["201", "201", "200"]
    boss_id = operations[0]["location"].rsplit("/", 1)[1]
    worker = await scim.get(operations[2]["location"].split("/scim/v2", 1)[1])
    enterprise = worker.json["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
    assert enterprise["manager"]["value"] == boss_id
    assert operations[2]["version"] == worker.headers["ETag"]


async def test_put_patch_delete_and_version_preconditions(scim):
    created = (await scim.post("/Users", user_body())).json
    path = f"/Users/{created['id']}"
    operations = await run(
        scim,
        bulk(
            {
                "method": "PATCH",
                "path": path,
                "version": 'W/"999"',
                "data": patch_body({"op": "replace", "path": "displayName", "value": "stale"}),
            },
            {
                "method": "PUT",
                "path": path,
                "version": created["meta"]["version"],
                "data": user_body(created["userName"], displayName="Put Name"),
            },
            {"method": "DELETE", "path": path},
        ),
    )
    assert [op["status"] for op in operations] == ["412", "200", "204"]
    assert operations[0]["response"]["status"] == "412"
    assert (await scim.get(path)).status == 404


async def test_each_operation_fails_alone_with_its_own_status(scim):
    taken, ghost_name = unique_name("taken"), unique_name("ghosts")
    assert (await scim.post("/Users", user_body(taken))).status == 201
    operations = await run(
        scim,
        bulk(
            post_user("dup", taken.upper()),
            {"method": "POST", "path": "/Users", "data": user_body()},  # no bulkId
            {"method": "FETCH", "path": "/Users/x"},
            {"method": "PATCH", "path": "/Nowhere/x", "data": patch_body()},
            post_group("ghosts", ["no-such-user"], ghost_name),
            post_user("fine"),
        ),
    )
    statuses = [op["status"] for op in operations]
    assert statuses == ["409", "400", "400", "400", "400", "201"], operations
    assert operations[0]["response"]["scimType"] == "uniqueness"
    assert all(
        op["response"]["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        for op in operations[:5]
    )
    assert operations[4]["response"]["scimType"] == "invalidValue"
    assert "location" not in operations[4]
    ghosts = await scim.get("/Groups", params={"filter": f'displayName eq "{ghost_name}"'})
    assert ghosts.json["totalResults"] == 0, "a failed operation leaves nothing behind"


async def test_unresolvable_and_circular_references_are_409(scim):
    operations = await run(
        scim,
        bulk(
            post_group("a", ["bulkId:nobody"]),
            # no userName: it fails, so its bulkId never resolves
            {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"displayName": "x"}},
            post_group("b", ["bulkId:bad"]),
            {
                "method": "PATCH",
                "path": "/Users/bulkId:loop1",
                "bulkId": "loop2",
                "data": patch_body({"op": "replace", "path": "displayName", "value": "x"}),
            },
        ),
    )
    by_index = {op.get("bulkId"): op for op in operations}
    assert by_index["a"]["status"] == "409"
    assert by_index["bad"]["status"] == "400"
    assert by_index["b"]["status"] == "409"
    assert "failed" in by_index["b"]["response"]["detail"]
    assert by_index["loop2"]["status"] == "409"


async def test_fail_on_errors_stops_after_that_many_errors(scim):
    taken = unique_name("taken")
    assert (await scim.post("/Users", user_body(taken))).status == 201
    never = unique_name("never")
    operations = await run(
        scim,
        bulk(post_user("ok"), post_user("dup", taken), post_user("skipped", never), failOnErrors=1),
    )
    assert [op["status"] for op in operations] == ["201", "409"]
    found = await scim.get("/Users", params={"filter": f'userName eq "{never}"'})
    assert found.json["totalResults"] == 0


async def test_deactivating_through_bulk_cuts_keys_like_a_single_patch(scim, admin):
    user = (await scim.post("/Users", user_body())).json
    key = (await admin.post("/key/generate", {"user_id": user["id"]})).json["key"]
    assert (await admin.with_token(key).get("/key/info")).status == 200
    operations = await run(
        scim,
        bulk(
            {
                "method": "PATCH",
                "path": f"/Users/{user['id']}",
                "data": patch_body({"op": "Replace", "path": "active", "value": "False"}),
            }
        ),
    )
    assert operations[0]["status"] == "200"
    assert (await admin.with_token(key).get("/key/info")).status == 401


async def test_malformed_bulk_requests_are_400(scim):
    assert_scim_error(await scim.post("/Bulk", {"schemas": [BULK_REQUEST]}), 400, "invalidSyntax")
    assert_scim_error(await scim.post("/Bulk", ["not", "an", "object"]), 400, "invalidSyntax")
    assert_scim_error(
        await scim.post("/Bulk", bulk(post_user("x"), failOnErrors=0)), 400, "invalidValue"
    )
    assert_scim_error(
        await scim.post("/Bulk", bulk(post_user("same"), post_user("same"))), 400, "invalidValue"
    )


async def test_bulk_needs_a_scim_token(scim):
    response = await scim.with_token(None).post("/Bulk", bulk(post_user("x")))
    assert_scim_error(response, 401)


# -- limits, on a server configured with small ones ---------------------------------------------


@pytest.fixture(scope="module")
async def small_limits(backend, tmp_path_factory, http_session):
    url = await new_database_url(backend, tmp_path_factory.mktemp("bulk-limits"))
    live = await LiveServer(url, bulk_max_operations=3, bulk_max_payload_bytes=2000).start()
    token = await live.new_scim_token()
    yield Client(http_session, live.scim_url, token)
    await live.stop()
    await dispose_database_url(url)


async def test_limits_are_advertised_and_enforced_with_413(small_limits):
    config = (await small_limits.get("/ServiceProviderConfig")).json
    assert config["bulk"]["maxOperations"] == 3
    assert config["bulk"]["maxPayloadSize"] == 2000

    too_many = bulk(*(post_user(f"u{n}") for n in range(4)))
    body = assert_scim_error(await small_limits.post("/Bulk", too_many), 413)
    assert "maxOperations" in body["detail"]

    padded = bulk(post_user("big", unique_name("x" * 2000)))
    assert len(orjson.dumps(padded)) > 2000
    body = assert_scim_error(await small_limits.post("/Bulk", padded), 413)
    assert "maxPayloadSize" in body["detail"]

    async def chunked():
        yield orjson.dumps(padded)

    body = assert_scim_error(await small_limits.request("POST", "/Bulk", data=chunked()), 413)
    found = await small_limits.get("/Users", params={"filter": 'userName sw "x"'})
    assert found.json["totalResults"] == 0, "nothing of a refused request is applied"

    fits = await small_limits.post("/Bulk", bulk(*(post_user(f"u{n}") for n in range(3))))
    assert [op["status"] for op in fits.json["Operations"]] == ["201", "201", "201"]

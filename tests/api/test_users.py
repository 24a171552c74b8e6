"""Users through the live server (RFC 7644 §3.3–3.6, RFC 7643 §4.1, §4.3), on both backends."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.scim_data import (
    ENTERPRISE_URN,
    USER_URN,
    assert_scim_error,
    dump_database,
    full_user,
    patch_body,
    unique_name,
    user_body,
)


@pytest.fixture(scope="module")
async def published_schemas(server, http_session, scim_token) -> dict[str, dict]:
    from tests.support.server import Client

    response = await Client(http_session, server.scim_url, scim_token).get("/Schemas")
    assert response.status == 200, response
    return {schema["id"]: schema for schema in response.json["Resources"]}


async def create(scim, body: dict) -> dict:
    response = await scim.post("/Users", body)
    assert response.status == 201, response
    return response.json


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- create and read ------------------------------------------------------------------------


async def test_every_published_attribute_round_trips_exactly(scim, published_schemas):
    body, expected = full_user(published_schemas, unique_name("full"))
    created = await scim.post("/Users", body)
    assert created.status == 201, created
    fetched = await scim.get(f"/Users/{created.json['id']}")
    assert fetched.status == 200
    for document in (created.json, fetched.json):
        shown = {key: document.get(key) for key in expected}
        assert shown == expected
        assert document["schemas"] == [USER_URN, ENTERPRISE_URN]
        assert "password" not in document


async def test_round_trip_survives_put_of_what_was_returned(scim, published_schemas):
    """Okta's profile update: GET, then PUT the whole object back, `id`/`meta` included."""
    body, expected = full_user(published_schemas, unique_name("echo"))
    created = await create(scim, body)
    echoed = await scim.put(f"/Users/{created['id']}", created)
    assert echoed.status == 200, echoed
    assert {key: echoed.json.get(key) for key in expected} == expected
    assert echoed.json["meta"]["version"] == created["meta"]["version"]  # nothing changed


async def test_id_is_generated_by_the_server_and_external_id_kept(scim):
    body = user_body(id="client-chosen-id", externalId="Okta|00u1AbC")
    created = await create(scim, body)
    assert created["id"] != "client-chosen-id"
    assert created["externalId"] == "Okta|00u1AbC"
    assert (await scim.get("/Users/client-chosen-id")).status == 404
    fetched = await scim.get(f"/Users/{created['id']}")
    assert fetched.json["externalId"] == "Okta|00u1AbC"


async def test_meta_location_and_etag(scim, server):
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    response = await scim.post("/Users", user_body())
    assert response.status == 201
    user = response.json
    meta = user["meta"]
    location = f"{server.scim_url}/Users/{user['id']}"
    assert meta["resourceType"] == "User"
    assert meta["location"] == location == response.headers["Location"]
    assert meta["version"] == response.headers["ETag"]
    assert meta["version"].startswith('W/"')
    created, modified = _parse_time(meta["created"]), _parse_time(meta["lastModified"])
    assert before <= created <= modified <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    assert response.headers["Content-Type"].startswith("application/scim+json")

    fetched = await scim.get(f"/Users/{user['id']}")
    assert fetched.headers["ETag"] == meta["version"]
    renamed = await scim.patch(
        f"/Users/{user['id']}",
        patch_body({"op": "replace", "path": "displayName", "value": "Renamed"}),
    )
    assert renamed.status == 200
    assert renamed.json["meta"]["version"] != meta["version"]
    assert renamed.headers["ETag"] == renamed.json["meta"]["version"]
    assert renamed.json["meta"]["created"] == meta["created"]
    assert _parse_time(renamed.json["meta"]["lastModified"]) >= modified


async def test_password_is_accepted_but_never_returned_nor_stored(scim, server):
    secret = "Pa55-word-" + unique_name("secret")
    created = await create(scim, user_body(password=secret))
    assert "password" not in created
    user_id = created["id"]
    replaced = await scim.put(
        f"/Users/{user_id}", user_body(created["userName"], password=secret + "2")
    )
    assert replaced.status == 200 and "password" not in replaced.json
    patched = await scim.patch(
        f"/Users/{user_id}",
        patch_body({"op": "replace", "path": "password", "value": secret + "3"}),
    )
    assert patched.status == 200 and "password" not in patched.json
    fetched = await scim.get(f"/Users/{user_id}", params={"attributes": "password,userName"})
    assert "password" not in fetched.json
    listed = await scim.get("/Users", params={"filter": f'id eq "{user_id}"'})
    assert "password" not in listed.json["Resources"][0]
    dump = await dump_database(server.settings.database_url)
    assert created["userName"] in dump  # the dump does hold the user
    assert secret not in dump


# -- uniqueness -------------------------------------------------------------------------------


async def test_user_name_is_unique_case_insensitively(scim):
    name = unique_name("Unique")
    await create(scim, user_body(name))
    duplicate = await scim.post("/Users", user_body(name.upper()))
    assert_scim_error(duplicate, 409, "uniqueness")


async def test_rename_onto_an_existing_user_name_is_a_conflict(scim):
    taken = unique_name("taken")
    await create(scim, user_body(taken))
    other = await create(scim, user_body())
    by_put = await scim.put(f"/Users/{other['id']}", user_body(taken.upper()))
    assert_scim_error(by_put, 409, "uniqueness")
    by_patch = await scim.patch(
        f"/Users/{other['id']}",
        patch_body({"op": "replace", "path": "userName", "value": taken.title()}),
    )
    assert_scim_error(by_patch, 409, "uniqueness")
    by_pathless = await scim.patch(
        f"/Users/{other['id']}", patch_body({"op": "Replace", "value": {"userName": taken}})
    )
    assert_scim_error(by_pathless, 409, "uniqueness")
    unchanged = await scim.get(f"/Users/{other['id']}")
    assert unchanged.json["userName"] == other["userName"]


async def test_changing_only_the_case_of_ones_own_user_name_is_allowed(scim):
    created = await create(scim, user_body())
    upper = created["userName"].upper()
    response = await scim.patch(
        f"/Users/{created['id']}", patch_body({"op": "replace", "path": "userName", "value": upper})
    )
    assert response.status == 200, response
    assert response.json["userName"] == upper


# -- replace and delete -------------------------------------------------------------------------


async def test_put_replaces_the_whole_resource(scim):
    created = await create(scim, user_body(displayName="Before", title="Engineer", nickName="nick"))
    replaced = await scim.put(
        f"/Users/{created['id']}", user_body(created["userName"], displayName="After")
    )
    assert replaced.status == 200, replaced
    assert replaced.json["displayName"] == "After"
    assert "title" not in replaced.json and "nickName" not in replaced.json
    assert replaced.json["id"] == created["id"]
    fetched = await scim.get(f"/Users/{created['id']}")
    assert fetched.json == replaced.json


async def test_put_without_a_user_name_is_invalid(scim):
    created = await create(scim, user_body())
    response = await scim.put(f"/Users/{created['id']}", {"schemas": [USER_URN], "active": True})
    assert_scim_error(response, 400, "invalidValue")


async def test_delete_removes_the_user(scim):
    created = await create(scim, user_body())
    deleted = await scim.delete(f"/Users/{created['id']}")
    assert deleted.status == 204 and not deleted.body
    assert_scim_error(await scim.get(f"/Users/{created['id']}"), 404)
    assert_scim_error(await scim.delete(f"/Users/{created['id']}"), 404)
    assert_scim_error(await scim.put(f"/Users/{created['id']}", user_body()), 404)
    missing = await scim.patch(
        f"/Users/{created['id']}", patch_body({"op": "replace", "path": "active", "value": False})
    )
    assert_scim_error(missing, 404)
    again = await scim.post("/Users", user_body(created["userName"]))
    assert again.status == 201  # the name is free again


async def test_deactivated_user_stays_readable_and_listable(scim):
    created = await create(scim, user_body())
    response = await scim.patch(
        f"/Users/{created['id']}", patch_body({"op": "Replace", "path": "active", "value": "False"})
    )
    assert response.status == 200 and response.json["active"] is False
    fetched = await scim.get(f"/Users/{created['id']}")
    assert fetched.status == 200 and fetched.json["active"] is False
    by_name = await scim.get("/Users", params={"filter": f'userName eq "{created["userName"]}"'})
    assert [(r["id"], r["active"]) for r in by_name.json["Resources"]] == [(created["id"], False)]
    inactive = await scim.get(
        "/Users", params={"filter": f'active eq false and id eq "{created["id"]}"'}
    )
    assert inactive.json["totalResults"] == 1
    put_without_active = await scim.put(
        f"/Users/{created['id']}", user_body(created["userName"]) | {"active": None}
    )
    assert put_without_active.status == 200
    assert put_without_active.json["active"] is False  # a PUT that omits active keeps it


# -- conditional requests (RFC 7644 §3.14) ---------------------------------------------------


async def test_if_match_with_a_stale_version_is_412(scim):
    created = await create(scim, user_body())
    path = f"/Users/{created['id']}"
    stale = created["meta"]["version"]
    current = (
        await scim.patch(path, patch_body({"op": "add", "path": "title", "value": "v2"}))
    ).json["meta"]["version"]
    assert current != stale
    assert_scim_error(
        await scim.put(path, user_body(created["userName"]), headers={"If-Match": stale}), 412
    )
    assert_scim_error(
        await scim.patch(
            path,
            patch_body({"op": "add", "path": "title", "value": "v3"}),
            headers={"If-Match": stale},
        ),
        412,
    )
    assert_scim_error(await scim.delete(path, headers={"If-Match": stale}), 412)
    assert (await scim.get(path)).json["title"] == "v2"
    ok = await scim.patch(
        path,
        patch_body({"op": "add", "path": "title", "value": "v3"}),
        headers={"If-Match": current},
    )
    assert ok.status == 200 and ok.json["title"] == "v3"
    assert (await scim.delete(path, headers={"If-Match": ok.headers["ETag"]})).status == 204


async def test_if_none_match_with_the_current_version_is_304(scim):
    created = await create(scim, user_body())
    path = f"/Users/{created['id']}"
    current = created["meta"]["version"]
    not_modified = await scim.get(path, headers={"If-None-Match": current})
    assert not_modified.status == 304 and not not_modified.body
    assert not_modified.headers["ETag"] == current
    assert (await scim.get(path, headers={"If-None-Match": 'W/"999999"'})).status == 200

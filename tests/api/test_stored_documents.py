"""`GET /Users/{id}` served from the representation stored at write time: the same bytes as the
general rendering (a list page renders the general way), kept current by every write, and
never relied on where it is missing or was made under other rules."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from app.scim.schemas import USER_RESOURCE
from app.scim.stored_documents import fingerprint
from tests.support.provisioning_data import create_group, create_user, patch_body, user_body
from tests.support.server import LiveServer
from tests.support.statement_counter import StatementCounter, without_authentication

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture
def statements(server):
    counter = StatementCounter().install(server.services.db)
    yield counter
    counter.uninstall()


async def _general(scim, user_id: str) -> bytes:
    """The user rendered the general way: a list page excluding an attribute no test user has
    (so showing everything a plain read shows) is never served from stored text."""
    listed = await scim.get(f'/Users?filter=id eq "{user_id}"&excludedAttributes=x509Certificates')
    assert listed.status == 200, listed
    (resource,) = listed.json["Resources"]
    return orjson.dumps(resource)


async def _stored_text(server, user_id: str) -> str | None:
    async with server.services.repo.db.transaction() as conn:
        return await conn.fetchval("SELECT rendered FROM users WHERE id = ?", user_id)


async def _set_stored_text(server, user_id: str, text: str | None) -> None:
    async with server.services.repo.db.transaction() as conn:
        await conn.execute("UPDATE users SET rendered = ? WHERE id = ?", text, user_id)


async def test_a_point_read_is_the_general_rendering_byte_for_byte(scim):
    user = await create_user(
        scim,
        displayName='Ünïcode "quoted" \\ name',
        name={"givenName": "Ada", "familyName": "Lovelace"},
        **{ENTERPRISE: {"department": "R&D", "manager": {"value": "m-1"}}},
    )
    await create_group(scim, "Stored A", member_ids=[user["id"]])
    await create_group(scim, "Stored B", member_ids=[user["id"]])
    read = await scim.get(f"/Users/{user['id']}")
    assert read.status == 200
    assert read.headers["Content-Type"].startswith("application/scim+json")
    assert read.headers["ETag"] == 'W/"1"'
    assert [g["display"] for g in read.json["groups"]] == ["Stored A", "Stored B"]
    assert read.body == await _general(scim, user["id"])
    assert list(read.json) == [
        "schemas", "id", "userName", "name", "displayName", "active", "emails", "groups",
        ENTERPRISE, "meta",
    ]  # fmt: skip


async def test_a_point_read_is_one_statement_that_reads_no_document(scim, statements):
    user = await create_user(scim)
    await create_group(scim, member_ids=[user["id"]])
    with statements.counting() as executed:
        read = await scim.get(f"/Users/{user['id']}")
    assert read.status == 200
    (statement,) = without_authentication(executed)
    assert "u.rendered" in statement.sql
    assert "u.doc" not in statement.sql


async def test_every_write_keeps_the_stored_text_current(scim, server):
    created = await scim.post("/Users", user_body())
    assert created.status == 201
    user = created.json
    path = f"/Users/{user['id']}"
    assert created.headers["Location"] == user["meta"]["location"]
    assert created.body == (await scim.get(path)).body
    assert (await _stored_text(server, user["id"])).startswith(fingerprint(USER_RESOURCE))

    patched = await scim.patch(
        path, patch_body({"op": "replace", "path": "displayName", "value": "Patched Name"})
    )
    assert patched.status == 200, patched
    read = await scim.get(path)
    assert patched.body == read.body  # a write's answer is what it stored
    assert read.json["displayName"] == "Patched Name"
    assert read.json["meta"]["version"] == read.headers["ETag"] == 'W/"2"'
    assert read.body == await _general(scim, user["id"])

    body = {k: v for k, v in read.json.items() if k not in ("meta", "groups")}
    body["title"] = "Replaced"
    replaced = await scim.put(path, body)
    assert replaced.status == 200, replaced
    read = await scim.get(path)
    assert replaced.body == read.body
    assert read.json["title"] == "Replaced"
    assert read.json["meta"]["lastModified"] == replaced.json["meta"]["lastModified"]
    assert read.body == await _general(scim, user["id"])


async def test_team_changes_show_without_the_user_being_written(scim):
    """`groups` is read with the user every time, not stored in the text."""
    user = await create_user(scim)
    group = await create_group(scim, "Before Rename", member_ids=[user["id"]])
    renamed = await scim.patch(
        f"/Groups/{group['id']}",
        patch_body({"op": "replace", "path": "displayName", "value": "After Rename"}),
    )
    assert renamed.status in (200, 204), renamed
    read = await scim.get(f"/Users/{user['id']}")
    assert [g["display"] for g in read.json["groups"]] == ["After Rename"]
    assert read.body == await _general(scim, user["id"])

    removed = await scim.patch(
        f"/Groups/{group['id']}",
        patch_body({"op": "remove", "path": f'members[value eq "{user["id"]}"]'}),
    )
    assert removed.status in (200, 204), removed
    read = await scim.get(f"/Users/{user['id']}")
    assert "groups" not in read.json
    assert read.body == await _general(scim, user["id"])


async def test_missing_or_foreign_stored_text_is_rendered_the_general_way(scim, server):
    """Rows written before the column existed (NULL), or under other rendering rules."""
    user = await create_user(scim, displayName="Old Row")
    expected = (await scim.get(f"/Users/{user['id']}")).body
    for text in (None, "", "0123456789ab\x1f{\x1f\x1f}", "not a stored text"):
        await _set_stored_text(server, user["id"], text)
        read = await scim.get(f"/Users/{user['id']}")
        assert read.status == 200
        assert read.body == expected, text


async def test_list_pages_are_the_general_rendering_byte_for_byte(scim, statements):
    """An IdP's match (`userName eq`) and any page with no attributes asked for come from the
    stored texts: one statement, the same bytes as rendering each user."""
    prefix = "stored-page-"
    users = [await create_user(scim, f"{prefix}{n}@example.com") for n in range(3)]
    await create_group(scim, "Page Team", member_ids=[users[1]["id"]])
    for query in (
        f'filter=userName eq "{prefix}1@example.com"',
        f'filter=userName sw "{prefix}"&sortBy=userName&count=2&startIndex=2',
        f'filter=userName sw "{prefix}"&count=0',
        f'filter=userName eq "{prefix}none"',
    ):
        with statements.counting() as executed:
            fast = await scim.get(f"/Users?{query}")
        general = await scim.get(f"/Users?{query}&excludedAttributes=x509Certificates")
        assert fast.status == general.status == 200, (fast, general)
        assert fast.body == general.body, query
        assert len(without_authentication(executed)) == 1, executed
        assert all("u.doc" not in statement.sql for statement in executed)
    searched = await scim.post(
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": f'userName sw "{prefix}"',
        },
    )
    assert searched.status == 200
    assert [r["userName"] for r in searched.json["Resources"]] == [u["userName"] for u in users]
    assert searched.json["itemsPerPage"] == 3
    assert searched.json["totalResults"] == 3


async def test_a_page_with_an_older_row_is_rendered_the_general_way(scim, server):
    users = [await create_user(scim, f"older-page-{n}@example.com") for n in range(2)]
    query = 'filter=userName sw "older-page-"'
    expected = (await scim.get(f"/Users?{query}")).body
    await _set_stored_text(server, users[1]["id"], None)
    assert (await scim.get(f"/Users?{query}")).body == expected


async def test_the_address_the_client_used_is_in_location(scim, server):
    user = await create_user(scim)
    read = await scim.get(f"/Users/{user['id']}")
    assert read.json["meta"]["location"] == f"{server.scim_url}/Users/{user['id']}"


async def test_conditional_point_reads(scim):
    user = await create_user(scim)
    path = f"/Users/{user['id']}"
    unchanged = await scim.get(path, headers={"If-None-Match": 'W/"1"'})
    assert unchanged.status == 304
    assert unchanged.headers["ETag"] == 'W/"1"'
    assert not unchanged.body
    assert (await scim.get(path, headers={"If-None-Match": 'W/"9"'})).status == 200


async def test_an_unknown_user_is_a_scim_404(scim):
    missing = await scim.get("/Users/no-such-user")
    assert missing.status == 404
    assert missing.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


async def test_older_rows_get_their_stored_text_back(scim, server):
    """What an upgrade leaves (no stored text, or one made under other rules) is rewritten by
    the backfill, and a user written meanwhile keeps the text of its own write."""
    old, foreign, busy = [await create_user(scim) for _ in range(3)]
    expected = {u["id"]: (await scim.get(f"/Users/{u['id']}")).body for u in (old, foreign)}
    await _set_stored_text(server, old["id"], None)
    await _set_stored_text(server, foreign["id"], "0123456789ab\x1f{\x1f\x1f}")
    assert await server.services.users.store_missing_representations(batch=1) >= 2
    for user_id, body in expected.items():
        assert (await _stored_text(server, user_id)).startswith(fingerprint(USER_RESOURCE))
        assert (await scim.get(f"/Users/{user_id}")).body == body
    assert await server.services.users.store_missing_representations() == 0

    patched = await scim.patch(
        f"/Users/{busy['id']}",
        patch_body({"op": "replace", "path": "displayName", "value": "Written Meanwhile"}),
    )
    assert patched.status == 200
    async with server.services.repo.transaction() as stores:
        # a backfill batch that read the user at version 1, before the PATCH, writes late
        await stores.users.set_stored_text([(busy["id"], 1, "stale")])
    read = await scim.get(f"/Users/{busy['id']}")
    assert read.json["displayName"] == "Written Meanwhile"
    assert read.body == await _general(scim, busy["id"])


async def test_a_server_starting_on_older_rows_stores_their_text(scim, server):
    user = await create_user(scim)
    await _set_stored_text(server, user["id"], None)
    restarted = await LiveServer(server.settings.database_url).start()
    try:
        for _ in range(100):
            if await _stored_text(server, user["id"]):
                break
            await asyncio.sleep(0.05)
        assert (await _stored_text(server, user["id"])).startswith(fingerprint(USER_RESOURCE))
    finally:
        await restarted.stop()

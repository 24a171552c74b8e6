"""Hostile text in values and filters reaches the database only as parameters, and means the
same thing on both backends: `%`, `_` and `\\` are literal in co/sw/ew, quotes are just
characters, and NUL (which PostgreSQL text cannot hold) is refused the same way everywhere.
(Escaping in the admin page's templates: tests/api/test_admin_ui.py.)
"""

from __future__ import annotations

import uuid

import pytest

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
TITLES = {
    "percent": "50% off",
    "underscore": "snake_case",
    "plain": "plain words",
    "quote": 'say "hi"',
    "apostrophe": "it's; DROP TABLE users; --",
    "backslash": "C:\\path\\to",
    "unicode": "Zoë 日本語 🚀",
    "like": "100%_\\",
}


@pytest.fixture(scope="module")
async def hostile(server, scim_token, http_session) -> tuple[str, dict[str, str]]:
    """Users whose titles hold the hostile text, under a prefix unique to this module."""
    from tests.support.server import Client

    scim = Client(http_session, server.scim_url, scim_token)
    prefix = f"inj-{uuid.uuid4().hex[:8]}-"
    ids = {}
    for key, title in TITLES.items():
        created = await scim.post("/Users", {"userName": prefix + key, "title": title})
        assert created.status == 201, created
        assert created.json["title"] == title
        ids[key] = created.json["id"]
    return prefix, ids


def json_string(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)


async def matching(scim, prefix: str, condition: str) -> set[str]:
    text = f"userName sw {json_string(prefix)} and ({condition})"
    response = await scim.get("/Users", params={"filter": text, "count": "100"})
    assert response.status == 200, (condition, response)
    return {user["userName"][len(prefix) :] for user in response.json["Resources"]}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('title co "%"', {"percent", "like"}),
        ('title co "_"', {"underscore", "like"}),
        ('title sw "%"', set()),
        ('title ew "%"', set()),
        ('title co "\\\\"', {"backslash", "like"}),
        ('title ew "\\\\"', {"like"}),
        ('title co "\\""', {"quote"}),
        ('title eq "say \\"hi\\""', {"quote"}),
        ('title co "\'"', {"apostrophe"}),
        ('title eq "it\'s; DROP TABLE users; --"', {"apostrophe"}),
        ('title co "日本"', {"unicode"}),
        ('title co "ZOË"', {"unicode"}),  # title is caseExact: false
        ('title co "🚀"', {"unicode"}),
        ("title sw \"' OR '1'='1\"", set()),
        ('title co "%_"', {"like"}),
        ('title eq "50% off" or title eq "snake_case"', {"percent", "underscore"}),
    ],
)
async def test_hostile_filter_values_match_literally(scim, hostile, condition, expected):
    prefix, _ = hostile
    assert await matching(scim, prefix, condition) == expected


async def test_the_table_survives(scim, hostile):
    prefix, ids = hostile
    assert len(await matching(scim, prefix, "title pr")) == len(TITLES)


def assert_scim_400(response, scim_type: str) -> None:
    assert response.status == 400, response
    assert response.json["status"] == "400"
    assert response.json["scimType"] == scim_type, response


async def test_nul_is_refused_in_filters(scim, hostile):
    for text in ('title eq "a\\u0000b"', 'title co "\\u0000"', 'title eq "a\x00b"', "title pr\x00"):
        assert_scim_400(await scim.get("/Users", params={"filter": text}), "invalidFilter")
    search = await scim.post(
        "/Users/.search", {"schemas": [SEARCH], "filter": 'title eq "\\u0000"'}
    )
    assert_scim_400(search, "invalidFilter")
    assert_scim_400(
        await scim.post("/Users/.search", {"schemas": [SEARCH], "filter": 'title eq "\x00"'}),
        "invalidValue",  # a NUL in the JSON body itself is refused before parsing the filter
    )


async def test_nul_is_refused_in_bodies_paths_and_parameters(scim, admin, hostile):
    _, ids = hostile
    user_id = ids["plain"]
    assert_scim_400(await scim.post("/Users", {"userName": "nul\x00name"}), "invalidValue")
    assert_scim_400(
        await scim.post("/Users", {"userName": f"n-{uuid.uuid4().hex}", "title": "a\x00"}),
        "invalidValue",
    )
    assert_scim_400(
        await scim.post("/Groups", {"displayName": f"g-{uuid.uuid4().hex}", "x\x00": 1}),
        "invalidValue",
    )
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "title", "value": "x\x00y"}],
    }
    assert_scim_400(await scim.patch(f"/Users/{user_id}", patch), "invalidValue")
    assert_scim_400(await scim.get("/Users/abc%00def"), "invalidValue")
    assert_scim_400(await scim.get("/Users", params={"sortBy": "title\x00"}), "invalidValue")
    refused = await admin.post("/key/generate", {"user_id": user_id, "key_alias": "a\x00"})
    assert refused.status == 400 and refused.json["error"]["code"] == "400"
    listed = await admin.get("/key/list", params={"user_id": "a\x00"})
    assert listed.status == 400
    still = await scim.get(f"/Users/{user_id}")
    assert still.status == 200 and still.json["title"] == TITLES["plain"]


async def test_lone_surrogates_are_invalid_json(scim):
    response = await scim.post("/Users", data=b'{"userName": "bad\\ud800"}')
    assert_scim_400(response, "invalidSyntax")

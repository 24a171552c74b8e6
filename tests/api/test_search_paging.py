"""Paging, sorting, attribute selection and POST `.search` through the live server
(RFC 7644 §3.4.2.3–§3.4.3), on both backends."""

from __future__ import annotations

import uuid

import pytest
import scim2_models

from tests.support.databases import dispose_database_url, new_database_url
from tests.support.scim_data import (
    ENTERPRISE_URN,
    LIST_URN,
    SEARCH_URN,
    USER_URN,
    assert_scim_error,
)
from tests.support.server import Client, LiveServer

COHORT = [
    # (user name, family name, department, title, emails)
    (
        "Mia",
        "Zimmer",
        "Sales",
        "b",
        [{"value": "m@b.com", "type": "work"}, {"value": "a@a.com", "primary": True}],
    ),
    ("anton", "Berg", "Research", None, [{"value": "z@c.com", "type": "work"}]),
    ("Bea", "berg", None, "A", []),
    (
        "carl",
        "Ärger",
        "research",
        "c",
        [{"value": "C@d.com", "type": "home"}, {"value": "b@a.com"}],
    ),
    ("Dora", "Zimmer", "Sales", None, [{"value": "d@e.com"}]),
    ("emil", "Adler", "Ops", "a", [{"value": "e@f.com", "primary": False}]),
    ("Fynn", None, "Ops", "B", [{"value": "aa@a.com"}]),
    ("gina", "Berg", None, None, []),
    ("Hugo", "Adler", "Research", "d", [{"value": "h@a.com"}]),
    ("ines", "Ödegaard", "Sales", None, [{"value": "i@a.com"}]),
    ("Jan", "Zimmer", "Ops", "e", [{"value": "j@a.com"}]),
]


def _body(tag: str, row) -> dict:
    user_name, family, department, title, emails = row
    body: dict = {"schemas": [USER_URN], "userName": f"{user_name}-{tag}", "nickName": tag}
    if family:
        body["name"] = {"familyName": family, "givenName": user_name}
    if department:
        body["schemas"].append(ENTERPRISE_URN)
        body[ENTERPRISE_URN] = {"department": department, "employeeNumber": str(len(user_name))}
    if title:
        body["title"] = title
    if emails:
        body["emails"] = emails
    return body


@pytest.fixture(scope="module")
async def cohort(server, http_session, scim_token) -> tuple[str, list[dict]]:
    """(the tag in every cohort user's nickName, the users in creation order)."""
    scim = Client(http_session, server.scim_url, scim_token)
    tag = uuid.uuid4().hex[:8]
    users = []
    for row in COHORT:
        response = await scim.post("/Users", _body(tag, row))
        assert response.status == 201, response
        users.append(response.json)
    return tag, users


def _ids(body: dict) -> list[str]:
    return [resource["id"] for resource in body["Resources"]]


# -- paging (RFC 7644 §3.4.2.4) -----------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 3, 4, 11, 50])
async def test_paging_visits_every_user_once_in_creation_order(scim, cohort, count):
    tag, users = cohort
    seen = []
    start = 1
    while True:
        response = await scim.get(
            "/Users",
            params={
                "filter": f'nickName eq "{tag}"',
                "startIndex": str(start),
                "count": str(count),
            },
        )
        assert response.status == 200
        page = response.json
        assert page["schemas"] == [LIST_URN]
        assert page["totalResults"] == len(users)
        assert page["startIndex"] == start
        assert page["itemsPerPage"] == len(page["Resources"]) <= count
        if not page["Resources"]:
            break
        seen += _ids(page)
        start += count
    assert seen == [user["id"] for user in users]


async def test_paging_edges(scim, cohort):
    tag, users = cohort
    query = {"filter": f'nickName eq "{tag}"'}

    async def page(**params) -> dict:
        response = await scim.get("/Users", params={**query, **params})
        assert response.status == 200, response
        return response.json

    beyond = await page(startIndex="100")
    assert (beyond["totalResults"], beyond["startIndex"], beyond["Resources"]) == (
        len(users),
        100,
        [],
    )
    only_total = await page(count="0")
    assert only_total["totalResults"] == len(users) and only_total["itemsPerPage"] == 0
    assert (await page(count="-5"))["itemsPerPage"] == 0
    for start in ("0", "-3"):
        first = await page(startIndex=start, count="2")
        assert first["startIndex"] == 1 and _ids(first) == [u["id"] for u in users[:2]]
    for bad in ({"count": "many"}, {"startIndex": "x"}, {"count": "1.5"}):
        response = await scim.get("/Users", params={**query, **bad})
        assert_scim_error(response, 400, "invalidValue")


async def test_page_sizes_are_configurable_and_advertised(backend, tmp_path, http_session):
    url = await new_database_url(backend, tmp_path)
    live = await LiveServer(url, default_page_size=2, max_page_size=5).start()
    try:
        scim = Client(http_session, live.scim_url, await live.new_scim_token())
        for _ in range(7):
            assert (await scim.post("/Users", {"userName": uuid.uuid4().hex})).status == 201
        default = (await scim.get("/Users")).json
        assert (default["totalResults"], default["itemsPerPage"]) == (7, 2)
        capped = (await scim.get("/Users", params={"count": "100"})).json
        assert capped["itemsPerPage"] == 5
        searched = await scim.post("/Users/.search", {"schemas": [SEARCH_URN], "count": 100})
        assert searched.json["itemsPerPage"] == 5
        root = await scim.post("/.search", {"schemas": [SEARCH_URN], "count": 100})
        assert root.json["itemsPerPage"] == 5
        config = (await scim.get("/ServiceProviderConfig")).json
        assert config["filter"] == {"supported": True, "maxResults": 5}
        assert config["pagination"] == {
            "cursor": False,
            "index": True,
            "defaultPaginationMethod": "index",
            "defaultPageSize": 2,
            "maxPageSize": 5,
        }
        parsed = scim2_models.ServiceProviderConfig.model_validate(
            config, scim_ctx=scim2_models.Context.RESOURCE_QUERY_RESPONSE
        )
        assert (parsed.pagination.default_page_size, parsed.pagination.max_page_size) == (2, 5)
        assert parsed.pagination.index is True and parsed.pagination.cursor is False
    finally:
        await live.stop()
        await dispose_database_url(url)


# -- sorting (RFC 7644 §3.4.2.3) ----------------------------------------------------------------


def _primary_email(user: dict) -> str | None:
    emails = user.get("emails") or []
    primary = [e for e in emails if e.get("primary") is True]
    chosen = (primary or emails or [None])[0]
    return chosen["value"].lower() if chosen else None


SORT_KEYS = {
    "userName": lambda u: u["userName"].lower(),
    "USERNAME": lambda u: u["userName"].lower(),
    "name.familyName": lambda u: (
        (u.get("name") or {}).get("familyName", None) and u["name"]["familyName"].lower()
    ),
    "title": lambda u: u.get("title") and u["title"].lower(),
    "emails": _primary_email,
    "emails.value": _primary_email,
    "department": lambda u: (u.get(ENTERPRISE_URN) or {}).get("department", "").lower() or None,
    f"{ENTERPRISE_URN}:department": lambda u: (
        (u.get(ENTERPRISE_URN) or {}).get("department", "").lower() or None
    ),
    f"{ENTERPRISE_URN}:employeeNumber": lambda u: (u.get(ENTERPRISE_URN) or {}).get(
        "employeeNumber"
    ),
    "meta.created": lambda u: u["meta"]["created"],
    "id": lambda u: u["id"],
}


def _expected_order(users: list[dict], key, descending: bool) -> list[str]:
    """Values ascending (descending reverses), ties in creation order (reversed when
    descending), users without a value last either way."""
    indexed = list(enumerate(users))
    present = [(key(u), i, u["id"]) for i, u in indexed if key(u) is not None]
    missing = [(i, u["id"]) for i, u in indexed if key(u) is None]
    present.sort(reverse=descending)
    missing.sort(reverse=descending)
    return [entry[-1] for entry in present] + [entry[-1] for entry in missing]


@pytest.mark.parametrize("sort_by", list(SORT_KEYS))
@pytest.mark.parametrize("sort_order", [None, "ascending", "DESCENDING"])
async def test_sorting(scim, cohort, sort_by, sort_order):
    tag, users = cohort
    params = {"filter": f'nickName eq "{tag}"', "sortBy": sort_by}
    if sort_order:
        params["sortOrder"] = sort_order
    response = await scim.get("/Users", params=params)
    assert response.status == 200, response
    descending = sort_order == "DESCENDING"
    assert _ids(response.json) == _expected_order(users, SORT_KEYS[sort_by], descending)


async def test_sorted_paging_is_stable(scim, cohort):
    tag, users = cohort
    expected = _expected_order(users, SORT_KEYS["department"], True)
    seen = []
    for start in range(1, len(users) + 1, 2):
        response = await scim.post(
            "/Users/.search",
            {
                "schemas": [SEARCH_URN],
                "filter": f'nickName eq "{tag}"',
                "sortBy": "department",
                "sortOrder": "descending",
                "startIndex": start,
                "count": 2,
            },
        )
        seen += _ids(response.json)
    assert seen == expected


async def test_sort_order_alone_keeps_creation_order(scim, cohort):
    tag, users = cohort
    response = await scim.get(
        "/Users", params={"filter": f'nickName eq "{tag}"', "sortOrder": "descending"}
    )
    assert response.status == 200
    assert set(_ids(response.json)) == {u["id"] for u in users}


@pytest.mark.parametrize(
    "params",
    [
        {"sortBy": "noSuchAttribute"},
        {"sortBy": "name"},
        {"sortBy": "userName", "sortOrder": "sideways"},
    ],
)
async def test_invalid_sort_is_400(scim, cohort, params):
    assert_scim_error(await scim.get("/Users", params=params), 400, "invalidValue")


# -- attributes / excludedAttributes (RFC 7644 §3.4.2.5) ------------------------------------


async def test_attributes_on_list_get_and_search(scim, cohort):
    tag, users = cohort
    user = users[0]
    listed = await scim.get(
        "/Users", params={"filter": f'id eq "{user["id"]}"', "attributes": "userName"}
    )
    fetched = await scim.get(f"/Users/{user['id']}", params={"attributes": "USERNAME"})
    searched = await scim.post(
        "/Users/.search",
        {"schemas": [SEARCH_URN], "filter": f'id eq "{user["id"]}"', "attributes": ["userName"]},
    )
    for document in (listed.json["Resources"][0], fetched.json, searched.json["Resources"][0]):
        assert document == {"schemas": [USER_URN], "id": user["id"], "userName": user["userName"]}


async def test_sub_attributes_and_extension_attributes(scim, cohort):
    _, users = cohort
    user = users[0]
    response = await scim.get(
        f"/Users/{user['id']}",
        params={"attributes": f"name.familyName,emails.value,{ENTERPRISE_URN}:department"},
    )
    assert response.json == {
        "schemas": [USER_URN, ENTERPRISE_URN],
        "id": user["id"],
        "name": {"familyName": user["name"]["familyName"]},
        "emails": [{"value": e["value"]} for e in user["emails"]],
        ENTERPRISE_URN: {"department": user[ENTERPRISE_URN]["department"]},
    }
    whole_extension = await scim.get(f"/Users/{user['id']}", params={"attributes": ENTERPRISE_URN})
    assert whole_extension.json[ENTERPRISE_URN] == user[ENTERPRISE_URN]
    assert "userName" not in whole_extension.json


async def test_excluded_attributes(scim, cohort):
    _, users = cohort
    user = users[0]
    response = await scim.get(
        f"/Users/{user['id']}", params={"excludedAttributes": "emails,name.givenName,id,meta"}
    )
    expected = {key: value for key, value in user.items() if key not in ("emails", "meta")}
    expected["name"] = {"familyName": user["name"]["familyName"]}
    assert response.json == expected  # `id` is returned always
    listed = await scim.get(
        "/Users", params={"filter": f'id eq "{user["id"]}"', "excludedAttributes": ENTERPRISE_URN}
    )
    assert ENTERPRISE_URN not in listed.json["Resources"][0]
    assert listed.json["Resources"][0]["schemas"] == [USER_URN]


async def test_attributes_on_writes(scim, cohort):
    created = await scim.post(
        "/Users?attributes=userName",
        {"schemas": [USER_URN], "userName": uuid.uuid4().hex, "title": "t"},
    )
    assert created.status == 201
    assert set(created.json) == {"schemas", "id", "userName"}
    assert created.headers["Location"].endswith(created.json["id"])
    replaced = await scim.put(
        f"/Users/{created.json['id']}?excludedAttributes=title",
        {"userName": created.json["userName"], "title": "u", "displayName": "D"},
    )
    assert replaced.status == 200 and "title" not in replaced.json
    assert replaced.json["displayName"] == "D"


# -- POST .search (RFC 7644 §3.4.3) ---------------------------------------------------------


async def test_search_request_body(scim, cohort):
    tag, users = cohort
    response = await scim.post(
        "/Users/.search",
        {
            "schemas": [SEARCH_URN],
            "filter": f'nickName eq "{tag}" and name.familyName eq "zimmer"',
            "sortBy": "userName",
            "sortOrder": "descending",
            "startIndex": 1,
            "count": 2,
            "excludedAttributes": ["emails"],
        },
    )
    assert response.status == 200, response
    zimmers = sorted(
        (u for u in users if (u.get("name") or {}).get("familyName") == "Zimmer"),
        key=lambda u: u["userName"].lower(),
        reverse=True,
    )
    assert response.json["totalResults"] == len(zimmers)
    assert _ids(response.json) == [u["id"] for u in zimmers[:2]]
    assert all("emails" not in r for r in response.json["Resources"])
    wrong = await scim.post("/Users/.search", {"schemas": [USER_URN], "filter": "userName pr"})
    assert_scim_error(wrong, 400, "invalidSyntax")
    assert_scim_error(await scim.post("/Users/.search", ["userName pr"]), 400, "invalidSyntax")
    assert_scim_error(
        await scim.post("/Users/.search", {"schemas": [SEARCH_URN], "count": "ten"}),
        400,
        "invalidValue",
    )


async def test_root_search_across_users_and_groups(scim, cohort):
    tag, users = cohort
    shared_name = f"Shared {tag}"
    user = (
        await scim.post(
            "/Users", {"userName": f"shared-{tag}", "displayName": shared_name, "nickName": tag}
        )
    ).json
    group = await scim.post("/Groups", {"displayName": shared_name})
    assert group.status == 201, group
    both = await scim.post(
        "/.search", {"schemas": [SEARCH_URN], "filter": f'displayName eq "{shared_name}"'}
    )
    assert both.status == 200, both
    assert both.json["totalResults"] == 2
    assert [(r["id"], r["meta"]["resourceType"]) for r in both.json["Resources"]] == [
        (user["id"], "User"),
        (group.json["id"], "Group"),
    ]
    second = await scim.post(
        "/.search",
        {
            "schemas": [SEARCH_URN],
            "filter": f'displayName eq "{shared_name}"',
            "startIndex": 2,
            "count": 1,
        },
    )
    assert (second.json["totalResults"], _ids(second.json)) == (2, [group.json["id"]])
    users_only = await scim.post(
        "/.search", {"schemas": [SEARCH_URN], "filter": f'nickName eq "{tag}"'}
    )
    assert users_only.json["totalResults"] == len(users) + 1
    assert {r["meta"]["resourceType"] for r in users_only.json["Resources"]} == {"User"}
    invalid = await scim.post("/.search", {"schemas": [SEARCH_URN], "filter": 'noSuch eq "x"'})
    assert_scim_error(invalid, 400, "invalidFilter")

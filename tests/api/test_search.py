"""Filtering through the live server (RFC 7644 §3.4.2.2) on both backends, as a differential
test: every filter's result from the server (the SQL compiler) equals the pure evaluator's
verdict on the same documents, and a filter the evaluator cannot bind is a 400 invalidFilter
from the server too."""

from __future__ import annotations

import json

import pytest

from app.scim.errors import ScimError
from tests.support.filter_cases import (
    ENTERPRISE,
    HANDWRITTEN,
    INVALID_FILTERS,
    expected_ids,
    generated_filters,
    seed_users,
)
from tests.support.scim_data import SEARCH_URN, assert_scim_error, patch_body
from tests.support.server import Client

TAG = "Tag-"
GENERATED_FILTERS = 150


@pytest.fixture(scope="module")
async def seeded(server, http_session, scim_token) -> list[dict]:
    """The seeded users as the server returns them (the documents the evaluator judges)."""
    scim = Client(http_session, server.scim_url, scim_token)
    ids = []
    for body in seed_users(TAG):
        response = await scim.post("/Users", body)
        assert response.status == 201, response
        ids.append(response.json["id"])
    for user_id in ids[2:5]:  # later lastModified than created for a few
        response = await scim.patch(
            f"/Users/{user_id}",
            patch_body({"op": "add", "path": "profileUrl", "value": "https://p"}),
        )
        assert response.status == 200
    for name, members in (("Eng Team", ids[0:3]), ("Ops_100%", ids[2:4])):
        response = await scim.post(
            "/Groups", {"displayName": f"{TAG}{name}", "members": [{"value": i} for i in members]}
        )
        assert response.status == 201, response
    docs = []
    for user_id in ids:
        response = await scim.get(f"/Users/{user_id}")
        docs.append(response.json)
    return docs


def _instantiate(template: str, docs: list[dict]) -> str:
    text = template.replace("{tag}", TAG).replace("{TAG}", TAG.upper())
    text = text.replace("{id_0}", docs[0]["id"]).replace("{ID_0}", docs[0]["id"].upper())
    text = text.replace("{group_0}", docs[0]["groups"][0]["value"])
    for index, doc in enumerate(docs):
        for key in ("created", "lastModified"):
            text = text.replace(f"{{{key}_{index}}}", doc["meta"][key])
    return text


async def _server_ids(scim, text: str, seeded_ids: set[str], *, via_post: bool = False):
    if via_post:
        response = await scim.post(
            "/Users/.search",
            {"schemas": [SEARCH_URN], "filter": text, "count": 1000, "attributes": ["id"]},
        )
    else:
        response = await scim.get(
            "/Users", params={"filter": text, "count": "1000", "attributes": "id"}
        )
    if response.status != 200:
        return response
    body = response.json
    assert body["totalResults"] == len(body["Resources"]), body
    return {resource["id"] for resource in body["Resources"]} & seeded_ids


async def _check(scim, text: str, docs: list[dict], *, via_post: bool = False) -> str | None:
    """None when server and evaluator agree, else a description of the difference."""
    seeded_ids = {doc["id"] for doc in docs}
    expected = expected_ids(text, docs)
    actual = await _server_ids(scim, text, seeded_ids, via_post=via_post)
    if isinstance(expected, ScimError):
        if isinstance(actual, set) or actual.status != 400:
            return f"{text!r}: evaluator refuses ({expected.detail}), server gave {actual!r}"
        return None
    if not isinstance(actual, set):
        return f"{text!r}: server {actual!r}, evaluator matches {len(expected)}"
    if actual != expected:
        names = {doc["id"]: doc["userName"] for doc in docs}
        return (
            f"{text!r}: server-only {sorted(names[i] for i in actual - expected)}, "
            f"evaluator-only {sorted(names[i] for i in expected - actual)}"
        )
    return None


async def test_handwritten_filters_agree_with_the_evaluator(scim, seeded):
    failures = []
    matched_something = 0
    for template in HANDWRITTEN:
        text = _instantiate(template, seeded)
        failure = await _check(scim, text, seeded)
        if failure:
            failures.append(failure)
        expected = expected_ids(text, seeded)
        matched_something += isinstance(expected, set) and 0 < len(expected) < len(seeded)
    assert not failures, "\n".join(failures)
    assert matched_something > len(HANDWRITTEN) * 0.7  # the filters discriminate


async def test_generated_filters_agree_with_the_evaluator(scim, seeded):
    failures = []
    filters = generated_filters(seeded, GENERATED_FILTERS)
    for text in filters:
        failure = await _check(scim, text, seeded)
        if failure:
            failures.append(failure)
    verdicts = [expected_ids(text, seeded) for text in filters]
    discriminating = [v for v in verdicts if isinstance(v, set) and 0 < len(v) < len(seeded)]
    print(f"{len(filters)} filters, {len(discriminating)} discriminating")
    assert len(discriminating) > len(filters) / 3
    assert not failures, f"{len(failures)} of {len(filters)} differ:\n" + "\n".join(failures[:30])


async def test_search_by_post_uses_the_same_filters(scim, seeded):
    failures = []
    for template in HANDWRITTEN[::4]:
        failure = await _check(scim, _instantiate(template, seeded), seeded, via_post=True)
        if failure:
            failures.append(failure)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("text", INVALID_FILTERS)
async def test_a_filter_the_server_cannot_evaluate_is_invalid_filter(scim, seeded, text):
    assert isinstance(expected_ids(text, seeded), ScimError) or text == ""
    response = await scim.get("/Users", params={"filter": text})
    if text == "":  # an empty filter is no filter
        assert response.status == 200
        return
    assert_scim_error(response, 400, "invalidFilter")
    posted = await scim.post("/Users/.search", {"schemas": [SEARCH_URN], "filter": text})
    assert_scim_error(posted, 400, "invalidFilter")


async def test_an_over_long_filter_is_refused(scim, seeded, server):
    limit = server.settings.max_filter_length
    too_long = 'userName eq "' + "a" * limit + '"'
    assert_scim_error(await scim.get("/Users", params={"filter": too_long}), 400, "invalidFilter")
    many = " or ".join(f'userName eq "{i}"' for i in range(limit // 10))
    assert len(many) > limit
    posted = await scim.post("/Users/.search", {"schemas": [SEARCH_URN], "filter": many})
    assert_scim_error(posted, 400, "invalidFilter")
    deep = "not (" * 100 + "userName pr" + ")" * 100
    assert_scim_error(await scim.get("/Users", params={"filter": deep}), 400, "invalidFilter")


async def test_the_rules_themselves(scim, seeded):
    """The differential tests prove SQL and evaluator agree; these pin what both must say."""

    async def names(text: str) -> set[str]:
        response = await scim.get("/Users", params={"filter": text, "count": "1000"})
        assert response.status == 200, (text, response)
        return {r["userName"].removeprefix(TAG) for r in response.json["Resources"]}

    assert await names(f'USERNAME EQ "{TAG.upper()}ALICE.SMITH@X.COM"') == {"Alice.Smith@X.com"}
    assert await names('externalId eq "ext-a"') == {"bob@x.com"}  # not EXT-A: caseExact
    assert await names(f'id eq "{seeded[0]["id"].upper()}"') == set()
    assert await names(f'id eq "{seeded[0]["id"]}"') == {"Alice.Smith@X.com"}
    assert await names('title co "%"') == {"carol_100%@y.org", "ivan@Y.org"}
    assert await names('title co "_"') == {"carol_100%@y.org", "frank@z.net"}
    assert await names('nickName co "\\\\"') == {"carol_100%@y.org"}
    assert await names('userName co "\\""') == {'dave"quote@x.com'}
    for hostile in ("x' OR '1'='1", '"); DROP TABLE users; --', "%' --"):
        assert await names(f"userName eq {json.dumps(hostile)}") == set()
        assert await names(f"displayName co {json.dumps(hostile)}") == set()
    assert len(await names("userName pr")) >= len(seeded)  # the table is still there
    assert await names(f'{ENTERPRISE}:manager.value eq "mgr-2"') == {'dave"quote@x.com'}
    assert await names('emails[type eq "work" and value co "@x.com"]') == {
        "Alice.Smith@X.com",
        "bob@x.com",
        'dave"quote@x.com',
        "heidi@x.com",
        "judy@x.com",
    }


async def test_last_modified_gt_finds_what_changed_since(scim, seeded):
    created = await scim.post("/Users", {"userName": f"{TAG}changing", "nickName": "changing"})
    target = created.json
    since = target["meta"]["lastModified"]
    text = f'meta.lastModified gt "{since}" and id eq "{target["id"]}"'
    before = await scim.get("/Users", params={"filter": text})
    assert before.json["totalResults"] == 0  # not changed since it was shown
    changed = await scim.patch(
        f"/Users/{target['id']}", patch_body({"op": "add", "path": "title", "value": "changed"})
    )
    assert changed.json["meta"]["lastModified"] > since
    after = await scim.get("/Users", params={"filter": text})
    assert [r["id"] for r in after.json["Resources"]] == [target["id"]]
    shown = changed.json["meta"]["lastModified"]
    equal = await scim.get("/Users", params={"filter": f'meta.lastModified eq "{shown}"'})
    assert target["id"] in [r["id"] for r in equal.json["Resources"]]
    assert (await scim.delete(f"/Users/{target['id']}")).status == 204


# -- the query string as IdPs send it --------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "filter=userName+eq+%22{name}%22",
        "filter=userName%20eq%20%22{name}%22",
        "filter=userName%20eq%20%22{name}%22&startIndex=1&count=100",
        "Filter=USERNAME+EQ+%22{name}%22&aadOptscim062020",
        'filter=userName eq "{name}"',
    ],
)
async def test_encoded_queries(scim, seeded, query):
    """`+` means a space in a query string (Entra sends `userName+eq+%22…%22`); a literal `+`
    travels as %2B."""
    target = next(doc for doc in seeded if "eve+tag" in doc["userName"])
    name = target["userName"].replace("+", "%2B").replace("@", "%40")
    response = await scim.get("/Users?" + query.replace("{name}", name))
    assert response.status == 200, response
    assert [r["id"] for r in response.json["Resources"]] == [target["id"]]


async def test_unknown_user_is_an_empty_list_not_404(scim, seeded):
    response = await scim.get(
        "/Users?filter=userName+eq+%2200000000-aaaa-bbbb-cccc-000000000000%22"
    )
    assert response.status == 200
    assert response.json["totalResults"] == 0 and response.json["Resources"] == []

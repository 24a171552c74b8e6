"""Errors through the live server (RFC 7644 §3.12), on both backends: every failure is an
`application/scim+json` SCIM Error with `status` as a string, and bad input is a 4xx, never a
500 — including a bounded fuzz of generated bodies."""

from __future__ import annotations

import uuid

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tests.support.server as live_server_module
from app.web.middlewares import guarded_handler
from tests.support.databases import dispose_database_url, new_database_url
from tests.support.scim_data import (
    ENTERPRISE_URN,
    PATCH_URN,
    SEARCH_URN,
    USER_URN,
    assert_scim_error,
    patch_body,
    unique_name,
    user_body,
)
from tests.support.server import Client, LiveServer

FUZZ_EXAMPLES = 100


async def new_user(scim) -> dict:
    response = await scim.post("/Users", user_body())
    assert response.status == 201, response
    return response.json


# -- the status codes ------------------------------------------------------------------------


async def test_not_found_conflict_and_precondition_are_scim_errors(scim):
    assert_scim_error(await scim.get(f"/Users/{uuid.uuid4()}"), 404)
    assert_scim_error(await scim.get("/Groups/not-a-group"), 404)
    user = await new_user(scim)
    assert_scim_error(await scim.post("/Users", user_body(user["userName"])), 409, "uniqueness")
    stale = await scim.put(
        f"/Users/{user['id']}", user_body(user["userName"]), headers={"If-Match": 'W/"999"'}
    )
    assert_scim_error(stale, 412)
    assert_scim_error(await scim.delete("/Users"), 405)
    assert_scim_error(await scim.with_token(None).get("/Users"), 401)


async def test_body_over_the_limit_is_413(backend, tmp_path, http_session):
    url = await new_database_url(backend, tmp_path)
    live = await LiveServer(url, max_body_bytes=2048).start()
    try:
        scim = Client(http_session, live.scim_url, await live.new_scim_token())
        small = await scim.post("/Users", user_body())
        assert small.status == 201
        big = user_body(displayName="x" * 4096)
        assert_scim_error(await scim.post("/Users", big), 413)
        assert_scim_error(await scim.put(f"/Users/{small.json['id']}", big), 413)
        big_patch = patch_body({"op": "add", "path": "title", "value": "y" * 4096})
        assert_scim_error(await scim.patch(f"/Users/{small.json['id']}", big_patch), 413)
        assert_scim_error(
            await scim.post("/Users/.search", {"schemas": [SEARCH_URN], "filter": "z" * 4096}), 413
        )

        async def chunks():
            yield b'{"userName": "'
            for _ in range(8):
                yield b"c" * 512
            yield b'"}'

        assert_scim_error(await scim.request("POST", "/Users", data=chunks()), 413)
        assert (await scim.get(f"/Users/{small.json['id']}")).json["userName"] == small.json[
            "userName"
        ]
    finally:
        await live.stop()
        await dispose_database_url(url)


async def _explode(request: web.Request) -> web.Response:
    raise RuntimeError("a bug with a secret sk-should-not-leak")


async def test_an_unexpected_error_is_a_scim_500_without_details(
    backend, tmp_path, http_session, monkeypatch
):
    real_create_app = live_server_module.create_app

    def create_app_with_a_faulty_route(app_settings):
        app = real_create_app(app_settings)
        app.router.add_get("/scim/v2/Faulty", guarded_handler(_explode))  # as routes.py's are
        return app

    monkeypatch.setattr(live_server_module, "create_app", create_app_with_a_faulty_route)
    url = await new_database_url(backend, tmp_path)
    live = await LiveServer(url).start()
    try:
        scim = Client(http_session, live.scim_url, await live.new_scim_token())
        response = await scim.get("/Faulty")
        body = assert_scim_error(response, 500)
        assert "sk-should-not-leak" not in response.body.decode()
        assert "Traceback" not in body["detail"]
        assert (await scim.get("/ServiceProviderConfig")).status == 200  # the server lives on
    finally:
        await live.stop()
        await dispose_database_url(url)


# -- malformed bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"userName": "a",}',
        b"{'userName': 'a'}",
        b"userName=a",
        b"",
        b"   ",
        b"\xff\xfe{}",
        b'{"userName": "\xc3\x28"}',
        b'{"userName": "\\ud800"}',
        b"[" * 5000 + b"]" * 5000,
        b'{"userName": NaN}',
    ],
)
async def test_malformed_json_is_invalid_syntax(scim, raw):
    user = await new_user(scim)
    for method, path in (
        ("POST", "/Users"),
        ("PUT", f"/Users/{user['id']}"),
        ("PATCH", f"/Users/{user['id']}"),
        ("POST", "/Users/.search"),
        ("POST", "/.search"),
    ):
        response = await scim.request(method, path, data=raw)
        assert_scim_error(response, 400, "invalidSyntax")


@pytest.mark.parametrize("body", [[], [user_body()], 5, "a string", True, None])
async def test_a_body_that_is_not_an_object_is_400(scim, body):
    user = await new_user(scim)
    import orjson

    raw = orjson.dumps(body)
    for method, path in (
        ("POST", "/Users"),
        ("PUT", f"/Users/{user['id']}"),
        ("PATCH", f"/Users/{user['id']}"),
        ("POST", "/Users/.search"),
    ):
        response = await scim.request(method, path, data=raw)
        assert_scim_error(response, 400)


WRONG_TYPES = [
    {"userName": 5},
    {"userName": ""},
    {"userName": "   "},
    {"userName": None},
    {"userName": ["a", "b"]},
    {"userName": {"value": "a"}},
    {"emails": [5]},
    {"emails": [{"value": 5}]},
    {"emails": [{"value": "a@b.c", "primary": "sometimes"}]},
    {"emails": [["a@b.c"]]},
    {"active": "maybe"},
    {"active": 1},
    {"active": []},
    {"name": []},
    {"name": "Jane Doe"},
    {"name": {"givenName": 5}},
    {"name": {"givenName": ["a"]}},
    {"displayName": {}},
    {"displayName": 1.5},
    {"externalId": 42},
    {"addresses": [{"postalCode": 12345}]},
    {"phoneNumbers": [{"value": True}]},
    {"x509Certificates": [{"value": {"pem": "x"}}]},
    {ENTERPRISE_URN: "Sales"},
    {ENTERPRISE_URN: {"department": 5}},
    {ENTERPRISE_URN: {"manager": ["a", "b"]}},
    {ENTERPRISE_URN: {"manager": {"value": 7}}},
    {"userName": "nul\u0000inside"},
    {"title": "nul\u0000inside"},
]


@pytest.mark.parametrize("fields", WRONG_TYPES, ids=lambda fields: repr(fields)[:60])
async def test_wrong_types_are_400_on_create_and_replace(scim, fields):
    body = {"schemas": [USER_URN, ENTERPRISE_URN], "userName": unique_name(), **fields}
    assert_scim_error(await scim.post("/Users", body), 400)
    user = await new_user(scim)
    assert_scim_error(await scim.put(f"/Users/{user['id']}", body), 400)
    for key, value in fields.items():
        patched = await scim.patch(
            f"/Users/{user['id']}", patch_body({"op": "replace", "path": key, "value": value})
        )
        if patched.status != 400:  # e.g. null on an optional attribute removes it
            assert patched.status == 200 and value in (None, "", {}, []), patched
    fetched = await scim.get(f"/Users/{user['id']}")
    assert fetched.json["userName"] == user["userName"]


async def test_a_bare_string_for_a_multi_valued_attribute_is_one_value(scim):
    """Tolerated like a single object where a list is expected (codec dialects): `emails: "x"`
    is one e-mail, not a type error."""
    response = await scim.post("/Users", user_body(emails="solo@example.com"))
    assert response.status == 201, response
    assert response.json["emails"] == [{"value": "solo@example.com"}]


async def test_nul_in_a_filter_or_an_id_is_400(scim):
    assert_scim_error(
        await scim.post(
            "/Users/.search", {"schemas": [SEARCH_URN], "filter": 'userName eq "a\u0000"'}
        ),
        400,
    )
    response = await scim.get("/Users", params={"filter": 'userName eq "a\u0000"'})
    assert_scim_error(response, 400)
    assert_scim_error(await scim.get("/Users/abc%00def"), 400)


# -- a bounded fuzz through the server -----------------------------------------------------

_NAMES = [
    "schemas",
    "id",
    "externalId",
    "userName",
    "name",
    "givenName",
    "displayName",
    "active",
    "emails",
    "value",
    "type",
    "primary",
    "password",
    "meta",
    "groups",
    "roles",
    "addresses",
    ENTERPRISE_URN,
    f"{ENTERPRISE_URN}:manager",
    "manager",
    "Operations",
    "op",
    "path",
    "filter",
    "count",
    "startIndex",
    "sortBy",
    "attributes",
]
_PATHS = [
    "userName",
    "active",
    "name.givenName",
    'emails[type eq "work"].value',
    "emails",
    f"{ENTERPRISE_URN}:manager",
    "members",
    "groups",
    "id",
    "meta.version",
    'x[y eq "z"]',
    "",
]
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["True", "false", "", "work", USER_URN, "\u0000"])
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(_NAMES) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=10,
)
_operation = st.fixed_dictionaries(
    {},
    optional={
        "op": st.sampled_from(["add", "Replace", "remove", "REMOVE", "copy", 5]),
        "path": st.sampled_from(_PATHS) | st.text(max_size=10),
        "value": _json,
    },
)
_user_like = st.dictionaries(st.sampled_from(_NAMES), _json, max_size=6).map(
    lambda fields: {"userName": unique_name("fuzz"), **fields}
)
_bodies = st.one_of(
    st.tuples(st.just("POST /Users"), _user_like | _json),
    st.tuples(st.just("PUT"), _user_like | _json),
    st.tuples(
        st.just("PATCH"),
        st.fixed_dictionaries(
            {"schemas": st.just([PATCH_URN]), "Operations": st.lists(_operation, max_size=3)}
        )
        | _json,
    ),
    st.tuples(st.just("POST /Users/.search"), st.dictionaries(st.sampled_from(_NAMES), _json)),
)


def _fuzz_cases(count: int) -> list[tuple[str, object]]:
    drawn: list[tuple[str, object]] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(_bodies)
    def collect(case) -> None:
        drawn.append(case)

    collect()
    return drawn


async def test_fuzzed_bodies_never_cause_a_server_error(scim):
    import orjson

    user = await new_user(scim)
    failures = []
    for kind, body in _fuzz_cases(FUZZ_EXAMPLES):
        method, _, path = kind.partition(" ")
        path = path or f"/Users/{user['id']}"
        try:
            raw = orjson.dumps(body)
        except TypeError:  # integers beyond 64 bits: send them as JSON text anyway
            import json

            raw = json.dumps(body).encode()
        response = await scim.request(method, path, data=raw)
        if response.status >= 500:
            failures.append((kind, body, response))
        elif response.status >= 400:
            assert_scim_error(response, response.status)
    assert not failures, "\n".join(repr(f)[:400] for f in failures)
    assert (await scim.get(f"/Users/{user['id']}")).status == 200

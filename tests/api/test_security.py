"""Authentication on every route, throttling of failures, what responses and logs reveal.

The route list comes from the running application, so a route added without protection fails
here unless it is added to PUBLIC on purpose.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import time
import uuid

import pytest

from app.logs import JsonFormatter, TextFormatter
from app.provisioning.common import Actor
from app.provisioning.secrets import SCIM_TOKEN_PREFIX, hash_secret, new_secret
from storage.records import ScimTokenRecord
from tests.support.live import live_server
from tests.support.server import MASTER_KEY, Response

PUBLIC = {
    ("GET", "/health"),
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/ui/login"),
    ("POST", "/ui/login"),
    ("GET", "/ui/sso/login"),
    ("GET", "/ui/sso/callback"),
}
ADMIN_ROUTES = {"/key/generate", "/key/list", "/key/delete", "/audit"}
TOOLS = Actor("cli", None, "tests")


@pytest.fixture(scope="module")
async def server(backend, tmp_path_factory):
    """Throttling off here: this module fails to authenticate hundreds of times on purpose."""
    async with live_server(backend, tmp_path_factory, auth_failure_limit=0) as live:
        yield live


@pytest.fixture(scope="module")
async def credentials(server) -> dict[str, str]:
    """One credential of every kind, live or dead."""
    services = server.services
    _, revoked = await services.scim_tokens.create("revoked", TOOLS)
    revoked_id = next(t.id for t in await services.scim_tokens.list() if t.name == "revoked")
    assert await services.scim_tokens.revoke(revoked_id, TOOLS)
    expired = new_secret(SCIM_TOKEN_PREFIX)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    record = ScimTokenRecord(
        id=str(uuid.uuid4()),
        name="expired",
        created_at=past - dt.timedelta(days=30),
        created_by="tests",
        last_used_at=None,
        expires_at=past,
        revoked_at=None,
    )
    async with services.repo.transaction() as stores:
        await stores.scim_tokens.insert(record, hash_secret(expired))
    user = await services.users.create({"userName": f"sec-{uuid.uuid4().hex}"}, TOOLS)
    _, api_key = await services.api_keys.generate(user.record.id, TOOLS)
    deleted_key_record, deleted_key = await services.api_keys.generate(user.record.id, TOOLS)
    await services.api_keys.delete([deleted_key_record.id], TOOLS)
    _, scim_token = await services.scim_tokens.create("live", TOOLS)
    return {
        "scim_token": scim_token,
        "revoked_scim_token": revoked,
        "expired_scim_token": expired,
        "api_key": api_key,
        "deleted_api_key": deleted_key,
        "master_key": MASTER_KEY,
        "wrong": "hmscim_" + "A" * 43,
        "garbage": "not-a-credential",
    }


def served_routes(server) -> set[tuple[str, str]]:
    routes = set()
    for route in server.app.router.routes():
        resource = route.resource
        if route.method in ("HEAD", "*") or resource is None:
            continue
        if resource.canonical.startswith("/ui/static"):
            continue
        routes.add((route.method, resource.canonical))
    return routes


def concrete(path: str) -> str:
    return (
        path.replace("{id}", str(uuid.uuid4()))
        .replace("{team_id}", str(uuid.uuid4()))
        .replace("{user_id}", str(uuid.uuid4()))
        .replace("{token_id}", str(uuid.uuid4()))
    )


def refusals_for(path: str) -> list[str]:
    """The credentials that must be refused on `path`."""
    if path.startswith("/scim/v2"):
        return [
            "revoked_scim_token",
            "expired_scim_token",
            "api_key",
            "master_key",
            "wrong",
            "garbage",
        ]
    if path in ADMIN_ROUTES:
        return ["scim_token", "revoked_scim_token", "api_key", "wrong", "garbage"]
    if path == "/key/info":
        return ["scim_token", "master_key", "deleted_api_key", "wrong", "garbage"]
    return ["scim_token", "master_key", "api_key", "wrong"]  # /ui: sessions only


async def send(client, method: str, path: str, token: str | None) -> Response:
    """One request, redirects not followed (the admin page answers with one to its login)."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = b"{}" if method != "GET" else None
    async with client.session.request(
        method, client.base_url + path, data=data, headers=headers, allow_redirects=False
    ) as response:
        return Response(response.status, response.headers, await response.read())


def test_every_public_route_exists(server):
    """PUBLIC is the complete, deliberate list of routes open without credentials."""
    assert served_routes(server) >= PUBLIC


async def test_every_protected_route_refuses_missing_wrong_dead_and_wrong_kind_credentials(
    server, anonymous, credentials
):
    checked = 0
    for method, path in sorted(served_routes(server) - PUBLIC):
        url = concrete(path)
        bodies = set()
        for name in [None, *refusals_for(path)]:
            response = await send(anonymous, method, url, credentials[name] if name else None)
            where = (method, path, name)
            if path.startswith("/ui"):
                # To the sign-in page, or to another /ui page that is itself checked here.
                redirect = response.status in (301, 302, 303, 307, 308) and response.headers.get(
                    "Location", ""
                ).startswith("/ui")
                assert response.status in (401, 403) or redirect, (where, response)
            else:
                assert response.status in (401, 403), (where, response)
                assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")
                bodies.add(response.body)
            for secret in credentials.values():
                assert secret.encode() not in response.body, where
            checked += 1
        # The answer says nothing about which credential was presented or why it failed.
        assert len(bodies) <= 1, (method, path, bodies)
    assert checked > 100


async def test_scim_refusals_are_scim_errors_and_key_api_refusals_json(anonymous):
    scim = await anonymous.get("/scim/v2/Users")
    assert scim.status == 401
    assert scim.headers["Content-Type"].startswith("application/scim+json")
    assert scim.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert scim.json["status"] == "401"
    admin = await anonymous.get("/key/list", params={"user_id": "x"})
    assert admin.status == 401 and admin.json["error"]["code"] == "401"


async def test_failed_authentication_is_logged_without_the_secret(
    server, anonymous, credentials, caplog
):
    caplog.set_level(logging.INFO)
    presented = "hmscim_" + uuid.uuid4().hex + uuid.uuid4().hex
    response = await anonymous.with_token(presented).get("/scim/v2/Users")
    assert response.status == 401
    await anonymous.with_token(credentials["revoked_scim_token"]).get("/scim/v2/Groups")
    await anonymous.with_token(presented).post("/key/generate", json={"user_id": "x"})
    await anonymous.with_token(presented).get("/key/info")
    failures = [r for r in caplog.records if r.getMessage().startswith("authentication failed")]
    assert {getattr(r, "realm", None) for r in failures} >= {"scim", "admin", "api_key"}
    for record in caplog.records:
        for formatter in (JsonFormatter(), TextFormatter()):
            line = formatter.format(record)
            for secret in (presented, credentials["revoked_scim_token"]):
                assert secret not in line
                assert secret[7:] not in line  # not even without its prefix


async def test_response_headers_hide_the_version_and_forbid_caching_secrets(
    server, admin, scim, anonymous
):
    user = await scim.post("/Users", {"userName": f"hdr-{uuid.uuid4().hex}"})
    key = await admin.post("/key/generate", {"user_id": user.json["id"]})
    assert key.status == 200
    assert key.headers["Cache-Control"] == "no-store"
    for response in (
        key,
        user,
        await anonymous.get("/health"),
        await anonymous.get("/no/such/path"),
        await anonymous.request("PATCH", "/health"),
        await scim.get("/Users"),
    ):
        assert response.headers["Server"] == "haimaker", response
        assert "Python" not in str(response.headers) and "aiohttp" not in str(response.headers)
    assert (await scim.get("/Users")).headers["Cache-Control"] == "no-store"


async def test_malformed_http_gets_no_server_version(server):
    """Errors answered below the application (a broken request line) too."""

    def send() -> bytes:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET /\x01bad HTTP/1.1\r\nHost: x\r\n\r\n")
            return sock.recv(65536)

    answer = await asyncio.to_thread(send)
    head = answer.split(b"\r\n\r\n")[0].decode(errors="replace")
    assert head.split(" ")[1] == "400"
    assert "Server: haimaker" in head
    assert "Python" not in head and "aiohttp" not in head


async def test_failures_are_throttled_per_address_with_retry_after(backend, tmp_path_factory):
    async with live_server(
        backend, tmp_path_factory, auth_failure_limit=3, auth_failure_window_seconds=1.5
    ) as live:
        import aiohttp

        from tests.support.server import Client

        token = await live.new_scim_token()
        user = await live.services.users.create({"userName": f"thr-{uuid.uuid4().hex}"}, TOOLS)
        _, api_key = await live.services.api_keys.generate(user.record.id, TOOLS)
        async with aiohttp.ClientSession() as session:
            scim = Client(session, live.scim_url, token)
            root = Client(session, live.base_url, None)
            for _ in range(3):
                assert (await scim.with_token("hmscim_bad").get("/Users")).status == 401
            throttled = await scim.with_token("hmscim_bad").get("/Users")
            assert throttled.status == 429
            assert 1 <= int(throttled.headers["Retry-After"]) <= 2
            assert throttled.json["status"] == "429"
            assert throttled.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
            # The address is throttled everywhere credentials are checked, good ones included…
            assert (await scim.get("/Users")).status == 429
            admin = await root.with_token(MASTER_KEY).get("/key/list", params={"user_id": "x"})
            assert admin.status == 429 and admin.json["error"]["code"] == "429"
            # …except the gateway's key check, which serves every end user from one address.
            assert (await root.with_token("sk-bad").get("/key/info")).status == 401
            assert (await root.with_token(api_key).get("/key/info")).status == 200
            deadline = time.monotonic() + 5
            while (await scim.get("/Users")).status == 429:
                assert time.monotonic() < deadline, "still throttled after the window"
                await asyncio.sleep(0.1)
            assert (await scim.get("/Users")).status == 200

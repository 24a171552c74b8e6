"""SCIM bearer tokens (RFC 6750, RFC 7644 §2) end to end, on both backends: made, listed and
revoked with `python run.py token …` against the live server's database, stored only as
hashes, and required on every /scim/v2 route."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from app.provisioning.common import CLI, utcnow
from app.provisioning.secrets import SCIM_TOKEN_PREFIX, hash_secret, new_secret
from storage.records import ScimTokenRecord
from tests.support.cli_runs import run_cli
from tests.support.databases import dispose_database_url, new_database_url
from tests.support.scim_data import assert_scim_error, dump_database, user_body
from tests.support.server import MASTER_KEY, Client, LiveServer


@pytest.fixture(scope="module")
async def server(backend, tmp_path_factory):
    """This module's own server: it fails authentication on purpose many times, so the
    per-address failure throttle is off."""
    url = await new_database_url(backend, tmp_path_factory.mktemp("db"))
    live = await LiveServer(url, auth_failure_limit=0).start()
    yield live
    await live.stop()
    await dispose_database_url(url)


async def cli(server, tmp_path, *args: str) -> tuple[int, str, str]:
    return await run_cli(*args, "--database-url", server.settings.database_url, cwd=tmp_path)


async def create_with_cli(server, tmp_path, name: str) -> str:
    code, stdout, stderr = await cli(server, tmp_path, "token", "create", "--name", name)
    assert code == 0, stderr
    last_line = stdout.rstrip("\n").splitlines()[-1]
    assert last_line == last_line.strip() and " " not in last_line
    return last_line


async def test_token_create_list_use_and_revoke_through_the_cli(server, http_session, tmp_path):
    name = f"okta-{uuid.uuid4().hex[:6]}"
    token = await create_with_cli(server, tmp_path, name)
    assert token.startswith(SCIM_TOKEN_PREFIX)
    scim = Client(http_session, server.scim_url, token)
    assert (await scim.get("/Users")).status == 200

    code, listing, _ = await cli(server, tmp_path, "token", "list")
    assert code == 0
    (row,) = [line for line in listing.splitlines() if f" {name} " in f" {line} "]
    token_id = row.split()[0]
    assert "active" in row and token not in listing
    stored = {t.id: t for t in await server.services.scim_tokens.list()}[token_id]
    assert stored.last_used_at is not None  # recorded by the request above
    assert "never" not in row.split(name, 1)[1].split()[1]  # the LAST USED column

    code, stdout, _ = await cli(server, tmp_path, "token", "revoke", token_id)
    assert code == 0 and token_id in stdout
    refused = await scim.get("/Users")  # at once, although another process revoked it
    assert_scim_error(refused, 401)
    code, listing, _ = await cli(server, tmp_path, "token", "list")
    assert "revoked" in next(line for line in listing.splitlines() if line.startswith(token_id))
    code, _, stderr = await cli(server, tmp_path, "token", "revoke", token_id)
    assert code != 0 and token_id in stderr  # already revoked


async def test_token_with_expiry_and_bad_arguments(server, tmp_path):
    code, stdout, stderr = await cli(
        server, tmp_path, "token", "create", "--name", "entra", "--expires-in-days", "30"
    )
    assert code == 0, stderr
    expiry = (utcnow() + dt.timedelta(days=30)).date().isoformat()
    assert expiry in stdout
    code, stdout, stderr = await cli(server, tmp_path, "token", "create", "--name", "  ")
    assert code != 0 and "name" in stderr and not stdout.strip()
    code, _, stderr = await cli(
        server, tmp_path, "token", "create", "--name", "x", "--expires-in-days", "0"
    )
    assert code != 0 and stderr


async def test_no_token_is_stored_in_clear(server, tmp_path, scim_token, scim):
    cli_token = await create_with_cli(server, tmp_path, "dumped")
    assert (await scim.with_token(cli_token).get("/Users")).status == 200
    assert (await scim.get("/Users")).status == 200
    dump = await dump_database(server.settings.database_url)
    assert "dumped" in dump  # the dump holds the token rows
    for secret in (cli_token, scim_token, MASTER_KEY):
        assert secret not in dump
        assert secret[len(SCIM_TOKEN_PREFIX) :] not in dump


async def test_revoked_and_expired_tokens_are_refused_at_once(server, scim):
    record, secret = await server.services.scim_tokens.create("short-lived", CLI)
    live = scim.with_token(secret)
    assert (await live.get("/Users")).status == 200
    assert await server.services.scim_tokens.revoke(record.id, CLI)
    assert_scim_error(await live.get("/Users"), 401)

    expired_secret = new_secret(SCIM_TOKEN_PREFIX)
    now = utcnow()
    expired = ScimTokenRecord(
        id=str(uuid.uuid4()),
        name="expired",
        created_at=now - dt.timedelta(days=2),
        created_by="tests",
        last_used_at=None,
        expires_at=now - dt.timedelta(seconds=1),
        revoked_at=None,
    )
    async with server.services.repo.transaction() as stores:
        await stores.scim_tokens.insert(expired, hash_secret(expired_secret))
    assert_scim_error(await scim.with_token(expired_secret).get("/Users"), 401)


def _scim_routes(server) -> list[tuple[str, str]]:
    """(method, concrete path) for every route under /scim/v2 in the live route table."""
    routes = []
    for route in server.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if not path.startswith("/scim/v2") or route.method == "HEAD":
            continue
        routes.append((route.method, re.sub(r"\{[^}]*\}", "some-id", path)))
    return routes


async def test_every_scim_route_needs_a_valid_token(server, scim, admin):
    user = (await scim.post("/Users", user_body())).json
    api_key = (await admin.post("/key/generate", {"user_id": user["id"]})).json["key"]
    routes = _scim_routes(server)
    assert len(routes) >= 15, routes
    routes += [
        ("GET", "/scim/v2/NoSuchEndpoint"),
        ("GET", "/scim/v2"),
        ("DELETE", "/scim/v2/Users"),
    ]
    credentials = [
        None,
        "Bearer",
        "Bearer ",
        f"Bearer {SCIM_TOKEN_PREFIX}{'A' * 43}",
        "Bearer not-a-token",
        f"Bearer {api_key}",
        f"Bearer {MASTER_KEY}",
        f"Basic {scim.token}",
        f"Token {scim.token}",
        "non-token",
    ]
    failures = []
    base = server.base_url
    for method, path in routes:
        for credential in credentials:
            headers = {"Content-Type": "application/scim+json"}
            if credential is not None:
                headers["Authorization"] = credential
            async with scim.session.request(method, base + path, data=b"{}", headers=headers) as r:
                body = await r.read()
                challenge = r.headers.get("WWW-Authenticate", "")
                ok = (
                    r.status == 401
                    and r.headers.get("Content-Type", "").startswith("application/scim+json")
                    and b'"status":"401"' in body
                    and challenge.startswith("Bearer")
                )
                if not ok:
                    failures.append(
                        f"{method} {path} with {credential!r}: {r.status} {body[:120]!r}"
                    )
    assert not failures, "\n".join(failures[:20])


async def test_the_bearer_scheme_is_case_insensitive(scim):
    for scheme in ("bearer", "BEARER", "Bearer"):
        response = await scim.with_token(None).get(
            "/ServiceProviderConfig", headers={"Authorization": f"{scheme} {scim.token}"}
        )
        assert response.status == 200, (scheme, response)

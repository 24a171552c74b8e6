"""The admin page over HTTP (no browser): sign-in, sessions, CSRF, headers, SCIM tokens, lists."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid

import pytest

from tests.support.server import MASTER_KEY, SCIM_JSON, Client
from tests.support.ui import UiClient, form_token

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
SCIM_TOKEN = re.compile(r'id="new-token-value" type="text" value="(hmscim_[^"]+)"')


@pytest.fixture
async def ui(server):
    client = UiClient(server.base_url)
    yield client
    await client.close()


@pytest.fixture
async def signed_in(ui):
    status, headers, body = await ui.sign_in()
    assert status == 303, body[:500]
    return ui


async def create_token(ui: UiClient, name: str, days: str = "") -> tuple[int, str]:
    token = await ui.token_of("/ui/settings/scim")
    status, _, page = await ui.post_form(
        "/ui/settings/scim/tokens", {"csrf_token": token, "name": name, "expires_in_days": days}
    )
    return status, page


def audit_actions(page: str) -> list[str]:
    return re.findall(r'<span class="chip mono">([^<]+)</span>', page)


async def session_rows(server) -> list:
    async with server.services.repo.reader() as stores:
        return await stores.conn.fetch(
            "SELECT id, token_hash, user_id, data, created_at, expires_at FROM access_tokens"
            " WHERE kind = 'ui_session'"
        )


async def test_pages_send_the_signed_out_to_sign_in(ui):
    for path in ("/ui", "/ui/settings/scim", "/ui/users?page=2", "/ui/audit"):
        status, headers, _ = await ui.get(path)
        assert status == 303, path
        assert headers["Location"].startswith("/ui/login?next=/ui"), headers["Location"]
    status, headers, page = await ui.post_form("/ui/settings/scim/tokens", {"name": "x"})
    assert status == 403
    assert headers["Content-Type"].startswith("text/html")


async def test_a_wrong_master_key_is_refused(ui):
    status, _, page = await ui.sign_in("sk-master-not-it")
    assert status == 401
    assert "That is not the master key." in page
    assert ui.cookie("haimaker_session") is None


async def test_sign_in_sets_a_hardened_cookie_backed_by_a_stored_hash(server, ui):
    before = {row["id"] for row in await session_rows(server)}
    status, headers, _ = await ui.sign_in()
    assert status == 303 and headers["Location"] == "/ui"
    set_cookie = [v for v in headers.getall("Set-Cookie") if v.startswith("haimaker_session=")][0]
    attributes = [part.strip().lower() for part in set_cookie.split(";")]
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/ui" in attributes
    assert "secure" not in attributes  # plain http here
    secret = ui.cookie("haimaker_session")
    rows = [row for row in await session_rows(server) if row["id"] not in before]
    assert len(rows) == 1
    row = rows[0]
    assert row["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert row["user_id"] is None  # the master-key admin
    assert secret not in str(row["data"])
    lifetime = row["expires_at"] - row["created_at"]
    assert dt.timedelta(hours=11.9) < lifetime <= dt.timedelta(hours=12)
    assert (await ui.get("/ui"))[0] == 200


async def test_the_cookie_is_secure_behind_an_https_proxy(server):
    ui = UiClient(server.base_url)
    try:
        _, _, page = await ui.get("/ui/login")
        status, headers, _ = await ui.post_form(
            "/ui/login",
            {"csrf_token": form_token(page), "master_key": MASTER_KEY, "next": "/ui"},
            headers={"X-Forwarded-Proto": "https"},
        )
    finally:
        await ui.close()
    assert status == 303
    set_cookie = [v for v in headers.getall("Set-Cookie") if v.startswith("haimaker_session=")][0]
    assert "secure" in [part.strip().lower() for part in set_cookie.split(";")]


async def test_pages_carry_security_headers_and_no_inline_code(signed_in):
    for path in (
        "/ui",
        "/ui/settings/scim",
        "/ui/settings/sso",
        "/ui/teams",
        "/ui/users",
        "/ui/audit",
        "/ui/login",
    ):
        status, headers, page = await signed_in.get(path)
        assert status in (200, 303), path
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Cache-Control"] == "no-store"
        if status == 200:
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
            assert not re.search(r"\son[a-z]+\s*=", page), path
            assert " style=" not in page and "<style" not in page, path


async def test_every_form_needs_its_token(server, signed_in):
    good = await signed_in.token_of("/ui/settings/scim")
    name = f"csrf-{uuid.uuid4().hex[:6]}"
    for form, headers in (
        ({"name": name}, None),
        ({"name": name, "csrf_token": "forged"}, None),
        ({"name": name, "csrf_token": good}, {"Origin": "https://evil.example"}),
    ):
        status, response_headers, page = await signed_in.post_form(
            "/ui/settings/scim/tokens", form, headers=headers
        )
        assert status == 403, form
        assert response_headers["Content-Type"].startswith("text/html")
    assert name not in [t.name for t in await server.services.scim_tokens.list()]
    status, _, _ = await signed_in.post_form("/ui/logout", {})
    assert status == 403  # even signing out takes the token
    _, _, login = await UiClient(server.base_url).get("/ui/login")
    assert "csrf_token" in login


async def test_create_use_and_revoke_a_scim_token_from_the_page(server, signed_in, http_session):
    name = f"Entra ID {uuid.uuid4().hex[:6]}"
    status, page = await create_token(signed_in, name, "30")
    assert status == 200
    secret = SCIM_TOKEN.search(page).group(1)
    assert "It is shown only once" in page
    assert f'value="{server.scim_url}"' in page  # the tenant URL

    idp = Client(http_session, server.scim_url, secret)
    probe = await idp.get("/Users", params={"filter": f'userName eq "{uuid.uuid4()}"'})
    assert probe.status == 200 and probe.json["totalResults"] == 0

    _, _, listing = await signed_in.get("/ui/settings/scim")
    assert secret not in listing  # shown once
    token = next(t for t in await server.services.scim_tokens.list() if t.name == name)
    assert token.last_used_at is not None
    assert token.expires_at - token.created_at == dt.timedelta(days=30)
    assert f'data-token-id="{token.id}"' in listing

    status, headers, _ = await signed_in.post_form(
        f"/ui/settings/scim/tokens/{token.id}/revoke", {"csrf_token": form_token(listing)}
    )
    assert status == 303 and headers["Location"] == "/ui/settings/scim?notice=revoked"
    refused = await idp.get("/Users")
    assert refused.status == 401
    assert refused.headers["Content-Type"].startswith(SCIM_JSON)


async def test_token_form_errors_are_shown(signed_in):
    status, page = await create_token(signed_in, "   ")
    assert status == 400 and "a token needs a name" in page
    status, page = await create_token(signed_in, "named", "soon")
    assert status == 400 and "whole number of days" in page
    status, page = await create_token(signed_in, "named", "99999")
    assert status == 400 and "expiry must be between" in page


async def test_ui_errors_are_html_pages(signed_in):
    for path in ("/ui/no-such-page", f"/ui/users/{uuid.uuid4()}", f"/ui/teams/{uuid.uuid4()}"):
        status, headers, page = await signed_in.get(path)
        assert status == 404, path
        assert headers["Content-Type"].startswith("text/html")
        assert "schemas" not in page


async def test_users_and_teams_page_on_the_server(scim, signed_in):
    prefix = f"pg{uuid.uuid4().hex[:6]}"
    ids = []
    for n in range(52):
        created = await scim.post(
            "/Users", {"schemas": [USER_SCHEMA], "userName": f"{prefix}-{n:02}@example.com"}
        )
        assert created.status == 201, created
        ids.append(created.json["id"])
    team = await scim.post(
        "/Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": f"{prefix} team",
            "members": [{"value": i} for i in ids[:51]],
        },
    )
    assert team.status == 201, team

    _, _, first = await signed_in.get(f"/ui/users?q={prefix}")
    assert "Showing 1–50 of 52 users" in first
    assert f"{prefix}-00@example.com" in first and f"{prefix}-50@example.com" not in first
    _, _, second = await signed_in.get(f"/ui/users?q={prefix}&page=2")
    assert "Showing 51–52 of 52 users" in second and f"{prefix}-51@example.com" in second

    _, _, teams = await signed_in.get(f"/ui/teams?q={prefix}")
    row = re.search(
        rf'{prefix} team</a></td><td>.*?</td><td class="num">([\d,]+)</td>', teams, re.S
    )
    assert row and row.group(1) == "51"
    assert ">SCIM<" in teams
    _, _, members = await signed_in.get(f"/ui/teams/{team.json['id']}?page=2")
    assert "Showing 51–51 of 51 members" in members


async def test_user_page_shows_teams_keys_and_escapes_idp_values(scim, admin, signed_in):
    hostile = "<script>alert(1)</script>"
    user = await scim.post(
        "/Users",
        {"schemas": [USER_SCHEMA], "userName": f"x-{uuid.uuid4().hex[:6]}", "displayName": hostile},
    )
    team = await scim.post(
        "/Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": f"<b>bold</b> {uuid.uuid4().hex[:6]}",
            "members": [{"value": user.json["id"]}],
        },
    )
    key = await admin.post(
        "/key/generate", {"user_id": user.json["id"], "team_id": team.json["id"], "key_alias": "ci"}
    )
    assert key.status == 200, key

    _, _, page = await signed_in.get(f"/ui/users/{user.json['id']}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and hostile not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    assert key.json["key_id"] in page
    _, _, listing = await signed_in.get(f"/ui/users?q={user.json['userName']}")
    assert re.search(r'<td class="num">1</td>', listing)  # one key
    assert hostile not in listing


async def test_audit_log_filters_by_user_team_and_action(scim, signed_in):
    user_name = f"audited-{uuid.uuid4().hex[:6]}"
    user = await scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": user_name})
    team = await scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": user_name})

    _, _, by_user = await signed_in.get(f"/ui/audit?user={user_name}")
    assert audit_actions(by_user) == ["user.create"] and user.json["id"] in by_user
    _, _, by_team = await signed_in.get(f"/ui/audit?team={team.json['id']}")
    assert audit_actions(by_team) == ["team.create"]
    _, _, by_action = await signed_in.get("/ui/audit?action=ui.login")
    assert set(audit_actions(by_action)) == {"ui.login"}
    _, _, both = await signed_in.get(f"/ui/audit?user={user_name}&team={user_name}")
    assert "not both at once" in both
    _, _, unknown = await signed_in.get("/ui/audit?user=nobody-at-all")
    assert "No user has the id or userName" in unknown


async def test_sign_out_ends_the_session(server, ui):
    await ui.sign_in()
    secret = ui.cookie("haimaker_session")
    token = await ui.token_of("/ui")
    status, headers, _ = await ui.post_form("/ui/logout", {"csrf_token": token})
    assert status == 303 and headers["Location"] == "/ui/login"
    assert ui.cookie("haimaker_session") is None
    digest = hashlib.sha256(secret.encode()).hexdigest()
    assert digest not in [row["token_hash"] for row in await session_rows(server)]
    replay = UiClient(server.base_url)
    try:
        status, _, _ = await replay.get("/ui", cookies={"haimaker_session": secret})
    finally:
        await replay.close()
    assert status == 303


async def test_an_expired_session_is_refused(server, ui):
    await ui.sign_in()
    digest = hashlib.sha256(ui.cookie("haimaker_session").encode()).hexdigest()
    async with server.services.repo.transaction() as stores:
        await stores.conn.execute(
            "UPDATE access_tokens SET expires_at = ? WHERE token_hash = ?",
            dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),
            digest,
        )
    status, headers, _ = await ui.get("/ui/settings/scim")
    assert status == 303 and headers["Location"].startswith("/ui/login")


async def test_sign_in_never_redirects_off_site(ui):
    _, _, page = await ui.get("/ui/login?next=//evil.example/x")
    assert 'name="next" value="/ui"' in page
    status, headers, _ = await ui.post_form(
        "/ui/login",
        {"csrf_token": form_token(page), "master_key": MASTER_KEY, "next": "https://evil.example"},
    )
    assert status == 303 and headers["Location"] == "/ui"

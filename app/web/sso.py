"""SSO sign-in to the admin page: OpenID Connect authorization code flow with PKCE.

`/ui/sso/login` starts an attempt (state, nonce and code verifier kept server-side, the state
also in a cookie that binds the attempt to this browser, against login CSRF) and sends the
browser to the IdP. `/ui/sso/callback` checks the state, exchanges the code, verifies the ID
token, reads the groups (from the token, or from Microsoft Graph for Entra ID), lets
`SsoSignIn` match or create the user and sync their teams, and opens a session. Every failure
is shown to the person and logged; none is swallowed, and none leaves a half sign-in.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from app.provisioning.common import Actor
from app.provisioning.sso_logins import PendingLogin, PendingLogins
from app.provisioning.sso_sync import (
    SignInRefused,
    SsoSignIn,
    groups_from_claims,
    identity_from_claims,
    needs_graph,
)
from app.provisioning.ui_sessions import AccountUnavailable
from app.web.appkeys import SERVICES, SETTINGS
from app.web.graph_groups import GroupFetchError, member_of_groups
from app.web.oidc_client import OidcClient, OidcError, new_pkce_pair
from app.web.requests import public_base_url
from app.web.ui_render import error_page, see_other
from app.web.ui_session import (
    SESSION_COOKIE,
    SSO_STATE_COOKIE,
    UI_SESSIONS,
    clear_cookie,
    current_session,
    safe_next,
    set_cookie,
)

log = logging.getLogger("haimaker.sso")

SSO_HTTP = web.AppKey("sso_http", aiohttp.ClientSession)
OIDC_CLIENT = web.AppKey("oidc_client", OidcClient)
STATE_COOKIE_PATH = "/ui/sso"
STATE_COOKIE_SECONDS = 600


async def sso_context(app: web.Application) -> AsyncIterator[None]:
    """The outbound HTTP session for the IdP and Graph, open while the app runs."""
    settings = app[SETTINGS]
    if not settings.sso_enabled:
        yield
        return
    timeout = aiohttp.ClientTimeout(total=settings.sso_timeout_seconds)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        app[SSO_HTTP] = session
        app[OIDC_CLIENT] = OidcClient(
            session,
            issuer=settings.sso_issuer_url,
            discovery_url=settings.sso_discovery_url,
            client_id=settings.sso_client_id or "",
            client_secret=settings.sso_client_secret,
            scopes=settings.sso_scopes,
        )
        yield


def redirect_uri(request: web.Request) -> str:
    """What to register at the IdP as the redirect (reply) URL."""
    return public_base_url(request) + "/ui/sso/callback"


def _client(request: web.Request) -> OidcClient:
    if not request.app[SETTINGS].sso_enabled:
        raise web.HTTPNotFound()
    return request.app[OIDC_CLIENT]


async def sso_login(request: web.Request) -> web.StreamResponse:
    client = _client(request)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier, challenge = new_pkce_pair()
    try:
        url = await client.authorization_url(
            redirect_uri=redirect_uri(request), state=state, nonce=nonce, code_challenge=challenge
        )
    except OidcError as error:
        log.error("SSO sign-in could not start: %s", error)
        return error_page(request, 502, f"Single sign-on is not available right now: {error}")
    next_path = safe_next(request.query.get("next"))
    await PendingLogins(request.app[SERVICES].repo).begin(
        state, PendingLogin(nonce=nonce, code_verifier=verifier, next_path=next_path)
    )
    response = web.Response(status=302, headers={"Location": url})
    set_cookie(
        request,
        response,
        SSO_STATE_COOKIE,
        state,
        path=STATE_COOKIE_PATH,
        max_age=STATE_COOKIE_SECONDS,
    )
    return response


def _failed(request: web.Request, status: int, message: str) -> web.Response:
    response = error_page(request, status, message)
    clear_cookie(request, response, SSO_STATE_COOKIE, path=STATE_COOKIE_PATH)
    return response


async def sso_callback(request: web.Request) -> web.StreamResponse:
    client = _client(request)
    settings = request.app[SETTINGS]
    query = request.query
    if "error" in query:
        detail = query.get("error_description") or query["error"]
        log.warning("SSO sign-in: the identity provider answered %s", query["error"][:100])
        return _failed(request, 400, f"Your identity provider did not sign you in: {detail[:300]}")
    state, cookie = query.get("state", ""), request.cookies.get(SSO_STATE_COOKIE, "")
    if not state or not cookie or not hmac.compare_digest(state.encode(), cookie.encode()):
        log.warning("SSO sign-in: state missing or not from this browser")
        return _failed(
            request, 400, "This sign-in was not started in this browser. Please start again."
        )
    pending = await PendingLogins(request.app[SERVICES].repo).take(state)
    code = query.get("code")
    if pending is None or not code:
        log.warning("SSO sign-in: unknown, expired or reused state, or no code")
        return _failed(request, 400, "This sign-in has expired or was already used. Start again.")
    user_name = None
    try:
        tokens = await client.exchange_code(
            code=code, redirect_uri=redirect_uri(request), code_verifier=pending.code_verifier
        )
        claims = await client.verify_id_token(tokens.id_token, nonce=pending.nonce)
        identity = identity_from_claims(claims)
        user_name = identity.user_name
        group_claim = groups_from_claims(claims, settings.sso_groups_claim)
        if needs_graph(group_claim, source=settings.sso_groups_source, issuer=claims.get("iss")):
            groups = await member_of_groups(
                request.app[SSO_HTTP], settings.sso_graph_url, tokens.access_token
            )
        else:
            groups = list(group_claim.groups or ())
        services = request.app[SERVICES]
        result = await SsoSignIn(
            services.repo,
            services.users,
            services.teams,
            team_sync=settings.sso_team_sync,
            admin_group=settings.sso_admin_group,
        ).sign_in(identity, groups)
        user = result.user
        sessions = request.app[UI_SESSIONS]
        secret = await sessions.start(
            user_id=user.id,
            name=user.user_name,
            is_admin=result.is_admin,
            via="sso",
            actor=Actor("sso", user.id, user.user_name),
        )
    except OidcError as error:
        log.error("SSO sign-in failed at the identity provider: %s", error)
        return _failed(request, 502, f"Sign-in with your identity provider failed: {error}")
    except GroupFetchError as error:
        log.error("SSO sign-in of %s: groups could not be read: %s", user_name, error)
        return _failed(
            request,
            502,
            f"You were signed in at your identity provider, but your groups could not be read "
            f"from Microsoft Graph: {error}. Nothing was changed; try again, or ask your "
            "administrator to check the app's Graph permissions.",
        )
    except SignInRefused as error:
        log.warning("SSO sign-in of %s refused: %s", user_name, error)
        return _failed(request, 403, str(error))
    except AccountUnavailable:
        log.warning("SSO sign-in of %s refused: account deactivated meanwhile", user_name)
        return _failed(request, 403, "Your haimaker account is deactivated.")
    log.info(
        "SSO sign-in of %s (admin: %s; teams added %d, removed %d, created %d)",
        user.user_name,
        result.is_admin,
        len(result.teams_added),
        len(result.teams_removed),
        len(result.teams_created),
    )
    old = current_session(request)
    if old is not None:
        await request.app[UI_SESSIONS].end(old)
    response = see_other(pending.next_path)
    set_cookie(
        request,
        response,
        SESSION_COOKIE,
        secret,
        max_age=int(request.app[UI_SESSIONS].lifetime.total_seconds()),
    )
    clear_cookie(request, response, SSO_STATE_COOKIE, path=STATE_COOKIE_PATH)
    return response

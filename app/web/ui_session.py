"""Admin-page cookies: the session, the sign-in form token and the SSO state.

Every cookie is HttpOnly (scripts never see it), SameSite=Lax (not sent on cross-site form
posts; Lax and not Strict so the IdP's redirect back still carries the SSO state), limited to
/ui, and Secure whenever the page is served over HTTPS (directly, behind a proxy that says so in
X-Forwarded-Proto, or per HAIMAKER_PUBLIC_URL).
"""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web

from app.provisioning.ui_sessions import UiSession, UiSessions, csrf_token_for
from app.web.appkeys import SETTINGS

SESSION_COOKIE = "haimaker_session"
LOGIN_CSRF_COOKIE = "haimaker_login_csrf"
SSO_STATE_COOKIE = "haimaker_sso_state"
CSRF_FIELD = "csrf_token"

UI_SESSIONS = web.AppKey("ui_sessions", UiSessions)
UI_SESSION = web.RequestKey("ui_session", UiSession)
LOGIN_CSRF = web.RequestKey("login_csrf", str)


def is_https(request: web.Request) -> bool:
    public_url = request.app[SETTINGS].public_url or ""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.scheme == "https" or forwarded == "https" or public_url.startswith("https:")


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    *,
    path: str = "/ui",
    max_age: int | None = None,
) -> None:
    response.set_cookie(
        name,
        value,
        path=path,
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=is_https(request),
    )


def clear_cookie(
    request: web.Request, response: web.StreamResponse, name: str, *, path: str = "/ui"
) -> None:
    response.del_cookie(name, path=path, secure=is_https(request), httponly=True, samesite="Lax")


def current_session(request: web.Request) -> UiSession | None:
    return request.get(UI_SESSION)


def session_secret(request: web.Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


def csrf_token(request: web.Request) -> str:
    """The token every form of this page carries: the session's, or before sign-in the one
    in the sign-in cookie (a double-submit token)."""
    secret = session_secret(request)
    if current_session(request) is not None and secret:
        return csrf_token_for(secret)
    return login_csrf_token(request)


def login_csrf_token(request: web.Request) -> str:
    token = request.get(LOGIN_CSRF) or request.cookies.get(LOGIN_CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(32)
        request[LOGIN_CSRF] = token
    return token


def valid_csrf(request: web.Request, presented: str | None) -> bool:
    if not presented:
        return False
    secret = session_secret(request)
    if current_session(request) is not None and secret:
        expected = csrf_token_for(secret)
    else:
        expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    return bool(expected) and hmac.compare_digest(presented.encode(), expected.encode())


def safe_next(target: str | None, default: str = "/ui") -> str:
    """Only a path inside the admin page: never another site (no open redirect)."""
    if (
        not target
        or not target.startswith("/ui")
        or target.startswith("//")
        or "\\" in target
        or any(ord(ch) < 32 for ch in target)
    ):
        return default
    return target

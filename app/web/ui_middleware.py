"""The admin page's gate: sessions, rights, CSRF, HTML errors and security headers for /ui.

It sits inside the SCIM error middleware and answers every /ui failure itself, as an HTML page,
so nothing under /ui ever comes back as SCIM JSON. Rights are deny-by-default: a route is
open without a session only if listed in PUBLIC_ROUTES, and to a signed-in non-admin only if
listed in MEMBER_ROUTES.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

from aiohttp import web

from app.scim.errors import ScimError
from app.web.appkeys import REQUEST_ID, SETTINGS
from app.web.requests import public_base_url
from app.web.ui_render import error_page
from app.web.ui_session import (
    CSRF_FIELD,
    UI_SESSION,
    UI_SESSIONS,
    session_secret,
    valid_csrf,
)
from storage.db import DatabaseUnavailable

log = logging.getLogger("haimaker.ui")

UI_PREFIX = "/ui"
STATIC_PREFIX = "/ui/static/"
PUBLIC_ROUTES = frozenset(
    {"ui.login", "ui.login_submit", "ui.sso_login", "ui.sso_callback", "ui.home_slash"}
)
MEMBER_ROUTES = frozenset({"ui.home", "ui.logout", "ui.teams", "ui.team"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


def is_ui_path(path: str) -> bool:
    return path == UI_PREFIX or path.startswith(UI_PREFIX + "/")


def _route_name(request: web.Request) -> str | None:
    route = request.match_info.route
    return getattr(route, "name", None)


def _same_origin(request: web.Request, origin: str) -> bool:
    """A form post must come from a page of ours (checked when the browser says where from)."""
    if origin == "null":
        return False
    allowed = {
        public_base_url(request),
        f"{request.scheme}://{request.host}",
        f"https://{request.host}",
    }
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}" in allowed


async def _guard(request: web.Request, handler) -> web.StreamResponse:
    session = await request.app[UI_SESSIONS].resolve(session_secret(request))
    if session is not None:
        request[UI_SESSION] = session
    name = _route_name(request)
    if name not in PUBLIC_ROUTES:
        if session is None:
            if request.method in SAFE_METHODS:
                raise web.HTTPSeeOther("/ui/login?next=" + quote(request.path_qs, safe="/"))
            raise web.HTTPForbidden(reason="sign in first")
        if not session.is_admin and name not in MEMBER_ROUTES and name is not None:
            raise web.HTTPForbidden(reason="this page is for haimaker administrators")
    if request.method not in SAFE_METHODS:
        origin = request.headers.get("Origin")
        if origin is not None and not _same_origin(request, origin):
            raise web.HTTPForbidden(reason="the form was sent from another site")
        form = await request.post()
        presented = form.get(CSRF_FIELD)
        if not valid_csrf(request, presented if isinstance(presented, str) else None):
            raise web.HTTPForbidden(
                reason="the form has expired or did not come from this page; reload and try again"
            )
    return await handler(request)


async def ui_pages(request: web.Request, handler):
    """Every /ui page (not its static files) behind the gate, every failure as an HTML page."""
    try:
        return await _guard(request, handler)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        if error.status == 404:
            return error_page(request, 404, "There is no such page.")
        if error.status == 405:
            return error_page(request, 405, "This page cannot be used that way.")
        if error.status == 413:
            return error_page(request, 413, "The form is larger than this server accepts.")
        return error_page(request, error.status, error.reason)
    except ScimError as error:
        return error_page(request, error.status, error.detail)
    except DatabaseUnavailable as error:
        log.error("database unavailable during %s %s: %s", request.method, request.path, error)
        response = error_page(request, 503, "The database is unavailable. Try again shortly.")
        response.headers["Retry-After"] = "5"
        return response
    except Exception:
        log.exception(
            "unexpected error in %s %s [%s]", request.method, request.path, request.get(REQUEST_ID)
        )
        return error_page(
            request, 500, f"The error has been logged (request id {request.get(REQUEST_ID)})."
        )


def ui_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """For /ui pages: a script policy without inline code, no framing, no referrer to other
    sites (the SSO callback URL holds a code; "same-origin" and not "no-referrer", which would
    make browsers send `Origin: null` on our own forms), and no caching (a page can show a
    token once)."""
    if not is_ui_path(request.path):
        return
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.path.startswith(STATIC_PREFIX):
        return
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = "no-store"
    if request.app[SETTINGS].public_url and request.app[SETTINGS].public_url.startswith("https:"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")

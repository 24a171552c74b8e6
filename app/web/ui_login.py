"""Signing in to the admin page with the master key, and signing out."""

from __future__ import annotations

import logging

from aiohttp import web

from app.provisioning.ui_sessions import TooManyAttempts, WrongMasterKey
from app.web.appkeys import MASTER_KEY
from app.web.ui_render import render, see_other
from app.web.ui_session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    UI_SESSIONS,
    clear_cookie,
    current_session,
    login_csrf_token,
    safe_next,
    set_cookie,
)

log = logging.getLogger("haimaker.ui")


def _login_form(
    request: web.Request, *, status: int = 200, error: str | None = None
) -> web.Response:
    next_path = safe_next(request.query.get("next"))
    response = render(
        request, "login.html", status=status, error=error, next_path=next_path, notice=None
    )
    set_cookie(request, response, LOGIN_CSRF_COOKIE, login_csrf_token(request))
    return response


async def login_page(request: web.Request) -> web.StreamResponse:
    if current_session(request) is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    return _login_form(request)


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    presented = str(form.get("master_key") or "")
    address = request.remote or "unknown"
    sessions = request.app[UI_SESSIONS]
    try:
        secret = await sessions.sign_in_with_master_key(presented, request.app[MASTER_KEY], address)
    except TooManyAttempts:
        log.warning("admin sign-in refused: too many failed attempts from %s", address)
        response = _login_form(
            request,
            status=429,
            error="Too many failed sign-ins from your address. Wait a minute and try again.",
        )
        response.headers["Retry-After"] = "60"
        return response
    except WrongMasterKey:
        log.warning("admin sign-in failed: wrong master key from %s", address)
        return _login_form(request, status=401, error="That is not the master key.")
    old = current_session(request)
    if old is not None:
        await sessions.end(old)
    response = see_other(safe_next(str(form.get("next") or "")))
    set_cookie(
        request, response, SESSION_COOKIE, secret, max_age=int(sessions.lifetime.total_seconds())
    )
    clear_cookie(request, response, LOGIN_CSRF_COOKIE)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    if session is not None:
        await request.app[UI_SESSIONS].end(session)
    response = see_other("/ui/login")
    clear_cookie(request, response, SESSION_COOKIE)
    return response

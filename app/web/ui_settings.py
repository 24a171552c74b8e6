"""Settings > Admin Settings: SCIM (tenant URL and bearer tokens) and SSO (read-only status).

A new token is shown once, in the answer to the form that created it: it is never put in a
URL, a cookie or the database (only its hash is stored), and the page is not cached.
"""

from __future__ import annotations

import logging

from aiohttp import web

from app.provisioning.common import utcnow
from app.provisioning.scim_tokens import token_state
from app.web.appkeys import SERVICES, SETTINGS
from app.web.requests import public_base_url, scim_base_url
from app.web.sso import redirect_uri
from app.web.ui_render import render, see_other
from app.web.ui_session import current_session

log = logging.getLogger("haimaker.ui")

NOTICES = {
    "revoked": "The token was revoked. Requests with it are refused from now on.",
    "already-revoked": "That token was already revoked or does not exist.",
}


async def settings_index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/ui/settings/scim")


async def _scim_page(
    request: web.Request,
    *,
    status: int = 200,
    new_token: str | None = None,
    new_token_name: str | None = None,
    error: str | None = None,
    form_name: str = "",
    form_days: str = "",
) -> web.Response:
    tokens = await request.app[SERVICES].scim_tokens.list()
    now = utcnow()
    rows = [(token, token_state(token, now)) for token in reversed(tokens)]
    return render(
        request,
        "settings_scim.html",
        status=status,
        tenant_url=scim_base_url(request),
        tokens=rows,
        new_token=new_token,
        new_token_name=new_token_name,
        error=error,
        notice=NOTICES.get(request.query.get("notice", "")),
        form_name=form_name,
        form_days=form_days,
    )


async def scim_settings(request: web.Request) -> web.StreamResponse:
    return await _scim_page(request)


async def create_scim_token(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name = str(form.get("name") or "").strip()
    raw_days = str(form.get("expires_in_days") or "").strip()
    days = None
    if raw_days:
        try:
            days = int(raw_days)
        except ValueError:
            return await _scim_page(
                request,
                status=400,
                error="Expiry must be a whole number of days.",
                form_name=name,
                form_days=raw_days,
            )
    actor = current_session(request).actor
    try:
        record, secret = await request.app[SERVICES].scim_tokens.create(
            name, actor, expires_in_days=days
        )
    except ValueError as error:
        return await _scim_page(
            request, status=400, error=f"{error}.", form_name=name, form_days=raw_days
        )
    log.info("SCIM token %s created from the admin page by %s", record.id, actor.name)
    return await _scim_page(request, new_token=secret, new_token_name=record.name)


async def revoke_scim_token(request: web.Request) -> web.StreamResponse:
    token_id = request.match_info["token_id"]
    revoked = await request.app[SERVICES].scim_tokens.revoke(
        token_id, current_session(request).actor
    )
    return see_other("/ui/settings/scim?notice=" + ("revoked" if revoked else "already-revoked"))


async def sso_settings(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    return render(
        request,
        "settings_sso.html",
        settings=settings,
        redirect_uri=redirect_uri(request),
        login_url=public_base_url(request) + "/ui/sso/login",
    )

"""Wiring the admin page into the application: templates, sessions, SSO."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

from aiohttp import web

from app.provisioning.ui_sessions import UiSessions
from app.web.appkeys import SERVICES, SETTINGS
from app.web.sso import sso_context
from app.web.ui_render import setup_templates
from app.web.ui_session import UI_SESSIONS


async def _ui_sessions(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[UI_SESSIONS] = UiSessions(
        app[SERVICES].repo,
        lifetime=dt.timedelta(hours=settings.ui_session_hours),
        attempts_per_minute=settings.ui_login_attempts_per_minute,
    )
    yield


def setup_ui(app: web.Application) -> None:
    """Call after the services' cleanup context is registered (sessions need the database)."""
    setup_templates(app)
    app.cleanup_ctx.append(_ui_sessions)
    app.cleanup_ctx.append(sso_context)

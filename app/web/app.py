"""The application factory: `create_app(settings)` (aiohttp's recommended shape)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from app.config import Settings
from app.provisioning.master_key import load_master_key
from app.provisioning.services import open_services
from app.web import auth, middlewares
from app.web.appkeys import MASTER_KEY, SERVICES, SETTINGS
from app.web.routes import route_table

log = logging.getLogger("haimaker")


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[middlewares.request_id, middlewares.errors, auth.authentication],
    )
    app[SETTINGS] = settings
    app.add_routes(route_table())
    app.cleanup_ctx.append(_services)
    app.on_response_prepare.append(middlewares.security_headers)
    return app


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    services = await open_services(settings)
    app[SERVICES] = services
    master_key, generated = await load_master_key(services.repo, settings.master_key)
    app[MASTER_KEY] = master_key
    if generated:
        # Printed once, to the console only: the database keeps just its hash.
        print(f"haimaker: generated master key (shown once, store it now): {generated}", flush=True)
    yield
    await services.db.close()

"""The application factory: `create_app(settings)` (aiohttp's recommended shape)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from app import metrics
from app.config import Settings
from app.provisioning.master_key import load_master_key
from app.provisioning.services import open_services
from app.scim.listing import PageLimits
from app.web import middlewares, observability
from app.web.appkeys import AUTH_THROTTLE, MASTER_KEY, PAGE_LIMITS, SERVICES, SETTINGS
from app.web.auth_throttle import FailureThrottle
from app.web.routes import route_table
from app.web.ui import setup_ui

log = logging.getLogger("haimaker")


def create_app(settings: Settings) -> web.Application:
    middlewares.hide_server_version()
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[PAGE_LIMITS] = PageLimits(
        default_count=settings.default_page_size,
        max_count=settings.max_page_size,
        max_filter_length=settings.max_filter_length,
        max_filter_depth=settings.max_filter_depth,
    )
    app[AUTH_THROTTLE] = FailureThrottle(
        settings.auth_failure_limit, settings.auth_failure_window_seconds
    )
    app.add_routes(middlewares.guarded_routes(route_table()))
    app.cleanup_ctx.append(_services)
    setup_ui(app)  # the admin page under /ui (after _services: sessions use the database)
    return app


def runner_options(settings: Settings) -> dict:
    """Connection-level limits for `web.AppRunner`/`run_app`: a connection that stays idle, or
    sends half its headers and stalls, is closed after `idle_timeout_seconds`."""
    return {"keepalive_timeout": settings.idle_timeout_seconds}


async def _store_missing_representations(services) -> None:
    """Users written by an older version get their stored representation in the background
    (they are served meanwhile, rendered on read); a failure only means they stay that way."""
    try:
        stored = await services.users.store_missing_representations()
    except Exception:  # noqa: BLE001 (never fatal: reads fall back to rendering)
        log.exception(
            "could not store the representations of older users; they are rendered on read"
        )
        return
    if stored:
        log.info("stored the representation of %d users written by an older version", stored)


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    services = await open_services(settings)
    app[SERVICES] = services
    services.repo.commit_listeners.append(metrics.count_committed)
    group_commit = getattr(services.db, "group_commit", None)  # SQLite on a file only
    if group_commit is not None:
        group_commit.listeners.append(metrics.count_sqlite_commit)
    master_key, generated = await load_master_key(services.repo, settings.master_key)
    app[MASTER_KEY] = master_key
    if generated:
        # Printed once, to the console only: the database keeps just its hash.
        print(f"haimaker: generated master key (shown once, store it now): {generated}", flush=True)
    backfill = asyncio.create_task(_store_missing_representations(services))
    flusher = asyncio.create_task(observability.flush_every_second())
    yield
    for task in (backfill, flusher):
        task.cancel()
    await asyncio.gather(backfill, flusher, return_exceptions=True)
    await services.db.close()
    log.info("database connections closed")

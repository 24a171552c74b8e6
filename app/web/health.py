"""Health for orchestrators: liveness (the process answers) and readiness (it can serve).

`/health/live` never touches the database, so a database outage does not get healthy
processes restarted; `/health/ready` (and `/health`, kept for compatibility) says 503 until the
database answers within `db_timeout_seconds` and its schema has no pending migration.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from app.web.appkeys import SERVICES, SETTINGS
from app.web.responses import json_response
from storage.db import DatabaseUnavailable
from storage.migrations import pending_migrations


async def liveness(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def _pending(request: web.Request) -> list[str]:
    db = request.app[SERVICES].db
    await db.ping()
    return await pending_migrations(db)


async def readiness(request: web.Request) -> web.Response:
    timeout = request.app[SETTINGS].db_timeout_seconds
    retry_after = str(request.app[SETTINGS].retry_after_seconds)
    try:
        pending = await asyncio.wait_for(_pending(request), timeout)
    except (DatabaseUnavailable, TimeoutError, OSError) as error:
        return json_response(
            {"status": "unavailable", "database": type(error).__name__},
            status=503,
            headers={"Retry-After": retry_after},
        )
    if pending:
        return json_response(
            {"status": "unavailable", "pending_migrations": pending},
            status=503,
            headers={"Retry-After": retry_after},
        )
    return json_response({"status": "ok"})


health = readiness

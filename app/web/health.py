"""Health: 200 while the database answers, 503 when it does not."""

from __future__ import annotations

import asyncio

from aiohttp import web

from app.web.appkeys import SERVICES, SETTINGS
from app.web.responses import json_response
from storage.db import DatabaseUnavailable


async def health(request: web.Request) -> web.Response:
    timeout = request.app[SETTINGS].db_timeout_seconds
    try:
        await asyncio.wait_for(request.app[SERVICES].db.ping(), timeout)
    except (DatabaseUnavailable, TimeoutError, OSError) as error:
        return json_response(
            {"status": "unavailable", "database": type(error).__name__}, status=503
        )
    return json_response({"status": "ok"})

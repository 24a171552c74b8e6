"""Cross-cutting concerns: request ids and turning every failure into the right error body."""

from __future__ import annotations

import logging
import uuid

from aiohttp import web

from app.scim.errors import ScimError
from app.web.appkeys import REQUEST_ID
from app.web.responses import error_response
from storage.db import DatabaseUnavailable

log = logging.getLogger("haimaker.web")

RETRY_AFTER_SECONDS = "5"
_KEPT_HEADERS = ("Allow", "WWW-Authenticate")


@web.middleware
async def request_id(request: web.Request, handler):
    request[REQUEST_ID] = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
    response = await handler(request)
    response.headers["X-Request-Id"] = request[REQUEST_ID]
    return response


@web.middleware
async def errors(request: web.Request, handler):
    """ScimError, HTTP errors from routing (404, 405, 413), an unreachable database (503 with
    Retry-After) and anything unexpected (500, logged) all leave as error bodies."""
    try:
        return await handler(request)
    except ScimError as error:
        return error_response(request, error, getattr(error, "headers", None))
    except web.HTTPException as error:
        if error.status < 400:
            raise
        headers = {name: error.headers[name] for name in _KEPT_HEADERS if name in error.headers}
        return error_response(request, ScimError(error.status, _detail(error)), headers)
    except DatabaseUnavailable as error:
        log.error("database unavailable during %s %s: %s", request.method, request.path, error)
        return error_response(
            request,
            ScimError(503, "the database is unavailable; retry later"),
            {"Retry-After": RETRY_AFTER_SECONDS},
        )
    except Exception:
        log.exception(
            "unexpected error in %s %s [%s]",
            request.method,
            request.path,
            request.get(REQUEST_ID),
        )
        return error_response(request, ScimError(500, "internal error; it has been logged"))


def _detail(error: web.HTTPException) -> str:
    if error.status == 404:
        return "no such endpoint"
    if error.status == 405:
        return f"method not allowed; allowed: {error.headers.get('Allow', '')}"
    if error.status == 413:
        return "the request body is too large"
    return error.reason


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """No server version; API answers (which may carry secrets) are never cached."""
    response.headers["Server"] = "haimaker"
    if not request.path.startswith(("/ui", "/static")):
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")

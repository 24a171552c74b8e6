"""Cross-cutting concerns: request ids and turning every failure into the right error body."""

from __future__ import annotations

import logging
import uuid

from aiohttp import web, web_response

from app import metrics
from app.scim.errors import ScimError, invalid_filter, invalid_value
from app.scim.text_rules import NUL_RULE, has_nul
from app.web.appkeys import REQUEST_ID, SETTINGS
from app.web.responses import error_response
from storage.db import DatabaseUnavailable

log = logging.getLogger("haimaker.web")

_KEPT_HEADERS = ("Allow", "WWW-Authenticate")
SERVER_NAME = "haimaker"


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
        response = error_response(request, error, getattr(error, "headers", None))
        if error.status == 408:
            await _answer_and_hang_up(request, response)
        return response
    except web.HTTPException as error:
        if error.status < 400:
            raise
        headers = {name: error.headers[name] for name in _KEPT_HEADERS if name in error.headers}
        return error_response(request, ScimError(error.status, _detail(error)), headers)
    except DatabaseUnavailable as error:
        metrics.DATABASE_UNAVAILABLE.inc()
        log.error("database unavailable during %s %s: %s", request.method, request.path, error)
        return error_response(
            request,
            ScimError(503, "the database is unavailable; retry later"),
            {"Retry-After": str(request.app[SETTINGS].retry_after_seconds)},
        )
    except Exception:
        log.exception(
            "unexpected error in %s %s [%s]",
            request.method,
            request.path,
            request.get(REQUEST_ID),
        )
        return error_response(request, ScimError(500, "internal error; it has been logged"))


@web.middleware
async def reject_nul_in_url(request: web.Request, handler):
    """A NUL in the path or query string is refused before it reaches storage (see
    app.scim.text_rules): invalidFilter in `filter`, invalidValue anywhere else."""
    for name, value in request.query.items():
        if has_nul(value) or has_nul(name):
            if name.lower() == "filter":
                raise invalid_filter(f"the filter holds a NUL character ({NUL_RULE})")
            raise invalid_value(NUL_RULE)
    if has_nul(request.path):
        raise invalid_value(NUL_RULE)
    return await handler(request)


async def _answer_and_hang_up(request: web.Request, response: web.Response) -> None:
    """The body never came: send the answer and close the connection at once, instead of
    letting aiohttp linger to drain a body that a stalled client is not sending."""
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()


def _detail(error: web.HTTPException) -> str:
    if error.status == 404:
        return "no such endpoint"
    if error.status == 405:
        return f"method not allowed; allowed: {error.headers.get('Allow', '')}"
    if error.status == 413:
        return "the request body is too large"
    return error.reason


def hide_server_version() -> None:
    """aiohttp names itself and Python in `Server` on answers it makes below the application
    (a malformed request line, oversized headers), where no signal can change them; its one
    default for that header is replaced, so no answer gives the versions away."""
    web_response.SERVER_SOFTWARE = SERVER_NAME


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """No server version; API answers (which may carry secrets) are never cached."""
    response.headers["Server"] = SERVER_NAME
    if not request.path.startswith(("/ui", "/static")):
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")

"""What every request passes (`frontline`): request id, metrics and the access log,
authentication, the admin page's gate, URL checks, security headers, and turning every failure
into the right error body.

One step rather than a chain of six middlewares: each link of an aiohttp chain costs a coroutine
and a partial per request, and on a point read (`GET /Users/{id}`) the chain cost as much as the
read itself. Nor is it an aiohttp middleware at all: every route's handler is registered wrapped
in it (`guarded_routes`), which saves aiohttp's middleware machinery (two more coroutines and a
cached handler chain, ~3 % of a point read's instructions). Requests that match no route reach
it through a catch-all route that answers 404, or 405 with `Allow` where the path exists with
other methods, as aiohttp would. Only a request target that is no path at all (`OPTIONS *`)
matches not even the catch-all: aiohttp answers it a bare 404, without our headers or metrics.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import os
import time
from typing import NamedTuple

from aiohttp import hdrs, web, web_response
from multidict import istr

from app import metrics
from app.scim.errors import ScimError, invalid_filter, invalid_value
from app.scim.text_rules import NUL_RULE, has_nul
from app.web.appkeys import REQUEST_ID, SETTINGS
from app.web.auth import authenticate, realm_of
from app.web.observability import UNMATCHED_LABEL, begin, observe
from app.web.responses import error_response
from app.web.ui_middleware import STATIC_PREFIX, is_ui_path, ui_pages, ui_security_headers
from storage.db import DatabaseUnavailable

log = logging.getLogger("haimaker.web")

_KEPT_HEADERS = ("Allow", "WWW-Authenticate")
_REQUEST_ID_HEADER = istr("X-Request-Id")  # header names set on every answer, lower-cased once
_NOSNIFF_HEADER = istr("X-Content-Type-Options")
SERVER_NAME = "haimaker"
CLIENT_CLOSED = 499  # the client went away before the answer (nginx's convention)


_REQUEST_ID_PREFIX = os.urandom(8).hex()  # per process: ids stay unique across workers
_request_numbers = itertools.count(1)


def new_request_id() -> str:
    """Unique, not secret (it is echoed and logged): a random per-process prefix and a count,
    no system call per request."""
    return f"{_REQUEST_ID_PREFIX}{next(_request_numbers):016x}"


class Gate(NamedTuple):
    """What the frontline does for a path, decided by the path alone: for a route, once when
    it is registered (its template stands for every path it matches); for a request that
    matches no route, from its own path."""

    label: str  # the route template: the metrics' and the access log's `route`
    ui_page: bool  # an admin page, behind its sign-in (app.web.ui_middleware)
    realm: str | None  # the credential it needs (app.web.auth), if any
    ui_headers: bool  # the admin page's security headers rather than the API's


def gate_for(path: str, label: str) -> Gate:
    ui = is_ui_path(path)
    return Gate(label, ui and not path.startswith(STATIC_PREFIX), realm_of(path), ui)


def guarded_routes(table: list[web.RouteDef]) -> list[web.RouteDef]:
    """The route table with every handler running inside `frontline`, and the catch-all for
    requests that match no route last. Only plain routes: a `web.static` resource would
    serve without the frontline."""
    templates = web.UrlDispatcher()  # to name each route as aiohttp does (`canonical`)
    guarded = [
        web.RouteDef(
            route.method,
            route.path,
            guarded_handler(route.handler, templates.add_resource(route.path).canonical),
            route.kwargs,
        )
        for route in table
    ]
    return [*guarded, web.route("*", UNMATCHED_PATH, guarded_handler(_unmatched))]


def guarded_handler(handler, template: str | None = None):
    """`handler` run inside `frontline`: how a route must be registered. `template` is the
    route's path template; None for the catch-all, whose requests are gated by their path."""
    gate = None if template is None else gate_for(template, template)
    return functools.partial(frontline, handler=handler, gate=gate)


UNMATCHED_PATH = "/{unmatched:.*}"


async def _unmatched(request: web.Request) -> web.StreamResponse:
    """No route took the request: 405 where the path exists with other methods, else 404."""
    catch_all = request.match_info.route.resource
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource is not catch_all:
            allowed |= (await resource.resolve(request))[1]
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise web.HTTPNotFound()


async def frontline(request: web.Request, handler, gate: Gate | None):
    started = time.perf_counter()
    request_id = request.headers.get(_REQUEST_ID_HEADER, "")[:64] or new_request_id()
    request[REQUEST_ID] = request_id
    if gate is None:
        gate = gate_for(request.path, UNMATCHED_LABEL)
    route = gate.label
    begin(route)
    status = 500
    try:
        try:  # the answer, or the error body for whatever went wrong on the way to it
            if gate.ui_page:
                response = await ui_pages(request, _url_checked(handler))
            else:
                if gate.realm is not None:
                    await authenticate(request, gate.realm)
                reject_nul_in_url(request)
                response = await handler(request)
        except Exception as error:  # noqa: BLE001 (every failure becomes an answer here)
            response = await error_answer(request, error, gate)
        status = response.status
        response.headers[_REQUEST_ID_HEADER] = request_id
        security_headers(request, response, gate.ui_headers)
        return response
    except web.HTTPException as passed_on:  # a redirect (errors have become answers)
        status = passed_on.status
        security_headers(request, passed_on, gate.ui_headers)
        raise
    except asyncio.CancelledError:
        status = CLIENT_CLOSED
        raise
    finally:
        observe(request, route, status, started, time.perf_counter())


def _url_checked(handler):
    async def checked(request: web.Request) -> web.StreamResponse:
        reject_nul_in_url(request)
        return await handler(request)

    return checked


async def error_answer(request: web.Request, error: Exception, gate: Gate) -> web.StreamResponse:
    """ScimError, HTTP errors from routing (404, 405, 413), an unreachable database (503 with
    Retry-After) and anything unexpected (500, logged) all leave as error bodies."""
    if isinstance(error, ScimError):
        response = error_response(request, error, getattr(error, "headers", None))
        if error.status == 408:  # sent from here, so it is finished here
            response.headers[_REQUEST_ID_HEADER] = request[REQUEST_ID]
            security_headers(request, response, gate.ui_headers)
            await _answer_and_hang_up(request, response)
        return response
    if isinstance(error, web.HTTPException):
        if error.status < 400:
            raise error
        headers = {name: error.headers[name] for name in _KEPT_HEADERS if name in error.headers}
        return error_response(request, ScimError(error.status, _detail(error)), headers)
    if isinstance(error, DatabaseUnavailable):
        metrics.DATABASE_UNAVAILABLE.inc()
        log.error("database unavailable during %s %s: %s", request.method, request.path, error)
        return error_response(
            request,
            ScimError(503, "the database is unavailable; retry later"),
            {"Retry-After": str(request.app[SETTINGS].retry_after_seconds)},
        )
    log.exception(
        "unexpected error in %s %s [%s]",
        request.method,
        request.path,
        request.get(REQUEST_ID),
        exc_info=error,
    )
    return error_response(request, ScimError(500, "internal error; it has been logged"))


def reject_nul_in_url(request: web.Request) -> None:
    """A NUL in the path or query string is refused before it reaches storage (see
    app.scim.text_rules): invalidFilter in `filter`, invalidValue anywhere else. Decoded, a NUL
    can only come from `%00` (or a raw NUL) in the target as received, so only a target
    holding one is looked at further."""
    raw = request.raw_path
    if "%00" not in raw and "\x00" not in raw:
        return
    if request.query_string:
        for name, value in request.query.items():
            if has_nul(value) or has_nul(name):
                if name.lower() == "filter":
                    raise invalid_filter(f"the filter holds a NUL character ({NUL_RULE})")
                raise invalid_value(NUL_RULE)
    if has_nul(request.path):
        raise invalid_value(NUL_RULE)


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


def security_headers(request: web.Request, response: web.StreamResponse, ui: bool) -> None:
    """API answers (which may carry secrets) are never cached; the admin page's own policy
    (app.web.ui_middleware) on its pages (`ui`). `Server` is aiohttp's, without its version
    (`hide_server_version`)."""
    headers = response.headers
    if ui:
        ui_security_headers(request, response)
    elif hdrs.CACHE_CONTROL not in headers:
        headers[hdrs.CACHE_CONTROL] = "no-store"
    if _NOSNIFF_HEADER not in headers:
        headers[_NOSNIFF_HEADER] = "nosniff"

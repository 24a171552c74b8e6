"""One access-log line and the request metrics for every answer, whatever its outcome.

Labels are route templates (`/scim/v2/Users/{id}`), never raw paths, so ids do not explode the
metrics' cardinality. The log line carries the request id, route, status, duration and who
called (the SCIM token's name, "master key", …), never a credential and never the query
string (filters hold personal data).
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web

from app import metrics
from app.web.appkeys import ACTOR, REQUEST_ID, SERVICES
from app.web.responses import SCIM_PREFIX

log = logging.getLogger("haimaker.access")

CLIENT_CLOSED = 499  # the client went away before the answer (nginx's convention)
_ITEM_OPERATIONS = {"GET": "get", "PUT": "replace", "PATCH": "patch", "DELETE": "delete"}
_COLLECTION_OPERATIONS = {"GET": "list", "POST": "create"}


def route_template(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def scim_operation(route: str, method: str) -> tuple[str, str] | None:
    """(resource, operation) of a SCIM route template, e.g. ("Users", "patch")."""
    if not route.startswith(SCIM_PREFIX + "/"):
        return None
    parts = route[len(SCIM_PREFIX) + 1 :].split("/")
    if parts == [".search"]:
        return "all", "search"
    if parts == ["Bulk"]:
        return "Bulk", "bulk"
    if len(parts) == 2 and parts[1] == ".search":
        return parts[0], "search"
    if len(parts) == 2:
        return parts[0], _ITEM_OPERATIONS.get(method, method.lower())
    return parts[0], _COLLECTION_OPERATIONS.get(method, method.lower())


def _observe(request: web.Request, status: int, seconds: float) -> None:
    route = route_template(request)
    metrics.HTTP_REQUESTS.labels(route, request.method, str(status)).inc()
    metrics.HTTP_LATENCY.labels(route, request.method).observe(seconds)
    operation = scim_operation(route, request.method)
    if operation is not None:
        outcome = "success" if status < 400 else "error"
        metrics.SCIM_OPERATIONS.labels(*operation, outcome).inc()
    services = request.app.get(SERVICES)
    pool_stats = getattr(services.db, "pool_stats", None) if services else None
    if pool_stats is not None:
        metrics.record_pool(pool_stats())
    actor = request.get(ACTOR)
    log.log(
        logging.WARNING if status >= 500 else logging.INFO,
        "%s %s %s %.1fms",
        request.method,
        request.path,
        status,
        seconds * 1000,
        extra={
            "request_id": request.get(REQUEST_ID),
            "route": route,
            "method": request.method,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "remote": request.remote,
            "actor": actor.kind if actor else None,
            "token_name": actor.name if actor else None,
        },
    )


@web.middleware
async def access_log(request: web.Request, handler):
    started = time.perf_counter()
    status = 500
    in_progress = metrics.HTTP_IN_PROGRESS.labels(route_template(request))
    in_progress.inc()
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    except asyncio.CancelledError:
        status = CLIENT_CLOSED
        raise
    finally:
        in_progress.dec()
        _observe(request, status, time.perf_counter() - started)


async def metrics_page(request: web.Request) -> web.Response:
    """GET /metrics in the Prometheus text format."""
    services = request.app.get(SERVICES)
    pool_stats = getattr(services.db, "pool_stats", None) if services else None
    if pool_stats is not None:
        metrics.record_pool(pool_stats())
    body, content_type = metrics.exposition()
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response

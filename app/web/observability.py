"""One access-log line and the request metrics for every answer, whatever its outcome.

Labels are route templates (`/scim/v2/Users/{id}`), never raw paths, so ids do not explode the
metrics' cardinality. The log line carries the request id, route, status, duration and who
called (the SCIM token's name, "master key", …), never a credential and never the query
string (filters hold personal data).

Requests are tallied in plain numbers and added to the prometheus-client metrics at most once a
second, before every scrape and once a second by a timer (`flush_every_second`): updating the
metrics themselves on every request (a lock per counter, a walk over the histogram's buckets)
cost ~8 % of a point read's instructions. A scrape reached by one worker of `serve --workers N`
sees the others' requests within a second.
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

_ITEM_OPERATIONS = {"GET": "get", "PUT": "replace", "PATCH": "patch", "DELETE": "delete"}
_COLLECTION_OPERATIONS = {"GET": "list", "POST": "create"}


UNMATCHED_LABEL = "unmatched"  # the `route` of requests that match no route


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


POOL_SAMPLE_SECONDS = 1.0  # the pool gauges are refreshed at most this often by traffic
_pool_sampled_at = 0.0
FLUSH_SECONDS = 1.0  # tallies reach the metrics at least this often (and before every scrape)
_flushed_at = 0.0


class _Tally:
    """The answers of one (route, method, status) since the last flush."""

    __slots__ = ("count", "seconds", "per_bucket")

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.per_bucket = [0] * len(metrics.LATENCY_BUCKETS)


_tallies: dict[tuple[str, str, int], _Tally] = {}
_in_flight: dict[str, int] = {}


def begin(route: str) -> None:
    """A request of this route template is being handled (the in-progress gauge)."""
    _in_flight[route] = _in_flight.get(route, 0) + 1


def _instruments_for(route: str, method: str, status: int) -> tuple:
    """The labelled children one (route, method, status) updates."""
    operation = scim_operation(route, method)
    return (
        metrics.labelled(metrics.HTTP_REQUESTS, route, method, str(status)),
        metrics.labelled(metrics.HTTP_LATENCY, route, method),
        metrics.labelled(
            metrics.SCIM_OPERATIONS, *operation, "success" if status < 400 else "error"
        )
        if operation is not None
        else None,
    )


def flush() -> None:
    """Add the tallies to the metrics and set the in-progress gauges."""
    global _flushed_at
    _flushed_at = time.perf_counter()
    tallies = list(_tallies.items())
    _tallies.clear()
    for (route, method, status), tally in tallies:
        requests, latency, operation = _instruments_for(route, method, status)
        requests.inc(tally.count)
        metrics.add_observations(latency, tally.count, tally.seconds, tally.per_bucket)
        if operation is not None:
            operation.inc(tally.count)
    for route, in_flight in _in_flight.items():
        metrics.labelled(metrics.HTTP_IN_PROGRESS, route).set(in_flight)


async def flush_every_second() -> None:
    """So an idle worker's last requests reach the metrics a scrape of another worker reads."""
    try:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            flush()
    finally:
        flush()


def observe(request: web.Request, route: str, status: int, started: float, ended: float) -> None:
    """Count the answer, time it, and write its access-log line (when INFO is on). The pool
    gauges follow traffic at most once a second (every worker's, in multiprocess mode, not
    only the one a scrape reaches)."""
    global _pool_sampled_at
    seconds = ended - started
    _in_flight[route] -= 1
    key = (route, request.method, status)
    tally = _tallies.get(key)
    if tally is None:
        tally = _tallies[key] = _Tally()
    tally.count += 1
    tally.seconds += seconds
    tally.per_bucket[metrics.latency_bucket(seconds)] += 1
    if ended - _flushed_at >= FLUSH_SECONDS:
        flush()
    if ended - _pool_sampled_at >= POOL_SAMPLE_SECONDS:
        _pool_sampled_at = ended
        record_pool(request)
    level = logging.WARNING if status >= 500 else logging.INFO
    if not log.isEnabledFor(level):
        return
    actor = request.get(ACTOR)
    log.log(
        level,
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


def record_pool(request: web.Request) -> None:
    services = request.app.get(SERVICES)
    pool_stats = getattr(services.db, "pool_stats", None) if services else None
    if pool_stats is not None:
        metrics.record_pool(pool_stats())


async def metrics_page(request: web.Request) -> web.Response:
    """GET /metrics in the Prometheus text format."""
    flush()
    record_pool(request)
    body, content_type = metrics.exposition()
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response

"""Prometheus metrics (prometheus-client), defined once per process.

With several worker processes (`serve --workers N`) the parent sets PROMETHEUS_MULTIPROC_DIR
before starting them, so every worker writes its samples there and `/metrics`, served by
whichever worker the scrape reaches, adds them all up (prometheus-client multiprocess mode).
The pool gauges are then reported per process (label `pid`).
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

from storage.records import AuditEvent

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter(
    "haimaker_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, float("inf"))
HTTP_LATENCY = Histogram(
    "haimaker_http_request_duration_seconds",
    "Time from receiving a request to answering it, by route template and method",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_PROGRESS = Gauge(
    "haimaker_http_requests_in_progress",
    "Requests being handled now, by route template",
    ["route"],
    multiprocess_mode="livesum",
)
SCIM_OPERATIONS = Counter(
    "haimaker_scim_operations",
    "SCIM operations, by resource type, operation and outcome (success or error)",
    ["resource", "operation", "outcome"],
)
AUDIT_EVENTS = Counter("haimaker_audit_events", "Committed audit events, by action", ["action"])
DEPROVISIONINGS = Counter(
    "haimaker_deprovisionings",
    "Users whose access was cut: deactivated or deleted (their keys go in the same commit)",
    ["reason"],
)
AUTH_FAILURES = Counter(
    "haimaker_auth_failures",
    "Refused credentials, by realm (scim, admin, api_key)",
    ["realm"],
)
AUTH_THROTTLED = Counter(
    "haimaker_auth_throttled",
    "Requests refused with 429 because their address failed to authenticate too often",
)
DATABASE_UNAVAILABLE = Counter(
    "haimaker_database_unavailable",
    "Requests answered 503 because the database could not be reached in time",
)
SQLITE_COMMITS = Counter(
    "haimaker_sqlite_commits",
    "SQLite write transactions committed (group commit: one carries the writes of a loop turn)",
)
SQLITE_COMMITTED_WRITES = Counter(
    "haimaker_sqlite_committed_writes",
    "Writes committed on SQLite; over haimaker_sqlite_commits_total, the writes a COMMIT carries",
)
DB_POOL = Gauge(
    "haimaker_db_pool_connections",
    "Database connections of this process, by state (in_use, idle, max)",
    ["state"],
    multiprocess_mode="all",
)

_DEPROVISIONING_ACTIONS = {"user.deactivate": "deactivated", "user.delete": "deleted"}


_CHILDREN_KEPT = 4096  # some label values are client-chosen (HTTP methods): stay bounded
_children: dict[tuple, object] = {}


def labelled(metric, *values: str):
    """`metric.labels(*values)`, made once and kept (`labels()` is costly); past
    _CHILDREN_KEPT combinations the rest are made each time."""
    key = (metric, values)  # metrics hash by identity
    child = _children.get(key)
    if child is None:
        child = metric.labels(*values)
        if len(_children) < _CHILDREN_KEPT:
            _children[key] = child
    return child


def count_committed(events: Iterable[AuditEvent]) -> None:
    """Called after a transaction commits with the audit events it wrote."""
    for event in events:
        labelled(AUDIT_EVENTS, event.action).inc()
        reason = _DEPROVISIONING_ACTIONS.get(event.action)
        if reason:
            labelled(DEPROVISIONINGS, reason).inc()


def count_sqlite_commit(writes: int) -> None:
    """Called after each SQLite COMMIT with the number of writes it carried."""
    SQLITE_COMMITS.inc()
    SQLITE_COMMITTED_WRITES.inc(writes)


def latency_bucket(seconds: float) -> int:
    """The index of the LATENCY_BUCKETS bucket a duration is counted in (see add_observations)."""
    return bisect_left(LATENCY_BUCKETS, seconds)


def add_observations(histogram, count: int, total: float, per_bucket: list[int]) -> None:
    """Many observations of one labelled histogram at once: `per_bucket[i]` of them fell in
    LATENCY_BUCKETS[i] (the first bound at or above the value), `total` is their sum.

    prometheus-client has no bulk `observe`; this adds to the child's sum and bucket values as
    its `observe` does (non-cumulative buckets, summed at collection), in both the in-process and
    the multiprocess value classes. tests/unit/test_metrics.py holds it to `observe`'s output."""
    if count:
        histogram._sum.inc(total)
        for bucket, added in zip(histogram._buckets, per_bucket, strict=True):
            if added:
                bucket.inc(added)


def record_pool(stats: dict[str, int] | None) -> None:
    for state, value in (stats or {}).items():
        labelled(DB_POOL, state).set(value)


def exposition() -> tuple[bytes, str]:
    """The metrics text and its content type; all workers' samples in multiprocess mode."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """Drop a stopped worker's live gauges (multiprocess mode only)."""
    if os.environ.get(MULTIPROCESS_ENV):
        _multiprocess.mark_process_dead(pid)

"""`GET /audit` with the master key: the audit log as JSON for scripts and SIEM imports,
newest first, filtered by a target id (a user, team, key or token) and an action, paged."""

from __future__ import annotations

from aiohttp import web

from app.provisioning.audit_log import event_document
from app.scim.errors import invalid_value
from app.web.appkeys import SERVICES
from app.web.responses import json_response

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _whole_number(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise invalid_value(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _text(request: web.Request, name: str) -> str | None:
    value = request.query.get(name, "").strip()
    if len(value) > 200:
        raise invalid_value(f"{name} is longer than 200 characters")
    return value or None


async def audit_events(request: web.Request) -> web.Response:
    limit = _whole_number(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _whole_number(request, "offset", 0, 0, 2**31 - 1)
    page = await request.app[SERVICES].audit.page(
        target_id=_text(request, "target_id"),
        action=_text(request, "action"),
        limit=limit,
        offset=offset,
    )
    return json_response(
        {
            "total": page.total,
            "limit": limit,
            "offset": offset,
            "events": [event_document(event) for event in page.items],
        }
    )

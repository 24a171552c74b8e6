"""Reading the audit log (it is written by each use case in its own transaction), and the one
JSON shape an event has wherever it is read (`run.py audit`, `GET /audit`)."""

from __future__ import annotations

import datetime as dt

from storage.records import AuditEvent, Page
from storage.repository import Repository


def event_document(event: AuditEvent) -> dict:
    """Who did what to which resource, and when. Events never hold secrets: keys and tokens
    are named by id and alias only (app.provisioning.access)."""
    return {
        "at": event.at.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "actor": {"kind": event.actor_kind, "id": event.actor_id, "name": event.actor_name},
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "details": event.details,
    }


class AuditLog:
    def __init__(self, repo: Repository):
        self.repo = repo

    async def page(
        self,
        *,
        target_id: str | None = None,
        action: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Page:
        async with self.repo.reader() as stores:
            return await stores.audit.page(
                target_id=target_id, action=action, limit=limit, offset=offset
            )

"""SQL for the audit log: appended in the transaction of the change it records."""

from __future__ import annotations

from storage.db import Connection, Dialect
from storage.records import AuditEvent, Page

_COLUMNS = "seq, at, actor_kind, actor_id, actor_name, action, target_type, target_id, details"


def _event(row) -> AuditEvent:
    return AuditEvent(
        seq=row["seq"],
        at=row["at"],
        actor_kind=row["actor_kind"],
        actor_id=row["actor_id"],
        actor_name=row["actor_name"],
        action=row["action"],
        target_type=row["target_type"],
        target_id=row["target_id"],
        details=row["details"],
    )


class AuditStore:
    def __init__(self, conn: Connection, dialect: Dialect):
        self.conn = conn

    async def append(self, events: list[AuditEvent]) -> None:
        if events:
            await self.conn.executemany(
                "INSERT INTO audit_events (at, actor_kind, actor_id, actor_name, action, target_type,"
                " target_id, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        e.at,
                        e.actor_kind,
                        e.actor_id,
                        e.actor_name,
                        e.action,
                        e.target_type,
                        e.target_id,
                        e.details,
                    )
                    for e in events
                ],
            )

    async def page(
        self,
        *,
        target_id: str | None = None,
        action: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Page:
        """Newest first, optionally for one user/team (`target_id`, or named in the details)."""
        conditions, params = ["1 = 1"], []
        if target_id:
            conditions.append("(target_id = ? OR actor_id = ?)")
            params += [target_id, target_id]
        if action:
            conditions.append("action = ?")
            params.append(action)
        where = " AND ".join(conditions)
        total = await self.conn.fetchval(
            f"SELECT count(*) FROM audit_events WHERE {where}", *params
        )
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM audit_events WHERE {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
            *params,
            limit,
            offset,
        )
        return Page([_event(row) for row in rows], total)

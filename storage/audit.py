"""SQL for the audit log: appended in the transaction of the change it records."""

from __future__ import annotations

from storage.db import Connection, Dialect
from storage.inserts import Insert, insert_rows
from storage.records import AuditEvent, Page

_COLUMNS = "seq, at, actor_kind, actor_id, actor_name, action, target_type, target_id, details"
_INSERT_COLUMNS = (
    "at", "actor_kind", "actor_id", "actor_name", "action", "target_type", "target_id", "details",
)  # fmt: skip


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
        self.dialect = dialect
        self.appended: list[AuditEvent] = []  # this transaction's events, for commit listeners

    async def append(self, events: list[AuditEvent]) -> None:
        await insert_rows(self.conn, self.dialect, [self.insert_of(events)])

    def insert_of(self, events: list[AuditEvent]) -> Insert:
        """The rows of `events`, for a store writing them in its own statement (a user's
        create); they count as appended to this transaction."""
        self.appended.extend(events)
        return Insert(
            "audit_events",
            _INSERT_COLUMNS,
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

    async def count_since(self, action: str, target_id: str, since) -> int:
        """How many `action` events about `target_id` since `since` (an index seek on target)."""
        return await self.conn.fetchval(
            "SELECT count(*) FROM audit_events WHERE target_id = ? AND action = ? AND at > ?",
            target_id,
            action,
            since,
        )

    async def page(
        self,
        *,
        target_id: str | None = None,
        action: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Page:
        """Newest first, optionally about one id: the target, the actor, or the user named in
        the details (a deleted key's owner, a user removed from a team)."""
        conditions, params = ["1 = 1"], []
        if target_id:
            owner_sql, owner_path = self.dialect.json_text("details", ["user_id"])
            conditions.append(f"(target_id = ? OR actor_id = ? OR {owner_sql} = ?)")
            params += [target_id, target_id, owner_path, target_id]
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

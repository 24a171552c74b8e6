"""Reading the audit log (it is written by each use case in its own transaction)."""

from __future__ import annotations

from storage.records import Page
from storage.repository import Repository


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

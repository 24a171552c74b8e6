"""Bulk (RFC 7644 §3.7): run a parsed BulkRequest with the ordinary use cases, in batches.

Each operation is what the same single request would do (same use case, same checks, same
audit events), all-or-nothing on its own. Operations are grouped into transactions of up to
`operations_per_transaction`, each operation a savepoint inside one (storage.savepoints), so a
1,000-operation request commits a few times instead of 1,000 times. The groups stay small so
that no transaction holds the SQLite write lock for long, and so that Postgres keeps every
transaction's subtransactions within its per-backend cache (64).
"""

from __future__ import annotations

from collections.abc import Callable

from app.provisioning.common import Actor
from app.scim.bulk import BulkOperation, BulkRequest, BulkResult, BulkSchedule, error_budget_spent
from app.scim.codec import etag_for
from app.scim.errors import ScimError
from storage.repository import Repository
from storage.savepoints import SavepointRepository

USERS_ENDPOINT = "/Users"
GROUPS_ENDPOINT = "/Groups"
ENDPOINTS = (USERS_ENDPOINT, GROUPS_ENDPOINT)


class BulkProvisioning:
    def __init__(
        self,
        repo: Repository,
        users_over: Callable,
        teams_over: Callable,
        *,
        operations_per_transaction: int = 50,
    ):
        """`users_over(repo)`/`teams_over(repo)` build the use cases over a given repository
        (configured as the rest of the service)."""
        self.repo = repo
        self._users_over = users_over
        self._teams_over = teams_over
        self.operations_per_transaction = operations_per_transaction

    async def run(self, request: BulkRequest, actor: Actor) -> list[BulkResult]:
        schedule = BulkSchedule(request.operations)
        results: list[BulkResult] = []
        finished = False
        while not finished and not error_budget_spent(results, request.fail_on_errors):
            async with self.repo.transaction() as stores:
                batch = SavepointRepository(stores, self.repo.db)
                users, teams = self._users_over(batch), self._teams_over(batch)
                for _ in range(self.operations_per_transaction):
                    if error_budget_spent(results, request.fail_on_errors):
                        break
                    step = schedule.next()
                    if step is None:
                        finished = True
                        break
                    op, error = step
                    result = await self._run_one(op, error, users, teams, actor)
                    if result.error is None:
                        schedule.created(op, result.resource_id)
                    else:
                        schedule.failed(op)
                    results.append(result)
        return results

    async def _run_one(
        self, op: BulkOperation, error: ScimError | None, users, teams, actor: Actor
    ) -> BulkResult:
        if error is not None:
            return BulkResult(op, error.status, error=error)
        try:
            return await self._execute(op, users if op.endpoint == USERS_ENDPOINT else teams, actor)
        except ScimError as failure:
            return BulkResult(op, failure.status, error=failure)

    async def _execute(self, op: BulkOperation, service, actor: Actor) -> BulkResult:
        """One operation as its single request would run (§3.7: `version` is the If-Match)."""
        options = {"with_members": False} if op.endpoint == GROUPS_ENDPOINT else {}
        if op.method == "POST":
            view = await service.create(op.data, actor, **options)
            return BulkResult(op, 201, view.record.id, etag_for(view.record.version))
        if op.method == "DELETE":
            await service.delete(op.resource_id, actor, if_match=op.version)
            return BulkResult(op, 204, op.resource_id)
        write = service.replace if op.method == "PUT" else service.patch
        view = await write(op.resource_id, op.data, actor, if_match=op.version, **options)
        return BulkResult(op, 200, view.record.id, etag_for(view.record.version))

"""What every use case shares: who acts, the clock, ids, audit events, storage errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import uuid
from typing import Protocol, TypeVar

from attrs import frozen

from app.scim.errors import ScimError, uniqueness
from app.scim.preconditions import require_if_match
from storage.db import Conflict, TransientConflict
from storage.records import AuditEvent


@frozen
class Actor:
    """Who made a change, as the audit log names them (never with a secret)."""

    kind: str  # scim_token | admin | sso | cli | system
    id: str | None = None
    name: str | None = None


CLI = Actor("cli", None, "command line")


def utcnow() -> dt.datetime:
    """Now, to the millisecond: what is stored equals what `meta` shows, so a client filtering
    `meta.lastModified eq/gt` with a value it was shown gets what it asked for."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_id() -> str:
    return str(uuid.uuid4())


def audit_event(
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | None,
    now: dt.datetime,
    **details: object,
) -> AuditEvent:
    return AuditEvent(
        at=now,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details={key: value for key, value in details.items() if value is not None},
    )


def conflict_error(error: Conflict) -> ScimError:
    """A uniqueness violation from the database as the SCIM 409 (RFC 7644 §3.3, §3.12)."""
    if "user_name" in error.constraint:
        return uniqueness("a user with this userName already exists (compared case-insensitively)")
    if "display_name" in error.constraint:
        return uniqueness(
            "a group with this displayName already exists (compared case-insensitively)"
        )
    return uniqueness("the resource conflicts with an existing one")


def not_found(kind: str, resource_id: str) -> ScimError:
    return ScimError(404, f"{kind} {resource_id[:100]!r} not found")


class _Versioned(Protocol):
    version: int


_Row = TypeVar("_Row", bound=_Versioned)


class _LockingStore(Protocol[_Row]):
    async def get(self, resource_id: str, /, *, for_update: bool = False) -> _Row | None: ...


async def current_for_write(
    store: _LockingStore[_Row], kind: str, resource_id: str, if_match: str | None
) -> _Row:
    """The row a write starts from, locked for the transaction: 404 when it is gone, 412 when
    `If-Match` names another version (RFC 7644 §3.14)."""
    current = await store.get(resource_id, for_update=True)
    if current is None:
        raise not_found(kind, resource_id)
    require_if_match(if_match, current.version)
    return current


TRANSIENT_ATTEMPTS = 3


def retry_transient(write):
    """Run a write use case again when the database rolled it back to break a deadlock (every
    attempt is a whole new transaction, so nothing of the failed one remains); after
    TRANSIENT_ATTEMPTS the error goes out as a 503 with Retry-After."""

    @functools.wraps(write)
    async def attempt(*args, **kwargs):
        for number in range(1, TRANSIENT_ATTEMPTS + 1):
            try:
                return await write(*args, **kwargs)
            except TransientConflict:
                if number == TRANSIENT_ATTEMPTS:
                    raise
                await asyncio.sleep(0.005 * number)

    return attempt

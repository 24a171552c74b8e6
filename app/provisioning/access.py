"""Cutting a person's access: the promise that a removed user loses everything at once.

Called inside the transaction that deactivates or deletes the user, so the keys and tokens are
gone in the same commit; `GET /key/info` reads the database, so no process can still accept them.
"""

from __future__ import annotations

import datetime as dt

from app.provisioning.common import Actor, audit_event
from storage.records import AuditEvent, DeletedCredential
from storage.repository import Stores


def credential_events(
    deleted: list[DeletedCredential], actor: Actor, now: dt.datetime, reason: str
) -> list[AuditEvent]:
    """One audit event per deleted key or token: its id and alias, never its secret."""
    events = []
    for item in deleted:
        if item.kind == "api_key":
            events.append(
                audit_event(
                    actor,
                    "key.delete",
                    "api_key",
                    item.id,
                    now,
                    user_id=item.user_id,
                    team_id=item.team_id,
                    key_alias=item.alias,
                    reason=reason,
                )
            )
        else:
            events.append(
                audit_event(
                    actor,
                    "access_token.delete",
                    "access_token",
                    item.id,
                    now,
                    user_id=item.user_id,
                    kind=item.kind,
                    reason=reason,
                )
            )
    return events


async def revoke_user_access(
    stores: Stores, user_id: str, actor: Actor, now: dt.datetime, reason: str
) -> list[AuditEvent]:
    """Delete every API key and access token of the user; return the audit events."""
    deleted = await stores.api_keys.delete_for_user(user_id)
    deleted += await stores.access_tokens.delete_for_user(user_id)
    return credential_events(deleted, actor, now, reason)

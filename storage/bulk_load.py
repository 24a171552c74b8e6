"""Loading many rows at once: users with their e-mails, memberships and keys (COPY on
Postgres, one prepared INSERT over all rows on SQLite). For imports and for seeding benchmark
directories of a million users in seconds; the SCIM API never goes through here.

Rows go in exactly as the stores write them one by one (same columns, lower-cased copies), so
everything loaded this way is served and filtered like anything created over SCIM.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from storage.db import Connection
from storage.records import ApiKeyRecord, UserRecord

_USER_COLUMNS = (
    "id", "user_name", "user_name_lower", "external_id", "display_name", "display_name_lower",
    "active", "source", "doc", "version", "created_at", "updated_at",
)  # fmt: skip
_EMAIL_COLUMNS = ("user_id", "position", "value", "value_lower", "type", "display", "is_primary")


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else None


async def load_users(conn: Connection, users: Sequence[UserRecord]) -> None:
    """The users and the e-mails of their documents."""
    await conn.copy_rows(
        "users",
        _USER_COLUMNS,
        [
            (
                u.id,
                u.user_name,
                u.user_name.lower(),
                u.external_id,
                u.display_name,
                _lower(u.display_name),
                u.active,
                u.source,
                u.doc,
                u.version,
                u.created_at,
                u.updated_at,
            )  # fmt: skip
            for u in users
        ],
    )
    emails = [
        (
            u.id,
            position,
            e.get("value"),
            _lower(e.get("value")),
            e.get("type"),
            e.get("display"),
            e.get("primary") if isinstance(e.get("primary"), bool) else None,  # unassigned: NULL
        )  # fmt: skip
        for u in users
        for position, e in enumerate(u.doc.get("emails") or ())
        if isinstance(e, dict)
    ]
    if emails:
        await conn.copy_rows("user_emails", _EMAIL_COLUMNS, emails)


async def load_memberships(
    conn: Connection, team_id: str, user_ids: Sequence[str], source: str, now: dt.datetime
) -> None:
    await conn.copy_rows(
        "team_members",
        ("team_id", "user_id", "source", "added_at"),
        [(team_id, user_id, source, now) for user_id in user_ids],
    )


async def load_api_keys(conn: Connection, keys: Sequence[tuple[ApiKeyRecord, str]]) -> None:
    """(key, hash of its secret) pairs."""
    await conn.copy_rows(
        "api_keys",
        ("id", "key_hash", "user_id", "team_id", "key_alias", "created_at"),
        [(k.id, h, k.user_id, k.team_id, k.key_alias, k.created_at) for k, h in keys],
    )


async def refresh_statistics(conn: Connection, dialect_name: str) -> None:
    """After a big load, let the planner know the tables' new sizes (Postgres's autovacuum
    would get there too, a while later; SQLite plans from its indexes alone)."""
    if dialect_name == "postgres":
        await conn.execute("ANALYZE")

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
from storage.users import EMAIL_COLUMNS, USER_COLUMNS, email_rows, insert_params


async def load_users(conn: Connection, users: Sequence[UserRecord]) -> None:
    """The users and the e-mails of their documents, as the user store writes them."""
    await conn.copy_rows("users", USER_COLUMNS, [insert_params(u) for u in users])
    emails = [row for u in users for row in email_rows(u.id, u.doc.get("emails") or ())]
    if emails:
        await conn.copy_rows("user_emails", EMAIL_COLUMNS, emails)


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

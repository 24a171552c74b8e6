"""Migration 0003 on a database that already holds users (both backends): an e-mail stored
before it with `primary` left out gets NULL (unassigned, RFC 7643 §2.5), an explicit
`primary: false` stays false, so `emails.primary pr` / `eq false` filter correctly."""

from __future__ import annotations

import datetime as dt
import uuid

from storage import open_database
from storage.migrations import _statements, available_migrations, migrate
from tests.support.databases import dispose_database_url, new_database_url

EMAILS = [
    {"value": "a@x.com", "primary": True},
    {"value": "b@x.com", "primary": False},
    {"value": "c@x.com"},
]


async def _migrate_until(db, last_version: int) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        for version, name, sql in available_migrations(db.dialect.name):
            if version > last_version:
                break
            for statement in _statements(sql):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                version,
                name,
                "before-0003",
            )


async def test_existing_emails_keep_what_was_sent(backend, tmp_path):
    url = await new_database_url(backend, tmp_path)
    db = await open_database(url)
    try:
        await _migrate_until(db, 2)
        user_id, now = str(uuid.uuid4()), dt.datetime.now(dt.UTC)
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO users (id, user_name, user_name_lower, active, source, doc, version,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                user_id, "old", "old", True, "scim", {"userName": "old", "emails": EMAILS}, 1,
                now, now,
            )  # fmt: skip
            await conn.executemany(
                "INSERT INTO user_emails (user_id, position, value, value_lower, is_primary)"
                " VALUES (?, ?, ?, ?, ?)",
                [(user_id, i, e["value"], e["value"], bool(e.get("primary"))) for i, e in enumerate(EMAILS)],
            )  # fmt: skip
        assert "0003_email_primary_unassigned.sql" in await migrate(db)
        async with db.reader() as conn:
            rows = await conn.fetch(
                "SELECT position, is_primary FROM user_emails WHERE user_id = ? ORDER BY position",
                user_id,
            )
        assert [(row[0], None if row[1] is None else bool(row[1])) for row in rows] == [
            (0, True),
            (1, False),
            (2, None),
        ]
    finally:
        await db.close()
        await dispose_database_url(url)

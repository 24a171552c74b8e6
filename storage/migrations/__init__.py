"""Versioned schema migrations, applied at start-up and by `run.py migrate`.

Each backend has a folder of numbered SQL files (`0001_initial.sql`, …). A migration runs in
one transaction together with its row in `schema_migrations`, so a crash leaves either all of
it or none. Concurrent starters (several workers) queue on a lock and skip what is done.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources

from storage.db import Database

_ADVISORY_LOCK_ID = 0x5C1_3A1  # any constant shared by every haimaker process


def available_migrations(dialect_name: str) -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration file for a backend, in order."""
    folder = resources.files(__package__).joinpath(dialect_name)
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text()))
    return sorted(found)


def _statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


async def applied_versions(db: Database) -> set[int]:
    async with db.reader() as conn:
        exists = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
            if db.dialect.name == "postgres"
            else "SELECT count(*) FROM sqlite_master WHERE name = 'schema_migrations'"
        )
        if not exists:
            return set()
        return {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}


async def pending_migrations(db: Database) -> list[str]:
    done = await applied_versions(db)
    return [
        name for version, name, _ in available_migrations(db.dialect.name) if version not in done
    ]


async def migrate(db: Database) -> list[str]:
    """Apply every pending migration; returns the names applied."""
    applied = []
    async with db.transaction() as conn:
        if db.dialect.name == "postgres":
            await conn.execute("SELECT pg_advisory_xact_lock(?)", _ADVISORY_LOCK_ID)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, name, sql in available_migrations(db.dialect.name):
            if version in done:
                continue
            for statement in _statements(sql):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                version,
                name,
                dt.datetime.now(dt.UTC).isoformat(),
            )
            applied.append(name)
    return applied

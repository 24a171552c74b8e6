"""The whole database as text, read past the application: what an attacker with a backup sees.

Tests search it for secrets (which must never be there) and for their hashes (which must).
"""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg


def _sqlite_dump(path: str) -> str:
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


async def _postgres_dump(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        lines = []
        for table in tables:
            name = table["table_name"]
            rows = await conn.fetch(f'SELECT t::text FROM "{name}" t')
            lines += [f"{name}: {row[0]}" for row in rows]
        return "\n".join(lines)
    finally:
        await conn.close()


async def dump_database(url: str) -> str:
    """Every row of every table of the database at `url`."""
    if url.startswith("sqlite:"):
        return await asyncio.to_thread(_sqlite_dump, url.removeprefix("sqlite:///"))
    return await _postgres_dump(url)

"""The repository: the only package that speaks SQL. `open_database(url)` picks the backend."""

from __future__ import annotations

from storage.db import Conflict, Database, DatabaseUnavailable

__all__ = ["Conflict", "Database", "DatabaseUnavailable", "open_database", "describe_url"]


def _sqlite_path(url: str) -> str:
    path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else url[len("sqlite://") :]
    return path or ":memory:"


def describe_url(url: str) -> str:
    """The URL with any password hidden, for logs."""
    from storage.postgres import hide_password

    return hide_password(url)


async def open_database(url: str, **options) -> Database:
    """Open (but do not migrate) the database named by a `sqlite:///…` or `postgresql://…` URL."""
    if url.startswith("sqlite:"):
        from storage.sqlite import SqliteDatabase

        return await SqliteDatabase(_sqlite_path(url)).open()
    if url.startswith(("postgresql://", "postgres://")):
        from storage.postgres import PostgresDatabase

        return await PostgresDatabase(url, **options).open()
    raise ValueError(
        f"unsupported database URL {describe_url(url)!r}: use sqlite:/// or postgresql://"
    )

"""One page of a filtered, ordered table and its total: shared by users and teams."""

from __future__ import annotations

from collections.abc import Callable

from storage.db import Connection
from storage.records import Page


async def search_page(
    conn: Connection,
    *,
    table: str,
    alias: str,
    columns: str,
    where: tuple[str, list],
    order: tuple[str, list],
    descending: bool,
    limit: int,
    offset: int,
    to_record: Callable,
) -> Page:
    """Rows matching a compiled filter, ordered by the sort key then creation (`seq`) so paging
    never skips or repeats a row, with the count of all matches (RFC 7644 §3.4.2.4)."""
    where_sql, where_params = where
    order_sql, order_params = order
    total = await conn.fetchval(f"SELECT count(*) FROM {table} {alias} WHERE {where_sql}", *where_params)
    if limit <= 0 or offset >= total:
        return Page([], total)
    direction = "DESC" if descending else "ASC"
    rows = await conn.fetch(
        f"SELECT {columns} FROM {table} {alias} WHERE {where_sql} "
        f"ORDER BY {order_sql} {direction} NULLS LAST, {alias}.seq {direction} LIMIT ? OFFSET ?",
        *where_params,
        *order_params,
        limit,
        offset,
    )
    return Page([to_record(row) for row in rows], total)

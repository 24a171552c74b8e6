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
    count_sql = f"SELECT count(*) FROM {table} {alias} WHERE {where_sql}"
    if limit <= 0:
        return Page([], await conn.fetchval(count_sql, *where_params))
    direction = "DESC" if descending else "ASC"
    # The count rides along as an uncorrelated scalar subquery (computed once): one round trip.
    rows = await conn.fetch(
        f"SELECT {columns}, ({count_sql}) AS total_matches FROM {table} {alias} WHERE {where_sql} "
        f"ORDER BY {order_sql} {direction} NULLS LAST, {alias}.seq {direction} LIMIT ? OFFSET ?",
        *where_params,
        *where_params,
        *order_params,
        limit,
        offset,
    )
    if not rows:  # past the end (or nothing matches): the total still has to be told
        total = await conn.fetchval(count_sql, *where_params) if offset else 0
        return Page([], total)
    return Page([to_record(row) for row in rows], rows[0]["total_matches"])

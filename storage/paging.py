"""One page of a filtered, ordered table and its total: shared by users and teams."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple

from storage.db import Connection
from storage.records import Page


class PageQuery(NamedTuple):
    """One page of a compiled search: the filter and the sort key as SQL with their
    parameters, the direction, and the window."""

    where: tuple[str, list]
    order: tuple[str, list]
    descending: bool
    limit: int
    offset: int


async def search_page(
    conn: Connection, *, table: str, alias: str, columns: str, page: PageQuery, to_record: Callable
) -> Page:
    """Rows matching a compiled filter, ordered by the sort key then creation (`seq`) so paging
    never skips or repeats a row, with the count of all matches (RFC 7644 §3.4.2.4)."""
    (where_sql, where_params), (order_sql, order_params), descending, limit, offset = page
    count_sql, first_page_sql, page_sql = _statements(
        table, alias, columns, where_sql, order_sql, descending, bool(offset)
    )
    if limit <= 0:
        return Page([], await conn.fetchval(count_sql, *where_params))
    if not offset and where_sql != "TRUE":
        return await _first_page(
            conn, first_page_sql, count_sql, where_params, order_params, limit, to_record
        )
    # Otherwise the count rides along as an uncorrelated scalar subquery (computed once): one
    # round trip.
    paging_params = [limit, offset] if offset else [limit]
    rows = await conn.fetch(page_sql, *where_params, *where_params, *order_params, *paging_params)
    if not rows:  # past the end (or nothing matches): the total still has to be told
        total = await conn.fetchval(count_sql, *where_params) if offset else 0
        return Page([], total)
    return Page([to_record(row) for row in rows], rows[0]["total_matches"])


def first_page(
    conn: Connection,
    *,
    table: str,
    alias: str,
    columns: str,
    where: tuple[str, list],
    order_sql: str,
    limit: int,
    to_record: Callable,
) -> Awaitable[Page]:
    """`search_page` for the first page of a filtered query in ascending order, with no
    parameter in its sort key (an IdP's match): the same statements, fewer steps."""
    count_sql, first_page_sql, _ = _statements(
        table, alias, columns, where[0], order_sql, False, False
    )
    return _first_page(conn, first_page_sql, count_sql, where[1], (), limit, to_record)


async def _first_page(
    conn: Connection,
    page_sql: str,
    count_sql: str,
    where_params: list,
    order_params: Sequence,
    limit: int,
    to_record: Callable,
) -> Page:
    """The first page of a filtered query (every IdP match): it rarely fills, and then its
    length is the total; only a full page costs a count of its own."""
    rows = await conn.fetch(page_sql, *where_params, *order_params, limit)
    total = len(rows)
    if total == limit:
        total = max(total, await conn.fetchval(count_sql, *where_params))
    return Page([to_record(row) for row in rows], total)


@functools.lru_cache(maxsize=256)
def _statements(
    table: str,
    alias: str,
    columns: str,
    where_sql: str,
    order_sql: str,
    descending: bool,
    offset: bool,
) -> tuple[str, str, str]:
    """(count, first page of a filtered query, page with its count) of one search shape:
    the same few shapes come back on every request (an IdP's match), so their text is put
    together once. No OFFSET on a first page: Postgres re-plans a prepared statement with an
    OFFSET parameter on every run (~4x the CPU of the lookup itself), while one without it
    keeps its generic plan."""
    count_sql = f"SELECT count(*) FROM {table} {alias} WHERE {where_sql}"
    direction = "DESC" if descending else "ASC"
    ordered = f"ORDER BY {order_sql} {direction} NULLS LAST, {alias}.seq {direction}"
    first_page_sql = f"SELECT {columns} FROM {table} {alias} WHERE {where_sql} {ordered} LIMIT ?"
    paging = "LIMIT ? OFFSET ?" if offset else "LIMIT ?"
    page_sql = (
        f"SELECT {columns}, ({count_sql}) AS total_matches FROM {table} {alias} "
        f"WHERE {where_sql} {ordered} {paging}"
    )
    return count_sql, first_page_sql, page_sql

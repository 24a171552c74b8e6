"""Running a bound `ListQuery` against a store: compile the filter and sort key, page."""

from __future__ import annotations

from app.scim.listing import ListQuery
from app.scim.schema_model import ResourceType
from storage.paging import PageQuery
from storage.records import Page
from storage.repository import Stores
from storage.sql_fields import ResourceTable
from storage.sql_filter import FilterCompiler


def compile_query(
    stores: Stores, rt: ResourceType, table: ResourceTable, query: ListQuery
) -> PageQuery:
    """The query as this backend's SQL: filter and sort key, direction and window."""
    compiler = _compiler(rt, table, stores.dialect)
    where = compiler.where(query.filter) if query.filter is not None else ("TRUE", [])
    order = compiler.sort_key(query.sort_by) if query.sort_by is not None else (table.order, [])
    return PageQuery(where, order, query.descending, query.count, query.offset)


# One compiler per (resource type, table, dialect), so what it compiles once (a comparison per
# attribute and operator) serves every request. Entries hold their objects, so no id is reused
# while its entry lives.
_COMPILERS: dict[tuple[int, int, int], FilterCompiler] = {}
_COMPILERS_LIMIT = 64


def _compiler(rt: ResourceType, table: ResourceTable, dialect) -> FilterCompiler:
    key = (id(rt), id(table), id(dialect))
    compiler = _COMPILERS.get(key)
    if (
        compiler is None
        or compiler.rt is not rt
        or compiler.table is not table
        or compiler.dialect is not dialect
    ):
        if len(_COMPILERS) >= _COMPILERS_LIMIT:
            _COMPILERS.clear()
        compiler = _COMPILERS[key] = FilterCompiler(rt, table, dialect)
    return compiler


async def search_resources(
    stores: Stores, store, rt: ResourceType, table: ResourceTable, query: ListQuery
) -> Page:
    return await store.search(compile_query(stores, rt, table, query))

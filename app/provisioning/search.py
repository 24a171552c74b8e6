"""Running a bound `ListQuery` against a store: compile the filter and sort key, page."""

from __future__ import annotations

from app.scim.filter import known_text_path
from app.scim.listing import ListQuery
from app.scim.schema_model import ResourceType
from storage.paging import PageQuery
from storage.records import Page
from storage.repository import Stores
from storage.sql_fields import ResourceTable
from storage.sql_filter import ComparisonTemplate, FilterCompiler


def compile_query(
    stores: Stores, rt: ResourceType, table: ResourceTable, query: ListQuery
) -> PageQuery:
    """The query as this backend's SQL: filter and sort key, direction and window."""
    compiler = _compiler(rt, table, stores.dialect)
    where = compiler.where(query.filter) if query.filter is not None else ("TRUE", [])
    order = compiler.sort_key(query.sort_by) if query.sort_by is not None else (table.order, [])
    return PageQuery(where, order, query.descending, query.count, query.offset)


class PreparedMatches:
    """IdP matches on one resource table compiled once per shape as written (`userName eq`):
    the comparison with a slot for its text. Nothing is bound or compiled per request; a shape
    is prepared from what binding it in full taught (`known_text_path`), so it means exactly
    what the bound query means."""

    _LIMIT = 1024

    def __init__(self, rt: ResourceType, table: ResourceTable, dialect):
        self._rt = rt
        self._compiler = _compiler(rt, table, dialect)
        self._templates: dict[tuple, ComparisonTemplate] = {}

    def template(self, attr: str, sub: str | None, op: str) -> ComparisonTemplate | None:
        """None until a match of this shape has been bound in full once, and for shapes whose
        SQL depends on the text."""
        key = (attr, sub, op)
        template = self._templates.get(key)
        if template is None:
            path = known_text_path(self._rt, attr, sub, op)
            template = None if path is None else self._compiler.comparison_template(path, op)
            if template is None:
                return None
            if len(self._templates) >= self._LIMIT:
                self._templates.clear()
            self._templates[key] = template
        return template


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

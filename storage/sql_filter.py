"""Compile a bound SCIM filter (app.scim.ast) into parameterised SQL (RFC 7644 §3.4.2.2).

Values only ever travel as parameters. Every predicate is made NULL-safe (COALESCE … FALSE) so
`not` and `ne` keep two-valued logic: `ne` is the negation of `eq` (it holds on an absent
attribute), `eq null` is "not present". Multi-valued attributes match when any value does:
an EXISTS over their side table or over the JSON array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from app.scim.ast import And, AttrPath, Compare, Filter, Not, Or, Present, ValuePath
from app.scim.errors import ScimError, invalid_filter
from app.scim.schema_model import Attribute, ResourceType
from storage.db import Dialect
from storage.selective import is_selective
from storage.sql_fields import Column, ResourceTable, SideTable

Sql = tuple[str, list]
_OPERATORS = {"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_TEXT = ("string", "reference", "binary")
# (SQL of the value, its parameters, its attribute, the column when it is one)
_Operand = tuple[str, list, Attribute, Column | None]
_ElementResolver = Callable[[str], _Operand]


def _two_valued(predicate: str, predicate_params: list, operand: str, operand_params: list) -> Sql:
    """`predicate` made never NULL (so `not` stays two-valued) in a form the database can
    still answer from an index on `operand` (a COALESCE around it would hide the column).
    The compared value is never NULL (`eq null` compiles to "not present"), so the predicate
    is NULL exactly when the operand is."""
    return f"({predicate} AND {operand} IS NOT NULL)", [*predicate_params, *operand_params]


class ComparisonTemplate(NamedTuple):
    """One attribute compared with text, compiled with a slot for the text."""

    sql: str
    params: list
    position: int  # of the compared text among the parameters
    lowered: bool  # the text is compared lower-cased
    selective: bool  # an index answers it in a few rows (storage.selective)

    def bind(self, text: str) -> Sql:
        params = self.params.copy()
        params[self.position] = text.lower() if self.lowered else text
        return self.sql, params


# Stands for the compared text while a comparison is compiled once; no filter holds a NUL
# (app.scim.text_rules), so no real text is ever mistaken for it.
_STAND_IN = "\x00Text\x00"
_STAND_IN_FORMS = (_STAND_IN, _STAND_IN.lower())
_UNKNOWN = object()
_TEMPLATES_LIMIT = 4096


def like_pattern(value: str, op: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {"co": f"%{escaped}%", "sw": f"{escaped}%", "ew": f"%{escaped}"}[op]


class FilterCompiler:
    """Compiles filters and sort keys for one resource table on one SQL dialect."""

    def __init__(self, rt: ResourceType, table: ResourceTable, dialect: Dialect):
        self.rt = rt
        self.table = table
        self.dialect = dialect
        self._templates: dict[tuple[AttrPath, str], ComparisonTemplate | None] = {}

    def where(self, node: Filter) -> Sql:
        if type(node) is Compare and type(node.value) is str:  # an IdP's match
            return self._text_comparison(node)
        return self._node(node, None)

    # -- one attribute compared with text, compiled once per (path, operator) ---------------

    def _text_comparison(self, node: Compare) -> Sql:
        template = self.comparison_template(node.path, node.op)
        if template is None:
            return self._node(node, None)
        return template.bind(node.value)

    def comparison_template(self, path: AttrPath, op: str) -> ComparisonTemplate | None:
        """`path op "text"` compiled once with a slot for the text; None where the SQL depends
        on the text (those compile in full every time)."""
        key = (path, op)
        template = self._templates.get(key, _UNKNOWN)
        if template is _UNKNOWN:
            template = self._template(path, op)
            if len(self._templates) >= _TEMPLATES_LIMIT:
                self._templates.clear()
            self._templates[key] = template
        return template

    def _template(self, path: AttrPath, op: str) -> ComparisonTemplate | None:
        """The comparison compiled with a stand-in for its text, when the text only ever
        becomes one parameter, as it is or lower-cased (None otherwise: `co` patterns,
        `schemas`, whose SQL depends on the text; those compile in full every time)."""
        try:
            sql, params = self._node(Compare(path, op, _STAND_IN), None)
        except ScimError:
            return None
        positions = [n for n, param in enumerate(params) if param in _STAND_IN_FORMS]
        if (
            len(positions) != 1
            or "\x00" in sql
            or any(
                isinstance(param, str) and "\x00" in param and n not in positions
                for n, param in enumerate(params)
            )
        ):
            return None
        selective = is_selective(Compare(path, op, _STAND_IN), self.table.table, self.rt.schema.id)
        return ComparisonTemplate(
            sql, params, positions[0], params[positions[0]] != _STAND_IN, selective
        )

    # -- logic -----------------------------------------------------------------------------

    def _node(self, node: Filter, resolve: _ElementResolver | None) -> Sql:
        """Compile `node`; `resolve` names element sub-attributes inside `attr[...]`, None at
        the resource level."""
        if isinstance(node, And | Or):
            left_sql, left_params = self._node(node.left, resolve)
            right_sql, right_params = self._node(node.right, resolve)
            joiner = " AND " if isinstance(node, And) else " OR "
            return f"({left_sql}{joiner}{right_sql})", left_params + right_params
        if isinstance(node, Not):
            sql, params = self._node(node.expr, resolve)
            return f"(NOT {sql})", params
        if isinstance(node, Compare) and node.op == "ne":
            return self._node(Not(Compare(node.path, "eq", node.value)), resolve)
        if isinstance(node, Compare) and node.value is None:
            return self._node(Not(Present(node.path)), resolve)
        if resolve is None:
            return self._resource_leaf(node)
        return self._condition(node, resolve(node.path.attr))

    # -- resource-level leaves ----------------------------------------------------------------

    def _resource_leaf(self, node: Compare | Present | ValuePath) -> Sql:
        path = node.path
        if path.uri is None and path.attr == "schemas":
            return self._schemas(node)
        attribute = self._attribute(path)
        side = self.table.side_tables.get(path.attr) if self._is_core(path) else None
        if isinstance(node, ValuePath):
            return self._value_path(node, attribute, side)
        if attribute.multi_valued and attribute.type == "complex":
            if path.sub is None:  # `emails pr`
                return self._exists(attribute, side, ("TRUE", []))
            return self._exists(
                attribute,
                side,
                self._condition(node, self._element_operand(attribute, side, path.sub)),
            )
        return self._condition(node, self._resource_operand_for(path, attribute))

    def _value_path(self, node: ValuePath, attribute: Attribute, side: SideTable | None) -> Sql:
        resolve = self._element_resolver(attribute, side, node.path)
        inner = self._node(node.filter, resolve)
        if attribute.multi_valued:
            return self._exists(attribute, side, inner)
        return inner

    def _exists(self, attribute: Attribute, side: SideTable | None, condition: Sql) -> Sql:
        cond_sql, cond_params = condition
        if side is not None:
            # `id IN (uncorrelated subquery)`, not a correlated EXISTS: SQLite would run an
            # EXISTS once per resource row, while this seeks the side table's index once.
            inner, outer = (part.strip() for part in side.link.split("="))
            return (
                f"{outer} IN (SELECT {inner} FROM {side.from_sql} WHERE {cond_sql})",
                cond_params,
            )
        source, path_param = self.dialect.json_elements(self.table.doc, self._keys_of(attribute))
        return f"EXISTS (SELECT 1 FROM {source} WHERE {cond_sql})", [path_param, *cond_params]

    def _element_resolver(
        self, attribute: Attribute, side: SideTable | None, path: AttrPath
    ) -> _ElementResolver:
        if attribute.multi_valued:
            return lambda sub: self._element_operand(attribute, side, sub)
        return lambda sub: self._resource_operand_for(AttrPath(path.uri, path.attr, sub), attribute)

    def _element_operand(self, attribute: Attribute, side: SideTable | None, sub: str) -> _Operand:
        sub_attribute = attribute.sub(sub)
        if sub_attribute is None:
            raise invalid_filter(f'unknown sub-attribute "{sub}" of "{attribute.name}"')
        if side is not None:
            column = side.columns.get(sub_attribute.name)
            if column is None:  # a sub-attribute we do not keep (e.g. members.$ref): no value
                return "NULL", [], sub_attribute, None
            return column.sql, [], sub_attribute, column
        return self.dialect.element_text(sub_attribute.name), [], sub_attribute, None

    def _resource_operand_for(self, path: AttrPath, attribute: Attribute) -> _Operand:
        target = attribute.sub(path.sub) if path.sub else attribute
        if target is None:
            raise invalid_filter(f'unknown attribute "{path}"')
        if self._is_core(path):
            column = self.table.columns.get((path.attr, path.sub))
            if column is not None:
                return column.sql, [], target, column
            if path.attr == "meta":
                if path.sub == "resourceType":
                    return "CAST(? AS TEXT)", [self.table.resource_type_name], target, None
                return "NULL", [], target, None
        sql, param = self.dialect.json_text(self.table.doc, self._keys(path))
        return sql, [param], target, None

    def _schemas(self, node: Compare | Present | ValuePath) -> Sql:
        if isinstance(node, Present):
            return "TRUE", []
        if not isinstance(node, Compare) or not isinstance(node.value, str):
            raise invalid_filter('"schemas" can only be compared with eq or ne')
        if node.value.lower() == self.rt.schema.id.lower():
            return "TRUE", []
        extension = self.rt.schema_for_uri(node.value)
        if extension is None:
            return "FALSE", []
        sql, param = self.dialect.json_has_key(self.table.doc, extension.id)
        return f"COALESCE({sql}, FALSE)", [param]

    # -- one comparison -----------------------------------------------------------------------

    def _condition(self, node: Compare | Present, operand: _Operand) -> Sql:
        sql, params, attribute, column = operand
        kind = column.kind if column is not None else attribute.type
        if isinstance(node, Present):
            if kind in _TEXT or kind == "string":
                return f"(COALESCE({sql}, '') <> '')", params
            return f"({sql} IS NOT NULL)", params
        op, value = node.op, node.value
        if kind == "boolean":
            if column is not None:
                return _two_valued(f"{sql} = ?", [*params, bool(value)], sql, params)
            return _two_valued(self.dialect.json_bool(sql, bool(value)), params, sql, params)
        if kind == "dateTime":
            return _two_valued(f"{sql} {_OPERATORS[op]} ?", [*params, value], sql, params)
        if kind in ("integer", "decimal"):
            return _two_valued(
                f"CAST({sql} AS NUMERIC) {_OPERATORS[op]} ?", [*params, value], sql, params
            )
        if not isinstance(value, str):
            raise invalid_filter(f'cannot compare "{node.path}" with {value!r}')
        lowered_column = column is not None and column.lowered
        if attribute.case_exact and not lowered_column:
            left, placeholder = sql, "?"
        elif lowered_column:
            left, placeholder, value = sql, "?", value.lower()
        else:
            left, placeholder = self.dialect.lower(sql), self.dialect.lower("?")
        if op in ("co", "sw", "ew"):
            return _two_valued(
                f"{left} LIKE {placeholder} ESCAPE '\\'",
                [*params, like_pattern(value, op)],
                sql,
                params,
            )
        return _two_valued(f"{left} {_OPERATORS[op]} {placeholder}", [*params, value], sql, params)

    # -- sorting ------------------------------------------------------------------------------

    def sort_key(self, path: AttrPath) -> Sql:
        """The ORDER BY expression for `sortBy` (RFC 7644 §3.4.2.3): multi-valued attributes
        sort by their primary (else first) value; case-insensitive strings sort lower-cased."""
        try:
            bound = self.rt.canonical(path)
        except ScimError as error:
            raise ScimError(
                400, f"cannot sort by {str(path)!r}: {error.detail}", "invalidValue"
            ) from None
        attribute = self._attribute(bound)
        if attribute.type == "complex" and bound.sub is None:
            if attribute.sub("value") is None:
                raise ScimError(
                    400, f"cannot sort by the complex attribute {str(path)!r}", "invalidValue"
                )
            bound = AttrPath(bound.uri, bound.attr, "value")
        if attribute.multi_valued:
            side = self.table.side_tables.get(bound.attr) if self._is_core(bound) else None
            sql, params, target, column = self._element_operand(attribute, side, bound.sub)
            if side is not None:
                expression = f"(SELECT {sql} FROM {side.from_sql} WHERE {side.link} ORDER BY {side.first_order} LIMIT 1)"
                return self._sort_case(expression, target, column), params
            source, path_param = self.dialect.json_elements(
                self.table.doc, self._keys_of(attribute)
            )
            expression = f"(SELECT {sql} FROM {source} LIMIT 1)"
            return self._sort_case(expression, target, column), [path_param, *params]
        sql, params, target, column = self._resource_operand_for(bound, attribute)
        return self._sort_case(sql, target, column), params

    def _sort_case(self, sql: str, attribute: Attribute, column: Column | None) -> str:
        if attribute.type in _TEXT and not attribute.case_exact and not (column and column.lowered):
            return self.dialect.lower(sql)
        return sql

    # -- names --------------------------------------------------------------------------------

    def _is_core(self, path: AttrPath) -> bool:
        return path.uri is None or path.uri == self.rt.schema.id

    def _attribute(self, path: AttrPath) -> Attribute:
        try:
            _, attribute, _ = self.rt.resolve(AttrPath(path.uri, path.attr))
        except ScimError as error:
            raise invalid_filter(error.detail) from None
        return attribute

    def _keys(self, path: AttrPath) -> list[str]:
        keys = [] if self._is_core(path) else [path.uri]
        keys.append(path.attr)
        if path.sub:
            keys.append(path.sub)
        return keys

    def _keys_of(self, attribute: Attribute) -> list[str]:
        for schema in self.rt.extensions:
            if schema.attribute(attribute.name) is attribute:
                return [schema.id, attribute.name]
        return [attribute.name]

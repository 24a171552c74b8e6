"""Which filters an index answers in a few rows: those may run on the quick reader.

A filter is selective when it pins the result with an equality on an indexed attribute
(`userName eq`, `externalId eq`, `id eq`, `emails.value eq`, `displayName eq`,
`members.value eq`), alone or ANDed with anything else; an OR is selective when both sides are.
Everything else (`co`, `sw`, `pr`, ranges, no filter at all) may touch the whole table and must
not run where it would block the event loop.
"""

from __future__ import annotations

from app.scim.ast import And, AttrPath, Compare, Filter, Or, ValuePath

_INDEXED = {
    "users": {
        ("id", None),
        ("userName", None),
        ("externalId", None),
        ("displayName", None),
        ("emails", "value"),
    },
    "teams": {("id", None), ("displayName", None), ("externalId", None), ("members", "value")},
}


def is_selective(node: Filter | None, table: str, schema_id: str) -> bool:
    if node is None:
        return False
    indexed = _INDEXED.get(table, set())
    if isinstance(node, And):
        return is_selective(node.left, table, schema_id) or is_selective(
            node.right, table, schema_id
        )
    if isinstance(node, Or):
        return is_selective(node.left, table, schema_id) and is_selective(
            node.right, table, schema_id
        )
    if isinstance(node, ValuePath):
        return _core(node.path, schema_id) and _selective_element(
            node.filter, node.path.attr, indexed
        )
    if isinstance(node, Compare) and node.op == "eq" and node.value is not None:
        return _core(node.path, schema_id) and (node.path.attr, node.path.sub) in indexed
    return False


def _selective_element(node: Filter, attr: str, indexed: set) -> bool:
    if isinstance(node, And):
        return _selective_element(node.left, attr, indexed) or _selective_element(
            node.right, attr, indexed
        )
    if isinstance(node, Or):
        return _selective_element(node.left, attr, indexed) and _selective_element(
            node.right, attr, indexed
        )
    return (
        isinstance(node, Compare)
        and node.op == "eq"
        and node.value is not None
        and (attr, node.path.attr) in indexed
    )


def _core(path: AttrPath, schema_id: str) -> bool:
    return path.uri is None or path.uri == schema_id

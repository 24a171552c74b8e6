"""SCIM filters (RFC 7644 §3.4.2.2): parse, bind to a schema, evaluate, print.

`parse_filter` gives a syntax tree with names as written; `bind_filter` checks it against a
resource type and returns the tree the evaluator and the SQL compiler work on:

- every path canonical: `AttrPath(<schema URN>, <attr>, <sub>)`, relative paths inside `[...]`
  as `AttrPath(None, <sub-attribute>)`; `schemas` binds as `AttrPath(None, "schemas")` and
  compares case-insensitively with the resource's `schemas` list (eq, ne, pr only);
- unknown attributes are invalidFilter (not invalidPath);
- a complex attribute compared without a sub-attribute means its `value` sub-attribute
  (`emails eq "a@b"` is `emails.value eq "a@b"`; RFC 7644 §3.4.2.2 example `emails co …`) for
  eq/ne/co/sw/ew; `emails pr` stays the presence of the attribute itself; a complex attribute
  without `value` (e.g. `name eq "x"`), or ordering (gt/ge/lt/le) on one, is invalidFilter;
- `attr[...]` needs a complex attribute (single- or multi-valued);
- values are converted to the attribute's type, else invalidFilter: boolean takes true/false or
  the strings "true"/"false" in any case (Entra, Keycloak) and only eq/ne; integer and decimal
  take numbers and not co/sw/ew; dateTime takes an RFC 3339 string, becomes an aware UTC
  `datetime`, and not co/sw/ew; string, reference and binary take strings; gt/ge/lt/le on
  binary is invalidFilter (RFC 7644 §3.4.2.2);
- `null` is allowed with eq and ne only: `eq null` means "not present", `ne null` "present".

Evaluation (`matches`): a multi-valued attribute matches when any value does; `ne` is the
negation of `eq`, so `ne` holds on an absent attribute and, on a multi-valued one, when no value
equals.
"""

from __future__ import annotations

from collections.abc import Callable

from app.scim.ast import COMPARE_OPS, And, AttrPath, Compare, Filter, Not, Or, Present, ValuePath
from app.scim.errors import invalid_filter
from app.scim.filter_eval import (
    SCHEMAS_ATTRIBUTE,
    is_present,
    is_schemas_path,
    matches,
    matches_element,
    parse_datetime,
    resolve_filter_path,
    to_utc_datetime,
)
from app.scim.filter_parser import (
    MAX_DEPTH,
    MAX_LENGTH,
    chain_operands,
    check_filter_text,
    format_filter,
    format_patch_path,
    format_value,
    parse_filter,
    parse_in_full,
    parse_patch_path,
    simple_comparison,
)
from app.scim.schema_model import Attribute, ResourceType

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "SCHEMAS_ATTRIBUTE",
    "bind_element_filter",
    "bind_filter",
    "chain_operands",
    "format_filter",
    "format_patch_path",
    "format_value",
    "is_present",
    "matches",
    "matches_element",
    "parse_datetime",
    "parse_bound_filter",
    "parse_filter",
    "parse_patch_path",
    "simple_equalities",
    "to_utc_datetime",
]

_ORDERING = frozenset({"gt", "ge", "lt", "le"})
_SUBSTRING = frozenset({"co", "sw", "ew"})
_TEXT_TYPES = frozenset({"string", "reference", "binary"})
_ALLOWED_OPS = {
    "boolean": frozenset({"eq", "ne"}),
    "integer": frozenset(COMPARE_OPS) - _SUBSTRING,
    "decimal": frozenset(COMPARE_OPS) - _SUBSTRING,
    "dateTime": frozenset(COMPARE_OPS) - _SUBSTRING,
    "binary": frozenset(COMPARE_OPS) - _ORDERING,
    "string": frozenset(COMPARE_OPS),
    "reference": frozenset(COMPARE_OPS),
}

_LeafBinder = Callable[[Filter], Filter]


def bind_filter(f: Filter, resource_type: ResourceType) -> Filter:
    """The same tree with canonical paths and typed values (rules in the module docstring)."""
    if type(f) is Compare and type(f.value) is str:  # an IdP's match: `userName eq "…"`
        path = f.path
        return _bound_text_comparison(resource_type, path.uri, path.attr, path.sub, f.op, f.value)
    return _bind(f, lambda leaf: _bind_resource_leaf(leaf, resource_type))


def parse_bound_filter(
    text: str,
    resource_type: ResourceType,
    *,
    max_length: int = MAX_LENGTH,
    max_depth: int = MAX_DEPTH,
) -> Filter:
    """`bind_filter(parse_filter(text), resource_type)`, with an IdP's match (one attribute
    compared with text) going from the text to the bound comparison directly."""
    check_filter_text(text, max_length)
    simple = simple_comparison(text)
    if simple is None:
        return bind_filter(parse_in_full(text, max_depth), resource_type)
    name, sub, op, value = simple
    return _bound_text_comparison(resource_type, None, name, sub, op, value)


# Binding `attr op "text"` depends on the text only through `_convert`, which keeps text as it
# is on a text attribute: the canonical path of (resource type, path as written, operator) is
# worked out once. Entries hold their resource type, so its id is never reused while they live;
# only names that bound are kept, and the memo is emptied when full.
_TEXT_BINDINGS: dict[tuple, tuple[ResourceType, AttrPath]] = {}
_TEXT_BINDINGS_LIMIT = 4096


def _bound_text_comparison(
    resource_type: ResourceType, uri: str | None, attr: str, sub: str | None, op: str, value: str
) -> Filter:
    """`uri:attr.sub op "value"` bound: from the memo when this path and operator bound
    before (no unbound tree is built at all), else bound in full and remembered."""
    known = known_text_path(resource_type, attr, sub, op, uri)
    if known is not None:
        return Compare(known, op, value)
    bound = _bind_resource_leaf(Compare(AttrPath(uri, attr, sub), op, value), resource_type)
    if isinstance(bound, Compare) and _binds_text(resource_type, bound.path):
        if len(_TEXT_BINDINGS) >= _TEXT_BINDINGS_LIMIT:
            _TEXT_BINDINGS.clear()
        _TEXT_BINDINGS[(id(resource_type), uri, attr, sub, op)] = (resource_type, bound.path)
    return bound


def known_text_path(
    resource_type: ResourceType, attr: str, sub: str | None, op: str, uri: str | None = None
) -> AttrPath | None:
    """The canonical path of `uri:attr.sub op "text"` as written, where such a comparison has
    bound before with its text kept as written; None otherwise (bind the filter in full, which
    remembers it)."""
    known = _TEXT_BINDINGS.get((id(resource_type), uri, attr, sub, op))
    return known[1] if known is not None and known[0] is resource_type else None


def _binds_text(resource_type: ResourceType, path: AttrPath) -> bool:
    """Whether a comparison on this canonical path keeps its value as written: a text
    attribute (not `schemas`, whose comparison is its own)."""
    if path.uri is None:
        return False
    attribute, _ = _resolve(resource_type, path)
    return attribute.type in _TEXT_TYPES


def bind_element_filter(f: Filter, attribute: Attribute) -> Filter:
    """Bind the filter of `attr[...]` (a PATCH path, RFC 7644 §3.5.2) against the
    sub-attributes of the complex `attribute`; errors are invalidFilter."""
    if attribute.type != "complex":
        raise invalid_filter(f'"{attribute.name}" is not a complex attribute')
    return _bind(f, lambda leaf: _bind_element_leaf(leaf, attribute))


def _bind(node: Filter, bind_leaf: _LeafBinder) -> Filter:
    if isinstance(node, And | Or):
        first, *rest = chain_operands(node)
        result = _bind(first, bind_leaf)
        for right in rest:
            result = type(node)(result, _bind(right, bind_leaf))
        return result
    if isinstance(node, Not):
        return Not(_bind(node.expr, bind_leaf))
    if isinstance(node, Compare | Present | ValuePath):
        return bind_leaf(node)
    raise invalid_filter(f"not a filter node: {type(node).__name__}")


def _bind_resource_leaf(node: Filter, resource_type: ResourceType) -> Filter:
    path = node.path
    if isinstance(node, ValuePath):
        attribute, bound = _resolve(resource_type, path)
        if attribute.type != "complex" or bound.sub is not None:
            raise invalid_filter(f'"{path}[...]" needs a complex attribute')
        element_filter = bind_element_filter(node.filter, attribute)
        return ValuePath(bound, element_filter)
    if is_schemas_path(path):
        if isinstance(node, Compare) and node.op not in ("eq", "ne"):
            raise invalid_filter(f'operator "{node.op}" cannot be used on "schemas"; use eq or ne')
        return _bind_condition(node, AttrPath(None, SCHEMAS_ATTRIBUTE.name), SCHEMAS_ATTRIBUTE)
    target, bound = _resolve(resource_type, path)
    if isinstance(node, Compare) and target.type == "complex":
        value_sub = target.sub("value")
        if value_sub is None or node.op in _ORDERING:
            raise invalid_filter(
                f'"{path}" is a complex attribute; compare one of its sub-attributes'
            )
        target, bound = value_sub, AttrPath(bound.uri, bound.attr, value_sub.name)
    return _bind_condition(node, bound, target)


def _resolve(resource_type: ResourceType, path: AttrPath) -> tuple[Attribute, AttrPath]:
    """(the attribute or sub-attribute the path names, the canonical path)."""
    schema, attribute, sub = resolve_filter_path(resource_type, path)
    return sub or attribute, AttrPath(schema.id, attribute.name, sub.name if sub else None)


def _bind_element_leaf(node: Filter, attribute: Attribute) -> Filter:
    path = node.path
    if isinstance(node, ValuePath):
        raise invalid_filter(f'"{path}[...]" cannot be nested inside "{attribute.name}[...]"')
    sub = attribute.sub(path.attr)
    if sub is None or path.uri is not None or path.sub is not None:
        raise invalid_filter(f'unknown sub-attribute "{path}" of "{attribute.name}"')
    return _bind_condition(node, AttrPath(None, sub.name), sub)


def _bind_condition(node: Compare | Present, path: AttrPath, attribute: Attribute) -> Filter:
    if isinstance(node, Present):
        return Present(path)
    op = node.op
    if node.value is None:
        if op not in ("eq", "ne"):
            raise invalid_filter(f'"{op} null" is not allowed on "{path}"; use eq or ne')
        return Compare(path, op, None)
    if op not in _ALLOWED_OPS.get(attribute.type, ()):
        raise invalid_filter(f'operator "{op}" cannot be used on {attribute.type} "{path}"')
    return Compare(path, op, _convert(node.value, attribute, path))


def _convert(value: object, attribute: Attribute, path: AttrPath) -> object:
    kind = attribute.type
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    elif kind in ("integer", "decimal"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and (kind == "decimal" or value.is_integer()):
            return value if kind == "decimal" else int(value)
    elif kind == "dateTime":
        moment = to_utc_datetime(value)
        if moment is not None:
            return moment
    elif kind in _TEXT_TYPES and isinstance(value, str):
        return value
    raise invalid_filter(f'{format_value(value)} is not a valid {kind} value for "{path}"')


def simple_equalities(f: Filter) -> dict[str, object] | None:
    """`{sub-attribute: value}` when an element filter is only `eq` comparisons (not null)
    joined by `and` (`type eq "work" and primary eq true`), else None. Lets a PATCH `add` to
    `emails[type eq "work"].value` create the missing element, as Entra expects."""
    equalities: dict[str, object] = {}
    pending = [f]
    while pending:
        node = pending.pop()
        if isinstance(node, And):
            pending += [node.right, node.left]
            continue
        if not (
            isinstance(node, Compare)
            and node.op == "eq"
            and node.value is not None
            and node.path.uri is None
            and node.path.sub is None
        ):
            return None
        name = node.path.attr
        if name in equalities and equalities[name] != node.value:
            return None
        equalities[name] = node.value
    return equalities

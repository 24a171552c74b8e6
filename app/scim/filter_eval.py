"""In-memory evaluation of bound filters against resource documents (RFC 7644 §3.4.2.2).

The evaluator never raises on documents of an unexpected shape (a string where a list is
expected, an element that is not an object, a malformed date): such values simply do not match.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

from app.scim.ast import And, AttrPath, Compare, Filter, Not, Or, Present, ValuePath
from app.scim.errors import ScimError, invalid_filter
from app.scim.filter_parser import chain_operands
from app.scim.schema_model import Attribute, ResourceType, Schema

SCHEMAS_ATTRIBUTE = Attribute(
    name="schemas",
    type="reference",
    multi_valued=True,
    description="The schema URIs of a resource (RFC 7643 §3); URIs compare case-insensitively.",
)

_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))?"
)

_ORDERED: dict[str, Callable[[object, object], bool]] = {
    "eq": operator.eq,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_TEXTUAL: dict[str, Callable[[str, str], bool]] = {
    **_ORDERED,
    "co": lambda actual, expected: expected in actual,
    "sw": str.startswith,
    "ew": str.endswith,
}


def parse_datetime(text: str) -> datetime | None:
    """An RFC 3339 / xsd:dateTime string (RFC 7643 §2.3.5) as an aware UTC datetime; a value
    without an offset is taken as UTC. None when malformed or out of range."""
    match = _DATETIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, zone_h, zone_m = match.groups()
    microsecond = int((fraction + "000000")[:6]) if fraction else 0
    try:
        zone = UTC
        if sign:
            offset = timedelta(hours=int(zone_h), minutes=int(zone_m))
            zone = timezone(-offset if sign == "-" else offset)
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), microsecond, zone
        )
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def is_schemas_path(path: AttrPath) -> bool:
    """`schemas` (RFC 7643 §3): not a schema attribute, but clients filter on it."""
    return path.uri is None and path.sub is None and path.attr.lower() == "schemas"


def resolve_filter_path(
    resource_type: ResourceType, path: AttrPath
) -> tuple[Schema, Attribute, Attribute | None]:
    """`ResourceType.resolve`, with an unknown attribute reported as invalidFilter."""
    try:
        return resource_type.resolve(path)
    except ScimError as error:
        raise invalid_filter(error.detail) from None


def to_utc_datetime(value: object) -> datetime | None:
    """A datetime (naive taken as UTC) or an RFC 3339 string as an aware UTC datetime."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return parse_datetime(value) if isinstance(value, str) else None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _has_content(value: object) -> bool:
    return value is not None and not (isinstance(value, str | list | dict) and not value)


def is_present(value: object) -> bool:
    """RFC 7644 §3.4.2.2 `pr`: not null, not empty; an object counts when a value in it does."""
    if isinstance(value, dict):
        return any(_has_content(member) for member in value.values())
    return _has_content(value)


def _shaped(raw: object, attribute: Attribute) -> list:
    """The values of an attribute as a list; a value of the wrong shape gives none."""
    if raw is None:
        return []
    if attribute.multi_valued:
        return raw if isinstance(raw, list) else []
    return [] if isinstance(raw, list) else [raw]


def _holds(op: str, actual: object, expected: object, attribute: Attribute) -> bool:
    kind = attribute.type
    if kind == "boolean":
        return op == "eq" and isinstance(actual, bool) and actual is expected
    if kind in ("integer", "decimal"):
        if op not in _ORDERED or not (_is_number(actual) and _is_number(expected)):
            return False
        return _ORDERED[op](actual, expected)
    if kind == "dateTime":
        actual_moment, expected_moment = to_utc_datetime(actual), to_utc_datetime(expected)
        if op not in _ORDERED or actual_moment is None or expected_moment is None:
            return False
        return _ORDERED[op](actual_moment, expected_moment)
    if not (isinstance(actual, str) and isinstance(expected, str)) or op not in _TEXTUAL:
        return False
    if not attribute.case_exact:
        actual, expected = actual.lower(), expected.lower()
    return _TEXTUAL[op](actual, expected)


def _compare(node: Compare, values: list, attribute: Attribute) -> bool:
    """Any value matches (RFC 7644 §3.4.2.2, multi-valued attributes); `ne` is the negation of
    `eq`, so it holds on an absent attribute; `eq null` means absent, `ne null` present."""
    if node.value is None:
        present = any(is_present(value) for value in values)
        return {"eq": not present, "ne": present}.get(node.op, False)
    if node.op == "ne":
        return not any(_holds("eq", value, node.value, attribute) for value in values)
    return any(_holds(node.op, value, node.value, attribute) for value in values)


class _ResourceScope:
    """Looks paths up in a canonical resource: core and common attributes at the top level,
    extension attributes under their schema URN."""

    def __init__(self, resource: dict, resource_type: ResourceType):
        self.resource = resource
        self.resource_type = resource_type

    def _container_and_attribute(self, path: AttrPath) -> tuple[dict, Attribute, Attribute | None]:
        schema, attribute, sub = resolve_filter_path(self.resource_type, path)
        if schema.id == self.resource_type.schema.id:
            container = self.resource
        else:
            container = self.resource.get(schema.id)
        return (container if isinstance(container, dict) else {}), attribute, sub

    def lookup(self, path: AttrPath) -> tuple[Attribute, list]:
        if is_schemas_path(path):
            return SCHEMAS_ATTRIBUTE, _shaped(self.resource.get("schemas"), SCHEMAS_ATTRIBUTE)
        container, attribute, sub = self._container_and_attribute(path)
        values = _shaped(container.get(attribute.name), attribute)
        if sub is None:
            return attribute, values
        return sub, [
            value[sub.name] for value in values if isinstance(value, dict) and sub.name in value
        ]

    def any_element(self, path: AttrPath, element_filter: Filter) -> bool:
        container, attribute, sub = self._container_and_attribute(path)
        if sub is not None:
            raise invalid_filter(f'"{path}" names a sub-attribute; "[...]" needs a complex one')
        elements = _shaped(container.get(attribute.name), attribute)
        return any(
            isinstance(element, dict)
            and _evaluate(element_filter, _ElementScope(element, attribute))
            for element in elements
        )


class _ElementScope:
    """Looks relative paths up in one element of a complex attribute."""

    def __init__(self, element: dict, attribute: Attribute):
        self.element = element
        self.attribute = attribute

    def lookup(self, path: AttrPath) -> tuple[Attribute, list]:
        sub = self.attribute.sub(path.attr)
        if sub is None or path.uri is not None or path.sub is not None:
            raise invalid_filter(f'unknown sub-attribute "{path}" of "{self.attribute.name}"')
        return sub, _shaped(self.element.get(sub.name), sub)

    def any_element(self, path: AttrPath, element_filter: Filter) -> bool:
        raise invalid_filter(f'"{path}[...]" cannot be nested inside another "[...]" filter')


def _evaluate(node: Filter, scope: _ResourceScope | _ElementScope) -> bool:
    if isinstance(node, And):
        return all(_evaluate(operand, scope) for operand in chain_operands(node))
    if isinstance(node, Or):
        return any(_evaluate(operand, scope) for operand in chain_operands(node))
    if isinstance(node, Not):
        return not _evaluate(node.expr, scope)
    if isinstance(node, ValuePath):
        return scope.any_element(node.path, node.filter)
    if isinstance(node, Present):
        _, values = scope.lookup(node.path)
        return any(is_present(value) for value in values)
    if isinstance(node, Compare):
        attribute, values = scope.lookup(node.path)
        return _compare(node, values, attribute)
    raise invalid_filter(f"not a filter node: {type(node).__name__}")


def matches(f: Filter, resource: dict, resource_type: ResourceType) -> bool:
    """Whether a canonical resource document matches a filter bound with `bind_filter`
    (RFC 7644 §3.4.2.2). String comparisons follow each attribute's `caseExact`."""
    if not isinstance(resource, dict):
        return False
    return _evaluate(f, _ResourceScope(resource, resource_type))


def matches_element(f: Filter, element: dict, attribute: Attribute) -> bool:
    """Whether one element of a complex attribute (one email object, one member) matches a
    filter bound with `bind_element_filter`."""
    if not isinstance(element, dict):
        return False
    return _evaluate(f, _ElementScope(element, attribute))

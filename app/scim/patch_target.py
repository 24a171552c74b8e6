"""Where a PATCH operation lands: paths bound to the schema, path-less values split into paths,
and values coerced to the target's type (RFC 7644 §3.5.2, RFC 7643 §2).
"""

from __future__ import annotations

import copy

from attrs import evolve, frozen

from app.scim.ast import Filter, PatchPath
from app.scim.codec import coerce_value
from app.scim.errors import ScimError, invalid_path, invalid_value
from app.scim.filter import (
    bind_element_filter,
    format_filter,
    parse_patch_path,
    simple_equalities,
)
from app.scim.schema_model import Attribute, ResourceType, Schema

# Keys of a path-less value that clients echo back and the server computes (RFC 7643 §3.1).
IGNORED_PATHLESS_KEYS = frozenset({"schemas", "meta"})


@frozen
class Target:
    """A bound PATCH path.

    `sub` is the sub-attribute of `name.givenName` or of `emails[type eq "work"].value`;
    `element_filter` is the value filter bound to `attribute`'s sub-attributes.
    `container_key` is None for core and common attributes (top level of the canonical
    document) and the extension URN for extension attributes.
    """

    schema: Schema
    attribute: Attribute
    sub: Attribute | None
    element_filter: Filter | None
    container_key: str | None
    is_common: bool
    text: str

    @property
    def leaf(self) -> Attribute:
        return self.sub or self.attribute


def describe_path(path: PatchPath) -> str:
    text = str(path.attr)
    if path.value_filter is not None:
        text += f"[{format_filter(path.value_filter)}]"
    if path.sub:
        text += f".{path.sub}"
    return text


def resolve_target(path: PatchPath, rt: ResourceType) -> Target:
    """Bind a parsed path to `rt`; an unknown attribute or a malformed filter is invalidPath."""
    text = describe_path(path)
    schema, attribute, sub = rt.resolve(path.attr)
    bound = None
    if path.value_filter is not None:
        if sub is not None:
            raise invalid_path(f"{text}: a value filter cannot follow a sub-attribute")
        if not attribute.multi_valued:
            raise invalid_path(f"{text}: '{attribute.name}' is not multi-valued")
        try:
            bound = bind_element_filter(path.value_filter, attribute)
        except ScimError as error:
            raise invalid_path(f"{text}: {error.detail}") from error
        if path.sub is not None:
            sub = attribute.sub(path.sub)
            if sub is None:
                raise invalid_path(f"{text}: '{attribute.name}' has no '{path.sub}'")
    elif path.sub is not None:
        raise invalid_path(f"{text}: a sub-attribute after the path needs a value filter")
    is_common = schema is rt.schema and rt.common_attribute(attribute.name) is attribute
    container_key = None if schema is rt.schema else schema.id
    return Target(schema, attribute, sub, bound, container_key, is_common, text)


def named_extension(path: PatchPath, rt: ResourceType) -> Schema | None:
    """The extension of `rt` a path names as a whole (`urn:…:enterprise:2.0:User`), else None.

    The path grammar (RFC 7644 §3.10) reads the URN's last segment as an attribute name, but an
    extension's attributes form one JSON object under its URN (RFC 7643 §3.3), and clients
    such as scim2-tester address that object by its URN.
    """
    if path.value_filter is not None or path.sub is not None or path.attr.sub is not None:
        return None
    if path.attr.uri is None:
        return None
    schema = rt.schema_for_uri(f"{path.attr.uri}:{path.attr.attr}")
    return schema if schema is not None and schema is not rt.schema else None


def expand_pathless_value(value: dict, rt: ResourceType) -> list[tuple[str, PatchPath, object]]:
    """Split the value of a path-less add/replace into `(key, path, value)` triples.

    RFC 7644 §3.5.2.1/§3.5.2.3 give the value as the attributes to add or replace. Clients also
    use dotted keys (`name.givenName`), URN-qualified keys
    (`urn:…:enterprise:2.0:User:manager`) and the extension URN with an object value. Keys
    under a schema this resource type doesn't have are ignored, as are `schemas` and `meta`.
    Each returned key re-expands to the same path on its own.
    """
    entries: list[tuple[str, PatchPath, object]] = []
    for key, item in value.items():
        if not isinstance(key, str):
            raise invalid_path(f"attribute name {key!r} is not a string")
        if key.lower() in IGNORED_PATHLESS_KEYS:
            continue
        schema = rt.schema_for_uri(key)
        if schema is not None:
            if not isinstance(item, dict):
                raise invalid_value(f"'{key}' must be an object of that schema's attributes")
            for inner_key, inner_item in item.items():
                if not isinstance(inner_key, str):
                    raise invalid_path(f"attribute name {inner_key!r} is not a string")
                if inner_key.lower() in IGNORED_PATHLESS_KEYS:
                    continue
                flat = f"{schema.id}:{inner_key}"
                entries.append((flat, parse_patch_path(flat), inner_item))
            continue
        if _names_foreign_schema(key, rt):
            continue
        entries.append((key, parse_patch_path(key), item))
    return entries


def _names_foreign_schema(key: str, rt: ResourceType) -> bool:
    lowered = key.lower()
    if not (lowered.startswith("urn:") or "://" in lowered):
        return False
    return not any(lowered.startswith(s.id.lower() + ":") for s in rt.all_schemas)


def element_attribute(attribute: Attribute) -> Attribute:
    """The attribute describing one element of a multi-valued attribute."""
    return evolve(attribute, multi_valued=False)


def coerce(attribute: Attribute, value: object, where: str) -> object:
    """Coerce a client value to `attribute`'s type (codec rules), as a fresh object.

    Returns None for "no value" (null, empty array, empty object: RFC 7643 §2.5). Read-only
    sub-attributes inside a complex value (`manager.displayName`) are dropped, as RFC 7644
    §3.5.1 does for PUT.
    """
    coerced = coerce_value(attribute, value, where=where)
    if attribute.type == "complex":
        if isinstance(coerced, list):
            coerced = [e for e in (_writable_part(attribute, e) for e in coerced) if e != {}]
        elif isinstance(coerced, dict):
            coerced = _writable_part(attribute, coerced)
    if is_absent(coerced):
        return None
    return copy.deepcopy(coerced)


def _writable_part(attribute: Attribute, element: object) -> object:
    if not isinstance(element, dict):
        return element
    kept = {}
    for key, item in element.items():
        sub = attribute.sub(key) if isinstance(key, str) else None
        if item is None or (sub is not None and sub.mutability == "readOnly"):
            continue
        kept[key] = item
    return kept


def is_absent(value: object) -> bool:
    return value is None or (isinstance(value, (list, dict)) and not value)


def creation_values(target: Target) -> dict | None:
    """The sub-attributes a new element needs to match `target`'s filter, or None when the
    filter is not plain `a eq x and b eq y` (then no element can be created from it)."""
    if target.element_filter is None:
        return None
    equalities = simple_equalities(target.element_filter)
    if equalities is None:
        return None
    created = {}
    for key, item in equalities.items():
        sub = target.attribute.sub(key) if isinstance(key, str) else None
        if sub is None:
            return None
        coerced = None if item is None else coerce(sub, item, f"{target.text} filter")
        if coerced is not None:
            created[sub.name] = coerced
    return created

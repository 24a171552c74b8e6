"""Request bodies in, canonical documents stored, response bodies out (RFC 7643 §2, RFC 7644 §3).

A canonical document holds `externalId` and the core attributes at the top level under their
canonical names, and each extension's attributes in a dict under the canonical extension URN.
It never holds `schemas`, `id`, `meta`, readOnly attributes (computed by the caller) or
`password`: this server authenticates nobody with SCIM passwords, so a password sent by an IdP
(Okta sends one even with password sync off) is dropped, never stored (RFC 7643 §4.1.1 allows a
service provider to ignore it).

IdP dialects (see shared/idp-dialects.md) are absorbed here: any key case, `"True"`/`"False"`
strings, a single object where a list is expected, a bare id for `manager`, `"$ref": null`,
flat URN-qualified or dotted keys, unknown schema URIs and attributes.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from app.scim.ast import AttrPath
from app.scim.errors import invalid_syntax, invalid_value
from app.scim.rendering import etag_for, parse_etag, render_resource
from app.scim.schema_model import Attribute, ResourceType, Schema

_UNSTORED_MUTABILITY = ("readOnly", "writeOnly")
_TEXT_TYPES = ("string", "reference", "binary")
_BOOLEAN_WORDS = {"true": True, "false": False}
_DATE_TIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?"
)


def coerce_value(attribute: Attribute, value: object, *, where: str) -> object:
    """One JSON value converted to `attribute`'s type (RFC 7643 §2.3), `where` naming it in
    errors. Returns None for "no value": null, [] and {} all mean unassigned (RFC 7643 §2.5)."""
    return _coerce(attribute, value, where, writable_only=False)


def _coerce(attribute: Attribute, value: object, where: str, *, writable_only: bool) -> object:
    if not attribute.multi_valued:
        if isinstance(value, list):
            raise invalid_value(f"{where} is single-valued; a list is not accepted")
        return _coerce_one(attribute, value, where, writable_only)
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    coerced = []
    for index, item in enumerate(items):
        if isinstance(item, list):
            raise invalid_value(f"{where}[{index}] must not be a list")
        element = _coerce_one(attribute, item, f"{where}[{index}]", writable_only)
        if element is not None:
            coerced.append(element)
    return coerced or None


def _coerce_one(attribute: Attribute, value: object, where: str, writable_only: bool) -> object:
    if value is None:
        return None
    if attribute.type == "complex":
        return _coerce_complex(attribute, value, where, writable_only)
    if isinstance(value, dict | list):
        raise invalid_value(f"{where} must be a single {attribute.type} value")
    if attribute.type == "boolean":
        return _coerce_boolean(value, where)
    if attribute.type in _TEXT_TYPES:
        if not isinstance(value, str):
            raise invalid_value(f"{where} must be a string")
        return value
    if attribute.type == "dateTime":
        if not isinstance(value, str) or not _is_date_time(value):
            raise invalid_value(f"{where} must be an RFC 3339 date-time string")
        return value
    if attribute.type == "integer":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise invalid_value(f"{where} must be an integer")
        return value
    if attribute.type == "decimal":
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise invalid_value(f"{where} must be a number")
        return value
    raise invalid_value(f"{where} has an unsupported type {attribute.type!r}")


def _coerce_boolean(value: object, where: str) -> bool:
    """JSON booleans, and the strings Entra and OneLogin send ("True", "false")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLEAN_WORDS:
        return _BOOLEAN_WORDS[value.strip().lower()]
    raise invalid_value(f"{where} must be a boolean")


def _coerce_complex(attribute: Attribute, value: object, where: str, writable_only: bool) -> object:
    """Sub-attribute keys matched case-insensitively; unknown keys and nulls dropped. A bare
    value where the attribute has a `value` sub-attribute stands for {"value": …} (Entra sends
    the manager's id alone)."""
    if not isinstance(value, dict):
        if attribute.sub("value") is None:
            raise invalid_value(f"{where} must be an object")
        value = {"value": value}
    by_name: dict[str, object] = {}
    for key, sub_value in value.items():
        sub = attribute.sub(key) if isinstance(key, str) else None
        if sub is None or (writable_only and sub.mutability in _UNSTORED_MUTABILITY):
            continue
        coerced = _coerce(sub, sub_value, f"{where}.{sub.name}", writable_only=writable_only)
        if coerced is None:
            by_name.pop(sub.name, None)
        else:
            by_name[sub.name] = coerced
    ordered = {
        sub.name: by_name[sub.name] for sub in attribute.sub_attributes if sub.name in by_name
    }
    return ordered or None


def _is_date_time(text: str) -> bool:
    """xsd:dateTime as RFC 7643 §2.3.5 requires: a date and a time, optional zone."""
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        return False
    date, time, _fraction, zone = match.groups()
    if time.endswith(":60"):
        time = time[:-2] + "59"
    zone = "+00:00" if zone in ("Z", "z") else zone or ""
    try:
        datetime.fromisoformat(f"{date}T{time}{zone}")
    except ValueError:
        return False
    return True


def canonicalize_resource(body: dict, rt: ResourceType) -> dict:
    """A POST/PUT body (RFC 7644 §3.3, §3.5.1) as the canonical document to store.

    readOnly attributes and sub-attributes are ignored as RFC 7643 §2.2 asks (so Okta may echo
    `id`, `meta` and `groups`); Group `members` is readWrite and kept as a list of
    {value, type?, $ref?} for the caller to resolve. Raises invalidValue for a missing
    required attribute or a value of the wrong type, invalidSyntax for a non-object body.
    """
    if not isinstance(body, dict):
        raise invalid_syntax("the request body must be a JSON object")
    whole: dict[tuple[str, str], object] = {}
    dotted: dict[tuple[str, str], dict[str, object]] = {}
    found: dict[tuple[str, str], tuple[Schema, Attribute]] = {}
    for schema, attribute, sub, value in _located_entries(body, rt):
        key = (schema.id, attribute.name)
        found[key] = (schema, attribute)
        if sub is None:
            whole[key] = value
        else:
            dotted.setdefault(key, {})[sub] = value
    document: dict = {}
    order = _storage_order(rt)
    for key in sorted((key for key in found if key in order), key=order.__getitem__):
        schema, attribute = found[key]
        where = attribute.name if schema is rt.schema else f"{schema.id}:{attribute.name}"
        value = _coerce(attribute, whole.get(key), where, writable_only=True)
        if key in dotted and attribute.type == "complex" and not attribute.multi_valued:
            value = _coerce(attribute, {**(value or {}), **dotted[key]}, where, writable_only=True)
        if value is None:
            continue
        if schema is rt.schema:
            document[attribute.name] = value
        else:
            document.setdefault(schema.id, {})[attribute.name] = value
    _check_required(document, rt)
    return document


def _located_entries(body: dict, rt: ResourceType):
    """(schema, attribute, sub name or None, raw value) for each key of `body` naming a known
    attribute: plain, dotted, URN-qualified, or nested under a schema URN key."""
    for key, value in body.items():
        if not isinstance(key, str):
            continue
        container = _schema_named(key, rt)
        if container is not None:
            if value is None:
                continue
            if not isinstance(value, dict):
                raise invalid_value(f"{container.id} must be an object")
            for inner_key, inner_value in value.items():
                if isinstance(inner_key, str):
                    located = _locate(inner_key, rt, within=container)
                    if located is not None:
                        yield (*located, inner_value)
            continue
        located = _locate(key, rt)
        if located is not None:
            yield (*located, value)


def _schema_named(key: str, rt: ResourceType) -> Schema | None:
    return rt.schema_for_uri(key) if ":" in key else None


# Per resource type (kept with the type itself, so its id cannot be reused while cached):
# what `_locate` answered for each key, and the order of the stored attributes. IdPs send the
# same few keys in every body; keys never seen before stop being remembered past the limit.
_MEMOS: dict[int, tuple[ResourceType, dict]] = {}
_LOCATED_MAX = 1024


def _memo(rt: ResourceType) -> dict:
    entry = _MEMOS.get(id(rt))
    if entry is None or entry[0] is not rt:
        entry = _MEMOS[id(rt)] = (rt, {})
    return entry[1]


def _locate(
    key: str, rt: ResourceType, within: Schema | None = None
) -> tuple[Schema, Attribute, str | None] | None:
    """Resolve `attr`, `attr.sub` or `urn:…:attr[.sub]` to canonical names, None if unknown
    (pure, so remembered per resource type)."""
    located = _memo(rt).setdefault("located", {})
    memo_key = (key, None if within is None else within.id)
    try:
        return located[memo_key]
    except KeyError:
        pass
    answer = _resolve_key(key, rt, within)
    if len(located) < _LOCATED_MAX:
        located[memo_key] = answer
    return answer


def _resolve_key(
    key: str, rt: ResourceType, within: Schema | None
) -> tuple[Schema, Attribute, str | None] | None:
    lowered = key.lower()
    schema = within
    rest = key
    for candidate in rt.all_schemas:
        prefix = candidate.id.lower() + ":"
        if lowered.startswith(prefix):
            schema, rest = candidate, key[len(prefix) :]
            break
    else:
        if ":" in key:
            return None
    name, _, sub_name = rest.partition(".")
    attribute, schema = _attribute_in(name, schema, rt)
    if attribute is None:
        return None
    if not sub_name:
        return schema, attribute, None
    sub = attribute.sub(sub_name)
    return (schema, attribute, sub.name) if sub is not None else None


def _attribute_in(
    name: str, schema: Schema | None, rt: ResourceType
) -> tuple[Attribute | None, Schema]:
    """An unqualified name is looked up in the core schema, the common attributes, then the
    extensions, as `ResourceType.resolve` does."""
    if schema is not None:
        attribute = schema.attribute(name)
        if attribute is None and schema is rt.schema:
            attribute = rt.common_attribute(name)
        return attribute, schema
    attribute = rt.schema.attribute(name) or rt.common_attribute(name)
    if attribute is not None:
        return attribute, rt.schema
    for extension in rt.extensions:
        attribute = extension.attribute(name)
        if attribute is not None:
            return attribute, extension
    return None, rt.schema


def _storage_order(rt: ResourceType) -> dict[tuple[str, str], int]:
    """{(schema URN, attribute name): position} of the attributes a document stores, in
    document order: common, core, extensions; readOnly and writeOnly ones are never stored."""
    memo = _memo(rt)
    order = memo.get("order")
    if order is None:
        entries = [(rt.schema, a) for a in (*rt.common_attributes, *rt.schema.attributes)]
        entries += [(ext, a) for ext in rt.extensions for a in ext.attributes]
        stored = [e for e in entries if e[1].mutability not in _UNSTORED_MUTABILITY]
        order = memo["order"] = {(s.id, a.name): n for n, (s, a) in enumerate(stored)}
    return order


def _check_required(document: dict, rt: ResourceType) -> None:
    """RFC 7643 §2.2 `required`; extension requirements apply when the extension is present."""
    for schema in rt.all_schemas:
        values = document if schema is rt.schema else document.get(schema.id)
        if values is None:
            continue
        for attribute in schema.attributes:
            if not attribute.required or attribute.mutability in _UNSTORED_MUTABILITY:
                continue
            value = values.get(attribute.name)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise invalid_value(f"{attribute.name} is required and must not be empty")


def schemas_for(doc: dict, rt: ResourceType) -> list[str]:
    """The `schemas` of a resource: its core URN and each extension it holds (RFC 7643 §3)."""
    return [rt.schema.id, *(ext.id for ext in rt.extensions if doc.get(ext.id))]


def parse_attribute_list(text: str | list[str] | None, rt: ResourceType) -> tuple[AttrPath, ...]:
    """The `attributes` / `excludedAttributes` parameter (RFC 7644 §3.4.2.5) as canonical paths.

    Comma separated, any case, URN-qualified or not, `name.sub` allowed; a bare schema URN
    stands for all of its attributes. Unknown names are ignored rather than refused: the RFC
    is silent and IdPs send lists written for other resource types.
    """
    if isinstance(text, str):
        return _parsed_attribute_text(text, rt)
    if isinstance(text, list | tuple):
        chunks = [chunk for chunk in text if isinstance(chunk, str)]
    else:
        return ()
    return _parsed_chunks(chunks, rt)


_PARSED_LISTS: dict[tuple[str, int], tuple[AttrPath, ...]] = {}
_PARSED_LISTS_MAX = 256


def _parsed_attribute_text(text: str, rt: ResourceType) -> tuple[AttrPath, ...]:
    """IdPs send the same few lists on every request (`excludedAttributes=members`): each is
    parsed once (keyed by the resource type's identity: hashing the type itself costs more
    than parsing)."""
    key = (text, id(rt))
    parsed = _PARSED_LISTS.get(key)
    if parsed is None:
        parsed = _parsed_chunks([text], rt)
        if len(_PARSED_LISTS) < _PARSED_LISTS_MAX:
            _PARSED_LISTS[key] = parsed
    return parsed


def _parsed_chunks(chunks: list[str], rt: ResourceType) -> tuple[AttrPath, ...]:
    paths: dict[AttrPath, None] = {}
    for chunk in chunks:
        for part in chunk.split(","):
            for path in _attribute_paths(part.strip(), rt):
                paths[path] = None
    return tuple(paths)


def _attribute_paths(text: str, rt: ResourceType) -> list[AttrPath]:
    if not text:
        return []
    whole_schema = _schema_named(text, rt)
    if whole_schema is not None:
        return [AttrPath(whole_schema.id, a.name) for a in whole_schema.attributes]
    located = _locate(text, rt)
    if located is None:
        return []
    schema, attribute, sub = located
    return [AttrPath(schema.id, attribute.name, sub)]


__all__ = [
    "canonicalize_resource",
    "coerce_value",
    "etag_for",
    "parse_attribute_list",
    "parse_etag",
    "render_resource",
    "schemas_for",
]

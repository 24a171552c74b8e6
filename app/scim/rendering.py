"""Response bodies: one resource as the client sees it, and entity tags (RFC 7644 §3.4.2.5, §3.14).

The input is the canonical document `app.scim.codec.canonicalize_resource` produced; the
response side lives apart from the request side to keep both modules short. `app.scim.codec`
re-exports these names.
"""

from __future__ import annotations

import datetime as dt
import re

from app.scim.ast import AttrPath
from app.scim.errors import ScimError
from app.scim.schema_model import Attribute, ResourceType

_ETAG = re.compile(r'\s*(?:(?:[Ww]/)?"([0-9]{1,18})"|([0-9]{1,18}))\s*')


def render_resource(
    doc: dict,
    rt: ResourceType,
    *,
    resource_id: str,
    meta: dict,
    computed: dict | None = None,
    attributes: tuple[AttrPath, ...] = (),
    excluded: tuple[AttrPath, ...] = (),
) -> dict:
    """The response body for one resource (RFC 7644 §3.4.1, §3.4.2.5, RFC 7643 §2.2 `returned`).

    `computed` holds what the caller derives (a User's `groups`, a Group's `members`) and
    overrides `doc`. `returned: never` is never rendered, `always` (`id`; `schemas` too) even
    when excluded or not requested. Keys come out as schemas, id, externalId, core attributes in
    schema order, extensions under their URN, meta.
    """
    source = _with_computed(doc, computed) if computed or not isinstance(doc, dict) else doc
    if not attributes and not excluded:
        return _render_default(source, rt, resource_id, meta)
    return _render_projected(
        source,
        rt,
        resource_id,
        meta,
        _canonical_paths(attributes, rt),
        _canonical_paths(excluded, rt),
    )


def _render_projected(
    source: dict,
    rt: ResourceType,
    resource_id: str,
    meta: dict,
    wanted: tuple[AttrPath, ...],
    unwanted: tuple[AttrPath, ...],
) -> dict:
    """`render_resource` under `attributes`/`excludedAttributes`, attribute by attribute."""
    body: dict = {"schemas": None, "id": resource_id}
    for schema, attribute, raw in _rendered_values(source, rt, meta):
        if raw is None:  # most schema attributes are unset: skip them cheaply
            continue
        value = _selected(schema.id, attribute, raw, wanted, unwanted)
        if value is None:
            continue
        if schema is rt.schema:
            body[attribute.name] = value
        else:
            body.setdefault(schema.id, {})[attribute.name] = value
    body["schemas"] = [rt.schema.id, *(ext.id for ext in rt.extensions if ext.id in body)]
    return body


def _render_default(source: dict, rt: ResourceType, resource_id: str, meta: dict) -> dict:
    """`render_resource` with nothing asked for or excluded, the common case (every point
    read, every list page): the same rules, applied from a plan worked out once per type."""
    body: dict = {"schemas": None, "id": resource_id}
    extensions = []
    for schema_id, name, container, sub_names, multi_valued in default_plan(rt):
        if container is None:
            value = source.get(name)
        elif container is _META:
            value = meta
        else:
            holder = source.get(container)
            value = holder.get(name) if isinstance(holder, dict) else None
        if value is None or value == [] or value == {}:
            continue
        if sub_names is not None:
            value = _default_complex(value, sub_names, multi_valued)
            if value is None:
                continue
        if container is None or container is _META:
            body[name] = value
        else:
            if schema_id not in body:
                body[schema_id] = {}
                extensions.append(schema_id)
            body[schema_id][name] = value
    body["schemas"] = [rt.schema.id, *extensions]
    return body


def _default_complex(value: object, names: tuple[str, ...], multi_valued: bool) -> object:
    def element(item: object) -> dict | None:
        if not isinstance(item, dict):
            return None
        shown = {name: item[name] for name in names if item.get(name) is not None}
        return shown or None

    if not multi_valued:
        return element(value)
    items = value if isinstance(value, list) else [value]
    shown_items = [shown for shown in map(element, items) if shown is not None]
    return shown_items or None


def default_top_level_value(rt: ResourceType, name: str, value: object) -> object:
    """A core attribute's value as a default response shows it (None: not shown at all)."""
    for _, planned, container, sub_names, multi_valued in default_plan(rt):
        if planned == name and container is None:
            if value is None or value == [] or value == {}:
                return None
            return value if sub_names is None else _default_complex(value, sub_names, multi_valued)
    return None


_DEFAULT_PLANS: dict[int, tuple] = {}


def default_plan(rt: ResourceType) -> tuple:
    """(schema id, attribute name, container, sub-attributes shown or None for a simple
    attribute, multi-valued) of every attribute a default response may show, in response
    order: `returned: never` and `request` are left out here, once."""
    plan = _DEFAULT_PLANS.get(id(rt))
    if plan is None:
        plan = tuple(
            (
                schema.id,
                attribute.name,
                container,
                _shown_by_default(attribute) if attribute.type == "complex" else None,
                attribute.multi_valued,
            )
            for schema, attribute, container in _response_order(rt)
            if attribute.returned not in ("never", "request")
        )
        _DEFAULT_PLANS[id(rt)] = plan
    return plan


def _with_computed(doc: dict, computed: dict) -> dict:
    """`doc` with the caller's computed values; an extension dict is merged key by key."""
    merged = dict(doc) if isinstance(doc, dict) else {}
    for key, value in computed.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict) and ":" in str(key):
            merged[key] = {**current, **value}
        else:
            merged[key] = value
    return merged


def _rendered_values(source: dict, rt: ResourceType, meta: dict):
    """(schema, attribute, stored value) in response order: externalId, core attributes,
    extensions, then the other common attributes (meta). `id` is the caller's."""
    extensions = {}
    for schema, attribute, container in _response_order(rt):
        if container is None:
            value = source.get(attribute.name)
        elif container is _META:
            value = meta
        else:
            if container not in extensions:
                values = source.get(container)
                extensions[container] = values if isinstance(values, dict) else {}
            value = extensions[container].get(attribute.name)
        yield schema, attribute, value


_META = object()
_ORDERS: dict[int, tuple] = {}


def _response_order(rt: ResourceType) -> tuple:
    """(schema, attribute, where its value is: None for the top level, an extension URN, or
    _META) in response order; worked out once per resource type."""
    order = _ORDERS.get(id(rt))
    if order is None:
        order = (
            *((rt.schema, a, None) for a in rt.common_attributes if a.name == "externalId"),
            *((rt.schema, a, None) for a in rt.schema.attributes),
            *((ext, a, ext.id) for ext in rt.extensions for a in ext.attributes),
            *((rt.schema, a, _META) for a in rt.common_attributes if a.name == "meta"),
        )
        _ORDERS[id(rt)] = order
    return order


def _canonical_paths(paths: tuple[AttrPath, ...], rt: ResourceType) -> tuple[AttrPath, ...]:
    canonical = []
    for path in paths:
        try:
            canonical.append(rt.canonical(path))
        except (ScimError, AttributeError, TypeError):
            continue
    return tuple(canonical)


def _selected(
    schema_id: str,
    attribute: Attribute,
    value: object,
    wanted: tuple[AttrPath, ...],
    unwanted: tuple[AttrPath, ...],
) -> object:
    """`value` as the response shows it, or None when it is not to be returned."""
    if value is None or value == [] or value == {} or attribute.returned == "never":
        return None
    keep: set[str] | None = None
    drop: set[str] = set()
    if attribute.returned != "always":
        named = [p.sub for p in wanted if p.uri == schema_id and p.attr == attribute.name]
        if wanted and not named:
            return None
        if not wanted and attribute.returned == "request":
            return None
        if named and None not in named:
            keep = set(named)
        drop = {p.sub for p in unwanted if p.uri == schema_id and p.attr == attribute.name}
        if None in drop:
            return None
    if attribute.type != "complex":
        return value
    return _filtered_complex(attribute, value, keep, drop)


def _filtered_complex(
    attribute: Attribute, value: object, keep: set[str] | None, drop: set[str]
) -> object:
    """Sub-attributes filtered by `returned`, `attributes=a.b` and `excludedAttributes=a.b`."""
    if keep is None and not drop:
        names = _shown_by_default(attribute)

        def element(item: object) -> dict | None:  # the common case, 10,000 members at a time
            if not isinstance(item, dict):
                return None
            shown = {name: item[name] for name in names if item.get(name) is not None}
            return shown or None
    else:
        element = _element_filter(attribute, keep, drop)
    if not attribute.multi_valued:
        return element(value)
    items = value if isinstance(value, list) else [value]
    shown_items = [shown for shown in map(element, items) if shown is not None]
    return shown_items or None


_DEFAULT_SHOWN: dict[int, tuple[str, ...]] = {}


def _shown_by_default(attribute: Attribute) -> tuple[str, ...]:
    """The sub-attributes a response shows when nothing is asked for (not `never`, not
    `request`), in schema order; computed once per attribute."""
    names = _DEFAULT_SHOWN.get(id(attribute))
    if names is None:
        names = tuple(
            sub.name for sub in attribute.sub_attributes if sub.returned not in ("never", "request")
        )
        _DEFAULT_SHOWN[id(attribute)] = names
    return names


def _element_filter(attribute: Attribute, keep: set[str] | None, drop: set[str]):
    def element(item: object) -> dict | None:
        if not isinstance(item, dict):
            return None
        shown = {}
        for sub in attribute.sub_attributes:
            if sub.name not in item or item[sub.name] is None or sub.returned == "never":
                continue
            if sub.returned != "always" and (
                (keep is not None and sub.name not in keep)
                or (keep is None and sub.returned == "request")
                or sub.name in drop
            ):
                continue
            shown[sub.name] = item[sub.name]
        return shown or None

    return element


def timestamp(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with milliseconds (`2026-01-01T00:00:00.000Z`)."""
    if moment.tzinfo is not dt.UTC:
        moment = moment.astimezone(dt.UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"  # drop "+00:00"


def resource_meta(
    resource_type: str, location: str, created: dt.datetime, modified: dt.datetime, version: int
) -> dict:
    """`meta` (RFC 7643 §3.1), keys in the order every response gives them."""
    return {
        "resourceType": resource_type,
        "created": timestamp(created),
        "lastModified": timestamp(modified),
        "location": location,
        "version": etag_for(version),
    }


def etag_for(version: int) -> str:
    """The weak entity tag of a resource version (RFC 7644 §3.14, RFC 7232 §2.3)."""
    return f'W/"{version}"'


def parse_etag(value: str) -> int | None:
    """The version in an `If-Match`/`If-None-Match` tag (`W/"3"`, `"3"`, `3`), None when the
    text is no single version tag (`*`, a list, garbage)."""
    if not isinstance(value, str):
        return None
    match = _ETAG.fullmatch(value)
    return int(match.group(1) or match.group(2)) if match else None

"""A resource's default representation, rendered when it is written and completed on each read.

A point read (`GET /Users/{id}` with no `attributes`) is what an IdP sends most, and rendering
the document on every read (the `returned` rules, the datetimes of `meta`, the JSON encoding)
cost more than reading it. Everything that depends only on the stored resource is rendered once,
at write time, into JSON text with two gaps left open:

- where the computed attribute goes (a user's `groups`): it changes when teams do, without the
  user being written, so it is read with the user and filled in on every read;
- the value of `meta.location`: it depends on the address the client used (`Host`, the public
  URL), so it is filled in on every read.

The stored text is `fingerprint SEP head SEP middle SEP tail`; a read gives
`head [,"groups":[…]] middle location tail`. SEP is a control character: the JSON encoder
escapes every control character inside strings, so the rendered text never holds one raw.

The fingerprint names the rendering rules the text was made with (the format and the resource
type's default plan). Text made under other rules, or none at all (rows written before this
existed), is not used: the caller renders the document the general way instead. The output is
byte for byte what `render_resource` + `orjson.dumps` give (a property test holds both to it).
"""

from __future__ import annotations

import hashlib

import orjson

from app.scim.rendering import default_plan, default_top_level_value, render_resource
from app.scim.schema_model import ResourceType

SEP = "\x1f"
_FORMAT = "stored-documents/1"
_LOCATION_KEY = '"location":""'


def fingerprint(rt: ResourceType) -> str:
    """The rules a stored text was rendered under: this module's format and the type's plan."""
    found = _FINGERPRINTS.get(id(rt))
    if found is None:
        plan = [
            (schema_id, name, container if isinstance(container, str | None) else "meta", *rest)
            for schema_id, name, container, *rest in default_plan(rt)
        ]  # the meta marker is an object, whose repr differs between processes
        plan = repr((_FORMAT, rt.schema.id, plan, _computed_attribute(rt)))
        found = _FINGERPRINTS[id(rt)] = hashlib.sha256(plan.encode()).hexdigest()[:12]
    return found


_FINGERPRINTS: dict[int, str] = {}


def prerender(doc: dict, rt: ResourceType, *, resource_id: str, meta: dict) -> str:
    """The stored text of a resource: its default representation without the computed attribute
    and with `meta.location` left open (`meta` is the full meta, `location` included)."""
    body = render_resource(doc, rt, resource_id=resource_id, meta={**meta, "location": ""})
    meta_json = orjson.dumps(body.pop("meta")).decode()
    computed = _computed_attribute(rt)
    body.pop(computed, None)
    later = _after_computed(rt)
    head = {key: value for key, value in body.items() if key not in later}
    rest = {key: value for key, value in body.items() if key in later}
    head_json = orjson.dumps(head).decode()[:-1]
    rest_json = orjson.dumps(rest).decode()[1:-1]
    middle = ("," + rest_json if rest_json else "") + ',"meta":'
    before, after = meta_json.split(_LOCATION_KEY, 1)
    return SEP.join(
        (fingerprint(rt), head_json, middle + before + '"location":"', '"' + after + "}")
    )


def complete(stored: str | None, rt: ResourceType, computed: list, location: str) -> bytes | None:
    """The response body from a stored text: `computed` is the computed attribute's value (a
    user's groups), `location` the resource's URL. None when the text is missing or was
    rendered under other rules (the caller renders the general way)."""
    if not stored:
        return None
    parts = stored.split(SEP)
    if len(parts) != 4 or parts[0] != fingerprint(rt):
        return None
    _, head, middle, tail = parts
    name = _computed_attribute(rt)
    shown = default_top_level_value(rt, name, computed) if computed else None
    filled = f',"{name}":{orjson.dumps(shown).decode()}' if shown is not None else ""
    return f"{head}{filled}{middle}{orjson.dumps(location).decode()[1:-1]}{tail}".encode()


_COMPUTED = {"User": "groups", "Group": "members"}


def _computed_attribute(rt: ResourceType) -> str:
    """The attribute the server computes on every read of this type (RFC 7643 §4.1.2, §4.2)."""
    return _COMPUTED[rt.id]


_LATER: dict[int, frozenset] = {}


def _after_computed(rt: ResourceType) -> frozenset:
    """Top-level keys a default response places after the computed attribute: later core
    attributes and every extension (`meta` is handled on its own)."""
    found = _LATER.get(id(rt))
    if found is None:
        computed = _computed_attribute(rt)
        names = [
            schema_id if isinstance(container, str) else name  # an extension is one key
            for schema_id, name, container, *_ in default_plan(rt)
        ]
        position = names.index(computed)
        found = _LATER[id(rt)] = frozenset(names[position + 1 :]) - {"meta"}
    return found

"""Applying PATCH operations to a canonical resource document (RFC 7644 §3.5.2.1–§3.5.2.3).

The canonical document holds core and common attributes at the top level under canonical
names and extension attributes under their schema URN; `id`, `meta`, `schemas` and `groups` are
computed by the server and never in it. Group membership is not applied here: see
`patch_members.split_member_changes`.
"""

from __future__ import annotations

import copy

from app.scim.errors import ScimError, invalid_syntax, invalid_value, mutability, no_target
from app.scim.filter import matches_element
from app.scim.patch_parse import PATCH_OPS, PatchOperation
from app.scim.patch_target import (
    Target,
    coerce,
    creation_values,
    element_attribute,
    expand_pathless_value,
    is_absent,
    named_extension,
    resolve_target,
)
from app.scim.schema_model import Attribute, ResourceType, Schema


def apply_patch(
    doc: dict,
    operations: list[PatchOperation],
    rt: ResourceType,
    *,
    resource_id: str | None = None,
) -> dict:
    """Return a new document with `operations` applied in order; `doc` is left untouched.

    The request is atomic (RFC 7644 §3.5.2): any failing operation raises and nothing is
    returned. `resource_id` lets a path-less value carry the resource's own `id` (Okta).
    """
    if not isinstance(doc, dict):
        raise ScimError(500, "the stored resource is not an object")
    result = copy.deepcopy(doc)
    for operation in operations:
        _apply_operation(result, operation, rt, resource_id)
    _check_required(doc, result, rt)
    return result


def _apply_operation(
    doc: dict, operation: PatchOperation, rt: ResourceType, resource_id: str | None
) -> None:
    if not isinstance(operation, PatchOperation) or operation.op not in PATCH_OPS:
        raise invalid_syntax(f"not a PATCH operation: {operation!r}")
    if operation.path is not None:
        extension = named_extension(operation.path, rt)
        if extension is not None:
            _apply_to_extension(doc, operation, extension, rt, resource_id)
            return
        _apply_to_target(doc, operation.op, resolve_target(operation.path, rt), operation.value)
        return
    if operation.op == "remove":
        raise no_target("'remove' needs a 'path' (RFC 7644 §3.5.2.2)")
    _apply_pathless(doc, operation.op, operation.value, rt, resource_id)


def _apply_to_extension(
    doc: dict, operation: PatchOperation, extension: Schema, rt: ResourceType, resource_id
) -> None:
    """A path naming a whole extension (`urn:…:enterprise:2.0:User`) targets its object like a
    complex attribute: add/replace set the sub-attributes given, leaving the others
    (RFC 7644 §3.5.2.1, §3.5.2.3); remove unassigns every attribute of it (§3.5.2.2)."""
    if operation.op == "remove" or operation.value is None:
        removed = doc.pop(extension.id, None) or {}
        for attribute in extension.attributes:
            if attribute.mutability == "immutable" and not is_absent(removed.get(attribute.name)):
                raise mutability(f"'{extension.id}:{attribute.name}' is immutable (RFC 7643 §2.2)")
        return
    if not isinstance(operation.value, dict):
        raise invalid_value(f"'{extension.id}' must be given an object of its attributes")
    _apply_pathless(doc, operation.op, {extension.id: operation.value}, rt, resource_id)


def _apply_pathless(doc: dict, op: str, value: object, rt: ResourceType, resource_id) -> None:
    if not isinstance(value, dict):
        raise invalid_value(f"a path-less '{op}' needs an object 'value'")
    for _key, path, item in expand_pathless_value(value, rt):
        target = resolve_target(path, rt)
        if target.is_common and target.attribute.name == "id" and target.sub is None:
            if resource_id is None or item != resource_id:
                raise mutability("'id' is readOnly and cannot be changed")
            continue
        _apply_to_target(doc, op, target, item)


def _apply_to_target(doc: dict, op: str, target: Target, value: object) -> None:
    for attribute in (target.attribute, target.sub):
        if attribute is not None and attribute.mutability == "readOnly":
            raise mutability(f"'{target.text}' is readOnly (RFC 7643 §2.2)")
        if attribute is not None and attribute.mutability == "writeOnly":
            return  # accepted and dropped: write-only values (password) are never stored
    key = target.container_key
    container = doc if key is None else doc.get(key)
    if not isinstance(container, dict):
        container = {}
    attribute = target.attribute
    primaries_before = _primaries(container.get(attribute.name))
    if target.element_filter is not None or (attribute.multi_valued and target.sub):
        _apply_to_elements(container, op, target, value)
    elif attribute.multi_valued:
        _apply_to_list(container, op, target, value)
    elif target.sub is not None:
        _apply_to_sub_attribute(container, op, target, value)
    else:
        _apply_to_single(container, op, target, value)
    if attribute.multi_valued and attribute.sub("primary") is not None:
        _keep_one_primary(container.get(attribute.name), primaries_before)
    if key is not None:
        if container:
            doc[key] = container
        else:
            doc.pop(key, None)


def _apply_to_single(container: dict, op: str, target: Target, value: object) -> None:
    """A single-valued attribute; a complex one merges sub-attributes on add and replace
    (RFC 7644 §3.5.2.1, §3.5.2.3: unspecified sub-attributes are left unchanged)."""
    attribute = target.attribute
    old = container.get(attribute.name)
    if op == "remove" or value is None:
        new = None
    elif attribute.type == "complex":
        new = _merged(attribute, old, value, op, target)
    else:
        new = coerce(attribute, value, target.text)
    if new is None and op == "add":
        return
    _guard_immutable(attribute, old, new, target)
    _store(container, attribute.name, new)


def _merged(attribute: Attribute, old: object, value: object, op: str, target: Target) -> object:
    """`old` with the sub-attributes given in `value`; on replace a sub-attribute given as null
    is removed (RFC 7643 §2.5: null is unassigned)."""
    merged = dict(old) if isinstance(old, dict) else {}
    merged.update(coerce(attribute, value, target.text) or {})
    if op == "replace" and isinstance(value, dict):
        for key, item in value.items():
            sub = attribute.sub(key) if isinstance(key, str) else None
            if sub is not None and sub.mutability != "readOnly" and is_absent(item):
                merged.pop(sub.name, None)
    return merged or None


def _apply_to_sub_attribute(container: dict, op: str, target: Target, value: object) -> None:
    """`name.givenName`: one sub-attribute of a single-valued complex attribute."""
    attribute, sub = target.attribute, target.sub
    old_parent = container.get(attribute.name)
    parent = dict(old_parent) if isinstance(old_parent, dict) else {}
    new = None if op == "remove" else coerce(sub, value, target.text)
    if new is None and op == "add":
        return
    _guard_immutable(sub, parent.get(sub.name), new, target)
    _store(parent, sub.name, new)
    _guard_immutable(attribute, old_parent, parent or None, target)
    _store(container, attribute.name, parent)


def _apply_to_list(container: dict, op: str, target: Target, value: object) -> None:
    """A multi-valued attribute without a filter: add appends values not already present,
    replace replaces all values, remove removes all (or, with a `value`, the listed ones)."""
    attribute = target.attribute
    old = _elements(container.get(attribute.name))
    if op == "remove":
        new = [] if value is None else _without_listed(old, value, target)
    else:
        items = coerce(attribute, value, target.text) or []
        if not isinstance(items, list):
            items = [items]
        if op == "add":
            new = list(old)
            for item in items:
                if item not in new:
                    new.append(item)
        else:
            new = items
    if op != "add":
        _guard_immutable(attribute, old, new, target)
    _store(container, attribute.name, new)


def _without_listed(old: list, value: object, target: Target) -> list:
    """Remove with a value list, a dialect of Entra and others for members and emails: drop
    the elements equal on `value` (or on every given sub-attribute when `value` is absent)."""
    element_type = element_attribute(target.attribute)
    listed = value if isinstance(value, list) else [value]
    criteria = []
    for item in listed:
        coerced = coerce(element_type, item, target.text)
        if coerced is None:
            continue
        if isinstance(coerced, dict) and "value" in coerced:
            coerced = {"value": coerced["value"]}
        criteria.append(coerced)
    return [e for e in old if not any(_equal_on(target.attribute, e, c) for c in criteria)]


def _equal_on(attribute: Attribute, element: object, criterion: object) -> bool:
    if not isinstance(criterion, dict):
        return _same_value(attribute, element, criterion)
    if not isinstance(element, dict):
        return False
    for key, expected in criterion.items():
        sub = attribute.sub(key)
        if key not in element or sub is None or not _same_value(sub, element[key], expected):
            return False
    return True


def _same_value(attribute: Attribute, left: object, right: object) -> bool:
    if isinstance(left, str) and isinstance(right, str) and not attribute.case_exact:
        return left.casefold() == right.casefold()
    return type(left) is type(right) and left == right


def _apply_to_elements(container: dict, op: str, target: Target, value: object) -> None:
    """`emails[type eq "work"]` and `emails[type eq "work"].value` (RFC 7644 §3.5.2).

    Removing from no match is a no-op (IdPs retry removals). Adding or replacing with no match
    creates the element when the filter is plain equalities (Entra adds a work email with
    `emails[type eq "work"].value`), else it is noTarget (RFC 7644 §3.5.2.3).
    """
    attribute, sub = target.attribute, target.sub
    elements = _elements(container.get(attribute.name))
    matched = [i for i, e in enumerate(elements) if _selects(target, e)]
    if op == "remove":
        new = None
    elif sub is not None:
        new = coerce(sub, value, target.text)
    else:
        new = coerce(element_attribute(attribute), value, target.text)
    if new is None:
        if op == "add":
            return
        elements = _removed(elements, matched, target)
    elif not matched:
        elements.append(_created_element(target, new))
    elif sub is not None:
        for i in matched:
            _guard_immutable(sub, elements[i].get(sub.name), new, target)
            elements[i][sub.name] = copy.deepcopy(new)
    else:
        for i in matched:
            elements[i] = _changed_element(op, elements[i], new, target)
    _store(container, attribute.name, elements)


def _selects(target: Target, element: object) -> bool:
    if target.element_filter is None:
        return isinstance(element, dict)
    if target.attribute.type == "complex" and not isinstance(element, dict):
        return False
    candidate = element if isinstance(element, dict) else {"value": element}
    return bool(matches_element(target.element_filter, candidate, target.attribute))


def _removed(elements: list, matched: list[int], target: Target) -> list:
    sub = target.sub
    if sub is None:
        return [e for i, e in enumerate(elements) if i not in matched]
    for i in matched:
        _guard_immutable(sub, elements[i].get(sub.name), None, target)
        elements[i].pop(sub.name, None)
    return [e for e in elements if e != {}]


def _created_element(target: Target, new: object) -> object:
    created = creation_values(target)
    if created is None:
        raise no_target(f"'{target.text}' matches no value to change")
    if target.attribute.type != "complex":
        return new
    given = {target.sub.name: new} if target.sub is not None else new
    if not isinstance(given, dict):
        return given
    element = {**created, **given}
    return {s.name: element[s.name] for s in target.attribute.sub_attributes if s.name in element}


def _changed_element(op: str, old: object, new: object, target: Target) -> object:
    """add merges into the matched element; replace replaces it (RFC 7644 §3.5.2.3), keeping
    the sub-attributes the filter selected on when the new value leaves them out."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return new
    if op == "add":
        changed = {**old, **new}
    else:
        kept = {k: old[k] for k in (creation_values(target) or {}) if k in old}
        changed = {**kept, **new}
    for sub in target.attribute.sub_attributes:
        _guard_immutable(sub, old.get(sub.name), changed.get(sub.name), target)
    return changed


def _elements(value: object) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _store(container: dict, name: str, value: object) -> None:
    if is_absent(value):
        container.pop(name, None)
    else:
        container[name] = value


def _guard_immutable(attribute: Attribute, old: object, new: object, target: Target) -> None:
    """Immutable values may be set once, never changed or removed (RFC 7643 §2.2)."""
    if attribute.mutability == "immutable" and not is_absent(old) and old != new:
        raise mutability(f"'{target.text}' is immutable (RFC 7643 §2.2)")


def _primaries(value: object) -> list:
    return [e for e in _elements(value) if isinstance(e, dict) and e.get("primary") is True]


def _keep_one_primary(value: object, before: list) -> None:
    """A value newly made primary demotes the others (RFC 7644 §3.5.2: the server sets
    `primary` to false on the other values; RFC 7643 §2.4: at most one primary)."""
    primaries = _primaries(value)
    fresh = [e for e in primaries if not any(e is old for old in before)]
    if len(primaries) < 2 or not fresh:
        return
    for element in primaries:
        if element is not fresh[-1]:
            element["primary"] = False


def _check_required(original: dict, result: dict, rt: ResourceType) -> None:
    """A required attribute cannot be removed: RFC 7644 §3.5.2.2 answers that with
    `400 mutability`."""
    for schema in rt.all_schemas:
        container = result if schema is rt.schema else result.get(schema.id)
        if schema is not rt.schema and not isinstance(container, dict):
            continue
        before = original if schema is rt.schema else original.get(schema.id)
        before = before if isinstance(before, dict) else {}
        for attribute in schema.attributes:
            value = container.get(attribute.name)
            if not attribute.required:
                continue
            if isinstance(value, str) and not value.strip():
                raise invalid_value(f"'{attribute.name}' is required and must not be empty")
            if not is_absent(value):
                continue
            if not is_absent(before.get(attribute.name)):
                raise mutability(f"'{attribute.name}' is required and cannot be removed")
            raise invalid_value(f"'{attribute.name}' is required")

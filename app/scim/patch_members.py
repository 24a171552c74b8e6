"""Group membership changes out of PATCH operations (RFC 7644 §3.5.2, every IdP dialect).

A group may have tens of thousands of members, so membership is never applied to an in-memory
list: the operations become ordered `MemberChange`s that storage applies with a few statements.
"""

from __future__ import annotations

from attrs import evolve, frozen

from app.scim.ast import Compare, Filter, Or, PatchPath
from app.scim.errors import (
    ScimError,
    invalid_path,
    invalid_syntax,
    invalid_value,
    mutability,
    no_target,
)
from app.scim.filter import bind_element_filter
from app.scim.patch_parse import PATCH_OPS, PatchOperation, get_case_insensitive
from app.scim.patch_target import describe_path, expand_pathless_value
from app.scim.schema_model import Attribute, ResourceType

MEMBER_CHANGE_KINDS = ("add", "remove", "replace", "clear", "remove_matching")


@frozen
class MemberChange:
    """`add`/`remove`/`replace` carry member ids; `clear` removes every member;
    `remove_matching` removes the members matching `filter` (bound to the members attribute)."""

    kind: str
    ids: tuple[str, ...] = ()
    filter: Filter | None = None


def split_member_changes(
    operations: list[PatchOperation], rt: ResourceType
) -> tuple[list[PatchOperation], list[MemberChange]]:
    """Separate the operations on the group document from the membership changes.

    Dialects handled (shared/idp-dialects.md): `add`/`remove`/`replace` with path `members` and
    a value list (Entra, Okta, Keycloak), `remove` with `members[value eq "id"]` and no value
    (Entra aadOptscim062020, Okta), `remove` of `members` without value (Keycloak: clear), and
    `members` inside a path-less add/replace value.
    """
    members = rt.schema.attribute("members")
    document_operations: list[PatchOperation] = []
    changes: list[MemberChange] = []
    for operation in operations:
        if not isinstance(operation, PatchOperation) or operation.op not in PATCH_OPS:
            raise invalid_syntax(f"not a PATCH operation: {operation!r}")
        if members is None:
            document_operations.append(operation)
        elif operation.path is None:
            _split_pathless(operation, rt, members, document_operations, changes)
        elif _targets(operation.path, rt, members):
            changes.extend(_changes_for(operation.op, operation.path, operation.value, members))
        else:
            document_operations.append(operation)
    return document_operations, changes


def _split_pathless(
    operation: PatchOperation,
    rt: ResourceType,
    members: Attribute,
    document_operations: list[PatchOperation],
    changes: list[MemberChange],
) -> None:
    if operation.op == "remove":
        raise no_target("'remove' needs a 'path' (RFC 7644 §3.5.2.2)")
    if not isinstance(operation.value, dict):
        document_operations.append(operation)
        return
    rest = {}
    for key, path, item in expand_pathless_value(operation.value, rt):
        if _targets(path, rt, members):
            changes.extend(_changes_for(operation.op, path, item, members))
        else:
            rest[key] = item
    if rest:
        document_operations.append(evolve(operation, value=rest))


def _targets(path: PatchPath, rt: ResourceType, members: Attribute) -> bool:
    schema, attribute, _sub = rt.resolve(path.attr)
    return schema is rt.schema and attribute is members


def _changes_for(op: str, path: PatchPath, value: object, members: Attribute) -> list[MemberChange]:
    text = describe_path(path)
    sub_name = path.attr.sub or path.sub
    if sub_name is not None:
        if members.sub(sub_name) is None:
            raise invalid_path(f"'{text}': members have no '{sub_name}'")
        raise mutability(f"'{text}': a member cannot be changed, only added or removed")
    if path.value_filter is not None:
        if op == "add":
            raise invalid_path(f"'{text}': add members with the path 'members'")
        if op == "replace":
            raise mutability(f"'{text}': a member cannot be changed, only added or removed")
        try:
            bound = bind_element_filter(path.value_filter, members)
        except ScimError as error:
            raise invalid_path(f"'{text}': {error.detail}") from error
        ids = _value_equalities(bound)
        if ids is None:
            return [MemberChange("remove_matching", filter=bound)]
        return [MemberChange("remove", ids)]
    if op == "add":
        ids = _member_ids(value, text)
        return [MemberChange("add", ids)] if ids else []
    if op == "remove":
        if value is None:
            return [MemberChange("clear")]
        ids = _member_ids(value, text)
        return [MemberChange("remove", ids)] if ids else []
    ids = _member_ids(value, text) if value is not None else ()
    return [MemberChange("replace", ids)] if ids else [MemberChange("clear")]


def _member_ids(value: object, text: str) -> tuple[str, ...]:
    """Member ids from `[{"value": id, "display": …, "$ref": …, "type": …}, …]`; a single
    object is taken as a one-element list."""
    items = value if isinstance(value, list) else [value]
    ids: dict[str, None] = {}
    for item in items:
        member_id = get_case_insensitive(item, "value") if isinstance(item, dict) else None
        if not isinstance(member_id, str) or not member_id:
            raise invalid_value(f"'{text}': every member needs a string 'value'")
        ids[member_id] = None
    return tuple(ids)


def _value_equalities(bound: Filter) -> tuple[str, ...] | None:
    """The ids of `value eq "a" or value eq "b" …`, or None for any other filter."""
    ids: dict[str, None] = {}
    pending = [bound]
    while pending:
        node = pending.pop()
        if isinstance(node, Or):
            pending.extend((node.right, node.left))
        elif (
            isinstance(node, Compare)
            and node.op == "eq"
            and node.path.sub is None
            and node.path.attr.lower() == "value"
            and isinstance(node.value, str)
        ):
            ids[node.value] = None
        else:
            return None
    return tuple(ids)

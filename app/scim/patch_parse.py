"""Reading a PATCH request body into operations (RFC 7644 §3.5.2).

Tolerates what identity providers really send (see shared/idp-dialects.md): any case for `op`
and the member names, `Operations` before `schemas` or without `schemas`, a blank `path` for a
path-less operation.
"""

from __future__ import annotations

from attrs import frozen

from app.scim.ast import PatchPath
from app.scim.errors import invalid_path, invalid_syntax, invalid_value, no_target, too_many
from app.scim.filter import parse_patch_path

PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PATCH_OPS = ("add", "replace", "remove")
_MISSING = object()


@frozen
class PatchOperation:
    """One operation: `op` is lower case, `path` None for a path-less add/replace."""

    op: str
    path: PatchPath | None
    value: object = None


def get_case_insensitive(mapping: dict, name: str, default: object = None) -> object:
    """`mapping[name]` with the key matched case-insensitively (RFC 7643 §2.1)."""
    if name in mapping:
        return mapping[name]
    lowered = name.lower()
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return default


def parse_patch_request(body: object, *, max_operations: int = 1000) -> list[PatchOperation]:
    """Validate a PatchOp message and return its operations in order (RFC 7644 §3.5.2).

    `schemas` may be missing (some clients omit it), but when present it must name the PatchOp
    schema. More than `max_operations` operations is `400 tooMany`.
    """
    if not isinstance(body, dict):
        raise invalid_syntax("a PATCH body must be a JSON object with 'Operations'")
    _check_schemas(get_case_insensitive(body, "schemas"))
    operations = get_case_insensitive(body, "Operations", _MISSING)
    if operations is _MISSING:
        raise invalid_syntax("a PATCH body must contain 'Operations'")
    if not isinstance(operations, list) or not operations:
        raise invalid_syntax("'Operations' must be a non-empty array")
    if len(operations) > max_operations:
        raise too_many(f"a PATCH request may carry at most {max_operations} operations")
    return [_parse_operation(raw, index) for index, raw in enumerate(operations)]


def _check_schemas(schemas: object) -> None:
    if schemas is None:
        return
    names = schemas if isinstance(schemas, list) else [schemas]
    if not any(isinstance(n, str) and n.lower() == PATCH_OP_SCHEMA.lower() for n in names):
        raise invalid_syntax(f"'schemas' must contain {PATCH_OP_SCHEMA!r}")


def _parse_operation(raw: object, index: int) -> PatchOperation:
    where = f"Operations[{index}]"
    if not isinstance(raw, dict):
        raise invalid_syntax(f"{where} must be a JSON object")
    op = get_case_insensitive(raw, "op")
    if not isinstance(op, str) or op.lower() not in PATCH_OPS:
        raise invalid_syntax(f"{where}: 'op' must be one of 'add', 'replace', 'remove', got {op!r}")
    op = op.lower()
    path = _parse_path(get_case_insensitive(raw, "path"), where)
    value = get_case_insensitive(raw, "value", _MISSING)
    if path is None and op == "remove":
        raise no_target(f"{where}: 'remove' needs a 'path' (RFC 7644 §3.5.2.2)")
    if op == "add" and (value is _MISSING or value is None):
        raise invalid_value(f"{where}: 'add' needs a 'value' (RFC 7644 §3.5.2.1)")
    if value is _MISSING:
        value = None
    if path is None and not isinstance(value, dict):
        raise invalid_value(f"{where}: a path-less '{op}' needs an object 'value' of attributes")
    return PatchOperation(op=op, path=path, value=value)


def _parse_path(text: object, where: str) -> PatchPath | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise invalid_path(f"{where}: 'path' must be a string")
    if not text.strip():
        return None
    return parse_patch_path(text.strip())

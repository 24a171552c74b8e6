"""The PATCH engine (RFC 7644 §3.5.2): parse a PatchOp body, split group membership changes
out of it, and apply the rest to a canonical resource document. Pure: no I/O."""

from app.scim.patch_apply import apply_patch
from app.scim.patch_members import MEMBER_CHANGE_KINDS, MemberChange, split_member_changes
from app.scim.patch_parse import PATCH_OP_SCHEMA, PatchOperation, parse_patch_request

__all__ = [
    "MEMBER_CHANGE_KINDS",
    "PATCH_OP_SCHEMA",
    "MemberChange",
    "PatchOperation",
    "apply_patch",
    "parse_patch_request",
    "split_member_changes",
]

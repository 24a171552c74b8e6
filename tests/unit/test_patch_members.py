"""Group membership out of PATCH requests in every IdP dialect (shared/idp-dialects.md) and the
RFC 7644 §3.5.2 examples."""

from __future__ import annotations

import pytest

from app.scim.ast import AttrPath, Compare
from app.scim.errors import ScimError
from app.scim.patch import (
    PATCH_OP_SCHEMA,
    MemberChange,
    PatchOperation,
    parse_patch_request,
    split_member_changes,
)
from app.scim.schemas import GROUP_RESOURCE, GROUP_URN, USER_RESOURCE

GROUP_ID = "e9e30dba-f08f-4109-8486-d5c6a331660a"


def split(*operations: dict, rt=GROUP_RESOURCE):
    body = {"schemas": [PATCH_OP_SCHEMA], "Operations": list(operations)}
    return split_member_changes(parse_patch_request(body), rt)


def split_error(*operations: dict) -> ScimError:
    with pytest.raises(ScimError) as caught:
        split(*operations)
    return caught.value


def test_entra_adds_many_members_in_one_operation():
    document, changes = split(
        {
            "op": "Add",
            "path": "members",
            "value": [{"$ref": None, "value": "u1"}, {"$ref": None, "value": "u2"}],
        }
    )
    assert document == []
    assert changes == [MemberChange("add", ("u1", "u2"))]


def test_entra_removes_members_by_value_list():
    assert split({"op": "Remove", "path": "members", "value": [{"value": "u1"}]}) == (
        [],
        [MemberChange("remove", ("u1",))],
    )


def test_entra_renames_with_replace_display_name():
    document, changes = split({"op": "Replace", "path": "displayName", "value": "Eng"})
    assert [op.value for op in document] == ["Eng"]
    assert changes == []


def test_entra_aadoptscim_removes_by_filter_path():
    assert split({"op": "remove", "path": 'members[value eq "u1"]'}) == (
        [],
        [MemberChange("remove", ("u1",))],
    )


def test_okta_membership_push():
    document, changes = split(
        {"op": "replace", "value": {"id": GROUP_ID, "displayName": "Eng"}},
        {"op": "remove", "path": 'members[value eq "u1"]'},
        {"op": "add", "path": "members", "value": [{"value": "u2", "display": "bob@okta.local"}]},
    )
    assert document == [PatchOperation("replace", None, {"id": GROUP_ID, "displayName": "Eng"})]
    assert changes == [MemberChange("remove", ("u1",)), MemberChange("add", ("u2",))]


def test_okta_replace_members():
    assert split(
        {"op": "replace", "path": "members", "value": [{"value": "u1", "display": "a"}]}
    ) == ([], [MemberChange("replace", ("u1",))])


def test_keycloak_replace_then_empty():
    document, changes = split(
        {"op": "replace", "path": "displayName", "value": "kc"},
        {"op": "replace", "path": "externalId", "value": "k1"},
        {"op": "replace", "path": "members", "value": [{"value": "u1", "$ref": "Users/u1"}]},
        {"op": "replace", "path": "members", "value": []},
        {"op": "replace", "path": "members", "value": None},
        {"op": "remove", "path": "members"},
    )
    assert [op.path.attr.attr for op in document] == ["displayName", "externalId"]
    assert changes == [
        MemberChange("replace", ("u1",)),
        MemberChange("clear"),
        MemberChange("clear"),
        MemberChange("clear"),
    ]


def test_rfc_add_single_member_object_and_duplicates():
    """§3.5.2.1 adds `{"display": "Babs Jensen", "$ref": …, "value": …}`."""
    member = {
        "display": "Babs Jensen",
        "$ref": "https://example.com/v2/Users/2819c223",
        "value": "2819c223",
    }
    assert split({"op": "add", "path": "members", "value": [member, member]}) == (
        [],
        [MemberChange("add", ("2819c223",))],
    )
    assert split({"op": "add", "path": "members", "value": member})[1] == [
        MemberChange("add", ("2819c223",))
    ]


def test_rfc_remove_all_then_add_replaces_members():
    """§3.5.2.2: remove `members`, then add the new ones."""
    assert split(
        {"op": "remove", "path": "members"},
        {"op": "add", "path": "members", "value": [{"value": "u9"}]},
    )[1] == [MemberChange("clear"), MemberChange("add", ("u9",))]


def test_or_joined_value_filter_removes_each_id():
    changes = split(
        {"op": "remove", "path": 'members[value eq "a" or value eq "b" or Value eq "a"]'}
    )[1]
    assert changes == [MemberChange("remove", ("a", "b"))]


def test_other_member_filters_remove_matching():
    [change] = split({"op": "remove", "path": 'members[type eq "User"]'})[1]
    assert change == MemberChange(
        "remove_matching", filter=Compare(AttrPath(None, "type"), "eq", "User")
    )


def test_pathless_value_with_members_splits_them_out():
    document, changes = split(
        {
            "op": "replace",
            "value": {
                "displayName": "Eng",
                "members": [{"value": "u1"}, {"value": "u2"}],
                f"{GROUP_URN}:externalId": "x",
            },
        },
        {"op": "add", "value": {"members": [{"value": "u3"}]}},
        {"op": "replace", "value": {GROUP_URN: {"members": []}}},
    )
    assert document == [
        PatchOperation("replace", None, {"displayName": "Eng", f"{GROUP_URN}:externalId": "x"})
    ]
    assert changes == [
        MemberChange("replace", ("u1", "u2")),
        MemberChange("add", ("u3",)),
        MemberChange("clear"),
    ]


def test_urn_qualified_members_path():
    assert split({"op": "add", "path": f"{GROUP_URN}:members", "value": [{"value": "u1"}]})[1] == [
        MemberChange("add", ("u1",))
    ]


@pytest.mark.parametrize(
    "value",
    [[{"display": "no value"}], [{"value": ""}], [{"value": 7}], ["u1"], [None], "u1"],
)
def test_member_without_string_value_is_invalid_value(value):
    error = split_error({"op": "add", "path": "members", "value": value})
    assert (error.status, error.scim_type) == (400, "invalidValue")


@pytest.mark.parametrize(
    ("operation", "scim_type"),
    [
        ({"op": "replace", "path": 'members[value eq "u1"].display', "value": "x"}, "mutability"),
        ({"op": "remove", "path": 'members[value eq "u1"].value'}, "mutability"),
        ({"op": "replace", "path": "members.value", "value": "x"}, "mutability"),
        (
            {"op": "replace", "path": 'members[value eq "u1"]', "value": {"value": "u2"}},
            "mutability",
        ),
        ({"op": "add", "path": 'members[value eq "u1"]', "value": {"value": "u2"}}, "invalidPath"),
        ({"op": "remove", "path": 'members[value eq "u1"].colour'}, "invalidPath"),
        ({"op": "remove", "path": 'members[colour eq "red"]'}, "invalidPath"),
    ],
)
def test_member_sub_attribute_changes_are_refused(operation, scim_type):
    error = split_error(operation)
    assert (error.status, error.scim_type) == (400, scim_type)


def test_pathless_remove_is_no_target():
    with pytest.raises(ScimError) as caught:
        split_member_changes([PatchOperation("remove", None, {"members": []})], GROUP_RESOURCE)
    assert caught.value.scim_type == "noTarget"


def test_users_have_no_member_changes():
    operations = parse_patch_request(
        {"Operations": [{"op": "replace", "path": "displayName", "value": "x"}]}
    )
    assert split_member_changes(operations, USER_RESOURCE) == (operations, [])


def test_operations_built_by_hand_are_checked():
    with pytest.raises(ScimError) as caught:
        split_member_changes([PatchOperation("merge", None, {})], GROUP_RESOURCE)
    assert caught.value.scim_type == "invalidSyntax"

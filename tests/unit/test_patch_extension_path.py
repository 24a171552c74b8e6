"""A PATCH path naming a whole schema extension (`urn:…:enterprise:2.0:User`), as scim2-tester
sends it: the extension's object is targeted like a complex attribute (RFC 7644 §3.5.2)."""

from __future__ import annotations

import pytest

from app.scim.errors import ScimError
from app.scim.patch import PATCH_OP_SCHEMA, apply_patch, parse_patch_request
from app.scim.schemas import ENTERPRISE_USER_URN, GROUP_RESOURCE, USER_RESOURCE

MANAGER_ID = "26118915-6090-4610-87e4-49d8ca9f808d"


def bob() -> dict:
    return {
        "userName": "bob@contoso.com",
        "active": True,
        ENTERPRISE_USER_URN: {"employeeNumber": "701984", "department": "Tour Operations"},
    }


def patch(doc: dict, *operations: dict, rt=USER_RESOURCE) -> dict:
    body = {"schemas": [PATCH_OP_SCHEMA], "Operations": list(operations)}
    return apply_patch(doc, parse_patch_request(body), rt, resource_id="u1")


@pytest.mark.parametrize("op", ["add", "replace", "Replace"])
def test_add_and_replace_set_the_given_attributes_and_keep_the_others(op):
    result = patch(
        bob(),
        {
            "op": op,
            "path": ENTERPRISE_USER_URN,
            "value": {
                "schemas": [ENTERPRISE_USER_URN],
                "department": "Sales",
                "manager": {"value": MANAGER_ID, "displayName": "read-only, dropped"},
            },
        },
    )
    assert result[ENTERPRISE_USER_URN] == {
        "employeeNumber": "701984",
        "department": "Sales",
        "manager": {"value": MANAGER_ID},
    }


def test_the_urn_matches_in_any_case_and_creates_the_extension():
    doc = {"userName": "carol@contoso.com", "active": True}
    result = patch(
        doc, {"op": "add", "path": ENTERPRISE_USER_URN.upper(), "value": {"costCenter": "4130"}}
    )
    assert result == {**doc, ENTERPRISE_USER_URN: {"costCenter": "4130"}}


def test_remove_unassigns_every_attribute_of_the_extension():
    assert patch(bob(), {"op": "remove", "path": ENTERPRISE_USER_URN}) == {
        "userName": "bob@contoso.com",
        "active": True,
    }


def test_replace_with_null_removes_it_too():
    result = patch(bob(), {"op": "replace", "path": ENTERPRISE_USER_URN, "value": None})
    assert ENTERPRISE_USER_URN not in result


def test_a_non_object_value_is_invalid_value():
    with pytest.raises(ScimError) as caught:
        patch(bob(), {"op": "replace", "path": ENTERPRISE_USER_URN, "value": "Sales"})
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidValue")


def test_an_extension_the_resource_type_lacks_stays_an_invalid_path():
    with pytest.raises(ScimError) as caught:
        patch(
            {"displayName": "Eng"},
            {"op": "add", "path": ENTERPRISE_USER_URN, "value": {"department": "x"}},
            rt=GROUP_RESOURCE,
        )
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidPath")


def test_an_attribute_inside_the_extension_is_still_addressed_by_its_own_path():
    result = patch(bob(), {"op": "remove", "path": f"{ENTERPRISE_USER_URN}:department"})
    assert result[ENTERPRISE_USER_URN] == {"employeeNumber": "701984"}

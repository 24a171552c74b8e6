"""The PATCH engine on users and group documents: RFC 7644 §3.5.2 examples and every IdP dialect
of shared/idp-dialects.md, with the resulting documents asserted exactly."""

from __future__ import annotations

import copy

import pytest

from app.scim.ast import AttrPath, Compare, PatchPath
from app.scim.errors import ScimError
from app.scim.patch import PATCH_OP_SCHEMA, PatchOperation, apply_patch, parse_patch_request
from app.scim.schema_model import Attribute, ResourceType, Schema
from app.scim.schemas import ENTERPRISE_USER_URN, GROUP_RESOURCE, USER_RESOURCE

ENTERPRISE = ENTERPRISE_USER_URN
USER_ID = "2819c223-7f76-453a-919d-413861904646"
GROUP_ID = "e9e30dba-f08f-4109-8486-d5c6a331660a"


def alice() -> dict:
    return {
        "userName": "alice@contoso.com",
        "externalId": "a1",
        "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"},
        "displayName": "Alice Smith",
        "emails": [{"value": "alice@contoso.com", "type": "work", "primary": True}],
        "active": True,
    }


def patch(doc: dict, *operations: dict, rt: ResourceType = USER_RESOURCE, **kwargs) -> dict:
    body = {"schemas": [PATCH_OP_SCHEMA], "Operations": list(operations)}
    before = copy.deepcopy(doc)
    result = apply_patch(doc, parse_patch_request(body), rt, **kwargs)
    assert doc == before, "apply_patch must not mutate its input"
    return result


def scim_error(doc: dict, *operations: dict, rt: ResourceType = USER_RESOURCE, **kwargs):
    with pytest.raises(ScimError) as caught:
        patch(doc, *operations, rt=rt, **kwargs)
    return caught.value


# --- parse_patch_request -------------------------------------------------------------------


def test_parse_reads_operations_in_order_with_any_op_case():
    body = {
        "schemas": [PATCH_OP_SCHEMA],
        "Operations": [
            {"op": "Add", "path": "nickName", "value": "Babs"},
            {"op": "REPLACE", "path": "title", "value": "Boss"},
            {"op": "remove", "path": "locale"},
        ],
    }
    assert parse_patch_request(body) == [
        PatchOperation("add", PatchPath(AttrPath(None, "nickName")), "Babs"),
        PatchOperation("replace", PatchPath(AttrPath(None, "title")), "Boss"),
        PatchOperation("remove", PatchPath(AttrPath(None, "locale")), None),
    ]


def test_parse_tolerates_missing_schemas_key_case_and_order():
    operations = [{"Op": "replace", "Path": "active", "Value": False}]
    expected = [PatchOperation("replace", PatchPath(AttrPath(None, "active")), False)]
    assert parse_patch_request({"operations": operations}) == expected
    assert parse_patch_request({"Operations": operations, "schemas": [PATCH_OP_SCHEMA]}) == expected
    assert parse_patch_request({"Operations": operations, "schemas": PATCH_OP_SCHEMA}) == expected


def test_parse_value_filter_path():
    [operation] = parse_patch_request(
        {"Operations": [{"op": "add", "path": 'emails[type eq "work"].value', "value": "a@b"}]}
    )
    assert operation.path == PatchPath(
        AttrPath(None, "emails"), Compare(AttrPath(None, "type"), "eq", "work"), "value"
    )


def test_parse_blank_path_is_pathless():
    [operation] = parse_patch_request(
        {"Operations": [{"op": "replace", "path": " ", "value": {"active": False}}]}
    )
    assert operation == PatchOperation("replace", None, {"active": False})


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ([], "invalidSyntax"),
        ("Operations", "invalidSyntax"),
        ({}, "invalidSyntax"),
        ({"schemas": [PATCH_OP_SCHEMA]}, "invalidSyntax"),
        ({"Operations": {"op": "add"}}, "invalidSyntax"),
        ({"Operations": []}, "invalidSyntax"),
        (
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": [{}]},
            "invalidSyntax",
        ),
        ({"Operations": ["add"]}, "invalidSyntax"),
        ({"Operations": [{"path": "title", "value": "x"}]}, "invalidSyntax"),
        ({"Operations": [{"op": "merge", "path": "title", "value": "x"}]}, "invalidSyntax"),
        ({"Operations": [{"op": 1, "path": "title", "value": "x"}]}, "invalidSyntax"),
        ({"Operations": [{"op": "add", "path": 7, "value": "x"}]}, "invalidPath"),
        ({"Operations": [{"op": "add", "path": "emails[type eq", "value": "x"}]}, "invalidPath"),
        ({"Operations": [{"op": "add", "path": "title"}]}, "invalidValue"),
        ({"Operations": [{"op": "add", "path": "title", "value": None}]}, "invalidValue"),
        ({"Operations": [{"op": "add", "value": None}]}, "invalidValue"),
        ({"Operations": [{"op": "replace", "value": ["x"]}]}, "invalidValue"),
        ({"Operations": [{"op": "remove"}]}, "noTarget"),
        ({"Operations": [{"op": "remove", "value": {"title": "x"}}]}, "noTarget"),
    ],
)
def test_parse_rejects_malformed_bodies(body, scim_type):
    with pytest.raises(ScimError) as caught:
        parse_patch_request(body)
    assert (caught.value.status, caught.value.scim_type) == (400, scim_type)


def test_parse_limits_the_number_of_operations():
    operations = [{"op": "replace", "path": "title", "value": "x"}] * 3
    assert len(parse_patch_request({"Operations": operations}, max_operations=3)) == 3
    with pytest.raises(ScimError) as caught:
        parse_patch_request({"Operations": operations}, max_operations=2)
    assert (caught.value.status, caught.value.scim_type) == (400, "tooMany")


# --- Entra ID (default dialect) ------------------------------------------------------------


def test_entra_user_update():
    result = patch(
        alice(),
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "alice@fabrikam.com"},
        {"op": "Replace", "path": "name.familyName", "value": "Jones"},
        {"op": "Replace", "path": "name.givenName", "value": "Alicia"},
        {"op": "Replace", "path": "userName", "value": "alice@fabrikam.com"},
        {"op": "Replace", "path": "displayName", "value": "Alicia Jones"},
        {"op": "Replace", "path": "externalId", "value": "a2"},
        {"op": "Add", "path": f"{ENTERPRISE}:employeeNumber", "value": "701984"},
        {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Tour Operations"},
    )
    assert result == {
        "userName": "alice@fabrikam.com",
        "externalId": "a2",
        "name": {"formatted": "Alice Smith", "familyName": "Jones", "givenName": "Alicia"},
        "displayName": "Alicia Jones",
        "emails": [{"value": "alice@fabrikam.com", "type": "work", "primary": True}],
        "active": True,
        ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations"},
    }


def test_entra_add_work_email_creates_it_when_missing():
    doc = {"userName": "bob"}
    result = patch(
        doc, {"op": "Add", "path": 'emails[type eq "work"].value', "value": "bob@contoso.com"}
    )
    assert result == {"userName": "bob", "emails": [{"value": "bob@contoso.com", "type": "work"}]}


def test_entra_add_work_email_sets_existing_one():
    result = patch(
        alice(), {"op": "Add", "path": 'emails[type eq "work"].value', "value": "a@new.com"}
    )
    assert result["emails"] == [{"value": "a@new.com", "type": "work", "primary": True}]


def test_entra_manager_as_bare_string():
    result = patch(alice(), {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "m-42"})
    assert result[ENTERPRISE] == {"manager": {"value": "m-42"}}
    result = patch(result, {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": "m-43"})
    assert result[ENTERPRISE] == {"manager": {"value": "m-43"}}


def test_entra_remove_manager_drops_the_emptied_extension():
    doc = {**alice(), ENTERPRISE: {"manager": {"value": "m-42"}}}
    assert patch(doc, {"op": "Remove", "path": f"{ENTERPRISE}:manager"}) == alice()


@pytest.mark.parametrize(("sent", "stored"), [("False", False), ("True", True), ("false", False)])
def test_entra_soft_delete_with_string_booleans(sent, stored):
    result = patch(alice(), {"op": "Replace", "path": "active", "value": sent})
    assert result == {**alice(), "active": stored}


# --- Entra ID with aadOptscim062020 --------------------------------------------------------


def test_entra_aadoptscim_pathless_replace_with_dotted_and_urn_keys():
    result = patch(
        alice(),
        {"op": "replace", "path": "active", "value": False},
        {
            "op": "replace",
            "value": {
                "displayName": "Alicia",
                "name.givenName": "Alicia",
                f"{ENTERPRISE}:employeeNumber": "42",
                f"{ENTERPRISE}:manager": "m-1",
            },
        },
    )
    assert result == {
        **alice(),
        "active": False,
        "displayName": "Alicia",
        "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alicia"},
        ENTERPRISE: {"employeeNumber": "42", "manager": {"value": "m-1"}},
    }


def test_pathless_core_urn_and_extension_object_keys():
    result = patch(
        alice(),
        {
            "op": "replace",
            "value": {
                "urn:ietf:params:scim:schemas:core:2.0:User:userName": "al",
                ENTERPRISE: {"department": "R&D", "manager": {"value": "m", "displayName": "M"}},
                "urn:ietf:params:scim:schemas:core:2.0:User": {"nickName": "Al"},
            },
        },
    )
    assert result == {
        **alice(),
        "userName": "al",
        "nickName": "Al",
        ENTERPRISE: {"department": "R&D", "manager": {"value": "m"}},
    }


# --- Microsoft's validator -----------------------------------------------------------------


def test_validator_home_email_sub_attributes():
    result = patch(
        alice(),
        {"op": "add", "path": 'emails[type eq "home"].value', "value": "al@home.net"},
        {"op": "add", "path": 'emails[type eq "home"].display', "value": "Home"},
        {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True},
    )
    assert result["emails"] == [
        {"value": "alice@contoso.com", "type": "work", "primary": False},
        {"value": "al@home.net", "display": "Home", "type": "home", "primary": True},
    ]


def test_validator_pathless_add_with_dotted_keys():
    result = patch(
        {"userName": "v"},
        {
            "op": "add",
            "value": {
                "name.givenName": "Val",
                "name.familyName": "Idator",
                'emails[type eq "work"].value': "v@x.org",
                "title": "QA",
            },
        },
    )
    assert result == {
        "userName": "v",
        "name": {"givenName": "Val", "familyName": "Idator"},
        "emails": [{"value": "v@x.org", "type": "work"}],
        "title": "QA",
    }


# --- Okta, Keycloak, OneLogin --------------------------------------------------------------


def test_okta_pathless_deactivate_and_reactivate():
    deactivated = patch(alice(), {"op": "replace", "value": {"active": False}})
    assert deactivated == {**alice(), "active": False}
    assert patch(deactivated, {"op": "replace", "value": {"active": True}}) == alice()


def test_okta_group_rename_with_its_own_id():
    group = {"displayName": "Eng", "externalId": "okta-g"}
    result = patch(
        group,
        {"op": "replace", "value": {"id": GROUP_ID, "displayName": "Engineering"}},
        rt=GROUP_RESOURCE,
        resource_id=GROUP_ID,
    )
    assert result == {"displayName": "Engineering", "externalId": "okta-g"}


def test_okta_group_rename_with_another_id_is_mutability():
    error = scim_error(
        {"displayName": "Eng"},
        {"op": "replace", "value": {"id": "other", "displayName": "Engineering"}},
        rt=GROUP_RESOURCE,
        resource_id=GROUP_ID,
    )
    assert error.scim_type == "mutability"


@pytest.mark.parametrize(("sent", "stored"), [("true", True), ("false", False)])
def test_keycloak_and_onelogin_string_active(sent, stored):
    assert patch(alice(), {"op": "replace", "path": "active", "value": sent})["active"] is stored
    assert patch(alice(), {"op": "replace", "value": {"active": sent}})["active"] is stored


def test_keycloak_group_fields():
    result = patch(
        {"displayName": "kc", "externalId": "k1"},
        {"op": "replace", "path": "displayName", "value": "kc2"},
        {"op": "replace", "path": "externalId", "value": "k2"},
        rt=GROUP_RESOURCE,
    )
    assert result == {"displayName": "kc2", "externalId": "k2"}


def test_onelogin_single_email_object_for_a_list():
    result = patch(
        alice(), {"op": "replace", "value": {"emails": {"value": "a@one.com", "type": "work"}}}
    )
    assert result["emails"] == [{"value": "a@one.com", "type": "work"}]


# --- RFC 7644 §3.5.2 examples --------------------------------------------------------------


def test_rfc_add_pathless_appends_email_and_sets_nickname():
    """§3.5.2.1: the value is a set of attributes to add."""
    result = patch(
        alice(),
        {
            "op": "add",
            "value": {
                "emails": [{"value": "babs@jensen.org", "type": "home"}],
                "nickName": "Babs",
            },
        },
    )
    assert result == {
        **alice(),
        "emails": [
            {"value": "alice@contoso.com", "type": "work", "primary": True},
            {"value": "babs@jensen.org", "type": "home"},
        ],
        "nickName": "Babs",
    }


def test_rfc_add_existing_value_changes_nothing():
    """§3.5.2.1: a value already present is not added twice."""
    email = {"op": "add", "path": "emails", "value": [alice()["emails"][0]]}
    assert patch(alice(), email) == alice()


def test_rfc_add_complex_merges_sub_attributes():
    result = patch(alice(), {"op": "add", "path": "name", "value": {"middleName": "Q"}})
    assert result["name"] == {
        "formatted": "Alice Smith",
        "familyName": "Smith",
        "givenName": "Alice",
        "middleName": "Q",
    }


def test_rfc_remove_emails_by_complex_filter():
    """§3.5.2.2: `emails[type eq "work" and value ew "example.com"]`."""
    doc = {
        "userName": "b",
        "emails": [
            {"value": "b@example.com", "type": "work"},
            {"value": "b@jensen.org", "type": "work"},
            {"value": "b@example.com", "type": "home"},
        ],
    }
    result = patch(
        doc, {"op": "remove", "path": 'emails[type eq "work" and value ew "example.com"]'}
    )
    assert result["emails"] == [
        {"value": "b@jensen.org", "type": "work"},
        {"value": "b@example.com", "type": "home"},
    ]


def test_rfc_remove_last_matching_value_unassigns_the_attribute():
    assert patch(alice(), {"op": "remove", "path": 'emails[type eq "work"]'}) == {
        k: v for k, v in alice().items() if k != "emails"
    }


def test_remove_with_no_match_is_a_no_op():
    assert patch(alice(), {"op": "remove", "path": 'emails[type eq "home"]'}) == alice()
    assert patch(alice(), {"op": "remove", "path": "nickName"}) == alice()


def test_remove_sub_attribute_of_matching_elements():
    result = patch(alice(), {"op": "remove", "path": 'emails[type eq "work"].primary'})
    assert result["emails"] == [{"value": "alice@contoso.com", "type": "work"}]


def test_rfc_replace_pathless_replaces_the_email_list():
    """§3.5.2.3: a multi-valued attribute in a path-less replace is replaced whole."""
    result = patch(
        alice(),
        {
            "op": "replace",
            "value": {
                "emails": [
                    {"value": "bjensen@example.com", "type": "work", "primary": True},
                    {"value": "babs@jensen.org", "type": "home"},
                ],
                "nickName": "Babs",
            },
        },
    )
    assert result["emails"] == [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ]
    assert result["nickName"] == "Babs"


def test_rfc_replace_matching_address_record_and_sub_attribute():
    doc = {
        "userName": "b",
        "addresses": [
            {"streetAddress": "100 Old St", "locality": "Hollywood", "type": "work"},
            {"streetAddress": "1 Home Rd", "type": "home"},
        ],
    }
    work = {
        "type": "work",
        "streetAddress": "911 Universal City Plaza",
        "locality": "Hollywood",
        "region": "CA",
        "postalCode": "91608",
        "country": "US",
        "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
        "primary": True,
    }
    result = patch(doc, {"op": "replace", "path": 'addresses[type eq "work"]', "value": work})
    assert result["addresses"][0] == work
    result = patch(
        result,
        {"op": "replace", "path": 'addresses[type eq "work"].streetAddress', "value": "1010 Main"},
    )
    assert result["addresses"] == [
        {**work, "streetAddress": "1010 Main"},
        {"streetAddress": "1 Home Rd", "type": "home"},
    ]


def test_replace_matching_record_keeps_the_selected_sub_attributes():
    result = patch(
        alice(), {"op": "replace", "path": 'emails[type eq "work"]', "value": {"value": "n@x"}}
    )
    assert result["emails"] == [{"value": "n@x", "type": "work"}]


def test_rfc_replace_with_filter_matching_nothing_is_no_target():
    error = scim_error(
        alice(), {"op": "replace", "path": 'emails[value ew ".org"].value', "value": "x@y.org"}
    )
    assert (error.status, error.scim_type) == (400, "noTarget")


def test_replace_with_simple_filter_matching_nothing_creates_the_element():
    result = patch(
        alice(), {"op": "replace", "path": 'emails[type eq "home"].value', "value": "h@x"}
    )
    assert result["emails"][1] == {"value": "h@x", "type": "home"}


def test_rfc_replace_of_missing_attribute_adds_it():
    assert patch(alice(), {"op": "replace", "path": "title", "value": "CTO"})["title"] == "CTO"


def test_replace_complex_merges_like_add():
    result = patch(alice(), {"op": "replace", "path": "name", "value": {"givenName": "Al"}})
    assert result["name"] == {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Al"}


def test_replace_complex_with_null_sub_attribute_removes_only_that_one():
    result = patch(alice(), {"op": "replace", "path": "name", "value": {"givenName": None}})
    assert result["name"] == {"formatted": "Alice Smith", "familyName": "Smith"}
    result = patch(alice(), {"op": "replace", "value": {"name": {"formatted": None}}})
    assert result["name"] == {"familyName": "Smith", "givenName": "Alice"}


def test_replace_manager_with_only_read_only_display_name_changes_nothing():
    doc = {**alice(), ENTERPRISE: {"manager": {"value": "m-1"}}}
    operation = {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"displayName": "B"}}
    assert patch(doc, operation) == doc
    operation = {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": None}}
    assert patch(doc, operation) == alice()


def test_replace_with_null_removes_and_empty_string_is_a_value():
    assert "title" not in patch({**alice(), "title": "x"}, {"op": "replace", "path": "title"})
    result = patch(alice(), {"op": "replace", "path": "title", "value": None})
    assert "title" not in result
    assert patch(alice(), {"op": "replace", "path": "title", "value": ""})["title"] == ""
    assert "emails" not in patch(alice(), {"op": "replace", "path": "emails", "value": []})


def test_remove_name_sub_attributes_until_empty():
    doc = {"userName": "u", "name": {"givenName": "G"}}
    assert patch(doc, {"op": "remove", "path": "name.givenName"}) == {"userName": "u"}


# --- remove by value list, primary --------------------------------------------------------


def test_remove_emails_listed_by_value_ignores_case_and_other_sub_attributes():
    doc = {
        "userName": "u",
        "emails": [{"value": "A@B.com", "type": "work"}, {"value": "c@d.com", "type": "home"}],
    }
    result = patch(
        doc, {"op": "remove", "path": "emails", "value": [{"value": "a@b.com", "type": "x"}]}
    )
    assert result["emails"] == [{"value": "c@d.com", "type": "home"}]


def test_new_primary_demotes_the_others():
    result = patch(
        alice(),
        {
            "op": "add",
            "path": "emails",
            "value": [{"value": "n@x", "type": "home", "primary": True}],
        },
    )
    assert result["emails"] == [
        {"value": "alice@contoso.com", "type": "work", "primary": False},
        {"value": "n@x", "type": "home", "primary": True},
    ]


# --- mutability, required, unknown attributes ---------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "remove", "path": "userName"},
        {"op": "replace", "path": "userName", "value": None},
        {"op": "replace", "value": {"userName": None}},
    ],
)
def test_removing_the_required_user_name_is_mutability(operation):
    error = scim_error(alice(), operation)
    assert (error.status, error.scim_type) == (400, "mutability")


def test_required_attribute_may_be_removed_and_set_again_in_one_request():
    result = patch(
        alice(),
        {"op": "remove", "path": "userName"},
        {"op": "add", "path": "userName", "value": "new"},
    )
    assert result["userName"] == "new"


def test_removing_group_display_name_is_mutability():
    error = scim_error(
        {"displayName": "Eng"}, {"op": "remove", "path": "displayName"}, rt=GROUP_RESOURCE
    )
    assert error.scim_type == "mutability"


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": "groups", "value": [{"value": GROUP_ID}]},
        {"op": "remove", "path": "groups"},
        {"op": "replace", "value": {"groups": []}},
        {"op": "replace", "path": "id", "value": "x"},
        {"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"},
        {"op": "replace", "path": f"{ENTERPRISE}:manager.displayName", "value": "Boss"},
        {"op": "replace", "value": {"id": "someone-else"}},
    ],
)
def test_read_only_targets_are_mutability(operation):
    error = scim_error(alice(), operation, resource_id=USER_ID)
    assert (error.status, error.scim_type) == (400, "mutability")


def test_pathless_ignores_own_id_schemas_meta_and_unknown_schemas():
    result = patch(
        alice(),
        {
            "op": "replace",
            "value": {
                "id": USER_ID,
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "meta": {"resourceType": "User"},
                "urn:example:params:scim:schemas:extension:custom:2.0:User": {"badge": "7"},
                "urn:example:custom:badge": "7",
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/User": {},
                "title": "CTO",
            },
        },
        resource_id=USER_ID,
    )
    assert result == {**alice(), "title": "CTO"}


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": "favouriteColour", "value": "blue"},
        {"op": "add", "path": "name.nickname", "value": "x"},
        {"op": "add", "path": "urn:example:custom:2.0:User:badge", "value": "x"},
        {"op": "remove", "path": 'emails[colour eq "red"]'},
        {"op": "add", "path": 'userName[value eq "x"]', "value": "y"},
        {"op": "add", "path": 'emails[type eq "work"].colour', "value": "y"},
        {"op": "replace", "value": {"favouriteColour": "blue"}},
    ],
)
def test_unknown_attributes_and_bad_filters_are_invalid_path(operation):
    error = scim_error(alice(), operation)
    assert (error.status, error.scim_type) == (400, "invalidPath")


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "active", "value": "maybe"},
        {"op": "replace", "path": "userName", "value": 7},
        {"op": "replace", "path": "name", "value": "Alice"},
        {"op": "replace", "value": {ENTERPRISE: "not an object"}},
    ],
)
def test_values_of_the_wrong_type_are_invalid_value(operation):
    error = scim_error(alice(), operation)
    assert (error.status, error.scim_type) == (400, "invalidValue")


def test_password_is_accepted_and_dropped():
    result = patch(
        alice(),
        {"op": "replace", "path": "password", "value": "hunter2"},
        {"op": "replace", "value": {"password": "hunter3", "title": "x"}},
    )
    assert result == {**alice(), "title": "x"}


def test_add_with_non_equality_filter_matching_nothing_is_no_target():
    error = scim_error(alice(), {"op": "add", "path": 'emails[type ne "work"].value', "value": "x"})
    assert error.scim_type == "noTarget"


IMMUTABLE_RT = ResourceType(
    id="Thing",
    name="Thing",
    endpoint="/Things",
    description="",
    schema=Schema(
        id="urn:example:Thing",
        name="Thing",
        description="",
        attributes=(
            Attribute(name="serial", mutability="immutable"),
            Attribute(name="note"),
        ),
    ),
)


def test_immutable_value_can_be_set_once_but_not_changed():
    set_once = patch({}, {"op": "add", "path": "serial", "value": "s1"}, rt=IMMUTABLE_RT)
    assert set_once == {"serial": "s1"}
    assert (
        patch(set_once, {"op": "replace", "path": "serial", "value": "s1"}, rt=IMMUTABLE_RT)
        == set_once
    )
    for operation in (
        {"op": "replace", "path": "serial", "value": "s2"},
        {"op": "remove", "path": "serial"},
    ):
        assert scim_error(set_once, operation, rt=IMMUTABLE_RT).scim_type == "mutability"


def test_operations_built_by_hand_are_checked():
    with pytest.raises(ScimError) as caught:
        apply_patch(alice(), [PatchOperation("merge", None, {})], USER_RESOURCE)
    assert caught.value.scim_type == "invalidSyntax"
    with pytest.raises(ScimError) as caught:
        apply_patch(alice(), [PatchOperation("remove", None, None)], USER_RESOURCE)
    assert caught.value.scim_type == "noTarget"

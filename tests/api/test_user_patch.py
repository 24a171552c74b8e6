"""PATCH /Users/{id} through the live server (RFC 7644 §3.5.2), in every IdP dialect of
shared/idp-dialects.md, on both backends. Each change is checked by a following GET, as
Microsoft's validator does."""

from __future__ import annotations

import pytest

from tests.support.scim_data import (
    ENTERPRISE_URN,
    PATCH_URN,
    USER_URN,
    assert_scim_error,
    patch_body,
    unique_name,
    user_body,
)

DEPARTMENT = f"{ENTERPRISE_URN}:department"
EMPLOYEE_NUMBER = f"{ENTERPRISE_URN}:employeeNumber"
MANAGER = f"{ENTERPRISE_URN}:manager"


async def new_user(scim, **extra) -> dict:
    response = await scim.post("/Users", user_body(**extra))
    assert response.status == 201, response
    return response.json


async def patched(scim, user: dict, *operations: dict, body: dict | None = None, **kw) -> dict:
    """PATCH, expect 200 with the resource, and return what a GET shows afterwards (which
    must equal the PATCH answer)."""
    response = await scim.patch(f"/Users/{user['id']}", body or patch_body(*operations), **kw)
    assert response.status == 200, response
    fetched = await scim.get(f"/Users/{user['id']}")
    assert fetched.json == response.json
    assert response.headers["ETag"] == response.json["meta"]["version"]
    return fetched.json


# -- add / replace / remove, with and without a path ------------------------------------------


async def test_add_replace_remove_with_a_path(scim):
    user = await new_user(scim)
    after_add = await patched(scim, user, {"op": "add", "path": "title", "value": "Engineer"})
    assert after_add["title"] == "Engineer"
    after_replace = await patched(scim, user, {"op": "replace", "path": "title", "value": "Lead"})
    assert after_replace["title"] == "Lead"
    after_remove = await patched(scim, user, {"op": "remove", "path": "title"})
    assert "title" not in after_remove


async def test_add_and_replace_without_a_path(scim):
    user = await new_user(scim)
    after_add = await patched(
        scim, user, {"op": "add", "value": {"nickName": "Bob", "title": "Dev"}}
    )
    assert (after_add["nickName"], after_add["title"]) == ("Bob", "Dev")
    after_replace = await patched(scim, user, {"op": "replace", "value": {"title": "CTO"}})
    assert (after_replace["nickName"], after_replace["title"]) == ("Bob", "CTO")


async def test_name_given_name_changes_only_that_part(scim):
    user = await new_user(
        scim, name={"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"}
    )
    after = await patched(scim, user, {"op": "replace", "path": "name.givenName", "value": "Anna"})
    assert after["name"] == {"givenName": "Anna", "familyName": "Lee", "formatted": "Ann Lee"}
    after = await patched(scim, user, {"op": "Add", "path": "name.middleName", "value": "J"})
    assert after["name"]["middleName"] == "J"
    after = await patched(scim, user, {"op": "remove", "path": "name.formatted"})
    assert "formatted" not in after["name"]


async def test_work_email_value_by_filter_path(scim):
    user = await new_user(scim)
    new_address = unique_name("work")
    after = await patched(
        scim,
        user,
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": new_address},
    )
    assert after["emails"] == [{"value": new_address, "type": "work", "primary": True}]


async def test_entra_add_on_work_email_creates_the_entry(scim):
    body = user_body()
    del body["emails"]
    response = await scim.post("/Users", body)
    user = response.json
    address = unique_name("entra")
    after = await patched(
        scim, user, {"op": "Add", "path": 'emails[type eq "work"].value', "value": address}
    )
    assert after["emails"] == [{"value": address, "type": "work"}]
    after = await patched(
        scim, user, {"op": "add", "path": 'emails[type eq "home"].value', "value": "h@x.com"}
    )
    assert after["emails"] == [
        {"value": address, "type": "work"},
        {"value": "h@x.com", "type": "home"},
    ]
    after = await patched(
        scim, user, {"op": "add", "path": 'emails[type eq "home"].primary', "value": True}
    )
    assert after["emails"][1] == {"value": "h@x.com", "type": "home", "primary": True}
    found = await scim.get(
        "/Users", params={"filter": f'emails[type eq "work"].value eq "{address}"'}
    )
    assert [r["id"] for r in found.json["Resources"]] == [user["id"]]


async def test_remove_one_element_by_filter_and_a_whole_multi_valued_attribute(scim):
    user = await new_user(
        scim,
        emails=[{"value": "w@x.com", "type": "work"}, {"value": "h@x.com", "type": "home"}],
        phoneNumbers=[{"value": "+1 555", "type": "work"}],
    )
    after = await patched(scim, user, {"op": "remove", "path": 'emails[type eq "home"]'})
    assert after["emails"] == [{"value": "w@x.com", "type": "work"}]
    after = await patched(
        scim, user, {"op": "remove", "path": "emails"}, {"op": "remove", "path": "phoneNumbers"}
    )
    assert "emails" not in after and "phoneNumbers" not in after
    gone = await scim.get("/Users", params={"filter": 'emails.value eq "w@x.com"'})
    assert user["id"] not in [r["id"] for r in gone.json["Resources"]]


async def test_add_to_a_multi_valued_attribute_appends(scim):
    user = await new_user(scim, roles=[{"value": "reader"}])
    after = await patched(
        scim,
        user,
        {"op": "add", "path": "roles", "value": [{"value": "writer"}, {"value": "reader"}]},
    )
    assert after["roles"] == [{"value": "reader"}, {"value": "writer"}]
    after = await patched(
        scim, user, {"op": "replace", "path": "roles", "value": [{"value": "admin"}]}
    )
    assert after["roles"] == [{"value": "admin"}]


async def test_urn_qualified_extension_paths(scim):
    user = await new_user(scim)
    after = await patched(
        scim,
        user,
        {"op": "Add", "path": DEPARTMENT, "value": "Research"},
        {"op": "Replace", "path": EMPLOYEE_NUMBER, "value": "00042"},
    )
    assert after[ENTERPRISE_URN] == {"employeeNumber": "00042", "department": "Research"}
    assert ENTERPRISE_URN in after["schemas"]
    after = await patched(
        scim, user, {"op": "replace", "path": DEPARTMENT.upper(), "value": "Sales"}
    )
    assert after[ENTERPRISE_URN]["department"] == "Sales"
    after = await patched(
        scim, user, {"op": "remove", "path": DEPARTMENT}, {"op": "remove", "path": EMPLOYEE_NUMBER}
    )
    assert ENTERPRISE_URN not in after
    assert after["schemas"] == [USER_URN]


async def test_entra_bare_string_manager(scim):
    manager = await new_user(scim)
    user = await new_user(scim)
    after = await patched(scim, user, {"op": "Add", "path": MANAGER, "value": manager["id"]})
    assert after[ENTERPRISE_URN]["manager"]["value"] == manager["id"]
    other = await new_user(scim)
    after = await patched(
        scim, user, {"op": "replace", "path": MANAGER, "value": {"value": other["id"]}}
    )
    assert after[ENTERPRISE_URN]["manager"]["value"] == other["id"]
    after = await patched(
        scim, user, {"op": "replace", "path": f"{MANAGER}.value", "value": manager["id"]}
    )
    assert after[ENTERPRISE_URN]["manager"]["value"] == manager["id"]


async def test_pathless_value_with_dotted_and_urn_keys(scim):
    """Entra with aadOptscim062020 (a query flag the server must ignore)."""
    user = await new_user(scim, name={"familyName": "Doe"})
    response = await scim.patch(
        f"/Users/{user['id']}?aadOptscim062020",
        patch_body(
            {
                "op": "replace",
                "value": {
                    "displayName": "Jane Doe",
                    "name.givenName": "Jane",
                    EMPLOYEE_NUMBER: "77",
                    f"{ENTERPRISE_URN}:manager.value": "mgr-1",
                },
            }
        ),
    )
    assert response.status == 200, response
    after = response.json
    assert after["displayName"] == "Jane Doe"
    assert after["name"] == {"familyName": "Doe", "givenName": "Jane"}
    assert after[ENTERPRISE_URN]["employeeNumber"] == "77"
    assert after[ENTERPRISE_URN]["manager"]["value"] == "mgr-1"
    nested = await patched(
        scim, user, {"op": "add", "value": {ENTERPRISE_URN: {"department": "Ops"}}}
    )
    assert nested[ENTERPRISE_URN]["department"] == "Ops"
    assert nested[ENTERPRISE_URN]["employeeNumber"] == "77"


# -- deactivation in every dialect ---------------------------------------------------------


ACTIVE_DIALECTS = [
    pytest.param(
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Replace", "path": "active", "value": "True"},
        id="entra-strings",
    ),
    pytest.param(
        {"op": "replace", "path": "active", "value": False},
        {"op": "replace", "path": "active", "value": True},
        id="entra-flag-booleans",
    ),
    pytest.param(
        {"op": "replace", "value": {"active": False}},
        {"op": "replace", "value": {"active": True}},
        id="okta-pathless",
    ),
    pytest.param(
        {"op": "replace", "path": "active", "value": "false"},
        {"op": "replace", "path": "active", "value": "true"},
        id="keycloak-strings",
    ),
    pytest.param(
        {"op": "REPLACE", "path": "ACTIVE", "value": "FALSE"},
        {"op": "ADD", "path": "Active", "value": "TRUE"},
        id="shouting",
    ),
    pytest.param(
        {"op": "Replace", "value": {"Active": "False"}},
        {"op": "Add", "value": {"active": "True"}},
        id="pathless-strings",
    ),
]


@pytest.mark.parametrize(("deactivate", "reactivate"), ACTIVE_DIALECTS)
async def test_deactivate_and_reactivate_in_every_dialect(scim, deactivate, reactivate):
    user = await new_user(scim)
    after = await patched(scim, user, deactivate)
    assert after["active"] is False
    assert after["userName"] == user["userName"]  # the rest of the user is untouched
    after = await patched(scim, user, reactivate)
    assert after["active"] is True


async def test_operations_before_schemas_and_without_schemas(scim):
    user = await new_user(scim)
    reordered = {
        "Operations": [{"op": "add", "path": "title", "value": "A"}],
        "schemas": [PATCH_URN],
    }
    assert (await patched(scim, user, body=reordered))["title"] == "A"
    bare = {"operations": [{"OP": "Replace", "PATH": "title", "VALUE": "B"}]}
    assert (await patched(scim, user, body=bare))["title"] == "B"


async def test_okta_echoes_its_own_id_in_a_pathless_replace(scim):
    user = await new_user(scim)
    after = await patched(
        scim, user, {"op": "replace", "value": {"id": user["id"], "displayName": "Okta"}}
    )
    assert after["displayName"] == "Okta"
    other = await scim.patch(
        f"/Users/{user['id']}", patch_body({"op": "replace", "value": {"id": "someone-else"}})
    )
    assert_scim_error(other, 400, "mutability")


# -- what the answer looks like -----------------------------------------------------------------


async def test_prefer_return_minimal_gives_204(scim):
    user = await new_user(scim)
    response = await scim.patch(
        f"/Users/{user['id']}",
        patch_body({"op": "add", "path": "title", "value": "Quiet"}),
        headers={"Prefer": "return=minimal"},
    )
    assert response.status == 204 and not response.body
    fetched = await scim.get(f"/Users/{user['id']}")
    assert fetched.json["title"] == "Quiet"
    assert response.headers["ETag"] == fetched.json["meta"]["version"]


async def test_a_failing_operation_changes_nothing(scim):
    user = await new_user(scim)
    response = await scim.patch(
        f"/Users/{user['id']}",
        patch_body(
            {"op": "add", "path": "title", "value": "never stored"},
            {"op": "replace", "path": "noSuchAttribute", "value": 1},
        ),
    )
    assert_scim_error(response, 400, "invalidPath")
    fetched = await scim.get(f"/Users/{user['id']}")
    assert "title" not in fetched.json
    assert fetched.json["meta"]["version"] == user["meta"]["version"]


# -- invalid PATCH requests -------------------------------------------------------------------

INVALID = [
    pytest.param(
        {"op": "replace", "path": "noSuchAttribute", "value": "x"},
        "invalidPath",
        id="unknown-attribute",
    ),
    pytest.param(
        {"op": "replace", "path": "name.noSuchPart", "value": "x"},
        "invalidPath",
        id="unknown-sub-attribute",
    ),
    pytest.param(
        {"op": "replace", "path": "urn:example:unknown:Schema:attr", "value": "x"},
        "invalidPath",
        id="unknown-schema",
    ),
    pytest.param(
        {"op": "replace", "path": 'emails[type eq "work"', "value": "x"},
        "invalidPath",
        id="unclosed-filter",
    ),
    pytest.param(
        {"op": "replace", "path": 'emails[value co "zzz-none"].value', "value": "x"},
        "noTarget",
        id="no-matching-element",
    ),
    pytest.param({"op": "remove"}, "noTarget", id="remove-without-path"),
    pytest.param(
        {"op": "replace", "path": "active", "value": "maybe"}, "invalidValue", id="active-maybe"
    ),
    pytest.param(
        {"op": "replace", "path": "userName", "value": 5}, "invalidValue", id="user-name-number"
    ),
    pytest.param({"op": "replace", "path": "name", "value": []}, "invalidValue", id="name-list"),
    pytest.param({"op": "add", "path": "title"}, "invalidValue", id="add-without-value"),
    pytest.param({"op": "replace", "value": "not an object"}, "invalidValue", id="pathless-string"),
    pytest.param({"op": "remove", "path": "userName"}, "mutability", id="remove-required"),
    pytest.param(
        {"op": "add", "path": "groups", "value": [{"value": "g1"}]}, "mutability", id="groups"
    ),
    pytest.param({"op": "replace", "path": "id", "value": "new-id"}, "mutability", id="id"),
    pytest.param(
        {"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"},
        "mutability",
        id="meta",
    ),
    pytest.param({"op": "move", "path": "title", "value": "x"}, "invalidSyntax", id="unknown-op"),
]


@pytest.mark.parametrize(("operation", "scim_type"), INVALID)
async def test_invalid_patch_is_400(scim, operation, scim_type):
    user = await new_user(scim)
    response = await scim.patch(f"/Users/{user['id']}", patch_body(operation))
    assert_scim_error(response, 400, scim_type)
    unchanged = await scim.get(f"/Users/{user['id']}")
    assert unchanged.json["meta"]["version"] == user["meta"]["version"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"schemas": [PATCH_URN]}, id="no-operations"),
        pytest.param({"schemas": [PATCH_URN], "Operations": []}, id="empty-operations"),
        pytest.param({"schemas": [PATCH_URN], "Operations": {"op": "add"}}, id="operations-object"),
        pytest.param({"schemas": [PATCH_URN], "Operations": ["add"]}, id="operation-string"),
        pytest.param(
            {"schemas": [USER_URN], "Operations": [{"op": "add", "path": "title", "value": "x"}]},
            id="wrong-schema",
        ),
        pytest.param([{"op": "add", "path": "title", "value": "x"}], id="array-body"),
    ],
)
async def test_malformed_patch_body_is_invalid_syntax(scim, body):
    user = await new_user(scim)
    response = await scim.patch(f"/Users/{user['id']}", body)
    assert_scim_error(response, 400, "invalidSyntax")

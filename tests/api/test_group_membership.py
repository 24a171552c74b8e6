"""Team membership through PATCH and PUT in every IdP dialect (shared/idp-dialects.md), with
no phantom users, no nested groups and idempotent adds and removes (RFC 7644 §3.5.2)."""

from __future__ import annotations

import pytest

from tests.support.provisioning_data import (
    create_group,
    create_user,
    group_body,
    member_ids,
    patch_body,
    unique,
)


async def users(scim, count: int) -> list[str]:
    return [(await create_user(scim))["id"] for _ in range(count)]


async def patch_group(scim, group_id: str, *operations: dict, **kw):
    return await scim.patch(f"/Groups/{group_id}", patch_body(*operations), **kw)


async def members_now(scim, group_id: str) -> set[str]:
    response = await scim.get(f"/Groups/{group_id}")
    assert response.status == 200, response
    return member_ids(response.json)


# -- Entra ID ---------------------------------------------------------------------------------


async def test_entra_adds_and_removes_members_with_value_lists(scim):
    a, b, c = await users(scim, 3)
    group = await create_group(scim)
    added = await patch_group(
        scim,
        group["id"],
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": i} for i in (a, b, c)]},
    )
    assert added.status == 200, added
    assert member_ids(added.json) == {a, b, c}
    removed = await patch_group(
        scim, group["id"], {"op": "Remove", "path": "members", "value": [{"value": b}]}
    )
    assert removed.status == 200, removed
    assert member_ids(removed.json) == {a, c}
    assert await members_now(scim, group["id"]) == {a, c}


async def test_entra_gets_204_when_it_prefers_minimal(scim):
    [a] = await users(scim, 1)
    group = await create_group(scim)
    response = await patch_group(
        scim,
        group["id"],
        {"op": "Add", "path": "members", "value": [{"value": a}]},
        headers={"Prefer": "return=minimal"},
    )
    assert response.status == 204, response
    assert response.body == b""
    assert response.headers["ETag"] != group["meta"]["version"]
    assert await members_now(scim, group["id"]) == {a}


async def test_entra_optscim_removes_by_filter_path_without_value(scim):
    a, b = await users(scim, 2)
    group = await create_group(scim, member_ids=[a, b])
    response = await scim.patch(
        f"/Groups/{group['id']}?aadOptscim062020",
        patch_body({"op": "remove", "path": f'members[value eq "{a}"]'}),
    )
    assert response.status == 200, response
    assert await members_now(scim, group["id"]) == {b}


async def test_entra_replace_display_name_keeps_members(scim):
    [a] = await users(scim, 1)
    group = await create_group(scim, member_ids=[a])
    name = unique("Entra")
    response = await patch_group(
        scim, group["id"], {"op": "Replace", "path": "displayName", "value": name}
    )
    assert response.status == 200
    assert response.json["displayName"] == name
    assert member_ids(response.json) == {a}


# -- Okta -------------------------------------------------------------------------------------


async def test_okta_group_push_with_prefilled_members(scim):
    a, b = await users(scim, 2)
    response = await scim.post(
        "/Groups",
        {"displayName": unique("Okta"), "members": [{"value": a, "display": "A"}, {"value": b}]},
    )
    assert response.status == 201, response
    assert member_ids(response.json) == {a, b}


async def test_okta_membership_change_with_rename_carrying_the_id(scim):
    a, b, c = await users(scim, 3)
    group = await create_group(scim, member_ids=[a, b])
    name = unique("OktaRenamed")
    response = await patch_group(
        scim,
        group["id"],
        {"op": "replace", "value": {"id": group["id"], "displayName": name}},
        {"op": "remove", "path": f'members[value eq "{a}"]'},
        {"op": "add", "path": "members", "value": [{"value": c, "display": "C"}]},
    )
    assert response.status == 200, response
    assert response.json["displayName"] == name
    assert member_ids(response.json) == {b, c}


async def test_okta_pathless_replace_with_another_id_is_refused(scim):
    [a] = await users(scim, 1)
    other = await create_group(scim)
    group = await create_group(scim, member_ids=[a])
    response = await patch_group(
        scim,
        group["id"],
        {"op": "replace", "value": {"id": other["id"], "displayName": unique("Nope")}},
    )
    assert response.status == 400, response
    assert response.json["scimType"] == "mutability"
    fetched = (await scim.get(f"/Groups/{group['id']}")).json
    assert fetched["displayName"] == group["displayName"]
    assert member_ids(fetched) == {a}


async def test_okta_replace_members_sets_the_list(scim):
    a, b, c = await users(scim, 3)
    group = await create_group(scim, member_ids=[a, b])
    response = await patch_group(
        scim,
        group["id"],
        {"op": "replace", "path": "members", "value": [{"value": b}, {"value": c}]},
    )
    assert response.status == 200, response
    assert await members_now(scim, group["id"]) == {b, c}


async def test_okta_wizard_put_with_the_whole_group(scim):
    a, b = await users(scim, 2)
    group = await create_group(scim, member_ids=[a])
    fetched = (await scim.get(f"/Groups/{group['id']}")).json
    fetched["members"].append({"value": b, "display": "B"})
    response = await scim.put(f"/Groups/{group['id']}", fetched)
    assert response.status == 200, response
    assert await members_now(scim, group["id"]) == {a, b}
    fetched["members"] = []
    response = await scim.put(f"/Groups/{group['id']}", fetched)
    assert response.status == 200, response
    assert await members_now(scim, group["id"]) == set()


# -- Keycloak ---------------------------------------------------------------------------------


async def test_keycloak_creates_with_refs_and_puts_full_lists(scim):
    a, b, c = await users(scim, 3)
    response = await scim.post(
        "/Groups",
        {"displayName": unique("kc"), "members": [{"value": a, "$ref": f"Users/{a}"}]},
    )
    assert response.status == 201, response
    group = response.json
    put = await scim.put(
        f"/Groups/{group['id']}",
        group_body(group["displayName"], [b, c]),
    )
    assert put.status == 200, put
    assert await members_now(scim, group["id"]) == {b, c}


async def test_keycloak_patch_replaces_members_name_and_external_id(scim):
    a, b = await users(scim, 2)
    group = await create_group(scim, member_ids=[a])
    name = unique("kc")
    response = await patch_group(
        scim,
        group["id"],
        {"op": "replace", "path": "members", "value": [{"value": b}]},
        {"op": "replace", "path": "displayName", "value": name},
        {"op": "replace", "path": "externalId", "value": "kc-ext"},
    )
    assert response.status == 200, response
    assert response.json["displayName"] == name
    assert response.json["externalId"] == "kc-ext"
    assert member_ids(response.json) == {b}


async def test_remove_members_without_value_clears_the_team(scim):
    a, b = await users(scim, 2)
    group = await create_group(scim, member_ids=[a, b])
    response = await patch_group(scim, group["id"], {"op": "remove", "path": "members"})
    assert response.status == 200, response
    assert "members" not in response.json
    assert await members_now(scim, group["id"]) == set()
    assert (await scim.get(f"/Users/{a}")).status == 200


async def test_replace_members_with_empty_list_clears_the_team(scim):
    [a] = await users(scim, 1)
    group = await create_group(scim, member_ids=[a])
    response = await patch_group(
        scim, group["id"], {"op": "replace", "path": "members", "value": []}
    )
    assert response.status == 200, response
    assert await members_now(scim, group["id"]) == set()


# -- idempotence ------------------------------------------------------------------------------


async def test_adding_an_existing_member_or_removing_an_absent_one_is_a_no_op(scim):
    a, b = await users(scim, 2)
    group = await create_group(scim, member_ids=[a])
    version = (await scim.get(f"/Groups/{group['id']}")).headers["ETag"]
    again = await patch_group(
        scim, group["id"], {"op": "add", "path": "members", "value": [{"value": a}]}
    )
    assert again.status == 200, again
    absent = await patch_group(
        scim, group["id"], {"op": "remove", "path": "members", "value": [{"value": b}]}
    )
    assert absent.status == 200, absent
    absent_filter = await patch_group(
        scim, group["id"], {"op": "remove", "path": f'members[value eq "{b}"]'}
    )
    assert absent_filter.status == 200, absent_filter
    assert await members_now(scim, group["id"]) == {a}
    assert absent_filter.headers["ETag"] == version, "nothing changed, so the version stays"


async def test_add_then_remove_in_one_request_is_applied_in_order(scim):
    a, b = await users(scim, 2)
    group = await create_group(scim)
    response = await patch_group(
        scim,
        group["id"],
        {"op": "add", "path": "members", "value": [{"value": a}, {"value": b}]},
        {"op": "remove", "path": "members", "value": [{"value": a}]},
    )
    assert response.status == 200, response
    assert await members_now(scim, group["id"]) == {b}


async def test_remove_by_filter_on_display(scim):
    a = await create_user(scim, displayName=unique("Display"))
    [b] = await users(scim, 1)
    group = await create_group(scim, member_ids=[a["id"], b])
    response = await patch_group(
        scim,
        group["id"],
        {"op": "remove", "path": f'members[display eq "{a["displayName"]}"]'},
    )
    assert response.status == 200, response
    assert await members_now(scim, group["id"]) == {b}


# -- refused members --------------------------------------------------------------------------


PHANTOM = "11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize("op", ["add", "replace"])
async def test_a_member_that_is_not_a_user_is_400_naming_it(scim, op):
    [a] = await users(scim, 1)
    group = await create_group(scim, member_ids=[a])
    response = await patch_group(
        scim, group["id"], {"op": op, "path": "members", "value": [{"value": PHANTOM}]}
    )
    assert response.status == 400, response
    assert response.json["scimType"] == "invalidValue"
    assert PHANTOM in response.json["detail"]
    assert await members_now(scim, group["id"]) == {a}
    found = await scim.get("/Users", params={"filter": f'id eq "{PHANTOM}"'})
    assert found.json["totalResults"] == 0, "no phantom user may be created"


async def test_create_and_put_with_unknown_members_are_400(scim):
    created = await scim.post("/Groups", group_body(member_ids=[PHANTOM]))
    assert created.status == 400, created
    assert created.json["scimType"] == "invalidValue"
    assert PHANTOM in created.json["detail"]
    group = await create_group(scim)
    put = await scim.put(f"/Groups/{group['id']}", group_body(group["displayName"], [PHANTOM]))
    assert put.status == 400, put
    assert PHANTOM in put.json["detail"]


async def test_nested_groups_are_refused(scim):
    inner = await create_group(scim)
    group = await create_group(scim)
    by_id = await patch_group(
        scim, group["id"], {"op": "add", "path": "members", "value": [{"value": inner["id"]}]}
    )
    assert by_id.status == 400, by_id
    assert by_id.json["scimType"] == "invalidValue"
    assert inner["id"] in by_id.json["detail"]
    by_type = await scim.post(
        "/Groups",
        group_body(member_ids=[]) | {"members": [{"value": inner["id"], "type": "Group"}]},
    )
    assert by_type.status == 400, by_type
    assert by_type.json["scimType"] == "invalidValue"
    assert inner["id"] in by_type.json["detail"]
    assert await members_now(scim, group["id"]) == set()


async def test_a_member_patch_with_a_bad_shape_is_400(scim):
    group = await create_group(scim)
    for value in ([{"display": "no value"}], ["bare-string"], [{"value": 42}]):
        response = await patch_group(
            scim, group["id"], {"op": "add", "path": "members", "value": value}
        )
        assert response.status == 400, (value, response)
        assert response.json["status"] == "400"


async def test_a_failing_operation_leaves_the_whole_patch_unapplied(scim):
    a, b = await users(scim, 2)
    group = await create_group(scim, member_ids=[a])
    response = await patch_group(
        scim,
        group["id"],
        {"op": "add", "path": "members", "value": [{"value": b}]},
        {"op": "replace", "path": "displayName", "value": unique("x")},
        {"op": "add", "path": "members", "value": [{"value": PHANTOM}]},
    )
    assert response.status == 400, response
    fetched = (await scim.get(f"/Groups/{group['id']}")).json
    assert member_ids(fetched) == {a}
    assert fetched["displayName"] == group["displayName"]


async def test_patching_a_member_sub_attribute_is_refused(scim):
    [a] = await users(scim, 1)
    group = await create_group(scim, member_ids=[a])
    response = await patch_group(
        scim,
        group["id"],
        {"op": "replace", "path": f'members[value eq "{a}"].display', "value": "x"},
    )
    assert response.status == 400, response
    assert response.json["scimType"] in {"mutability", "invalidPath"}


async def test_membership_patch_on_unknown_group_is_404(scim):
    [a] = await users(scim, 1)
    response = await patch_group(
        scim,
        "00000000-0000-0000-0000-000000000000",
        {"op": "add", "path": "members", "value": [{"value": a}]},
    )
    assert response.status == 404, response

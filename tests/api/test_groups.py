"""Groups are teams (/scim/v2/Groups, RFC 7644 §3.3–3.6): the whole lifecycle, listing and
filtering, projections, ETags, discovery, name uniqueness, and users' read-only `groups`."""

from __future__ import annotations

import pytest

from tests.support.provisioning_data import (
    ERROR_SCHEMA,
    GROUP_SCHEMA,
    create_group,
    create_user,
    group_body,
    member_ids,
    patch_body,
    unique,
)

ENTRA_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


def ids_of(listing: dict) -> list[str]:
    return [resource["id"] for resource in listing["Resources"]]


async def find_groups(scim, filter_text: str, **params) -> list[str]:
    response = await scim.get("/Groups", params={"filter": filter_text, **params})
    assert response.status == 200, response
    return ids_of(response.json)


# -- lifecycle --------------------------------------------------------------------------------


async def test_create_group_as_entra_sends_it(scim):
    user = await create_user(scim)
    name = unique("Eng")
    body = {
        "schemas": [GROUP_SCHEMA, ENTRA_GROUP_SCHEMA],
        "externalId": unique("ext"),
        "displayName": name,
        "meta": {"resourceType": "Group"},
        "members": [{"$ref": None, "value": user["id"]}],
    }
    response = await scim.post("/Groups", body)
    assert response.status == 201, response
    group = response.json
    assert response.headers["Content-Type"].startswith("application/scim+json")
    assert response.headers["Location"] == group["meta"]["location"]
    assert group["meta"]["location"].endswith(f"/scim/v2/Groups/{group['id']}")
    assert response.headers["ETag"] == group["meta"]["version"]
    assert group["schemas"] == [GROUP_SCHEMA]
    assert group["displayName"] == name
    assert group["externalId"] == body["externalId"]
    assert group["meta"]["resourceType"] == "Group"
    assert group["members"] == [
        {
            "value": user["id"],
            "$ref": f"{scim.base_url}/Users/{user['id']}",
            "display": user["userName"],
            "type": "User",
        }
    ]


async def test_member_display_is_the_users_display_name_when_set(scim):
    user = await create_user(scim, displayName="Alice Example")
    group = await create_group(scim, member_ids=[user["id"]])
    assert group["members"][0]["display"] == "Alice Example"
    await scim.patch(
        f"/Users/{user['id']}",
        patch_body({"op": "replace", "path": "displayName", "value": "Alice Renamed"}),
    )
    fetched = (await scim.get(f"/Groups/{group['id']}")).json
    assert fetched["members"][0]["display"] == "Alice Renamed"


async def test_get_unknown_group_is_404_scim_error(scim):
    response = await scim.get("/Groups/00000000-0000-0000-0000-000000000000")
    assert response.status == 404
    assert response.json["schemas"] == [ERROR_SCHEMA]
    assert response.json["status"] == "404"
    assert response.json["detail"]


async def test_create_without_display_name_is_400(scim):
    response = await scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "members": []})
    assert response.status == 400, response
    assert response.json["status"] == "400"


async def test_put_replaces_name_external_id_and_members(scim):
    alice, bob, carol = [await create_user(scim) for _ in range(3)]
    group = await create_group(scim, member_ids=[alice["id"], bob["id"]], externalId="old")
    new_name = unique("Renamed")
    response = await scim.put(
        f"/Groups/{group['id']}",
        group_body(new_name, [bob["id"], carol["id"]], externalId="new"),
    )
    assert response.status == 200, response
    assert response.json["displayName"] == new_name
    assert response.json["externalId"] == "new"
    assert member_ids(response.json) == {bob["id"], carol["id"]}
    fetched = (await scim.get(f"/Groups/{group['id']}")).json
    assert fetched["displayName"] == new_name
    assert member_ids(fetched) == {bob["id"], carol["id"]}


async def test_patch_replace_display_name(scim):
    group = await create_group(scim)
    new_name = unique("Patched")
    response = await scim.patch(
        f"/Groups/{group['id']}",
        patch_body({"op": "Replace", "path": "displayName", "value": new_name}),
    )
    assert response.status == 200, response
    assert response.json["displayName"] == new_name
    assert (await scim.get(f"/Groups/{group['id']}")).json["displayName"] == new_name


async def test_delete_group(scim):
    user = await create_user(scim)
    group = await create_group(scim, member_ids=[user["id"]])
    response = await scim.delete(f"/Groups/{group['id']}")
    assert response.status == 204
    assert response.body == b""
    assert (await scim.get(f"/Groups/{group['id']}")).status == 404
    assert (await scim.delete(f"/Groups/{group['id']}")).status == 404
    assert "groups" not in (await scim.get(f"/Users/{user['id']}")).json
    assert (await scim.get(f"/Users/{user['id']}")).status == 200


# -- listing and filters ----------------------------------------------------------------------


async def test_list_pages_in_a_stable_order(scim):
    marker = unique("page")
    created = [(await create_group(scim, f"{marker}-{n}"))["id"] for n in range(5)]
    seen = []
    for start in (1, 3, 5):
        response = await scim.get(
            "/Groups",
            params={"filter": f'displayName sw "{marker}"', "startIndex": start, "count": 2},
        )
        assert response.status == 200
        listing = response.json
        assert listing["totalResults"] == 5
        assert listing["startIndex"] == start
        assert listing["itemsPerPage"] == len(listing["Resources"])
        seen += ids_of(listing)
    assert seen == created


async def test_okta_saving_settings_lists_groups(scim):
    await create_group(scim)
    response = await scim.get("/Groups", params={"startIndex": 1, "count": 100})
    assert response.status == 200
    assert isinstance(response.json["totalResults"], int)
    assert response.json["totalResults"] >= 1


async def test_filter_display_name_eq_is_case_insensitive(scim):
    name = unique("CaseTeam")
    group = await create_group(scim, name)
    assert await find_groups(scim, f'displayName eq "{name.upper()}"') == [group["id"]]
    assert await find_groups(scim, f'DISPLAYNAME EQ "{name.lower()}"') == [group["id"]]


async def test_filter_external_id_eq_is_case_exact(scim):
    external_id = unique("Ext")
    group = await create_group(scim, externalId=external_id)
    assert await find_groups(scim, f'externalId eq "{external_id}"') == [group["id"]]
    assert await find_groups(scim, f'externalId eq "{external_id.upper()}"') == []


async def test_filter_by_member(scim):
    alice, bob = await create_user(scim), await create_user(scim)
    with_alice = await create_group(scim, member_ids=[alice["id"]])
    with_both = await create_group(scim, member_ids=[alice["id"], bob["id"]])
    await create_group(scim)
    both = {with_alice["id"], with_both["id"]}
    assert set(await find_groups(scim, f'members.value eq "{alice["id"]}"')) == both
    assert set(await find_groups(scim, f'members[value eq "{alice["id"]}"]')) == both
    assert await find_groups(scim, f'members[value eq "{bob["id"]}"]') == [with_both["id"]]
    assert set(
        await find_groups(
            scim, f'members[value eq "{alice["id"]}"] and not (members.value eq "{bob["id"]}")'
        )
    ) == {with_alice["id"]}
    assert await find_groups(scim, 'members.value eq "nobody"') == []


async def test_filter_grammar_on_groups(scim):
    marker = unique("Gram")
    user = await create_user(scim)
    alpha = await create_group(scim, f"{marker}-alpha", member_ids=[user["id"]], externalId="a1")
    beta = await create_group(scim, f"{marker}-beta")
    within = f'displayName sw "{marker}"'
    assert set(await find_groups(scim, within)) == {alpha["id"], beta["id"]}
    assert await find_groups(scim, f'{within} and displayName co "ALPHA"') == [alpha["id"]]
    assert await find_groups(scim, f'{within} and displayName ew "-beta"') == [beta["id"]]
    assert set(
        await find_groups(
            scim, f'displayName eq "{marker}-alpha" or displayName eq "{marker}-beta"'
        )
    ) == {alpha["id"], beta["id"]}
    assert await find_groups(scim, f"{within} and members pr") == [alpha["id"]]
    assert await find_groups(scim, f"{within} and not (members pr)") == [beta["id"]]
    assert await find_groups(scim, f"{within} and externalId pr") == [alpha["id"]]
    assert await find_groups(scim, f'{within} and externalId ne "a1"') == [beta["id"]]
    assert await find_groups(scim, f'{within} and id eq "{beta["id"]}"') == [beta["id"]]
    assert await find_groups(scim, f'{within} and meta.resourceType eq "Group"') != []
    assert await find_groups(scim, f'{within} and members.display eq "{user["userName"]}"') == [
        alpha["id"]
    ]


async def test_filter_with_plus_encoded_query(scim):
    name = unique("Plus")
    group = await create_group(scim, name)
    query = f"filter=displayName+eq+%22{name}%22"
    response = await scim.get(f"/Groups?{query}")
    assert response.status == 200
    assert ids_of(response.json) == [group["id"]]


@pytest.mark.parametrize(
    "bad_filter",
    ['nosuch eq "x"', "displayName eq", 'displayName zz "x"', 'members[value eq "x"', "(("],
)
async def test_bad_filter_is_400_invalid_filter(scim, bad_filter):
    response = await scim.get("/Groups", params={"filter": bad_filter})
    assert response.status == 400, response
    assert response.json["scimType"] == "invalidFilter"


async def test_search_with_post(scim):
    name = unique("Searched")
    group = await create_group(scim, name)
    response = await scim.post(
        "/Groups/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": f'displayName eq "{name}"',
            "excludedAttributes": ["members"],
        },
    )
    assert response.status == 200, response
    assert ids_of(response.json) == [group["id"]]
    assert "members" not in response.json["Resources"][0]


# -- projections ------------------------------------------------------------------------------


async def test_excluded_members_as_entra_reads_groups(scim):
    user = await create_user(scim)
    name = unique("Excl")
    group = await create_group(scim, name, member_ids=[user["id"]])
    listing = await scim.get(
        "/Groups", params={"excludedAttributes": "members", "filter": f'displayName eq "{name}"'}
    )
    assert listing.status == 200
    [resource] = listing.json["Resources"]
    assert "members" not in resource
    assert resource["displayName"] == name and resource["id"] == group["id"]
    single = await scim.get(f"/Groups/{group['id']}", params={"excludedAttributes": "members"})
    assert single.status == 200
    assert "members" not in single.json
    assert single.json["meta"]["version"] == single.headers["ETag"]


async def test_attributes_selects_what_is_returned(scim):
    user = await create_user(scim)
    group = await create_group(scim, member_ids=[user["id"]], externalId="sel")
    only_name = (
        await scim.get(f"/Groups/{group['id']}", params={"attributes": "displayName"})
    ).json
    assert only_name["id"] == group["id"]
    assert only_name["displayName"] == group["displayName"]
    assert "members" not in only_name and "externalId" not in only_name
    only_members = (
        await scim.get(f"/Groups/{group['id']}", params={"attributes": "members.value"})
    ).json
    assert only_members["members"] == [{"value": user["id"]}]
    assert "displayName" not in only_members


# -- ETags (RFC 7644 §3.14) -------------------------------------------------------------------


async def test_etags_on_groups(scim):
    group = await create_group(scim)
    path = f"/Groups/{group['id']}"
    first = await scim.get(path)
    etag = first.headers["ETag"]
    assert etag == first.json["meta"]["version"]
    not_modified = await scim.get(path, headers={"If-None-Match": etag})
    assert not_modified.status == 304
    assert not_modified.body == b""
    user = await create_user(scim)
    added = await scim.patch(
        path,
        patch_body({"op": "add", "path": "members", "value": [{"value": user["id"]}]}),
        headers={"If-Match": etag},
    )
    assert added.status == 200, added
    assert added.headers["ETag"] != etag, "a membership change must change the version"
    assert (await scim.get(path, headers={"If-None-Match": etag})).status == 200
    stale = await scim.patch(
        path,
        patch_body({"op": "replace", "path": "displayName", "value": unique("x")}),
        headers={"If-Match": etag},
    )
    assert stale.status == 412, stale
    assert stale.json["status"] == "412"
    stale_put = await scim.put(path, group_body(unique("y")), headers={"If-Match": etag})
    assert stale_put.status == 412
    assert (await scim.delete(path, headers={"If-Match": etag})).status == 412
    assert (await scim.get(path)).status == 200
    current = added.headers["ETag"]
    assert (await scim.delete(path, headers={"If-Match": current})).status == 204


# -- discovery (RFC 7644 §4) ------------------------------------------------------------------


async def test_group_discovery_documents(scim):
    resource_type = await scim.get("/ResourceTypes/Group")
    assert resource_type.status == 200
    assert resource_type.json["endpoint"] == "/Groups"
    assert resource_type.json["schema"] == GROUP_SCHEMA
    schema = await scim.get(f"/Schemas/{GROUP_SCHEMA}")
    assert schema.status == 200
    attributes = {a["name"]: a for a in schema.json["attributes"]}
    assert attributes["displayName"]["required"] is True
    assert attributes["displayName"]["uniqueness"] == "server"
    members = attributes["members"]
    assert members["multiValued"] is True
    assert {s["name"] for s in members["subAttributes"]} >= {"value", "$ref", "display", "type"}
    config = (await scim.get("/ServiceProviderConfig")).json
    assert config["etag"]["supported"] is True
    assert config["patch"]["supported"] is True
    assert config["filter"]["supported"] is True
    user_schema = (await scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")).json
    groups = {a["name"]: a for a in user_schema["attributes"]}["groups"]
    assert groups["mutability"] == "readOnly"
    assert {s["name"] for s in groups["subAttributes"]} >= {"value", "$ref", "display", "type"}


# -- displayName uniqueness -------------------------------------------------------------------


async def test_display_name_is_unique_case_insensitively(scim):
    name = unique("Unique")
    await create_group(scim, name)
    clash = await scim.post("/Groups", group_body(name.upper()))
    assert clash.status == 409, clash
    assert clash.json["scimType"] == "uniqueness"
    assert clash.json["status"] == "409"


async def test_rename_onto_an_existing_name_is_409(scim):
    taken = unique("Taken")
    await create_group(scim, taken)
    group = await create_group(scim)
    by_patch = await scim.patch(
        f"/Groups/{group['id']}",
        patch_body({"op": "replace", "path": "displayName", "value": taken.lower()}),
    )
    assert by_patch.status == 409, by_patch
    assert by_patch.json["scimType"] == "uniqueness"
    by_put = await scim.put(f"/Groups/{group['id']}", group_body(taken.swapcase()))
    assert by_put.status == 409
    assert by_put.json["scimType"] == "uniqueness"
    assert (await scim.get(f"/Groups/{group['id']}")).json["displayName"] == group["displayName"]
    own_case = await scim.patch(
        f"/Groups/{group['id']}",
        patch_body({"op": "replace", "path": "displayName", "value": group["displayName"].upper()}),
    )
    assert own_case.status == 200, "renaming a group to its own name in another case is allowed"


# -- users show their teams -------------------------------------------------------------------


async def test_users_show_their_teams_in_groups(scim):
    user = await create_user(scim)
    first = await create_group(scim, member_ids=[user["id"]])
    second = await create_group(scim, member_ids=[user["id"]])
    fetched = (await scim.get(f"/Users/{user['id']}")).json
    assert sorted(fetched["groups"], key=lambda g: g["value"]) == sorted(
        [
            {
                "value": group["id"],
                "display": group["displayName"],
                "$ref": f"{scim.base_url}/Groups/{group['id']}",
                "type": "direct",
            }
            for group in (first, second)
        ],
        key=lambda g: g["value"],
    )
    renamed = unique("Renamed")
    await scim.patch(
        f"/Groups/{first['id']}",
        patch_body({"op": "replace", "path": "displayName", "value": renamed}),
    )
    displays = {g["display"] for g in (await scim.get(f"/Users/{user['id']}")).json["groups"]}
    assert renamed in displays
    listed = await scim.get("/Users", params={"filter": f'groups.value eq "{second["id"]}"'})
    assert [r["id"] for r in listed.json["Resources"]] == [user["id"]]
    assert "groups" in listed.json["Resources"][0]
    excluded = await scim.get(f"/Users/{user['id']}", params={"excludedAttributes": "groups"})
    assert "groups" not in excluded.json


async def test_users_groups_attribute_is_read_only(scim):
    user = await create_user(scim, groups=[])
    group = await create_group(scim)
    response = await scim.patch(
        f"/Users/{user['id']}",
        patch_body({"op": "add", "path": "groups", "value": [{"value": group["id"]}]}),
    )
    assert response.status == 400, response
    assert response.json["scimType"] == "mutability"
    assert "groups" not in (await scim.get(f"/Users/{user['id']}")).json
    echoed = (await scim.get(f"/Users/{user['id']}")).json
    echoed["groups"] = [{"value": group["id"]}]
    assert (await scim.put(f"/Users/{user['id']}", echoed)).status == 200
    assert "groups" not in (await scim.get(f"/Users/{user['id']}")).json

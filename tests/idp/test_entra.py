"""Microsoft Entra ID's provisioning service, replayed (shared/idp-dialects.md, "Microsoft Entra
ID"): the default dialect (capitalised ops, "True"/"False" strings, value-list member removal)
and, with `?aadOptscim062020` on the tenant URL, the 2020 dialect (lowercase ops, booleans,
member removal by filter path, path-less replace with dotted and URN keys)."""

from __future__ import annotations

import uuid

import pytest

from tests.idp.replay import (
    ENTERPRISE_URN,
    GROUP_URN,
    USER_URN,
    IdP,
    active_patch_revokes_keys,
    created,
    current_group,
    current_user,
    empty_list,
    encoded,
    give_key,
    key_works,
    keys_listed,
    listed,
    member_ids,
    no_content,
    patch_body,
    patched,
    plus_encoded,
    resource,
    scim_error,
    unique,
)

ENTRA_USER_AGENT = "Azure AD SCIM Client"
ADSCIM_GROUP_URN = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


FLAG = "aadOptscim062020"


@pytest.fixture(params=["", FLAG], ids=["default", FLAG])
def entra(request, connect_idp) -> IdP:
    """Entra with the tenant URL as the admin typed it: plain, or with `?aadOptscim062020`."""
    return connect_idp(ENTRA_USER_AGENT, tenant_query=request.param)


@pytest.fixture
def default_entra(connect_idp) -> IdP:
    return connect_idp(ENTRA_USER_AGENT, tenant_query="")


@pytest.fixture
def entra_2020(connect_idp) -> IdP:
    return connect_idp(ENTRA_USER_AGENT, tenant_query=FLAG)


def entra_user(user_name: str, given: str, family: str) -> dict:
    """POST /Users as Entra sends it, client-sent `meta` and empty `roles` included."""
    return {
        "schemas": [USER_URN, ENTERPRISE_URN],
        "externalId": unique("entra-object"),
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": f"{given} {family}", "familyName": family, "givenName": given},
        "roles": [],
    }


def filter_eq(attribute: str, value: str) -> str:
    return "/Users?filter=" + encoded(f'{attribute} eq "{value}"')


async def test_test_connection_gets_an_empty_list(entra):
    """Test Connection: a random GUID as userName, the filter `+`-encoded on the wire."""
    probe = str(uuid.uuid4())
    target = "/Users?filter=" + plus_encoded(f'userName eq "{probe}"')
    assert target == f"/Users?filter=userName+eq+%22{probe}%22"
    empty_list(await entra.get(target))


async def test_user_lifecycle_default_dialect(default_entra, scim, admin):
    entra = default_entra
    alice_name = f"{unique('alice')}@contoso.com"
    manager_name = f"{unique('bob')}@contoso.com"

    # Matching before create finds nobody; the create answers 201 with Location.
    empty_list(await entra.get(filter_eq("userName", alice_name)))
    alice_sent = entra_user(alice_name, "Alice", "Smith")
    alice = created(await entra.post("/Users", alice_sent), resource_type="User")
    manager = created(
        await entra.post("/Users", entra_user(manager_name, "Bob", "Jones")), resource_type="User"
    )
    assert alice["userName"] == alice_name and alice["active"] is True
    assert alice["schemas"] == [USER_URN] and "roles" not in alice

    # A duplicate userName, in another case, is 409 uniqueness.
    duplicate = entra_user(alice_name.upper(), "Alice", "Smith")
    scim_error(await entra.post("/Users", duplicate), 409, "uniqueness")

    # The other matching attributes an admin may configure.
    found = listed(await entra.get(filter_eq("externalId", alice_sent["externalId"])), total=1)
    assert [user["id"] for user in found] == [alice["id"]]
    by_email = listed(await entra.get(filter_eq('emails[type eq "work"].value', alice_name)))
    assert [user["id"] for user in by_email] == [alice["id"]]

    # Attribute updates, capitalised ops, a bare-string manager; each checked by a GET after.
    new_mail = f"{unique('alice.smith')}@contoso.com"
    update = patch_body(
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": new_mail},
        {"op": "Replace", "path": "name.familyName", "value": "Smith-Jones"},
        {"op": "Replace", "path": "name.givenName", "value": "Alicia"},
        {"op": "Add", "path": "displayName", "value": "Alicia Smith-Jones"},
        {"op": "Add", "path": f"{ENTERPRISE_URN}:employeeNumber", "value": "701984"},
        {"op": "Add", "path": f"{ENTERPRISE_URN}:department", "value": "Tour Operations"},
        {"op": "Add", "path": f"{ENTERPRISE_URN}:manager", "value": manager["id"]},
    )
    patched(await entra.patch(f"/Users/{alice['id']}", update))
    alice = resource(await entra.get(f"/Users/{alice['id']}"), resource_type="User")
    assert alice["emails"] == [{"value": new_mail, "type": "work", "primary": True}]
    assert alice["name"]["familyName"] == "Smith-Jones" and alice["name"]["givenName"] == "Alicia"
    assert alice["displayName"] == "Alicia Smith-Jones"
    assert alice[ENTERPRISE_URN]["employeeNumber"] == "701984"
    assert alice[ENTERPRISE_URN]["department"] == "Tour Operations"
    assert alice[ENTERPRISE_URN]["manager"]["value"] == manager["id"]
    assert alice["schemas"] == [USER_URN, ENTERPRISE_URN]

    # A rename onto another user's name is refused like a duplicate create.
    rename_onto_manager = patch_body({"op": "Replace", "path": "userName", "value": manager_name})
    scim_error(await entra.patch(f"/Users/{alice['id']}", rename_onto_manager), 409, "uniqueness")

    # Soft delete with the string "False": readable, inactive, keys gone.
    key = await give_key(admin, alice["id"])
    manager_key = await give_key(admin, manager["id"])
    assert await key_works(admin, key)
    disable = patch_body({"op": "Replace", "path": "active", "value": "False"})
    patched(await entra.patch(f"/Users/{alice['id']}", disable))
    assert (await current_user(scim, alice["id"]))["active"] is False
    assert not await key_works(admin, key)
    assert await keys_listed(admin, alice["id"]) == 0
    assert await key_works(admin, manager_key), "only the deprovisioned user loses keys"

    # Re-enabled with "True": active again, the old key stays dead.
    enable = patch_body({"op": "Replace", "path": "active", "value": "True"})
    patched(await entra.patch(f"/Users/{alice['id']}", enable))
    assert (await current_user(scim, alice["id"]))["active"] is True
    assert not await key_works(admin, key)

    # An unknown id is a 404 SCIM error with a detail.
    scim_error(await entra.get(f"/Users/{uuid.uuid4()}"), 404)
    scim_error(await entra.patch(f"/Users/{uuid.uuid4()}", disable), 404)

    # Hard delete about 30 days later.
    fresh_key = await give_key(admin, alice["id"])
    no_content(await entra.delete(f"/Users/{alice['id']}"))
    assert await current_user(scim, alice["id"]) is None
    assert not await key_works(admin, fresh_key)
    scim_error(await entra.delete(f"/Users/{alice['id']}"), 404)
    empty_list(await entra.get(filter_eq("userName", alice_name)))

    # The manager is untouched.
    assert (await current_user(scim, manager["id"]))["active"] is True
    assert await key_works(admin, manager_key)


async def test_group_push_default_dialect(default_entra, scim, admin):
    entra = default_entra
    users = [
        created(
            await entra.post("/Users", entra_user(f"{unique(n)}@contoso.com", n, "Doe")),
            resource_type="User",
        )
        for n in ("ann", "ben", "cid")
    ]
    ann, ben, cid = (user["id"] for user in users)
    name = unique("Eng")

    lookup = "/Groups?excludedAttributes=members&filter=" + encoded(f'displayName eq "{name}"')
    empty_list(await entra.get(lookup))
    group = created(
        await entra.post(
            "/Groups",
            {
                "schemas": [GROUP_URN, ADSCIM_GROUP_URN],
                "externalId": unique("entra-group"),
                "displayName": name,
                "meta": {"resourceType": "Group"},
            },
        ),
        resource_type="Group",
    )
    gid = group["id"]
    assert group["displayName"] == name and member_ids(group) == set()
    scim_error(await entra.post("/Groups", {"schemas": [GROUP_URN], "displayName": name}), 409)
    [found] = listed(await entra.get(lookup), total=1)
    assert found["id"] == gid and "members" not in found

    # Many members in one Add, `$ref` null.
    add = patch_body(
        {
            "op": "Add",
            "path": "members",
            "value": [{"$ref": None, "value": ann}, {"$ref": None, "value": ben}],
        }
    )
    patched(await entra.patch(f"/Groups/{gid}", add))
    without_members = resource(await entra.get(f"/Groups/{gid}?excludedAttributes=members"))
    assert "members" not in without_members
    assert member_ids(await current_group(scim, gid)) == {ann, ben}

    # A member key scoped to the team, then removal by a value list and a rename.
    ben_team_key = await give_key(admin, ben, team_id=gid)
    ben_own_key = await give_key(admin, ben)
    patched(
        await entra.patch(
            f"/Groups/{gid}",
            patch_body(
                {"op": "Remove", "path": "members", "value": [{"value": ben}]},
                {"op": "Add", "path": "members", "value": [{"$ref": None, "value": cid}]},
            ),
        )
    )
    renamed = unique("Engineering")
    patched(
        await entra.patch(
            f"/Groups/{gid}", patch_body({"op": "Replace", "path": "displayName", "value": renamed})
        )
    )
    group = await current_group(scim, gid)
    assert group["displayName"] == renamed
    assert member_ids(group) == {ann, cid}
    assert not await key_works(admin, ben_team_key), "a team key dies with the membership"
    assert await key_works(admin, ben_own_key)

    # Unknown group, unknown member.
    scim_error(await entra.get(f"/Groups/{uuid.uuid4()}?excludedAttributes=members"), 404)
    ghost = patch_body({"op": "Add", "path": "members", "value": [{"value": str(uuid.uuid4())}]})
    scim_error(await entra.patch(f"/Groups/{gid}", ghost), 400, "invalidValue")
    assert member_ids(await current_group(scim, gid)) == {ann, cid}

    # A user's hard delete takes them out of the team; the group delete removes the team.
    no_content(await entra.delete(f"/Users/{cid}"))
    assert member_ids(await current_group(scim, gid)) == {ann}
    ann_team_key = await give_key(admin, ann, team_id=gid)
    no_content(await entra.delete(f"/Groups/{gid}"))
    assert await current_group(scim, gid) is None
    assert not await key_works(admin, ann_team_key)
    ann_now = await current_user(scim, ann)
    assert ann_now["active"] is True and "groups" not in ann_now


async def test_user_lifecycle_aadoptscim062020(entra_2020, scim, admin):
    entra = entra_2020
    name = f"{unique('dana')}@contoso.com"
    empty_list(await entra.get(filter_eq("userName", name)))
    dana = created(
        await entra.post("/Users", entra_user(name, "Dana", "Kim")), resource_type="User"
    )
    uid = dana["id"]

    # Path-less replace with a dictionary of dotted and URN-qualified keys, lowercase ops.
    update = patch_body(
        {
            "op": "replace",
            "value": {
                "displayName": "Dana Kim-Park",
                "name.givenName": "Danielle",
                "name.familyName": "Kim-Park",
                f"{ENTERPRISE_URN}:employeeNumber": "42",
                f"{ENTERPRISE_URN}:department": "Research",
            },
        },
        {"op": "add", "path": 'emails[type eq "home"].value', "value": f"home-{name}"},
    )
    patched(await entra.patch(f"/Users/{uid}", update))
    dana = await current_user(scim, uid)
    assert dana["displayName"] == "Dana Kim-Park"
    assert dana["name"] == {
        "formatted": "Dana Kim",
        "familyName": "Kim-Park",
        "givenName": "Danielle",
    }
    assert dana[ENTERPRISE_URN] == {"employeeNumber": "42", "department": "Research"}
    assert {email["type"]: email["value"] for email in dana["emails"]} == {
        "work": name,
        "home": f"home-{name}",
    }

    # Soft delete with a boolean, then back.
    await active_patch_revokes_keys(entra, scim, admin, uid, off=False, on=True)

    # The flag never gets in the way of errors either.
    scim_error(await entra.get(f"/Users/{uuid.uuid4()}"), 404)
    scim_error(await entra.post("/Users", entra_user(name, "Dana", "Kim")), 409, "uniqueness")

    no_content(await entra.delete(f"/Users/{uid}"))
    assert await current_user(scim, uid) is None


async def test_group_membership_aadoptscim062020(entra_2020, scim, admin):
    entra = entra_2020
    ids = [
        created(
            await entra.post("/Users", entra_user(f"{unique(n)}@contoso.com", n, "Lee")),
            resource_type="User",
        )["id"]
        for n in ("eve", "fay", "gus")
    ]
    eve, fay, gus = ids
    group = created(
        await entra.post(
            "/Groups",
            {
                "schemas": [GROUP_URN, ADSCIM_GROUP_URN],
                "externalId": unique("entra-group"),
                "displayName": unique("Sales"),
                "meta": {"resourceType": "Group"},
            },
        ),
        resource_type="Group",
    )
    gid = group["id"]
    add_all = patch_body(
        {"op": "add", "path": "members", "value": [{"value": i} for i in ids]},
    )
    patched(await entra.patch(f"/Groups/{gid}", add_all))
    assert member_ids(await current_group(scim, gid)) == {eve, fay, gus}

    # Removal by filter path with no value; a retried removal is harmless.
    fay_key = await give_key(admin, fay, team_id=gid)
    remove_fay = patch_body({"op": "remove", "path": f'members[value eq "{fay}"]'})
    patched(await entra.patch(f"/Groups/{gid}", remove_fay))
    patched(await entra.patch(f"/Groups/{gid}", remove_fay))
    assert member_ids(await current_group(scim, gid)) == {eve, gus}
    assert not await key_works(admin, fay_key)

    # Path-less replace of the name, the way the 2020 dialect sends it.
    renamed = unique("Sales-EMEA")
    patched(
        await entra.patch(
            f"/Groups/{gid}", patch_body({"op": "replace", "value": {"displayName": renamed}})
        )
    )
    group = await current_group(scim, gid)
    assert group["displayName"] == renamed and member_ids(group) == {eve, gus}

    no_content(await entra.delete(f"/Groups/{gid}"))
    assert await current_group(scim, gid) is None
    for uid in ids:
        assert (await current_user(scim, uid))["active"] is True


async def test_microsoft_validator_sequence(default_entra, scim):
    """Microsoft's SCIM validator: lowercase ops on `emails[type eq "home"]` sub-attributes,
    path-less add with dotted keys, renames, each PATCH checked by the GET after it."""
    entra = default_entra
    name = f"{unique('val')}@contoso.com"
    user = created(
        await entra.post("/Users", entra_user(name, "Val", "Idator")), resource_type="User"
    )
    uid = user["id"]

    async def after(*operations: dict, operations_first: bool = False) -> dict:
        body = patch_body(*operations)
        if operations_first:
            body = {"Operations": body["Operations"], "schemas": body["schemas"]}
        patched(await entra.patch(f"/Users/{uid}", body))
        return resource(await entra.get(f"/Users/{uid}"), resource_type="User")

    home = f"home-{name}"
    got = await after({"op": "add", "path": 'emails[type eq "home"].value', "value": home})
    assert {"value": home, "type": "home"} in got["emails"]
    got = await after({"op": "replace", "path": 'emails[type eq "home"].display', "value": "Home"})
    assert {"value": home, "type": "home", "display": "Home"} in got["emails"]
    got = await after({"op": "replace", "path": 'emails[type eq "home"].primary', "value": True})
    primaries = {e["type"]: e.get("primary", False) for e in got["emails"]}
    assert primaries == {"work": False, "home": True}, "one primary at most (RFC 7643 §2.4)"

    got = await after(
        {"op": "add", "value": {"nickName": "Vally", "name.honorificPrefix": "Dr."}},
        operations_first=True,
    )
    assert got["nickName"] == "Vally" and got["name"]["honorificPrefix"] == "Dr."
    assert got["name"]["givenName"] == "Val"

    new_name = f"{unique('validated')}@contoso.com"
    new_external = unique("entra-object")
    got = await after(
        {"op": "replace", "path": "userName", "value": new_name},
        {"op": "replace", "path": "externalId", "value": new_external},
    )
    assert got["userName"] == new_name and got["externalId"] == new_external
    [found] = listed(await entra.get(filter_eq("userName", new_name.upper())), total=1)
    assert found["id"] == uid
    empty_list(await entra.get(filter_eq("userName", name)))

    scim_error(await entra.post("/Users", entra_user(new_name, "V", "I")), 409, "uniqueness")
    final = await current_user(scim, uid)
    assert final["active"] is True and final["userName"] == new_name

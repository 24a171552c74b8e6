"""Keycloak's outbound SCIM plugin, replayed (shared/idp-dialects.md, "Keycloak"): creates
without a matching GET, full PUTs for updates and enable/disable, an optional PATCH mode with
`"true"`/`"false"` strings, groups whose members carry a relative `$ref`, full-list PUTs."""

from __future__ import annotations

import uuid

import pytest

from tests.idp.replay import (
    GROUP_URN,
    USER_URN,
    IdP,
    active_patch_revokes_keys,
    created,
    current_group,
    current_user,
    give_key,
    key_works,
    keys_listed,
    member_ids,
    no_content,
    patch_body,
    patched,
    resource,
    scim_error,
    unique,
)

KEYCLOAK_USER_AGENT = "Java-http-client/17.0.9"


@pytest.fixture
def keycloak(connect_idp) -> IdP:
    return connect_idp(KEYCLOAK_USER_AGENT)


def keycloak_user(username: str, *, first: str, last: str, enabled: bool = True, **extra) -> dict:
    """The whole user as the plugin sends it, on create and on every update."""
    return {
        "schemas": [USER_URN],
        "externalId": str(uuid.uuid4()),
        "userName": username,
        "displayName": f"{first} {last}",
        "name": {"givenName": first, "familyName": last},
        "emails": [{"value": f"{username}@example.org", "primary": True}],
        "active": enabled,
        "roles": [{"value": "offline_access"}, {"value": "uma_authorization"}],
        **extra,
    }


def member(user_id: str) -> dict:
    return {"value": user_id, "$ref": f"Users/{user_id}"}


async def test_user_sync_with_full_puts(keycloak, scim, admin):
    name = unique("jdoe")
    sent = keycloak_user(name, first="John", last="Doe")
    john = created(await keycloak.post("/Users", sent), resource_type="User")
    uid = john["id"]
    assert john["externalId"] == sent["externalId"] and john["userName"] == name
    assert john["roles"] == sent["roles"]
    scim_error(await keycloak.post("/Users", keycloak_user(name, first="J", last="D")), 409)

    # A profile change is the full user PUT again.
    update = {**sent, "displayName": "Johnny Doe", "emails": [{"value": f"j.{name}@example.org"}]}
    john = resource(await keycloak.put(f"/Users/{uid}", update), resource_type="User")
    assert john["displayName"] == "Johnny Doe"
    assert john["emails"] == [{"value": f"j.{name}@example.org"}]

    # Disable and enable are full PUTs too.
    key = await give_key(admin, uid)
    disabled = resource(await keycloak.put(f"/Users/{uid}", {**update, "active": False}))
    assert disabled["active"] is False
    assert not await key_works(admin, key)
    assert await keys_listed(admin, uid) == 0
    enabled = resource(await keycloak.put(f"/Users/{uid}", {**update, "active": True}))
    assert enabled["active"] is True
    assert not await key_works(admin, key)

    # The optional PATCH mode sends `active` as a string.
    await active_patch_revokes_keys(keycloak, scim, admin, uid, off="false", on="true")

    scim_error(await keycloak.put(f"/Users/{uuid.uuid4()}", update), 404)

    # Deleting the user in Keycloak deletes it here, keys included.
    key = await give_key(admin, uid)
    no_content(await keycloak.delete(f"/Users/{uid}"))
    assert await current_user(scim, uid) is None
    assert not await key_works(admin, key)


async def test_group_sync_with_relative_member_refs(keycloak, scim, admin):
    ids = [
        created(
            await keycloak.post("/Users", keycloak_user(unique(n), first=n, last="Roe")),
            resource_type="User",
        )["id"]
        for n in ("ann", "ben", "cat")
    ]
    ann, ben, cat = ids

    kc_group_id = str(uuid.uuid4())
    name = unique("kc-devs")
    group = created(
        await keycloak.post(
            "/Groups",
            {
                "schemas": [GROUP_URN],
                "externalId": kc_group_id,
                "displayName": name,
                "members": [member(ann), member(ben)],
            },
        ),
        resource_type="Group",
    )
    gid = group["id"]
    assert member_ids(group) == {ann, ben}
    assert all(m["$ref"].endswith(f"/Users/{m['value']}") for m in group["members"])

    # Membership changes are a PUT of the whole group with the full member list.
    ben_team_key = await give_key(admin, ben, team_id=gid)
    full = {
        "schemas": [GROUP_URN],
        "externalId": kc_group_id,
        "displayName": name,
        "members": [member(ann), member(cat)],
    }
    group = resource(await keycloak.put(f"/Groups/{gid}", full), resource_type="Group")
    assert member_ids(group) == {ann, cat}
    assert not await key_works(admin, ben_team_key)

    # PATCH mode: replace members, displayName and externalId; remove members once empty.
    renamed = unique("kc-developers")
    new_external = str(uuid.uuid4())
    change = patch_body(
        {"op": "replace", "path": "members", "value": [member(ben)]},
        {"op": "replace", "path": "displayName", "value": renamed},
        {"op": "replace", "path": "externalId", "value": new_external},
    )
    patched(await keycloak.patch(f"/Groups/{gid}", change))
    group = await current_group(scim, gid)
    assert member_ids(group) == {ben}
    assert group["displayName"] == renamed and group["externalId"] == new_external

    patched(await keycloak.patch(f"/Groups/{gid}", patch_body({"op": "remove", "path": "members"})))
    group = await current_group(scim, gid)
    assert member_ids(group) == set() and group["displayName"] == renamed

    # A member that is no user of ours is refused, whole request unapplied.
    ghost = {**full, "displayName": unique("kc-ghosts"), "members": [member(str(uuid.uuid4()))]}
    scim_error(await keycloak.put(f"/Groups/{gid}", ghost), 400, "invalidValue")
    assert (await current_group(scim, gid))["displayName"] == renamed

    no_content(await keycloak.delete(f"/Groups/{gid}"))
    assert await current_group(scim, gid) is None
    for uid in ids:
        user = await current_user(scim, uid)
        assert user["active"] is True and "groups" not in user

"""OneLogin's SCIM Provisioner connector, replayed (shared/idp-dialects.md, "OneLogin"): bodies
from an admin-written JSON template sent as `application/json`, `"active": "true"` as a string,
`emails` as a single object; it only adds users to groups that already exist on our side."""

from __future__ import annotations

import pytest

from tests.idp.replay import (
    GROUP_URN,
    USER_URN,
    IdP,
    created,
    current_group,
    current_user,
    encoded,
    give_key,
    key_works,
    keys_listed,
    listed,
    member_ids,
    no_content,
    patch_body,
    patched,
    resource,
    scim_error,
    unique,
)

ONELOGIN_USER_AGENT = "OneLogin SCIM Provisioner"


@pytest.fixture
def onelogin(connect_idp) -> IdP:
    return connect_idp(ONELOGIN_USER_AGENT, content_type="application/json")


def onelogin_user(email: str, first: str, last: str, active: str = "true") -> dict:
    """The admin's template, filled in: strings everywhere, one email object."""
    return {
        "schemas": [USER_URN],
        "userName": email,
        "name": {"givenName": first, "familyName": last},
        "displayName": f"{first} {last}",
        "emails": {"value": email, "type": "work", "primary": "true"},
        "active": active,
    }


async def test_provisioning_into_existing_groups(onelogin, scim, admin):
    # The admin created the team here first; OneLogin finds it by reading /Groups.
    team_name = unique("OneLogin Support")
    team = created(
        await scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": team_name}),
        resource_type="Group",
    )
    gid = team["id"]

    email = f"{unique('olivia')}@example.com"
    olivia = created(
        await onelogin.post("/Users", onelogin_user(email, "Olivia", "Lo")), resource_type="User"
    )
    uid = olivia["id"]
    assert olivia["active"] is True
    assert olivia["emails"] == [{"value": email, "type": "work", "primary": True}]
    scim_error(await onelogin.post("/Users", onelogin_user(email, "O", "L")), 409, "uniqueness")

    groups = listed(await onelogin.get("/Groups"))
    [existing] = [g for g in groups if g["displayName"] == team_name]
    assert existing["id"] == gid
    listed(
        await onelogin.get("/Groups?filter=" + encoded(f'displayName eq "{unique("nope")}"')),
        total=0,
    )
    add = patch_body({"op": "add", "path": "members", "value": [{"value": uid}]})
    patched(await onelogin.patch(f"/Groups/{gid}", add))
    assert member_ids(await current_group(scim, gid)) == {uid}

    # Profile update from the same template.
    updated = resource(await onelogin.put(f"/Users/{uid}", onelogin_user(email, "Olivia", "Lowe")))
    assert updated["name"]["familyName"] == "Lowe" and updated["active"] is True

    # Suspended in OneLogin: the template says "false".
    key = await give_key(admin, uid)
    team_key = await give_key(admin, uid, team_id=gid)
    suspended = resource(
        await onelogin.put(f"/Users/{uid}", onelogin_user(email, "Olivia", "Lowe", "false"))
    )
    assert suspended["active"] is False
    assert not await key_works(admin, key) and not await key_works(admin, team_key)
    assert await keys_listed(admin, uid) == 0
    assert member_ids(await current_group(scim, gid)) == {uid}, "deactivation keeps teams"

    restored = resource(await onelogin.put(f"/Users/{uid}", onelogin_user(email, "Olivia", "Lowe")))
    assert restored["active"] is True
    assert not await key_works(admin, key)

    # Removed from the app: deleted here, out of the team.
    no_content(await onelogin.delete(f"/Users/{uid}"))
    assert await current_user(scim, uid) is None
    group = await current_group(scim, gid)
    assert member_ids(group) == set() and group["displayName"] == team_name

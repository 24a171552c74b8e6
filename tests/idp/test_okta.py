"""Okta, replayed (shared/idp-dialects.md, "Okta"): an OIN app that PATCHes (path-less
`{"active": false}`, group rename with the group's own `id` inside), an app built with Okta's
wizard that GETs then PUTs the whole user, group push, and the paged import."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.idp.replay import (
    GROUP_URN,
    USER_URN,
    IdP,
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
    resource,
    scim_error,
    unique,
)

OKTA_USER_AGENT = "Okta SCIM Client 1.0.0"
PAGE = 100


@pytest.fixture
def okta(connect_idp) -> IdP:
    return connect_idp(OKTA_USER_AGENT)


def okta_user(user_name: str, given: str = "Test", family: str = "User") -> dict:
    """POST /Users as Okta sends it: a random password even with password sync off."""
    return {
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given} {family}",
        "locale": "en-US",
        "externalId": unique("00u"),
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }


def match(user_name: str) -> str:
    """The match request, percent-encoded the way Okta sends it (`%20`, `%22`, `%40`)."""
    query = encoded(f'userName eq "{user_name}"')
    return f"/Users?filter={query}&startIndex=1&count={PAGE}"


async def create_user(okta: IdP, user_name: str, **names) -> dict:
    empty_list(await okta.get(match(user_name)))
    return created(await okta.post("/Users", okta_user(user_name, **names)), resource_type="User")


async def test_oin_patch_app_user_lifecycle(okta, scim, admin):
    # Testing the API credentials, then saving the app settings.
    listed(await okta.get("/Users?startIndex=1&count=2"))
    listed(await okta.get(f"/Groups?startIndex=1&count={PAGE}"))

    name = f"{unique('test.user')}@okta.local"
    assert "%40okta.local%22" in match(name)
    user = await create_user(okta, name)
    uid = user["id"]
    for field, value in (("userName", name), ("active", True), ("displayName", "Test User")):
        assert user[field] == value
    assert user["name"] == {"givenName": "Test", "familyName": "User"}
    assert user["emails"][0]["value"] == name

    # Duplicate; the spec test's case-insensitive lookup; unknown id; a bad credential.
    scim_error(await okta.post("/Users", okta_user(name)), 409, "uniqueness")
    [found] = listed(await okta.get(match(name.upper())), total=1)
    assert found["id"] == uid
    for field in ("id", "userName", "name", "active", "emails"):
        assert field in found
    empty_list(await okta.get(match(f"{unique('nobody')}@okta.local")))
    scim_error(await okta.get(f"/Users/{uuid.uuid4()}"), 404)
    scim_error(await okta.get("/Users", headers={"Authorization": "non-token"}), 401)

    # Profile push: GET, then PUT the whole object back with id, meta and groups echoed.
    current = resource(await okta.get(f"/Users/{uid}"), resource_type="User")
    current["name"]["familyName"] = "Userson"
    current["displayName"] = "Test Userson"
    current["password"] = "ch4nged!"
    replaced = resource(await okta.put(f"/Users/{uid}", current), resource_type="User")
    assert replaced["name"]["familyName"] == "Userson" and replaced["displayName"] == "Test Userson"
    assert replaced["meta"]["created"] == user["meta"]["created"]

    # Deactivate with a path-less replace; keys are cut; reactivation does not revive them.
    key = await give_key(admin, uid)
    assert await key_works(admin, key)
    deactivate = patch_body({"op": "replace", "value": {"active": False}})
    assert patched(await okta.patch(f"/Users/{uid}", deactivate))["active"] is False
    assert not await key_works(admin, key)
    assert await keys_listed(admin, uid) == 0
    reactivate = patch_body({"op": "replace", "value": {"active": True}})
    assert patched(await okta.patch(f"/Users/{uid}", reactivate))["active"] is True
    assert not await key_works(admin, key)
    new_key = await give_key(admin, uid)

    final = await current_user(scim, uid)
    assert final["active"] is True and final["displayName"] == "Test Userson"
    assert await key_works(admin, new_key)


async def test_wizard_put_app_user_lifecycle(okta, scim, admin):
    name = f"{unique('wiz')}@okta.local"
    uid = (await create_user(okta, name, given="Wiz", family="Ard"))["id"]
    key = await give_key(admin, uid)

    # Deactivation is GET then PUT with `active: false`.
    current = resource(await okta.get(f"/Users/{uid}"))
    current["active"] = False
    assert resource(await okta.put(f"/Users/{uid}", current))["active"] is False
    assert not await key_works(admin, key)
    assert await keys_listed(admin, uid) == 0

    # A profile PUT while deactivated keeps the user deactivated.
    current = resource(await okta.get(f"/Users/{uid}"))
    current["title"] = "Wizard"
    assert resource(await okta.put(f"/Users/{uid}", current))["active"] is False

    # Reactivation by PUT; the old key stays revoked.
    current = resource(await okta.get(f"/Users/{uid}"))
    current["active"] = True
    assert resource(await okta.put(f"/Users/{uid}", current))["active"] is True
    assert not await key_works(admin, key)

    # A PUT renaming onto a taken userName is a conflict; an unknown id is 404.
    other = await create_user(okta, f"{unique('other')}@okta.local")
    current = resource(await okta.get(f"/Users/{uid}"))
    scim_error(await okta.put(f"/Users/{uid}", {**current, "userName": other["userName"]}), 409)
    scim_error(await okta.put(f"/Users/{uuid.uuid4()}", current), 404)

    final = await current_user(scim, uid)
    assert final["active"] is True and final["title"] == "Wizard" and final["userName"] == name


async def test_group_push(okta, scim, admin):
    users = [await create_user(okta, f"{unique(n)}@okta.local", given=n) for n in "abc"]
    a, b, c = (user["id"] for user in users)

    empty = created(
        await okta.post(
            "/Groups", {"schemas": [GROUP_URN], "displayName": unique("Okta Empty"), "members": []}
        ),
        resource_type="Group",
    )
    assert member_ids(empty) == set()
    name = unique("Okta Eng")
    group = created(
        await okta.post(
            "/Groups",
            {
                "schemas": [GROUP_URN],
                "displayName": name,
                "members": [{"value": a, "display": "a"}, {"value": b, "display": "b"}],
            },
        ),
        resource_type="Group",
    )
    gid = group["id"]
    assert member_ids(group) == {a, b}
    b_team_key = await give_key(admin, b, team_id=gid)

    # Every change carries the rename, with the group's own id inside the value.
    renamed = unique("Okta Engineering")
    rename = {"op": "replace", "value": {"id": gid, "displayName": renamed}}
    patched(await okta.patch(f"/Groups/{gid}", patch_body(rename)))
    membership = patch_body(
        rename,
        {"op": "remove", "path": f'members[value eq "{b}"]'},
        {"op": "add", "path": "members", "value": [{"value": c, "display": "c"}]},
    )
    patched(await okta.patch(f"/Groups/{gid}", membership))
    group = await current_group(scim, gid)
    assert group["displayName"] == renamed and member_ids(group) == {a, c}
    assert not await key_works(admin, b_team_key)

    # A profile push echoes the member's `groups` back; membership is the server's to keep.
    member = resource(await okta.get(f"/Users/{a}"))
    assert [g["value"] for g in member["groups"]] == [gid]
    member["groups"] = []
    member["nickName"] = "A"
    assert [g["value"] for g in resource(await okta.put(f"/Users/{a}", member))["groups"]] == [gid]

    # A foreign id inside the value is refused, and changes nothing.
    foreign = {"op": "replace", "value": {"id": str(uuid.uuid4()), "displayName": "x"}}
    scim_error(await okta.patch(f"/Groups/{gid}", patch_body(foreign)), 400, "mutability")

    # The whole list replaced.
    replace_all = patch_body(
        rename, {"op": "replace", "path": "members", "value": [{"value": b, "display": "b"}]}
    )
    patched(await okta.patch(f"/Groups/{gid}", replace_all))
    group = await current_group(scim, gid)
    assert group["displayName"] == renamed and member_ids(group) == {b}

    # Filters Okta uses for groups; unknown ids; delete.
    [found] = listed(await okta.get("/Groups?filter=" + encoded(f'displayName eq "{renamed}"')))
    assert found["id"] == gid
    scim_error(await okta.get(f"/Groups/{uuid.uuid4()}"), 404)
    scim_error(await okta.delete(f"/Groups/{uuid.uuid4()}"), 404)
    no_content(await okta.delete(f"/Groups/{gid}"))
    assert await current_group(scim, gid) is None
    assert member_ids(await current_group(scim, empty["id"])) == set()
    for uid in (a, b, c):
        assert (await current_user(scim, uid))["active"] is True


async def test_import_pages_through_every_user_once(okta):
    """Import: startIndex 1, 101, 201 … with count 100, in a stable order."""
    semaphore = asyncio.Semaphore(8)

    async def provision(index: int) -> str:
        async with semaphore:
            body = okta_user(f"{unique(f'import{index}')}@okta.local")
            return created(await okta.post("/Users", body), resource_type="User")["id"]

    mine = set(await asyncio.gather(*(provision(i) for i in range(PAGE + 5))))

    seen: list[str] = []
    totals = set()
    start = 1
    while True:
        response = await okta.get(f"/Users?startIndex={start}&count={PAGE}")
        page = listed(response)
        assert response.json["startIndex"] == start
        assert len(page) <= PAGE
        totals.add(response.json["totalResults"])
        seen += [user["id"] for user in page]
        if start + PAGE > response.json["totalResults"]:
            break
        start += PAGE
    assert start > 1, "more than one page was read"
    assert len(totals) == 1 and len(seen) == totals.pop()
    assert len(seen) == len(set(seen)), "no user appears twice"
    assert mine <= set(seen)

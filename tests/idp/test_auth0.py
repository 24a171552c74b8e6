"""Auth0's outbound SCIM Actions template, replayed (shared/idp-dialects.md, "Auth0"): users
only, the Auth0 user id (`samlp|acme|alice`) as `externalId`, looked up by an `externalId`
filter before each update; a blocked user is deactivated, a deleted one DELETEd."""

from __future__ import annotations

import pytest

from tests.idp.replay import (
    USER_URN,
    IdP,
    active_patch_revokes_keys,
    created,
    current_user,
    empty_list,
    encoded,
    give_key,
    key_works,
    listed,
    no_content,
    patch_body,
    patched,
    resource,
    unique,
)

AUTH0_USER_AGENT = "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)"


@pytest.fixture
def auth0(connect_idp) -> IdP:
    return connect_idp(AUTH0_USER_AGENT)


def auth0_user(auth0_id: str, email: str, name: str) -> dict:
    return {
        "schemas": [USER_URN],
        "externalId": auth0_id,
        "userName": email,
        "displayName": name,
        "emails": [{"value": email, "primary": True}],
        "active": True,
    }


def by_external_id(auth0_id: str, *, quote_pipes: bool = True) -> str:
    """The lookup; `fetch` with `encodeURIComponent` sends `%7C`, a bare template a raw `|`."""
    query = encoded(f'externalId eq "{auth0_id}"')
    return "/Users?filter=" + (query if quote_pipes else query.replace("%7C", "|"))


async def test_user_lifecycle_keyed_by_auth0_id(auth0, scim, admin):
    tenant = unique("acme")
    auth0_id = f"samlp|{tenant}|alice"
    email = f"alice@{tenant}.example"
    alice = created(
        await auth0.post("/Users", auth0_user(auth0_id, email, "Alice")), resource_type="User"
    )
    uid = alice["id"]
    assert alice["externalId"] == auth0_id
    similar = created(
        await auth0.post("/Users", auth0_user(f"{auth0_id}2", f"a2@{tenant}.example", "A2")),
        resource_type="User",
    )

    # The `|` survives encoding and decoding either way; a near miss finds nobody.
    for quote_pipes in (True, False):
        [found] = listed(await auth0.get(by_external_id(auth0_id, quote_pipes=quote_pipes)))
        assert found["id"] == uid and found["externalId"] == auth0_id
    empty_list(await auth0.get(by_external_id(f"samlp|{tenant}|ALICE")))  # caseExact
    empty_list(await auth0.get(by_external_id(f"auth0|{tenant}|alice")))

    # Update: look up, then PUT; later changes as PATCH.
    [found] = listed(await auth0.get(by_external_id(auth0_id)))
    put = resource(
        await auth0.put(f"/Users/{found['id']}", auth0_user(auth0_id, email, "Alice Liddell"))
    )
    assert put["displayName"] == "Alice Liddell" and put["externalId"] == auth0_id
    rename = patch_body({"op": "replace", "path": "displayName", "value": "Alice L."})
    patched(await auth0.patch(f"/Users/{uid}", rename))
    assert (await current_user(scim, uid))["displayName"] == "Alice L."

    # Blocked in Auth0: deactivated here, keys cut; unblocked: active, keys still gone.
    await active_patch_revokes_keys(auth0, scim, admin, uid, off=False, on=True)

    # Deleted in Auth0.
    key = await give_key(admin, uid)
    [found] = listed(await auth0.get(by_external_id(auth0_id)))
    no_content(await auth0.delete(f"/Users/{found['id']}"))
    assert await current_user(scim, uid) is None
    assert not await key_works(admin, key)
    empty_list(await auth0.get(by_external_id(auth0_id)))
    assert (await current_user(scim, similar["id"]))["active"] is True

"""SSO sign-in end to end: haimaker against a real OpenID Connect provider (Canaille) and a
Microsoft Graph stub, on both backends. The person walks the real redirects: authorization
request with PKCE, state and nonce, code exchange, ID-token verification, team sync."""

from __future__ import annotations

import uuid

import pytest

from tests.support.sso import ADMIN_GROUP, EntraOverage, SsoBrowser, idp_user, set_idp_groups

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


@pytest.fixture
async def browser(sso_server):
    client = SsoBrowser(sso_server.base_url)
    yield client
    await client.close()


@pytest.fixture
async def scim_client(sso_server, http_session):
    from tests.support.server import Client

    return Client(http_session, sso_server.scim_url, await sso_server.new_scim_token())


async def find_user(scim, user_name: str) -> dict | None:
    found = await scim.get("/Users", params={"filter": f'userName eq "{user_name}"'})
    assert found.status == 200, found
    resources = found.json["Resources"]
    return resources[0] if resources else None


async def team_named(scim, name: str) -> dict | None:
    found = await scim.get("/Groups", params={"filter": f'displayName eq "{name}"'})
    assert found.status == 200, found
    resources = found.json["Resources"]
    return resources[0] if resources else None


async def memberships(sso_server, user_id: str) -> dict[str, str]:
    """{team name: membership source} as stored."""
    async with sso_server.services.repo.reader() as stores:
        rows = await stores.directory.memberships(user_id)
    return {row.display_name: row.membership_source for row in rows}


async def test_first_sign_in_creates_the_user_and_a_team_per_group(
    sso_server, browser, iam_server, scim_client
):
    evals, research = unique("Production LLM Evals Group"), unique("Research")
    person = idp_user(iam_server, name="Ada Lovelace", groups=(evals, research))

    status, headers, body = await browser.sign_in(iam_server, person)

    assert status == 303, body[:2000]
    assert headers["Location"] == "/ui"
    user = await find_user(scim_client, person.display_name)
    assert user is not None and user["active"] is True
    assert user["displayName"] == "Ada Lovelace"
    assert user["externalId"] == person.user_name  # the OIDC subject
    for name in (evals, research):
        team = await team_named(scim_client, name)
        assert team is not None, name
        assert [m["value"] for m in team["members"]] == [user["id"]]
    assert await memberships(sso_server, user["id"]) == {evals: "sso", research: "sso"}
    async with sso_server.services.repo.reader() as stores:
        record = await stores.users.get(user["id"])
        teams = await stores.directory.teams_by_names([evals])
    assert record.source == "sso"
    assert teams[evals.lower()].source == "sso"

    status, _, page = await browser.get("/ui/teams")
    assert status == 200
    assert evals in page and research in page


async def test_group_changes_sync_both_ways_and_keep_scim_memberships(
    sso_server, browser, iam_server, scim_client
):
    a, b, c, scim_team = unique("Team A"), unique("Team B"), unique("Team C"), unique("SCIM team")
    person = idp_user(iam_server, groups=(a, b))
    assert (await browser.sign_in(iam_server, person))[0] == 303
    user = await find_user(scim_client, person.display_name)
    created = await scim_client.post(
        "/Groups",
        {"schemas": [GROUP_SCHEMA], "displayName": scim_team, "members": [{"value": user["id"]}]},
    )
    assert created.status == 201, created
    key = await sso_server.services.api_keys.generate(
        user["id"], _cli_actor(), team_id=(await team_named(scim_client, a))["id"]
    )

    set_idp_groups(iam_server, person, (b, c))
    status, _, body = await browser.sign_in(iam_server, person)

    assert status == 303, body[:2000]
    assert await memberships(sso_server, user["id"]) == {b: "sso", c: "sso", scim_team: "scim"}
    assert (await team_named(scim_client, a)).get("members", []) == []
    async with sso_server.services.repo.reader() as stores:
        keys = await stores.api_keys.list_for_user(user["id"])
    assert key[0].id not in [k.id for k in keys]  # the key scoped to the team left is gone

    set_idp_groups(iam_server, person, ())
    assert (await browser.sign_in(iam_server, person))[0] == 303
    assert await memberships(sso_server, user["id"]) == {scim_team: "scim"}


async def test_existing_scim_user_is_matched_by_user_name_then_by_email(
    sso_server, browser, iam_server, scim_client
):
    login = f"match-{uuid.uuid4().hex[:8]}@corp.example"
    provisioned = await scim_client.post(
        "/Users", {"schemas": [USER_SCHEMA], "userName": login.upper(), "active": True}
    )
    assert provisioned.status == 201, provisioned
    person = idp_user(iam_server, login=login)
    assert (await browser.sign_in(iam_server, person))[0] == 303
    assert (await find_user(scim_client, login))["id"] == provisioned.json["id"]

    email = f"mail-{uuid.uuid4().hex[:8]}@corp.example"
    by_email = await scim_client.post(
        "/Users",
        {
            "schemas": [USER_SCHEMA],
            "userName": f"emp{uuid.uuid4().hex[:6]}",
            "emails": [{"value": email, "type": "work", "primary": True}],
        },
    )
    other = idp_user(iam_server, login=f"other-{uuid.uuid4().hex[:8]}", email=email)
    second = SsoBrowser(sso_server.base_url)
    try:
        assert (await second.sign_in(iam_server, other))[0] == 303
    finally:
        await second.close()
    assert await find_user(scim_client, other.display_name) is None  # no duplicate user
    async with sso_server.services.repo.reader() as stores:
        assert await _session_count(stores, by_email.json["id"]) == 1  # the session is theirs


async def test_deactivated_user_cannot_sign_in(sso_server, browser, iam_server, scim_client):
    person = idp_user(iam_server, groups=(unique("Gone"),))
    assert (await browser.sign_in(iam_server, person))[0] == 303
    user = await find_user(scim_client, person.display_name)
    async with sso_server.services.repo.reader() as stores:
        assert await _session_count(stores, user["id"]) == 1
    deactivated = await scim_client.patch(
        f"/Users/{user['id']}",
        {
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
        },
    )
    assert deactivated.status in (200, 204), deactivated
    async with sso_server.services.repo.reader() as stores:
        assert await _session_count(stores, user["id"]) == 0  # deprovisioning ended the session
    status, _, page = await browser.get("/ui")
    assert status == 303  # the old cookie is worthless now

    fresh = SsoBrowser(sso_server.base_url)
    try:
        status, headers, body = await fresh.sign_in(iam_server, person)
        assert status == 403
        assert "deactivated" in body
        assert fresh.cookie("haimaker_session") is None
    finally:
        await fresh.close()


async def test_admin_group_gives_admin_rights_and_members_see_only_their_teams(
    sso_server, iam_server, scim_client
):
    own, foreign = unique("Own team"), unique("Foreign team")
    member = idp_user(iam_server, groups=(own,))
    admin = idp_user(iam_server, groups=(ADMIN_GROUP, foreign))
    member_browser, admin_browser = SsoBrowser(sso_server.base_url), SsoBrowser(sso_server.base_url)
    try:
        assert (await member_browser.sign_in(iam_server, member))[0] == 303
        assert (await admin_browser.sign_in(iam_server, admin))[0] == 303

        assert (await member_browser.get("/ui/users"))[0] == 403
        assert (await member_browser.get("/ui/settings/scim"))[0] == 403
        assert (await member_browser.get("/ui/audit"))[0] == 403
        status, _, teams = await member_browser.get("/ui/teams")
        assert status == 200 and own in teams and foreign not in teams
        foreign_id = (await team_named(scim_client, foreign))["id"]
        assert (await member_browser.get(f"/ui/teams/{foreign_id}"))[0] == 404

        status, _, page = await admin_browser.get("/ui/settings/scim")
        assert status == 200 and "Create SCIM token" in page
        status, _, teams = await admin_browser.get("/ui/teams")
        assert own in teams and foreign in teams
    finally:
        await member_browser.close()
        await admin_browser.close()


async def test_group_overage_reads_groups_from_graph_across_pages(
    sso_server, browser, iam_server, graph, scim_client, monkeypatch
):
    overage = EntraOverage(monkeypatch)
    person = idp_user(iam_server, groups=(unique("In the token only"),))
    overage.users.add(person.user_name)
    names = [unique("Graph group") for _ in range(4)]
    graph.groups[person.user_name] = [(str(uuid.uuid4()), name) for name in names]
    graph.requests.clear()

    status, _, body = await browser.sign_in(iam_server, person)

    assert status == 303, body[:2000]
    assert len(graph.requests) == 3  # 1 role + 4 groups, two a page
    user = await find_user(scim_client, person.display_name)
    assert await memberships(sso_server, user["id"]) == dict.fromkeys(names, "sso")
    team = await team_named(scim_client, names[0])
    assert team["externalId"] == graph.groups[person.user_name][0][0]  # the Entra object id


async def test_graph_failure_is_shown_and_changes_nothing(
    sso_server, browser, iam_server, graph, scim_client, monkeypatch
):
    overage = EntraOverage(monkeypatch)
    person = idp_user(iam_server, groups=(unique("Unreachable"),))
    overage.users.add(person.user_name)
    graph.fail_status = 503
    try:
        status, _, body = await browser.sign_in(iam_server, person)
    finally:
        graph.fail_status = None

    assert status == 502
    assert "Microsoft Graph" in body and "503" in body
    assert browser.cookie("haimaker_session") is None
    assert await find_user(scim_client, person.display_name) is None


async def test_group_names_from_the_idp_are_escaped_in_pages(sso_server, iam_server):
    """(Canaille HTML-escapes the `name` claim itself, so the hostile value rides in a group
    name, which it sends verbatim.)"""
    hostile = f"<script>alert('x')</script> {uuid.uuid4().hex[:6]}"
    person = idp_user(iam_server, groups=(ADMIN_GROUP, hostile))
    admin = SsoBrowser(sso_server.base_url)
    try:
        assert (await admin.sign_in(iam_server, person))[0] == 303
        _, _, teams = await admin.get("/ui/teams?q=%3Cscript")
        _, _, user_page = await admin.get("/ui/users?q=" + person.display_name)
    finally:
        await admin.close()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in teams
    assert "<script>alert" not in teams
    assert "&lt;script&gt;alert" in user_page and "<script>alert" not in user_page


async def test_forged_or_replayed_callbacks_are_refused(sso_server, browser, iam_server):
    person = idp_user(iam_server)
    iam_server.login(person)
    iam_server.consent(person)
    status, headers, _ = await browser.get("/ui/sso/login")
    authorize = headers["Location"]
    status, headers, _ = await browser.get(authorize)
    callback = headers["Location"]

    stranger = SsoBrowser(sso_server.base_url)  # the link sent to someone else: no state cookie
    try:
        status, _, body = await stranger.get(callback)
        assert status == 400 and "not started in this browser" in body
    finally:
        await stranger.close()
    assert (await browser.get(callback))[0] == 303
    status, _, body = await browser.get(callback)  # the same code and state again
    assert status == 400


async def test_provider_error_is_shown(sso_server, browser):
    status, _, body = await browser.get(
        "/ui/sso/callback?error=access_denied&error_description=%3Cb%3Enot+assigned%3C%2Fb%3E"
    )
    assert status == 400
    assert "&lt;b&gt;not assigned&lt;/b&gt;" in body


def _cli_actor():
    from app.provisioning.common import Actor

    return Actor("cli", None, "tests")


async def _session_count(stores, user_id: str) -> int:
    return await stores.conn.fetchval(
        "SELECT count(*) FROM access_tokens WHERE user_id = ? AND kind = 'ui_session'", user_id
    )

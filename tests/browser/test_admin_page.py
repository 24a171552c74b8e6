"""The seed's walk-through in a real browser: Settings > Admin Settings > SCIM, create a SCIM
token, copy the tenant URL and token into the IdP, test the connection; later, sign in via SSO
and find the IdP groups as teams. Screenshots of the main pages go to tests/artifacts/."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.browser.conftest import snapshot
from tests.support.server import MASTER_KEY, Client
from tests.support.sso import idp_user

pytestmark = pytest.mark.browser

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


async def seed_directory(scim) -> tuple[str, str]:
    """A few users and a team, as an IdP would have provisioned them; returns (user, team) ids."""
    tag = uuid.uuid4().hex[:4]
    people = [("ada", "Ada Lovelace"), ("grace", "Grace Hopper"), ("alan", "Alan Turing")]
    ids = []
    for login, name in people:
        created = await scim.post(
            "/Users",
            {
                "schemas": [USER_SCHEMA],
                "userName": f"{login}.{tag}@contoso.example",
                "displayName": name,
                "emails": [{"value": f"{login}.{tag}@contoso.example", "type": "work"}],
            },
        )
        assert created.status == 201, created
        ids.append(created.json["id"])
    team = await scim.post(
        "/Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": f"Production LLM Evals {tag}",
            "members": [{"value": i} for i in ids],
        },
    )
    assert team.status == 201, team
    return ids[0], team.json["id"]


async def test_scim_setup_walkthrough(server, backend, page, http_session, scim, admin):
    user_id, team_id = await seed_directory(scim)
    assert (
        await admin.post("/key/generate", {"user_id": user_id, "key_alias": "notebook"})
    ).status == 200
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    await page.goto(server.base_url + "/ui/settings/scim")
    assert "/ui/login" in page.url  # signed out: to the sign-in page first
    await snapshot(page, "login", backend)
    await page.fill("#master_key", MASTER_KEY)
    await page.click("button:has-text('Sign in')")
    await page.wait_for_url(server.base_url + "/ui/settings/scim")
    await page.goto(server.base_url + "/ui")
    await snapshot(page, "overview", backend)

    # Settings > Admin Settings > SCIM, as the guide reads.
    await page.click("nav >> text=Settings")
    await page.click("nav >> text=Admin Settings")
    await page.click(".tabs >> text=SCIM")
    await page.wait_for_url(server.base_url + "/ui/settings/scim")
    tenant_url = await page.input_value("#tenant-url")
    assert tenant_url == server.scim_url

    name = f"Entra ID {uuid.uuid4().hex[:6]}"
    await page.fill("#token-name", name)
    await page.fill("#token-expiry", "90")
    await page.click("button:has-text('Create SCIM token')")
    await page.wait_for_selector("[data-test=new-token]")
    token = await page.input_value("#new-token-value")
    assert token.startswith("hmscim_")
    assert await page.is_visible("text=It is shown only once")
    await page.click("[data-copy=new-token-value]")
    await page.wait_for_selector("[data-copy=new-token-value]:has-text('Copied')")
    assert await page.evaluate("navigator.clipboard.readText()") == token
    await snapshot(page, "scim-token-created", backend)

    # The IdP's "Test Connection" with what was copied.
    idp = Client(http_session, tenant_url, token)
    probe = await idp.get("/Users", params={"filter": f'userName eq "{uuid.uuid4()}"'})
    assert probe.status == 200, probe

    await page.goto(server.base_url + "/ui/settings/scim")
    row = page.locator("tr", has_text=name)
    assert await row.locator("text=Active").count() == 1
    assert token not in await page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    await row.locator("button:has-text('Revoke')").click()
    await page.wait_for_selector("text=The token was revoked")
    assert await page.locator("tr", has_text=name).locator("text=Revoked").count() == 1
    await snapshot(page, "scim-settings", backend)
    assert (await idp.get("/Users")).status == 401

    for path, shot in (
        ("/ui/users", "users"),
        (f"/ui/users/{user_id}", "user"),
        ("/ui/teams", "teams"),
        (f"/ui/teams/{team_id}", "team"),
        ("/ui/audit", "audit"),
        ("/ui/settings/sso", "sso-settings"),
    ):
        await page.goto(server.base_url + path)
        await snapshot(page, shot, backend)
    assert await page.locator("h2:has-text('Single sign-on')").count() == 1

    await page.click("[data-test=sign-out]")
    await page.wait_for_url(re.compile(r".*/ui/login$"))
    await page.goto(server.base_url + "/ui/teams")
    assert "/ui/login" in page.url


async def test_sso_sign_in_finds_idp_groups_as_teams(sso_server, backend, page, iam_server):
    group = f"Production LLM Evals Group {uuid.uuid4().hex[:6]}"
    person = idp_user(iam_server, name="Ada Lovelace", groups=(group,))
    iam_server.login(person)
    iam_server.consent(person)

    await page.goto(sso_server.base_url + "/ui")
    await snapshot(page, "login-with-sso", backend)
    await page.click("[data-test=sso-sign-in]")
    await page.wait_for_url(sso_server.base_url + "/ui")
    assert await page.locator(".who-name").inner_text() == person.display_name
    assert await page.locator("h2:has-text('Your teams')").count() == 1
    await snapshot(page, "sso-member-overview", backend)
    await page.click("nav >> text=Teams")
    await page.wait_for_url(sso_server.base_url + "/ui/teams")
    team_row = page.locator("table[data-test=teams] tr", has_text=group)
    assert await team_row.count() == 1
    assert await team_row.locator("text=SSO").count() == 1
    await snapshot(page, "sso-teams", backend)
    await team_row.locator("a").click()
    await page.wait_for_selector("table[data-test=members]")
    assert person.display_name in await page.locator("table[data-test=members]").inner_text()

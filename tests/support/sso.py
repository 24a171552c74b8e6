"""SSO test kit: a real OpenID Connect provider (Canaille via pytest-iam), a local server that
speaks Microsoft Graph's wire format, and an HTTP client that walks the sign-in redirects.

Canaille is configured like an Entra ID app where a test needs it: for users listed in
`EntraOverage.users` the ID token carries Entra's group-overage markers (`_claim_names` /
`_claim_sources` naming "groups") instead of the groups claim, as Entra does past 200 groups.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import uuid
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import orjson
from aiohttp import web
from attrs import evolve

from tests.support.databases import dispose_database_url, new_database_url
from tests.support.server import LiveServer, free_port
from tests.support.ui import UiClient

GRAPH_PAGE_SIZE = 2


# -- the identity provider -------------------------------------------------------------------


def register_client(iam_server, redirect_uri: str) -> tuple[str, str]:
    """A confidential OIDC client at Canaille for haimaker; returns (client_id, secret)."""
    models = iam_server.models
    client_id, secret = f"haimaker-{uuid.uuid4().hex[:8]}", secrets.token_urlsafe(24)
    client = models.Client(
        client_id=client_id,
        client_secret=secret,
        client_name="haimaker",
        client_id_issued_at=dt.datetime.now(dt.UTC),
        redirect_uris=[redirect_uri],
        grant_types=["authorization_code"],
        response_types=["code"],
        token_endpoint_auth_method="client_secret_basic",
        scope=["openid", "profile", "email", "groups"],
    )
    iam_server.backend.save(client)
    client.audience = [client]
    iam_server.backend.save(client)
    return client_id, secret


def idp_group(iam_server, name: str):
    models = iam_server.models
    found = iam_server.backend.get(models.Group, display_name=name)
    if found is not None:
        return found
    group = models.Group(display_name=name)
    iam_server.backend.save(group)
    return group


def idp_user(
    iam_server,
    *,
    login: str | None = None,
    email: str | None = None,
    name: str = "Test Person",
    groups: tuple[str, ...] = (),
):
    """A person at the IdP. Canaille sends `preferred_username` from display_name, so that is
    where the login goes (as Entra's UPN would)."""
    token = uuid.uuid4().hex[:8]
    login = login or f"person-{token}@corp.example"
    user = iam_server.random_user(
        user_name=f"sub-{token}",
        display_name=login,
        formatted_name=name,
        emails=[email or login],
    )
    set_idp_groups(iam_server, user, groups)
    return user


def set_idp_groups(iam_server, user, names) -> None:
    user.groups = [idp_group(iam_server, name) for name in names]
    iam_server.backend.save(user)


class EntraOverage:
    """Makes Canaille's ID tokens carry Entra's overage markers for chosen users."""

    def __init__(self, monkeypatch):
        from canaille.oidc.provider import OpenIDCode

        self.users: set[str] = set()
        original = OpenIDCode.generate_user_info
        overage = self

        def generate_user_info(grant, user, scope):
            info = dict(original(grant, user, scope))
            if user.user_name in overage.users:
                info.pop("groups", None)
                info["_claim_names"] = {"groups": "src1"}
                info["_claim_sources"] = {
                    "src1": {
                        "endpoint": "https://graph.windows.net/tenant/users/x/getMemberObjects"
                    }
                }
            return info

        monkeypatch.setattr(OpenIDCode, "generate_user_info", generate_user_info)


# -- Microsoft Graph -------------------------------------------------------------------------


def _jwt_subject(token: str) -> str | None:
    try:
        payload = token.split(".")[1]
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    return claims.get("sub")


class GraphStub:
    """`GET /v1.0/me/memberOf` as Microsoft Graph answers it: directory objects in `value`,
    `@odata.nextLink` (an absolute URL with a skip token) while more remain, groups mixed with
    directory roles. `/me` is the subject of the bearer access token."""

    def __init__(self):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1.0"
        self.groups: dict[str, list[tuple[str, str]]] = {}  # subject -> [(id, displayName)]
        self.fail_status: int | None = None
        self.requests: list[str] = []
        self._runner: web.AppRunner | None = None

    async def start(self) -> GraphStub:
        app = web.Application()
        app.router.add_get("/v1.0/me/memberOf", self._member_of)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _error(self, status: int, code: str, message: str) -> web.Response:
        body = {"error": {"code": code, "message": message, "innerError": {}}}
        return web.json_response(body, status=status)

    async def _member_of(self, request: web.Request) -> web.Response:
        self.requests.append(str(request.rel_url))
        if self.fail_status is not None:
            return self._error(
                self.fail_status, "serviceNotAvailable", "Graph is down for the test"
            )
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        subject = _jwt_subject(token) if scheme == "Bearer" else None
        if subject is None:
            return self._error(401, "InvalidAuthenticationToken", "Access token is empty.")
        objects: list[dict[str, Any]] = [
            {
                "@odata.type": "#microsoft.graph.directoryRole",
                "id": str(uuid.uuid4()),
                "displayName": "Global Reader",
            }
        ]
        objects += [
            {"@odata.type": "#microsoft.graph.group", "id": group_id, "displayName": name}
            for group_id, name in self.groups.get(subject, [])
        ]
        skip = int(request.query.get("$skiptoken", "0"))
        page = objects[skip : skip + GRAPH_PAGE_SIZE]
        body: dict[str, Any] = {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects",
            "value": page,
        }
        if skip + GRAPH_PAGE_SIZE < len(objects):
            body["@odata.nextLink"] = (
                f"{self.base_url}/me/memberOf?$select=id,displayName&$skiptoken={skip + GRAPH_PAGE_SIZE}"
            )
        return web.json_response(body)


# -- walking the sign-in ---------------------------------------------------------------------


class SsoBrowser(UiClient):
    """A page client that also follows the SSO redirects step by step."""

    async def sign_in(self, iam_server, idp_person) -> tuple[int, dict, str]:
        """Start at /ui/sso/login, pass the IdP (the person is signed in there and has
        consented), and return haimaker's answer to the callback."""
        iam_server.login(idp_person)
        iam_server.consent(idp_person)
        status, headers, _ = await self.get("/ui/sso/login")
        assert status == 302, status
        authorize = headers["Location"]
        assert urlsplit(authorize).port == iam_server.port
        status, headers, body = await self.get(authorize)
        assert status == 302, (status, body[:500])
        callback = headers["Location"]
        assert callback.startswith(self.base_url + "/ui/sso/callback"), callback
        return await self.get(callback)


ADMIN_GROUP = "haimaker-admins"


@asynccontextmanager
async def sso_live_server(backend: str, tmp_path_factory, iam_server, graph: GraphStub, **extra):
    """A live haimaker whose SSO is the Canaille server, with Graph at the stub."""
    url = await new_database_url(backend, tmp_path_factory.mktemp("db"))
    live = LiveServer(url)
    client_id, secret = register_client(iam_server, live.base_url + "/ui/sso/callback")
    live.settings = evolve(
        live.settings,
        sso_issuer_url=iam_server.url.rstrip("/"),
        sso_client_id=client_id,
        sso_client_secret=secret,
        sso_scopes="openid profile email groups",
        sso_admin_group=ADMIN_GROUP,
        sso_graph_url=graph.base_url,
        **extra,
    )
    await live.start()
    try:
        yield live
    finally:
        await live.stop()
        await dispose_database_url(url)

"""What the IdP replays share: an IdP's own HTTP client, the checks every response gets, and
the look at the final state (users, teams, members, API keys) that follows each replay.

An `IdP` sends exactly what the identity provider puts on the wire (shared/idp-dialects.md):
its User-Agent and Content-Type, the query string its tenant URL carries, and request targets
written out already encoded (`filter=userName+eq+%22…%22`), sent without re-quoting.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote, quote_plus

import aiohttp
import orjson
from yarl import URL

from tests.support.server import Client, Response

SCIM_JSON = "application/scim+json"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def encoded(text: str) -> str:
    """Percent-encoding of a query value, as Okta and most clients send it (`%20`, `%22`)."""
    return quote(text, safe="")


def plus_encoded(text: str) -> str:
    """Form encoding with `+` for a space, as Entra's Test Connection sends its filter."""
    return quote_plus(text, safe="")


def patch_body(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP_URN], "Operations": list(operations)}


class IdP:
    """One identity provider talking to the tenant URL it was configured with.

    `tenant_query` is the query string of that URL (Entra's `aadOptscim062020` flag), sent on
    every request ahead of the request's own parameters. `target` is the path and query after
    the tenant URL, already encoded as the IdP encodes it.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        tenant_url: str,
        token: str,
        *,
        user_agent: str,
        content_type: str = SCIM_JSON,
        tenant_query: str = "",
    ):
        self.session = session
        self.tenant_url = tenant_url
        self.token = token
        self.user_agent = user_agent
        self.content_type = content_type
        self.tenant_query = tenant_query

    def url(self, target: str) -> URL:
        path, _, query = target.partition("?")
        joined = "&".join(part for part in (self.tenant_query, query) if part)
        return URL(self.tenant_url + path + (f"?{joined}" if joined else ""), encoded=True)

    async def send(
        self, method: str, target: str, body: object = None, *, headers: dict | None = None
    ) -> Response:
        sent = {
            "Authorization": f"Bearer {self.token}",
            "User-Agent": self.user_agent,
            "Accept": f"{SCIM_JSON}, application/json",
        }
        data = None
        if body is not None:
            sent["Content-Type"] = self.content_type
            data = orjson.dumps(body)
        sent.update(headers or {})
        async with self.session.request(
            method, self.url(target), data=data, headers=sent, skip_auto_headers={"User-Agent"}
        ) as response:
            return Response(response.status, response.headers, await response.read())

    async def get(self, target: str, **kw) -> Response:
        return await self.send("GET", target, **kw)

    async def post(self, target: str, body: object, **kw) -> Response:
        return await self.send("POST", target, body, **kw)

    async def put(self, target: str, body: object, **kw) -> Response:
        return await self.send("PUT", target, body, **kw)

    async def patch(self, target: str, body: object, **kw) -> Response:
        return await self.send("PATCH", target, body, **kw)

    async def delete(self, target: str, **kw) -> Response:
        return await self.send("DELETE", target, **kw)


# --- what every response is checked for -------------------------------------------------------


def scim_json(response: Response, status: int) -> dict:
    """The body of a SCIM answer with this status, served as application/scim+json."""
    assert response.status == status, response
    assert response.headers.get("Content-Type", "").split(";")[0] == SCIM_JSON, response.headers
    body = response.json
    assert isinstance(body, dict), response
    return body


def resource(response: Response, status: int = 200, *, resource_type: str | None = None) -> dict:
    """A single resource: its `id`, `meta` and an ETag header that is its `meta.version`."""
    body = scim_json(response, status)
    assert isinstance(body.get("id"), str) and body["id"], body
    meta = body["meta"]
    if resource_type is not None:
        assert meta["resourceType"] == resource_type
    assert meta["location"].endswith(f"/{body['id']}")
    assert response.headers.get("ETag") == meta["version"]
    assert "password" not in body
    return body


def created(response: Response, *, resource_type: str) -> dict:
    """`201 Created` with `Location` equal to `meta.location` (RFC 7644 §3.3)."""
    body = resource(response, 201, resource_type=resource_type)
    assert response.headers.get("Location") == body["meta"]["location"]
    return body


def listed(response: Response, *, total: int | None = None) -> list[dict]:
    """A ListResponse with integer counts (Okta's spec test) and `itemsPerPage` matching."""
    body = scim_json(response, 200)
    assert body["schemas"] == [LIST_RESPONSE_URN]
    for field in ("totalResults", "itemsPerPage", "startIndex"):
        assert type(body[field]) is int, (field, body[field])
    resources = body.get("Resources", [])
    assert body["itemsPerPage"] == len(resources)
    assert body["totalResults"] >= len(resources)
    if total is not None:
        assert body["totalResults"] == total, body
    return resources


def empty_list(response: Response) -> None:
    """No match is `200` with an empty list, never `404`."""
    assert listed(response, total=0) == []


def scim_error(response: Response, status: int, scim_type: str | None = None) -> dict:
    """A SCIM Error body: `status` as a string and a `detail` (RFC 7644 §3.12)."""
    body = scim_json(response, status)
    assert body["schemas"] == [ERROR_URN]
    assert body["status"] == str(status)
    assert isinstance(body.get("detail"), str) and body["detail"]
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


def no_content(response: Response) -> None:
    assert response.status == 204, response
    assert response.body == b""


def patched(response: Response) -> dict | None:
    """PATCH answers 200 with the resource or 204 (RFC 7644 §3.5.2)."""
    if response.status == 204:
        no_content(response)
        return None
    return resource(response)


def member_ids(group: dict) -> set[str]:
    return {member["value"] for member in group.get("members", [])}


# --- the final state ----------------------------------------------------------------------------


async def current_user(scim: Client, user_id: str) -> dict | None:
    """The user as the server holds it now, None once deleted (then 404 with a SCIM error)."""
    response = await scim.get(f"/Users/{user_id}")
    if response.status == 404:
        scim_error(response, 404)
        return None
    return resource(response, resource_type="User")


async def current_group(scim: Client, group_id: str) -> dict | None:
    response = await scim.get(f"/Groups/{group_id}")
    if response.status == 404:
        scim_error(response, 404)
        return None
    return resource(response, resource_type="Group")


async def give_key(admin: Client, user_id: str, team_id: str | None = None) -> str:
    """An API key for the user, issued by an admin with the master key."""
    body = {"user_id": user_id, "key_alias": unique("replay")}
    if team_id is not None:
        body["team_id"] = team_id
    response = await admin.post("/key/generate", body)
    assert response.status == 200, response
    assert response.json["user_id"] == user_id
    return response.json["key"]


async def key_works(admin: Client, key: str) -> bool:
    """What the gateway asks on every LLM call: `GET /key/info` with the key."""
    response = await admin.with_token(key).get("/key/info")
    assert response.status in (200, 401), response
    return response.status == 200


async def keys_listed(admin: Client, user_id: str) -> int:
    response = await admin.get("/key/list", params={"user_id": user_id})
    assert response.status == 200, response
    return len(response.json["keys"])


async def active_patch_revokes_keys(
    idp: IdP, scim: Client, admin: Client, user_id: str, *, off: object, on: object
) -> None:
    """Deprovisioning by a PATCH of `active` at its path, with `off`/`on` as the IdP writes them
    (`False`, `"false"`...): the user's key stops working and leaves the key list, and
    reactivation does not revive it."""
    key = await give_key(admin, user_id)
    assert await key_works(admin, key)
    disable = patch_body({"op": "replace", "path": "active", "value": off})
    patched(await idp.patch(f"/Users/{user_id}", disable))
    assert (await current_user(scim, user_id))["active"] is False
    assert not await key_works(admin, key)
    assert await keys_listed(admin, user_id) == 0
    enable = patch_body({"op": "replace", "path": "active", "value": on})
    patched(await idp.patch(f"/Users/{user_id}", enable))
    assert (await current_user(scim, user_id))["active"] is True
    assert not await key_works(admin, key)

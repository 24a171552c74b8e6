"""The signed-in user's groups from Microsoft Graph, for Entra ID tokens without a usable
groups claim (group overage, or no claim configured).

`GET /me/memberOf` with the user's access token returns directory objects a page at a time
(`value`, and `@odata.nextLink` while more remain); only `#microsoft.graph.group` entries are
groups (directory roles and administrative units come too). A nextLink is followed only when it
points at the configured Graph origin, so the access token is never sent anywhere else.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp

from app.provisioning.sso_sync import IdpGroup

GROUP_TYPE = "#microsoft.graph.group"
MAX_PAGES = 200


class GroupFetchError(Exception):
    """The groups could not be read (message safe to show to the person signing in)."""


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


async def member_of_groups(
    session: aiohttp.ClientSession, graph_url: str, access_token: str | None
) -> list[IdpGroup]:
    if not access_token:
        raise GroupFetchError("the identity provider returned no access token for Microsoft Graph")
    url: str | None = f"{graph_url.rstrip('/')}/me/memberOf?$select=id,displayName"
    origin = _origin(graph_url)
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    groups: dict[str, IdpGroup] = {}
    pages = 0
    while url:
        pages += 1
        if pages > MAX_PAGES:
            raise GroupFetchError(f"Microsoft Graph returned more than {MAX_PAGES} pages of groups")
        if _origin(url) != origin:
            raise GroupFetchError("Microsoft Graph sent a next page link to another server")
        try:
            async with session.get(url, headers=headers) as response:
                status = response.status
                body = await response.json(content_type=None) if status == 200 else None
                if status != 200:
                    detail = (await response.text())[:200]
        except (aiohttp.ClientError, TimeoutError) as error:
            raise GroupFetchError(f"Microsoft Graph could not be reached: {error}") from None
        except ValueError:
            raise GroupFetchError("Microsoft Graph did not answer JSON") from None
        if status != 200:
            raise GroupFetchError(f"Microsoft Graph answered HTTP {status}: {detail}")
        if not isinstance(body, dict) or not isinstance(body.get("value"), list):
            raise GroupFetchError("Microsoft Graph's answer has no 'value' list")
        for item in body["value"]:
            if not isinstance(item, dict) or item.get("@odata.type") != GROUP_TYPE:
                continue
            group_id, name = item.get("id"), item.get("displayName")
            if isinstance(group_id, str) and isinstance(name, str) and name.strip():
                groups[group_id] = IdpGroup(name=name.strip(), id=group_id)
        next_link = body.get("@odata.nextLink")
        url = next_link if isinstance(next_link, str) and next_link else None
    return list(groups.values())

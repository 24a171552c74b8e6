"""Handlers for /Users and /Groups (RFC 7644 §3.3–3.6): parse, call one use case, render.

Both resource types share these handlers; what differs (the use cases, the renderer, the
server-computed attribute) is named in a `ResourceEndpoint`.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from attrs import frozen

from app.provisioning.users import StoredUser
from app.scim.ast import AttrPath
from app.scim.codec import etag_for
from app.scim.discovery import list_response, list_response_json
from app.scim.listing import (
    ListQuery,
    PageLimits,
    RawListQuery,
    bind_query,
    read_query_params,
    read_search_body,
)
from app.scim.preconditions import not_modified
from app.scim.schema_model import ResourceType
from app.scim.schemas import GROUP_RESOURCE, USER_RESOURCE
from app.web.appkeys import PAGE_LIMITS, SERVICES
from app.web.auth import request_actor
from app.web.requests import read_json, scim_base_url
from app.web.responses import SCIM_CONTENT_TYPE, scim_response
from app.web.scim_render import stored_user_body, stored_view_body, team_document, user_document


@frozen
class ResourceEndpoint:
    rt: ResourceType
    service_name: str  # the attribute of Services holding the use cases
    render: Callable
    computed: str  # the attribute the server computes: `groups` or `members`
    # A plain point read / list page served from the representations stored at write time
    # (None: the type keeps none)
    serve_stored: Callable | None = None
    serve_stored_page: Callable | None = None
    serve_stored_match: Callable | None = None
    stored_body: Callable | None = None  # (view, base URL) -> the body from its stored text

    def service(self, request: web.Request):
        return getattr(request.app[SERVICES], self.service_name)


async def _stored_user(request: web.Request, user_id: str) -> web.Response | None:
    """`GET /Users/{id}` with no attributes asked for: one statement, no rendering (see
    app.scim.stored_documents); None sends the request down the general path."""
    stored = await request.app[SERVICES].users.get_stored(user_id)
    etag = {"ETag": etag_for(stored.version)}
    if not_modified(request.headers.get("If-None-Match"), stored.version):
        return web.Response(status=304, headers=etag)
    body = stored_user_body(stored, scim_base_url(request))
    if body is None:
        return None
    return web.Response(body=body, headers=etag, content_type=SCIM_CONTENT_TYPE)


async def _stored_users_page(request: web.Request, query: ListQuery) -> bytes | None:
    """A page of users with no attributes asked for, each from its stored representation;
    None sends the request down the general path."""
    users, total = await request.app[SERVICES].users.search_stored(query)
    return _stored_page_body(request, users, total, query.start_index)


async def _stored_users_match(request: web.Request, raw: RawListQuery) -> bytes | None:
    """An IdP's match (`userName eq "…"`) from its prepared comparison, each user from their
    stored representation; None sends the request down the general path (any other list
    request, or a match not prepared yet)."""
    found = await request.app[SERVICES].users.match_stored(raw, page_limits(request))
    return None if found is None else _stored_page_body(request, *found, 1)


def _stored_page_body(
    request: web.Request, users: list[StoredUser], total: int, start_index: int
) -> bytes | None:
    base = scim_base_url(request)
    bodies = [stored_user_body(user, base) for user in users]
    if None in bodies:
        return None
    return list_response_json(bodies, total, start_index)


USERS = ResourceEndpoint(
    USER_RESOURCE,
    "users",
    user_document,
    "groups",
    _stored_user,
    _stored_users_page,
    _stored_users_match,
    stored_view_body,
)
GROUPS = ResourceEndpoint(GROUP_RESOURCE, "teams", team_document, "members")


def page_limits(request: web.Request) -> PageLimits:
    return request.app[PAGE_LIMITS]


def wants(attribute: str, attributes: tuple[AttrPath, ...], excluded: tuple[AttrPath, ...]) -> bool:
    """Whether the response shows `attribute`, so a `members` query can be skipped entirely."""
    if any(path.attr == attribute and path.sub is None for path in excluded):
        return False
    return not attributes or any(path.attr == attribute for path in attributes)


_NO_PROJECTION = ListQuery()


def _projection(request: web.Request, endpoint: ResourceEndpoint) -> ListQuery:
    """`attributes`/`excludedAttributes` of a single-resource request (none: nothing to parse)."""
    if not request.query_string:
        return _NO_PROJECTION
    raw = read_query_params(request.query)
    return bind_query(
        RawListQuery(attributes=raw.attributes, excluded=raw.excluded),
        endpoint.rt,
        page_limits(request),
    )


def _single(
    request: web.Request,
    endpoint: ResourceEndpoint,
    view,
    projection: ListQuery,
    *,
    status: int = 200,
    location: bool = False,
) -> web.Response:
    base = scim_base_url(request)
    headers = {"ETag": etag_for(view.record.version)}
    if location:
        headers["Location"] = f"{base}{endpoint.rt.endpoint}/{view.record.id}"
    if endpoint.stored_body is not None and not projection.attributes and not projection.excluded:
        body = endpoint.stored_body(view, base)  # what was just written, as it was stored
        if body is not None:
            return web.Response(
                body=body, status=status, headers=headers, content_type=SCIM_CONTENT_TYPE
            )
    body = endpoint.render(view, base, projection.attributes, projection.excluded)
    return scim_response(body, status=status, headers=headers)


async def search(request: web.Request, endpoint: ResourceEndpoint, raw: RawListQuery) -> dict:
    return await _search_bound(
        request, endpoint, bind_query(raw, endpoint.rt, page_limits(request))
    )


async def _list_answer(
    request: web.Request, endpoint: ResourceEndpoint, raw: RawListQuery
) -> web.Response:
    """A list or .search answer: from stored representations where the type keeps them and no
    attributes are asked for, else rendered."""
    if endpoint.serve_stored_match is not None:
        body = await endpoint.serve_stored_match(request, raw)
        if body is not None:
            return web.Response(body=body, content_type=SCIM_CONTENT_TYPE)
    query = bind_query(raw, endpoint.rt, page_limits(request))
    if endpoint.serve_stored_page is not None and not query.attributes and not query.excluded:
        body = await endpoint.serve_stored_page(request, query)
        if body is not None:
            return web.Response(body=body, content_type=SCIM_CONTENT_TYPE)
    return scim_response(await _search_bound(request, endpoint, query))


async def _search_bound(request: web.Request, endpoint: ResourceEndpoint, query: ListQuery) -> dict:
    with_computed = wants(endpoint.computed, query.attributes, query.excluded)
    views, total = await endpoint.service(request).search(query, with_computed=with_computed)
    base = scim_base_url(request)
    resources = [endpoint.render(view, base, query.attributes, query.excluded) for view in views]
    return list_response(resources, total, query.start_index)


def handlers(endpoint: ResourceEndpoint) -> dict[str, Callable]:
    """The route handlers of one resource type."""

    async def list_resources(request: web.Request) -> web.Response:
        return await _list_answer(request, endpoint, read_query_params(request.query))

    async def search_post(request: web.Request) -> web.Response:
        return await _list_answer(request, endpoint, read_search_body(await read_json(request)))

    async def create(request: web.Request) -> web.Response:
        projection = _projection(request, endpoint)
        view = await endpoint.service(request).create(
            await read_json(request), request_actor(request)
        )
        return _single(request, endpoint, view, projection, status=201, location=True)

    async def get(request: web.Request) -> web.Response:
        projection = _projection(request, endpoint)
        if projection is _NO_PROJECTION and endpoint.serve_stored is not None:
            answer = await endpoint.serve_stored(request, request.match_info["id"])
            if answer is not None:
                return answer
        with_computed = wants(endpoint.computed, projection.attributes, projection.excluded)
        view = await endpoint.service(request).get(
            request.match_info["id"], with_computed=with_computed
        )
        if not_modified(request.headers.get("If-None-Match"), view.record.version):
            return web.Response(status=304, headers={"ETag": etag_for(view.record.version)})
        return _single(request, endpoint, view, projection)

    async def replace(request: web.Request) -> web.Response:
        projection = _projection(request, endpoint)
        view = await endpoint.service(request).replace(
            request.match_info["id"],
            await read_json(request),
            request_actor(request),
            if_match=request.headers.get("If-Match"),
        )
        return _single(request, endpoint, view, projection)

    async def patch(request: web.Request) -> web.Response:
        """200 with the resource by default; 204 with `Prefer: return=minimal` (RFC 7644
        §3.5.2 allows either; README "Performance" says why groups are not 204 by default).
        Members not shown are not read back, so the cost of adding one member to a group does
        not grow with the group."""
        projection = _projection(request, endpoint)
        minimal = "return=minimal" in request.headers.get("Prefer", "").replace(" ", "").lower()
        options = {}
        if endpoint.computed == "members":
            shown = wants("members", projection.attributes, projection.excluded)
            options["with_members"] = shown and not minimal
        view = await endpoint.service(request).patch(
            request.match_info["id"],
            await read_json(request),
            request_actor(request),
            if_match=request.headers.get("If-Match"),
            **options,
        )
        if minimal:
            return web.Response(status=204, headers={"ETag": etag_for(view.record.version)})
        return _single(request, endpoint, view, projection)

    async def delete(request: web.Request) -> web.Response:
        await endpoint.service(request).delete(
            request.match_info["id"],
            request_actor(request),
            if_match=request.headers.get("If-Match"),
        )
        return web.Response(status=204)

    return {
        "list": list_resources,
        "search": search_post,
        "create": create,
        "get": get,
        "replace": replace,
        "patch": patch,
        "delete": delete,
    }

"""Discovery (RFC 7644 §4) and the root `.search` (§3.4.3)."""

from __future__ import annotations

from aiohttp import web

from app.scim.discovery import (
    Capabilities,
    list_response,
    resource_type_document,
    schema_document,
    service_provider_config_document,
)
from app.scim.errors import ScimError, not_found
from app.scim.listing import read_search_body
from app.scim.schemas import RESOURCE_TYPES, SCHEMAS, resource_type_by_id, schema_by_id
from app.web.appkeys import SETTINGS
from app.web.requests import read_json, scim_base_url
from app.web.responses import scim_response
from app.web.scim_bulk import bulk_limits
from app.web.scim_resources import GROUPS, USERS, search


def capabilities(request: web.Request) -> Capabilities:
    settings = request.app[SETTINGS]
    limits = bulk_limits(settings)
    return Capabilities(
        bulk_supported=True,
        bulk_max_operations=limits.max_operations,
        bulk_max_payload_size=limits.max_payload_bytes,
        filter_max_results=settings.max_page_size,
        default_page_size=settings.default_page_size,
    )


async def service_provider_config(request: web.Request) -> web.Response:
    return scim_response(
        service_provider_config_document(capabilities(request), scim_base_url(request))
    )


async def resource_types(request: web.Request) -> web.Response:
    base = scim_base_url(request)
    documents = [resource_type_document(rt, base) for rt in RESOURCE_TYPES]
    return scim_response(list_response(documents, len(documents), 1))


async def resource_type(request: web.Request) -> web.Response:
    rt = resource_type_by_id(request.match_info["id"])
    if rt is None:
        raise not_found(f"no resource type {request.match_info['id'][:100]!r}")
    return scim_response(resource_type_document(rt, scim_base_url(request)))


async def schemas(request: web.Request) -> web.Response:
    base = scim_base_url(request)
    documents = [schema_document(schema, base) for schema in SCHEMAS]
    return scim_response(list_response(documents, len(documents), 1))


async def schema(request: web.Request) -> web.Response:
    found = schema_by_id(request.match_info["id"])
    if found is None:
        raise not_found(f"no schema {request.match_info['id'][:200]!r}")
    return scim_response(schema_document(found, scim_base_url(request)))


async def root_search(request: web.Request) -> web.Response:
    """POST /.search: every resource type the filter applies to, Users first, paged as one
    list. A filter that no type can evaluate is invalidFilter."""
    raw = read_search_body(await read_json(request))
    totals, errors = [], []
    for endpoint in (USERS, GROUPS):
        try:
            totals.append(
                (endpoint, (await search(request, endpoint, raw._replace(count=0)))["totalResults"])
            )
        except ScimError as error:
            if error.scim_type != "invalidFilter":
                raise
            errors.append(error)
    if not totals:
        raise errors[0]
    wanted = raw.start_index - 1
    remaining = raw.count if raw.count is not None else request.app[SETTINGS].default_page_size
    remaining = min(remaining, request.app[SETTINGS].max_page_size)
    resources = []
    for endpoint, total in totals:
        if remaining > 0 and wanted < total:
            page = await search(
                request, endpoint, raw._replace(start_index=wanted + 1, count=remaining)
            )
            resources += page["Resources"]
            remaining -= len(page["Resources"])
        wanted = max(0, wanted - total)
    return scim_response(
        list_response(resources, sum(total for _, total in totals), raw.start_index)
    )

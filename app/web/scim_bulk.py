"""POST /scim/v2/Bulk (RFC 7644 §3.7): check the size, parse, run, answer a BulkResponse."""

from __future__ import annotations

from aiohttp import web

from app.config import Settings
from app.provisioning.bulk import ENDPOINTS
from app.scim.bulk import (
    BulkLimits,
    bulk_response,
    check_payload_size,
    parse_bulk_request,
    payload_too_large,
)
from app.web.appkeys import SERVICES, SETTINGS
from app.web.auth import request_actor
from app.web.requests import read_body, read_json, scim_base_url
from app.web.responses import scim_response


def bulk_limits(settings: Settings) -> BulkLimits:
    """What the ServiceProviderConfig advertises; no body may exceed the server's own limit."""
    return BulkLimits(
        max_operations=settings.bulk_max_operations,
        max_payload_bytes=min(settings.bulk_max_payload_bytes, settings.max_body_bytes),
    )


async def bulk(request: web.Request) -> web.Response:
    limits = bulk_limits(request.app[SETTINGS])
    check_payload_size(request.content_length, limits)
    if len(await read_body(request)) > limits.max_payload_bytes:  # a chunked body has no length
        raise payload_too_large(limits)
    parsed = parse_bulk_request(await read_json(request), limits, ENDPOINTS)
    results = await request.app[SERVICES].bulk.run(parsed, request_actor(request))
    return scim_response(bulk_response(results, scim_base_url(request)))

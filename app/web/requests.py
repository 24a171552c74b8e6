"""Reading requests: JSON bodies within the size limit, and the public base URL."""

from __future__ import annotations

import orjson
from aiohttp import web

from app.scim.errors import ScimError, invalid_syntax
from app.web.appkeys import SETTINGS


async def read_json(request: web.Request) -> object:
    """The body as JSON. `application/scim+json` and `application/json` are both accepted
    (OneLogin sends the latter); malformed JSON is 400 invalidSyntax; too large is 413."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[SETTINGS].max_body_bytes
        raise ScimError(413, f"the request body is larger than {limit} bytes") from None
    if not raw.strip():
        raise invalid_syntax("the request needs a JSON body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise invalid_syntax(f"the body is not valid JSON: {error}") from None


def public_base_url(request: web.Request) -> str:
    """HAIMAKER_PUBLIC_URL when set, else what the client used to reach us."""
    configured = request.app[SETTINGS].public_url
    if configured:
        return configured.rstrip("/")
    return f"{request.scheme}://{request.host}"


def scim_base_url(request: web.Request) -> str:
    return public_base_url(request) + "/scim/v2"

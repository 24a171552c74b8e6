"""Reading requests: JSON bodies within the size limit, and the public base URL."""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

from app.scim.errors import ScimError, invalid_syntax
from app.scim.text_rules import reject_nul_characters
from app.web.appkeys import SETTINGS


async def read_body(request: web.Request) -> bytes:
    """The raw body: over `max_body_bytes` is 413; one that does not arrive within
    `body_timeout_seconds` is 408 (a stalled client). Read once, then cached by aiohttp."""
    settings = request.app[SETTINGS]
    try:
        if request.content.is_eof():  # the whole body has arrived: nothing to wait for
            raw = await request.read()
        else:
            async with asyncio.timeout(settings.body_timeout_seconds):
                raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ScimError(
            413, f"the request body is larger than {settings.max_body_bytes} bytes"
        ) from None
    except TimeoutError:
        raise ScimError(
            408, f"the request body did not arrive within {settings.body_timeout_seconds:g} s"
        ) from None
    return raw


async def read_json(request: web.Request) -> object:
    """The body as JSON. `application/scim+json` and `application/json` are both accepted
    (OneLogin sends the latter); malformed JSON is 400 invalidSyntax; NUL anywhere is 400
    invalidValue (app.scim.text_rules); size and time limits as in `read_body`."""
    raw = await read_body(request)
    if not raw.strip():
        raise invalid_syntax("the request needs a JSON body")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise invalid_syntax(f"the body is not valid JSON: {error}") from None
    reject_nul_characters(document)
    return document


def public_base_url(request: web.Request) -> str:
    """HAIMAKER_PUBLIC_URL when set, else what the client used to reach us."""
    configured = request.app[SETTINGS].public_url
    if configured:
        return configured.rstrip("/")
    return f"{request.scheme}://{request.host}"


def scim_base_url(request: web.Request) -> str:
    return public_base_url(request) + "/scim/v2"

"""Responses: SCIM JSON (`application/scim+json`, RFC 7644 §3.1) and plain JSON, one place
for errors of each kind."""

from __future__ import annotations

import orjson
from aiohttp import web

from app.scim.errors import ScimError

SCIM_CONTENT_TYPE = "application/scim+json"
SCIM_PREFIX = "/scim/v2"


def scim_response(
    body: dict | None, *, status: int = 200, headers: dict | None = None
) -> web.Response:
    if body is None:
        return web.Response(status=status, headers=headers)
    return web.Response(
        body=orjson.dumps(body), status=status, headers=headers, content_type=SCIM_CONTENT_TYPE
    )


def json_response(
    body: dict | list, *, status: int = 200, headers: dict | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def error_response(
    request: web.Request, error: ScimError, headers: dict | None = None
) -> web.Response:
    """A SCIM Error under /scim/v2, a JSON error elsewhere; `status` is a string in SCIM."""
    if request.path.startswith(SCIM_PREFIX):
        return scim_response(error.to_body(), status=error.status, headers=headers)
    body = {"error": {"message": error.detail, "code": str(error.status)}}
    if error.scim_type:
        body["error"]["type"] = error.scim_type
    return json_response(body, status=error.status, headers=headers)

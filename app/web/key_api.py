"""The gateway key API (interface.md): generate, list and delete keys with the master key,
and `GET /key/info`, the check the gateway makes on every LLM call."""

from __future__ import annotations

from aiohttp import web

from app.scim.errors import ScimError, invalid_value
from app.scim.rendering import timestamp
from app.web.appkeys import SERVICES
from app.web.auth import api_key_refused, bearer_token, request_actor
from app.web.requests import read_json
from app.web.responses import json_response


def _optional_text(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid_value(f"{name} must be a string")
    return value or None


def _key_document(key) -> dict:
    return {
        "key_id": key.id,
        "user_id": key.user_id,
        "team_id": key.team_id,
        "key_alias": key.key_alias,
        "created_at": timestamp(key.created_at),
    }


async def generate(request: web.Request) -> web.Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a JSON object", "invalidSyntax")
    user_id = _optional_text(body, "user_id")
    if not user_id:
        raise invalid_value("user_id is required")
    key, secret = await request.app[SERVICES].api_keys.generate(
        user_id,
        request_actor(request),
        team_id=_optional_text(body, "team_id"),
        key_alias=_optional_text(body, "key_alias"),
    )
    return json_response({"key": secret, **_key_document(key)})


async def list_keys(request: web.Request) -> web.Response:
    user_id = request.query.get("user_id")
    if not user_id:
        raise invalid_value("user_id is required")
    keys = await request.app[SERVICES].api_keys.list_for_user(user_id)
    return json_response({"keys": [_key_document(key) for key in keys]})


async def delete(request: web.Request) -> web.Response:
    body = await read_json(request)
    key_ids = body.get("key_ids") if isinstance(body, dict) else None
    if not isinstance(key_ids, list) or not all(isinstance(i, str) for i in key_ids) or not key_ids:
        raise invalid_value("key_ids must be a non-empty list of key ids")
    deleted = await request.app[SERVICES].api_keys.delete(key_ids, request_actor(request))
    return json_response({"deleted_keys": deleted})


async def info(request: web.Request) -> web.Response:
    presented = bearer_token(request)
    key = await request.app[SERVICES].api_keys.info(presented) if presented else None
    if key is None:
        raise api_key_refused(request)
    document = _key_document(key)
    del document["created_at"]
    return json_response(document)

"""Who is calling: SCIM bearer tokens on /scim/v2, the master key on the admin key API.

A credential of the wrong kind is simply not valid where it is presented (an API key is no
SCIM token), so every failure is the same 401 with nothing about why, and it is logged without
the secret.
"""

from __future__ import annotations

import logging

from aiohttp import web

from app.provisioning.common import Actor
from app.scim.errors import ScimError
from app.web.appkeys import ACTOR, MASTER_KEY, SERVICES
from app.web.responses import SCIM_PREFIX

log = logging.getLogger("haimaker.auth")

SCIM_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="haimaker SCIM"'}
ADMIN_PATHS = ("/key/generate", "/key/list", "/key/delete")


class Unauthorized(ScimError):
    def __init__(self, detail: str, challenge: dict):
        super().__init__(401, detail)
        self.headers = challenge


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def request_actor(request: web.Request) -> Actor:
    return request[ACTOR]


def _refuse(request: web.Request, why: str, challenge: dict) -> Unauthorized:
    log.warning(
        "authentication failed: %s %s from %s (%s)",
        request.method,
        request.path,
        request.remote,
        why,
    )
    return Unauthorized("a valid bearer token is required", challenge)


@web.middleware
async def authentication(request: web.Request, handler):
    path = request.path
    if path == SCIM_PREFIX or path.startswith(SCIM_PREFIX + "/"):
        presented = bearer_token(request)
        if presented is None:
            raise _refuse(request, "no bearer token", SCIM_CHALLENGE)
        token = await request.app[SERVICES].scim_tokens.authenticate(presented)
        if token is None:
            raise _refuse(request, "unknown, revoked or expired SCIM token", SCIM_CHALLENGE)
        request[ACTOR] = Actor("scim_token", token.id, token.name)
    elif path in ADMIN_PATHS:
        if not request.app[MASTER_KEY].verify(bearer_token(request)):
            raise _refuse(
                request, "not the master key", {"WWW-Authenticate": 'Bearer realm="haimaker admin"'}
            )
        request[ACTOR] = Actor("admin", None, "master key")
    return await handler(request)

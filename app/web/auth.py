"""Who is calling: SCIM bearer tokens on /scim/v2, the master key on the admin key API.

A credential of the wrong kind is simply not valid where it is presented (an API key is no
SCIM token), so every failure is the same 401 with nothing about why, and it is logged without
the secret. Failures are throttled per client address (app.web.auth_throttle).
"""

from __future__ import annotations

import logging

from aiohttp import hdrs, web

from app import metrics
from app.provisioning.common import Actor
from app.scim.errors import ScimError
from app.web.appkeys import ACTOR, AUTH_THROTTLE, MASTER_KEY, REQUEST_ID, SERVICES
from app.web.responses import SCIM_PREFIX

log = logging.getLogger("haimaker.auth")

SCIM_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="haimaker SCIM"'}
ADMIN_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="haimaker admin"'}
API_KEY_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="haimaker"'}
ADMIN_PATHS = ("/key/generate", "/key/list", "/key/delete", "/audit")


class Unauthorized(ScimError):
    def __init__(self, detail: str, challenge: dict):
        super().__init__(401, detail)
        self.headers = challenge


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get(hdrs.AUTHORIZATION)
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None


def request_actor(request: web.Request) -> Actor:
    return request[ACTOR]


def _refuse(request: web.Request, realm: str, why: str, challenge: dict) -> Unauthorized:
    """Log (never the secret) and count a failure; every failure gets the same answer."""
    metrics.labelled(metrics.AUTH_FAILURES, realm).inc()
    log.warning(
        "authentication failed: %s %s from %s (%s)",
        request.method,
        request.path,
        request.remote,
        why,
        extra={"realm": realm, "remote": request.remote, "request_id": request.get(REQUEST_ID)},
    )
    return Unauthorized("a valid bearer token is required", challenge)


def api_key_refused(request: web.Request) -> Unauthorized:
    """`GET /key/info` with no live key. Not throttled: the gateway presents every end
    user's key from one address, and one user's bad key must not lock out the rest."""
    return _refuse(request, "api_key", "unknown or revoked API key", API_KEY_CHALLENGE)


class TooManyFailures(ScimError):
    def __init__(self, retry_after: int):
        super().__init__(429, "too many failed authentications from this address; retry later")
        self.headers = {"Retry-After": str(retry_after)}


def realm_of(path: str) -> str | None:
    """The credential a path needs: a SCIM token under /scim/v2, the master key on the admin
    key API, none elsewhere."""
    if path == SCIM_PREFIX or path.startswith(SCIM_PREFIX + "/"):
        return "scim"
    if path in ADMIN_PATHS:
        return "admin"
    return None


async def authenticate(request: web.Request, realm: str) -> None:
    """Set the request's actor for a path that needs one (`realm_of`); raise 401, or 429 for
    an address that failed too often."""
    app = request.app
    throttle = app[AUTH_THROTTLE]
    if throttle.failing:  # no address has failed lately: nothing to look up
        wait = throttle.retry_after(request.remote or "unknown")
        if wait is not None:
            metrics.AUTH_THROTTLED.inc()
            raise TooManyFailures(wait)
    presented = bearer_token(request)
    if realm == "scim":
        actor = None
        if presented is not None:
            actor = await app[SERVICES].scim_tokens.authenticate(presented)
        if actor is None:
            why = "unknown, revoked or expired SCIM token" if presented else "no bearer token"
            raise _refused(request, throttle, realm, why, SCIM_CHALLENGE)
    elif app[MASTER_KEY].verify(presented):
        actor = Actor("admin", None, "master key")
    else:
        raise _refused(request, throttle, realm, "not the master key", ADMIN_CHALLENGE)
    request[ACTOR] = actor


def _refused(request: web.Request, throttle, realm: str, why: str, challenge: dict) -> Unauthorized:
    """A failure that counts towards the address's throttle."""
    throttle.record_failure(request.remote or "unknown")
    return _refuse(request, realm, why, challenge)

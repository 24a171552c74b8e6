"""Typed application keys (aiohttp `web.AppKey`) for what the handlers share."""

from __future__ import annotations

from aiohttp import web

from app.config import Settings
from app.provisioning.common import Actor
from app.provisioning.master_key import MasterKey
from app.provisioning.services import Services
from app.scim.listing import PageLimits
from app.web.auth_throttle import FailureThrottle

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
MASTER_KEY = web.AppKey("master_key", MasterKey)
AUTH_THROTTLE = web.AppKey("auth_throttle", FailureThrottle)
PAGE_LIMITS = web.AppKey("page_limits", PageLimits)  # from SETTINGS, made once

ACTOR = web.RequestKey("actor", Actor)
REQUEST_ID = web.RequestKey("request_id", str)

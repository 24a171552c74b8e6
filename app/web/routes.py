"""Every route in one table."""

from __future__ import annotations

from aiohttp import web

from app.web import health, key_api, scim_discovery
from app.web.scim_resources import GROUPS, USERS, handlers

SCIM = "/scim/v2"


def _resource_routes(endpoint) -> list[web.RouteDef]:
    h = handlers(endpoint)
    base = f"{SCIM}{endpoint.rt.endpoint}"
    return [
        web.get(base, h["list"]),
        web.post(base, h["create"]),
        web.post(f"{base}/.search", h["search"]),
        web.get(base + "/{id}", h["get"]),
        web.put(base + "/{id}", h["replace"]),
        web.patch(base + "/{id}", h["patch"]),
        web.delete(base + "/{id}", h["delete"]),
    ]


def route_table() -> list[web.RouteDef]:
    return [
        web.get("/health", health.health),
        web.get(f"{SCIM}/ServiceProviderConfig", scim_discovery.service_provider_config),
        web.get(f"{SCIM}/ResourceTypes", scim_discovery.resource_types),
        web.get(SCIM + "/ResourceTypes/{id}", scim_discovery.resource_type),
        web.get(f"{SCIM}/Schemas", scim_discovery.schemas),
        web.get(SCIM + "/Schemas/{id}", scim_discovery.schema),
        web.post(f"{SCIM}/.search", scim_discovery.root_search),
        *_resource_routes(USERS),
        *_resource_routes(GROUPS),
        web.post("/key/generate", key_api.generate),
        web.get("/key/list", key_api.list_keys),
        web.post("/key/delete", key_api.delete),
        web.get("/key/info", key_api.info),
    ]

"""Every route in one table."""

from __future__ import annotations

from aiohttp import web

from app.web import (
    audit_api,
    health,
    key_api,
    observability,
    openapi,
    scim_bulk,
    scim_discovery,
    sso,
    ui_audit,
    ui_directory,
    ui_login,
    ui_settings,
)
from app.web.scim_resources import GROUPS, USERS, handlers
from app.web.ui_render import static_file

SCIM = "/scim/v2"


def _resource_routes(endpoint) -> list[web.RouteDef]:
    """An id never starts with a dot, so `/Users/.search` is only the search endpoint: POST,
    and 405 for other methods (RFC 7644 §3.4.3) rather than a lookup of a user ".search"."""
    h = handlers(endpoint)
    base = f"{SCIM}{endpoint.rt.endpoint}"
    one = base + "/{id:[^/.][^/]*}"
    return [
        web.get(base, h["list"]),
        web.post(base, h["create"]),
        web.post(f"{base}/.search", h["search"]),
        web.get(one, h["get"]),
        web.put(one, h["replace"]),
        web.patch(one, h["patch"]),
        web.delete(one, h["delete"]),
    ]


def _admin_page_routes() -> list[web.RouteDef]:
    """The admin page (/ui). Names matter: app/web/ui_middleware.py grants access by name."""
    return [
        web.get("/ui", ui_directory.home, name="ui.home"),
        web.get("/ui/", ui_directory.home_slash, name="ui.home_slash"),
        web.get("/ui/login", ui_login.login_page, name="ui.login"),
        web.post("/ui/login", ui_login.login_submit, name="ui.login_submit"),
        web.post("/ui/logout", ui_login.logout, name="ui.logout"),
        web.get("/ui/sso/login", sso.sso_login, name="ui.sso_login"),
        web.get("/ui/sso/callback", sso.sso_callback, name="ui.sso_callback"),
        web.get("/ui/teams", ui_directory.teams, name="ui.teams"),
        web.get("/ui/teams/{team_id}", ui_directory.team, name="ui.team"),
        web.get("/ui/users", ui_directory.users, name="ui.users"),
        web.get("/ui/users/{user_id}", ui_directory.user, name="ui.user"),
        web.get("/ui/audit", ui_audit.audit_log, name="ui.audit"),
        web.get("/ui/settings", ui_settings.settings_index, name="ui.settings"),
        web.get("/ui/settings/scim", ui_settings.scim_settings, name="ui.scim"),
        web.post("/ui/settings/scim/tokens", ui_settings.create_scim_token, name="ui.scim_create"),
        web.post(
            "/ui/settings/scim/tokens/{token_id}/revoke",
            ui_settings.revoke_scim_token,
            name="ui.scim_revoke",
        ),
        web.get("/ui/settings/sso", ui_settings.sso_settings, name="ui.sso_settings"),
        web.get("/ui/static/{name}", static_file, name="ui.static"),
    ]


def route_table() -> list[web.RouteDef]:
    return [
        web.get("/health", health.health),
        web.get("/health/live", health.liveness),
        web.get("/health/ready", health.readiness),
        web.get("/metrics", observability.metrics_page),
        web.get("/openapi.json", openapi.openapi_document),
        web.get(f"{SCIM}/ServiceProviderConfig", scim_discovery.service_provider_config),
        web.get(f"{SCIM}/ResourceTypes", scim_discovery.resource_types),
        web.get(SCIM + "/ResourceTypes/{id}", scim_discovery.resource_type),
        web.get(f"{SCIM}/Schemas", scim_discovery.schemas),
        web.get(SCIM + "/Schemas/{id}", scim_discovery.schema),
        web.post(f"{SCIM}/.search", scim_discovery.root_search),
        web.post(f"{SCIM}/Bulk", scim_bulk.bulk),
        *_resource_routes(USERS),
        *_resource_routes(GROUPS),
        *_admin_page_routes(),
        web.post("/key/generate", key_api.generate),
        web.get("/key/list", key_api.list_keys),
        web.post("/key/delete", key_api.delete),
        web.get("/key/info", key_api.info),
        web.get("/audit", audit_api.audit_events),
    ]

"""Settings: flags win over HAIMAKER_* environment variables, which win over defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping

from attrs import evolve, field, fields, frozen


@frozen(kw_only=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 4000
    database_url: str = "sqlite:///haimaker.db"
    public_url: str | None = None
    workers: int = 1
    master_key: str | None = field(default=None, repr=False)  # a secret: never in logs
    log_level: str = "INFO"
    # Limits, each also advertised where SCIM has a field for it.
    max_body_bytes: int = 4 * 1024 * 1024
    default_page_size: int = 100
    max_page_size: int = 1000
    max_filter_length: int = 4096
    max_patch_operations: int = 1000
    max_members_per_request: int = 50_000
    db_timeout_seconds: float = 10.0
    db_pool_size: int = 10
    max_filter_depth: int = 64
    # Bulk (RFC 7644 §3.7.4), advertised in the ServiceProviderConfig; over them is a 413.
    bulk_max_operations: int = 1000
    bulk_max_payload_bytes: int = 4 * 1024 * 1024
    # Operations (docs/operations.md): logs, slow clients, shutdown, failed-login throttling.
    log_format: str = "text"  # text | json
    body_timeout_seconds: float = 30.0  # a request body must arrive within this
    idle_timeout_seconds: float = 30.0  # idle or half-sent-headers connections are closed
    shutdown_timeout_seconds: float = 30.0  # SIGTERM waits this long for in-flight requests
    retry_after_seconds: int = 5  # sent with 503 (database unavailable) answers
    auth_failure_limit: int = 20  # failed authentications per address and window; 0: no limit
    auth_failure_window_seconds: float = 60.0
    # The admin page (/ui): session lifetime, failed sign-ins allowed per client address a minute.
    ui_session_hours: float = 12.0
    ui_login_attempts_per_minute: int = 5
    # SSO sign-in (OpenID Connect, authorization code + PKCE) with team sync; off without a client id.
    sso_issuer_url: str | None = None
    sso_discovery_url: str | None = None  # defaults to <issuer>/.well-known/openid-configuration
    sso_client_id: str | None = None
    sso_client_secret: str | None = field(default=None, repr=False)  # a secret: never in logs
    sso_scopes: str = "openid email profile"
    sso_groups_claim: str = "groups"
    sso_groups_source: str = "auto"  # auto | claim | graph (Microsoft Graph /me/memberOf)
    sso_team_sync: bool = True
    sso_admin_group: str | None = None
    sso_graph_url: str = "https://graph.microsoft.com/v1.0"
    sso_timeout_seconds: float = 10.0

    @property
    def tenant_path(self) -> str:
        return "/scim/v2"

    @property
    def sso_enabled(self) -> bool:
        return bool(self.sso_client_id and (self.sso_issuer_url or self.sso_discovery_url))


_ENV_PREFIX = "HAIMAKER_"


def _convert(kind: type, raw: str):
    if kind is bool:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if kind is int:
        return int(raw)
    if kind is float:
        return float(raw)
    return raw


def settings_from(env: Mapping[str, str] | None = None, **overrides) -> Settings:
    """Defaults, then `HAIMAKER_<NAME>` variables, then explicit overrides (the flags)."""
    env = os.environ if env is None else env
    values: dict = {}
    for setting in fields(Settings):
        raw = env.get(_ENV_PREFIX + setting.name.upper())
        if raw not in (None, ""):
            kind = type(setting.default) if setting.default is not None else str
            values[setting.name] = _convert(kind, raw)
    values.update({key: value for key, value in overrides.items() if value is not None})
    return evolve(Settings(), **values)

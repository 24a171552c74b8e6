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

    @property
    def tenant_path(self) -> str:
        return "/scim/v2"


_ENV_PREFIX = "HAIMAKER_"


def _convert(kind: type, raw: str):
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

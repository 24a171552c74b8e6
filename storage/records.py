"""Rows as small frozen attrs records: what the stores return and accept."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from attrs import frozen


@frozen
class UserRecord:
    id: str
    user_name: str
    external_id: str | None
    display_name: str | None
    active: bool
    doc: dict
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    source: str = "scim"
    rendered: str | None = None  # the default representation, rendered at write time (opaque)


@frozen
class TeamRecord:
    id: str
    display_name: str
    external_id: str | None
    doc: dict
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    source: str = "scim"


@frozen
class Member:
    user_id: str
    display: str


@frozen
class ScimTokenRecord:
    id: str
    name: str
    created_at: dt.datetime
    created_by: str
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


@frozen
class ApiKeyRecord:
    id: str
    user_id: str
    team_id: str | None
    key_alias: str | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None


@frozen
class DeletedCredential:
    """A key or access token removed by deprovisioning: named for the audit log, never its secret."""

    kind: str  # "api_key" or the access-token kind
    id: str
    alias: str | None
    user_id: str | None
    team_id: str | None = None


@frozen
class AccessTokenRecord:
    id: str
    kind: str
    user_id: str | None
    data: dict
    created_at: dt.datetime
    expires_at: dt.datetime


@frozen
class AuditEvent:
    at: dt.datetime
    actor_kind: str
    actor_id: str | None
    actor_name: str | None
    action: str
    target_type: str
    target_id: str | None
    details: dict
    seq: int | None = None


class StoredUser(NamedTuple):
    """What a plain point read serves: the representation rendered at write time (None for a
    user written before there was one), the version and the user's (team id, team name) pairs.
    A NamedTuple: one is built per user on every point read and match."""

    id: str
    rendered: str | None
    version: int
    groups: list[tuple[str, str]]


class Page(NamedTuple):
    """One page of a search and the count of all matches (a NamedTuple: one per list
    request)."""

    items: list
    total: int

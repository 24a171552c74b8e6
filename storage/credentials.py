"""SQL for secrets: SCIM tokens, API keys, access tokens and settings.

Only hashes are stored; lookups go by hash (an index seek), and the caller compares in
constant time. Deleting a user's credentials returns what was deleted (ids and aliases, never
a secret) for the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from storage.db import Connection, Dialect
from storage.notifications import SCIM_TOKENS_CHANNEL
from storage.records import AccessTokenRecord, ApiKeyRecord, DeletedCredential, ScimTokenRecord

_TOKEN_COLUMNS = "id, name, created_at, created_by, last_used_at, expires_at, revoked_at"
_KEY_COLUMNS = "id, user_id, team_id, key_alias, created_at, last_used_at"


def _token(row) -> ScimTokenRecord:
    return ScimTokenRecord(*(row[i] for i in range(7)))


def _key(row) -> ApiKeyRecord:
    return ApiKeyRecord(*(row[i] for i in range(6)))


def _deleted_keys(rows) -> list[DeletedCredential]:
    return [DeletedCredential("api_key", row[0], row[1], row[2], row[3]) for row in rows]


class ScimTokenStore:
    def __init__(self, conn: Connection, dialect: Dialect):
        self.conn = conn
        self.dialect = dialect

    async def insert(self, token: ScimTokenRecord, token_hash: str) -> None:
        await self.conn.execute(
            f"INSERT INTO scim_tokens ({_TOKEN_COLUMNS}, token_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            token.id,
            token.name,
            token.created_at,
            token.created_by,
            token.last_used_at,
            token.expires_at,
            token.revoked_at,
            token_hash,
        )

    async def find_by_hash(self, token_hash: str) -> tuple[ScimTokenRecord, str] | None:
        row = await self.conn.fetchrow(
            f"SELECT {_TOKEN_COLUMNS}, token_hash FROM scim_tokens WHERE token_hash = ?", token_hash
        )
        return (_token(row), row["token_hash"]) if row else None

    async def list(self) -> list[ScimTokenRecord]:
        rows = await self.conn.fetch(
            f"SELECT {_TOKEN_COLUMNS} FROM scim_tokens ORDER BY created_at"
        )
        return [_token(row) for row in rows]

    async def get(self, token_id: str) -> ScimTokenRecord | None:
        row = await self.conn.fetchrow(
            f"SELECT {_TOKEN_COLUMNS} FROM scim_tokens WHERE id = ?", token_id
        )
        return _token(row) if row else None

    async def revoke(self, token_id: str, now: dt.datetime) -> bool:
        """Revoke, and tell every process (delivered at commit) to drop cached tokens."""
        revoked = bool(
            await self.conn.execute(
                "UPDATE scim_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                now,
                token_id,
            )
        )
        if revoked and self.dialect.notify_sql:
            await self.conn.fetchval(self.dialect.notify_sql, SCIM_TOKENS_CHANNEL, token_id)
        return revoked

    async def touch(self, token_id: str, now: dt.datetime) -> None:
        await self.conn.execute(
            "UPDATE scim_tokens SET last_used_at = ? WHERE id = ?", now, token_id
        )


class ApiKeyStore:
    def __init__(self, conn: Connection, dialect: Dialect):
        self.conn = conn
        self.dialect = dialect

    async def insert(self, key: ApiKeyRecord, key_hash: str) -> None:
        await self.conn.execute(
            f"INSERT INTO api_keys ({_KEY_COLUMNS}, key_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            key.id,
            key.user_id,
            key.team_id,
            key.key_alias,
            key.created_at,
            key.last_used_at,
            key_hash,
        )

    async def find_live_by_hash(self, key_hash: str) -> tuple[ApiKeyRecord, str] | None:
        """The key with this hash if its user exists and is active (one query)."""
        row = await self.conn.fetchrow(
            "SELECT k.id, k.user_id, k.team_id, k.key_alias, k.created_at, k.last_used_at, k.key_hash "
            "FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ? AND u.active",
            key_hash,
        )
        return (_key(row), row["key_hash"]) if row else None

    async def list_for_user(self, user_id: str) -> list[ApiKeyRecord]:
        rows = await self.conn.fetch(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE user_id = ? ORDER BY created_at", user_id
        )
        return [_key(row) for row in rows]

    async def count_for_users(self, user_ids: Sequence[str]) -> dict[str, int]:
        counts = dict.fromkeys(user_ids, 0)
        if not user_ids:
            return counts
        rows = await self.conn.fetch(
            f"SELECT user_id, count(*) FROM api_keys WHERE {self.dialect.in_list('user_id')} GROUP BY user_id",
            self.dialect.id_list_param(list(user_ids)),
        )
        counts.update({row[0]: row[1] for row in rows})
        return counts

    async def delete(self, key_ids: Sequence[str]) -> list[DeletedCredential]:
        rows = await self.conn.fetch(
            f"DELETE FROM api_keys WHERE {self.dialect.in_list('id')} "
            "RETURNING id, key_alias, user_id, team_id",
            self.dialect.id_list_param(list(key_ids)),
        )
        return _deleted_keys(rows)

    async def delete_for_user(self, user_id: str) -> list[DeletedCredential]:
        rows = await self.conn.fetch(
            "DELETE FROM api_keys WHERE user_id = ? RETURNING id, key_alias, user_id, team_id",
            user_id,
        )
        return _deleted_keys(rows)

    async def delete_for_team(self, team_id: str) -> list[DeletedCredential]:
        rows = await self.conn.fetch(
            "DELETE FROM api_keys WHERE team_id = ? RETURNING id, key_alias, user_id, team_id",
            team_id,
        )
        return _deleted_keys(rows)

    async def delete_for_team_members(
        self, team_id: str, user_ids: Sequence[str]
    ) -> list[DeletedCredential]:
        if not user_ids:
            return []
        rows = await self.conn.fetch(
            f"DELETE FROM api_keys WHERE team_id = ? AND {self.dialect.in_list('user_id')} "
            "RETURNING id, key_alias, user_id, team_id",
            team_id,
            self.dialect.id_list_param(list(user_ids)),
        )
        return _deleted_keys(rows)


class AccessTokenStore:
    """Bearer credentials issued to people (admin-page sessions and the like)."""

    def __init__(self, conn: Connection, dialect: Dialect):
        self.conn = conn

    async def insert(self, token: AccessTokenRecord, token_hash: str) -> None:
        await self.conn.execute(
            "INSERT INTO access_tokens (id, token_hash, kind, user_id, data, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            token.id,
            token_hash,
            token.kind,
            token.user_id,
            token.data,
            token.created_at,
            token.expires_at,
        )

    async def find_by_hash(
        self, token_hash: str, now: dt.datetime
    ) -> tuple[AccessTokenRecord, str] | None:
        row = await self.conn.fetchrow(
            "SELECT id, kind, user_id, data, created_at, expires_at, token_hash FROM access_tokens "
            "WHERE token_hash = ? AND expires_at > ?",
            token_hash,
            now,
        )
        if row is None:
            return None
        return AccessTokenRecord(*(row[i] for i in range(6))), row["token_hash"]

    async def delete(self, token_id: str) -> bool:
        return bool(await self.conn.execute("DELETE FROM access_tokens WHERE id = ?", token_id))

    async def delete_expired(self, now: dt.datetime) -> int:
        return await self.conn.execute("DELETE FROM access_tokens WHERE expires_at <= ?", now)

    async def delete_for_user(self, user_id: str) -> list[DeletedCredential]:
        rows = await self.conn.fetch(
            "DELETE FROM access_tokens WHERE user_id = ? RETURNING id, kind, user_id", user_id
        )
        return [DeletedCredential(row[1], row[0], None, row[2]) for row in rows]


class SettingsStore:
    def __init__(self, conn: Connection, dialect: Dialect):
        self.conn = conn

    async def get(self, key: str) -> str | None:
        return await self.conn.fetchval("SELECT value FROM settings WHERE key = ?", key)

    async def put(self, key: str, value: str) -> None:
        await self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            key,
            value,
        )

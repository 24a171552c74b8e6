"""SCIM bearer tokens: what an IdP presents on every /scim/v2 request (RFC 6750)."""

from __future__ import annotations

import datetime as dt
import time

from app.provisioning.common import Actor, audit_event, new_id, utcnow
from app.provisioning.secrets import SCIM_TOKEN_PREFIX, hash_secret, new_secret, same_hash
from app.provisioning.token_cache import ScimTokenCache
from storage.notifications import SCIM_TOKENS_CHANNEL
from storage.records import ScimTokenRecord
from storage.repository import Repository

LAST_USED_RESOLUTION_SECONDS = 30.0  # `last_used_at` is written at most this often per token


def token_state(token: ScimTokenRecord, now: dt.datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


class ScimTokens:
    def __init__(self, repo: Repository):
        self.repo = repo
        self._cache = ScimTokenCache()
        self._last_touched: dict[str, dt.datetime] = {}
        self._feed_started = False

    async def create(
        self, name: str, actor: Actor, *, expires_in_days: int | None = None
    ) -> tuple[ScimTokenRecord, str]:
        """A new token; the secret is returned here once and never stored."""
        name = name.strip()
        if not name or len(name) > 200:
            raise ValueError("a token needs a name of 1 to 200 characters")
        if expires_in_days is not None and not 0 < expires_in_days <= 3650:
            raise ValueError("expiry must be between 1 and 3650 days")
        now = utcnow()
        secret = new_secret(SCIM_TOKEN_PREFIX)
        record = ScimTokenRecord(
            id=new_id(),
            name=name,
            created_at=now,
            created_by=actor.name or actor.kind,
            last_used_at=None,
            expires_at=now + dt.timedelta(days=expires_in_days) if expires_in_days else None,
            revoked_at=None,
        )
        async with self.repo.transaction() as stores:
            await stores.scim_tokens.insert(record, hash_secret(secret))
            await stores.audit.append(
                [audit_event(actor, "scim_token.create", "scim_token", record.id, now, name=name)]
            )
        return record, secret

    async def list(self) -> list[ScimTokenRecord]:
        async with self.repo.reader() as stores:
            return await stores.scim_tokens.list()

    async def revoke(self, token_id: str, actor: Actor) -> bool:
        now = utcnow()
        with self.repo.db.announcing(SCIM_TOKENS_CHANNEL):  # every process's cache, at once
            return await self._revoke(token_id, actor, now)

    async def _revoke(self, token_id: str, actor: Actor, now: dt.datetime) -> bool:
        async with self.repo.transaction() as stores:
            token = await stores.scim_tokens.get(token_id)
            if token is None or not await stores.scim_tokens.revoke(token_id, now):
                return False
            await stores.audit.append(
                [
                    audit_event(
                        actor, "scim_token.revoke", "scim_token", token_id, now, name=token.name
                    )
                ]
            )
        self._cache.invalidate()  # this process at once; the others through the notification
        return True

    async def authenticate(self, presented: str) -> Actor | None:
        """Who a live token with this secret acts as, else None (unknown, revoked or expired).
        Served from the token cache only while revocations reach it
        (app.provisioning.token_cache)."""
        if not self._feed_started:
            await self._start_feed()
        presented_hash = hash_secret(presented)
        version = self.repo.db.change_version(SCIM_TOKENS_CHANNEL)
        entry = self._cache.get(presented_hash, version)
        if entry is None:
            generation = self._cache.generation()
            async with self.repo.quick_reader() as stores:
                found = await stores.scim_tokens.find_by_hash(presented_hash)
            if found is None or not same_hash(presented_hash, found[1]):
                return None
            if found[0].revoked_at is not None:
                return None
            entry = self._cache.put(presented_hash, found[0], generation, version)
        wall_clock = time.time()
        if entry.expires_at <= wall_clock:
            return None
        token = entry.record
        last_used = self._last_touched.get(token.id)
        if last_used is None and token.last_used_at is not None:
            last_used = token.last_used_at.timestamp()
        if last_used is None or wall_clock - last_used > LAST_USED_RESOLUTION_SECONDS:
            self._last_touched[token.id] = wall_clock
            async with self.repo.transaction() as stores:
                await stores.scim_tokens.touch(token.id, utcnow())
        return entry.actor

    async def _start_feed(self) -> None:
        """Postgres: LISTEN for revocations; SQLite: no feed, entries checked by change version."""
        self._feed_started = True
        try:
            feed = await self.repo.db.listen(
                SCIM_TOKENS_CHANNEL, self._cache.invalidate, self._cache.set_live
            )
            if feed is None:
                self._cache.set_live(self.repo.db.change_version(SCIM_TOKENS_CHANNEL) is not None)
        except Exception:  # no feed means no cache, never a failed request
            self._cache.set_live(False)

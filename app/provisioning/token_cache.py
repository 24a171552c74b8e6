"""A per-process cache of authenticated SCIM tokens, trusted only while revocations reach it.

Every SCIM request authenticates its bearer token. On Postgres that lookup is a database round
trip of its own, which would double the cost of a `GET /Users/{id}`. The cache removes it, but
only under a guarantee: a revocation committed by any process empties the cache of every process
(Postgres LISTEN/NOTIFY, delivered at commit; see storage.notifications), and while that feed is
not live (not yet connected, lost, reconnecting) nothing is cached or served from the cache.
Expiry is checked on every use, so an expired token is refused without any notification.

A lookup that started before an invalidation never fills the cache after it (the generation
check), so a slow read cannot put a just-revoked token back.

SQLite has no feed but a version to poll (storage.sqlite_signals): a revocation in any process
announces itself in a file every process maps, from before its transaction starts until after
it ends. Each entry remembers the version it was read at and is used only while the version,
read on every request (two memory reads), is unchanged; while a revocation is under way there is
no stable version, so nothing is cached or served from the cache. No window at all.

This cache is for SCIM tokens only. Gateway API keys are never cached (`GET /key/info` reads the
database every time), as the design requires.
"""

from __future__ import annotations

import time

from app.provisioning.common import Actor
from storage.records import ScimTokenRecord

MAX_AGE_SECONDS = 60.0  # a safety net only; invalidation does the real work


class CachedToken:
    """A cached token with what every request needs, worked out once: its expiry as a
    timestamp (so a use needs no datetime arithmetic) and the actor it acts as."""

    __slots__ = ("record", "actor", "expires_at", "cached_at", "version")

    def __init__(self, record: ScimTokenRecord, cached_at: float, version: int | None):
        self.record = record
        self.actor = Actor("scim_token", record.id, record.name)
        self.expires_at = record.expires_at.timestamp() if record.expires_at else float("inf")
        self.cached_at = cached_at
        self.version = version


class ScimTokenCache:
    def __init__(self) -> None:
        self._entries: dict[str, CachedToken] = {}
        self._generation = 0
        self.live = False

    def get(self, token_hash: str, version: int | None = None) -> CachedToken | None:
        """The cached token if still trustworthy; `version` is the channel's change version
        where there is one (SQLite), None where notifications keep the cache current."""
        if not self.live:
            return None
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if entry.version != version or time.monotonic() - entry.cached_at > MAX_AGE_SECONDS:
            del self._entries[token_hash]
            return None
        return entry

    def generation(self) -> int:
        """Taken before a database lookup, handed back to `put`."""
        return self._generation

    def put(
        self,
        token_hash: str,
        record: ScimTokenRecord,
        generation: int,
        version: int | None = None,
    ) -> CachedToken:
        """`version`: the change version taken before the lookup (never after it). Returns the
        entry (cached or, when an invalidation came in between, not)."""
        entry = CachedToken(record, time.monotonic(), version)
        if self.live and generation == self._generation:
            self._entries[token_hash] = entry
        return entry

    def invalidate(self, _payload: str | None = None) -> None:
        self._entries.clear()
        self._generation += 1

    def set_live(self, live: bool) -> None:
        self.invalidate()
        self.live = live

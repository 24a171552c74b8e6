"""A per-process cache of authenticated SCIM tokens, trusted only while revocations reach it.

Every SCIM request authenticates its bearer token. On Postgres that lookup is a database round
trip of its own, which would double the cost of a `GET /Users/{id}`. The cache removes it, but
only under a guarantee: a revocation committed by any process empties the cache of every process
(Postgres LISTEN/NOTIFY, delivered at commit; see storage.notifications), and while that feed is
not live (not yet connected, lost, reconnecting) nothing is cached or served from the cache.
Expiry is checked on every use, so an expired token is refused without any notification.

A lookup that started before an invalidation never fills the cache after it (the generation
check), so a slow read cannot put a just-revoked token back.

SQLite has no feed but a cheaper guarantee: `PRAGMA data_version` changes whenever any
connection of any process commits to the file. Each entry remembers the version it was read
at and is used only while the version, read on every request, is unchanged: any commit
anywhere (a revocation included) sends the next request back to the table. No window at all.

This cache is for SCIM tokens only. Gateway API keys are never cached (`GET /key/info` reads the
database every time), as the design requires.
"""

from __future__ import annotations

import datetime as dt

from storage.records import ScimTokenRecord

MAX_AGE = dt.timedelta(seconds=60)  # a safety net only; invalidation does the real work


class ScimTokenCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[ScimTokenRecord, dt.datetime, int | None]] = {}
        self._generation = 0
        self.live = False

    def get(
        self, token_hash: str, now: dt.datetime, version: int | None = None
    ) -> ScimTokenRecord | None:
        """The cached token if still trustworthy; `version` is the database's data version
        where it has one (SQLite), None where notifications keep the cache current."""
        if not self.live:
            return None
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        record, cached_at, cached_version = entry
        if now - cached_at > MAX_AGE or cached_version != version:
            del self._entries[token_hash]
            return None
        return record

    def generation(self) -> int:
        """Taken before a database lookup, handed back to `put`."""
        return self._generation

    def put(
        self,
        token_hash: str,
        record: ScimTokenRecord,
        generation: int,
        now: dt.datetime,
        version: int | None = None,
    ) -> None:
        """`version`: the data version taken before the lookup (never after it)."""
        if self.live and generation == self._generation:
            self._entries[token_hash] = (record, now, version)

    def invalidate(self, _payload: str | None = None) -> None:
        self._entries.clear()
        self._generation += 1

    def set_live(self, live: bool) -> None:
        self.invalidate()
        self.live = live

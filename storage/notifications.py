"""Cross-process change notifications over Postgres LISTEN/NOTIFY.

A process that caches something another process can invalidate (the SCIM-token cache) listens
on a channel over its own connection. NOTIFY is delivered when the notifying transaction
commits. The listener tells its owner whether it is *live*: while it is not (not yet connected,
connection lost, reconnecting) the owner must not trust its cache, because notifications may
have been missed; every change of state is reported as an event with payload None, meaning
"forget everything".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

log = logging.getLogger("haimaker.storage")

SCIM_TOKENS_CHANNEL = "haimaker_scim_tokens"
RECONNECT_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)

OnEvent = Callable[[str | None], None]


class PostgresListener:
    """LISTENs on one channel over a dedicated connection, reconnecting when it drops."""

    def __init__(self, url: str, channel: str, on_event: OnEvent, on_live: Callable[[bool], None]):
        self._url = url
        self._channel = channel
        self._on_event = on_event
        self._on_live = on_live
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self) -> PostgresListener:
        await self._connect()
        self._task = asyncio.get_running_loop().create_task(self._keep_alive())
        return self

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._url, timeout=10)
        self._lost.clear()
        conn.add_termination_listener(lambda _conn: self._mark_lost())
        await conn.add_listener(self._channel, self._notified)
        self._conn = conn
        self._on_live(True)

    def _notified(self, _conn, _pid, _channel, payload: str) -> None:
        self._on_event(payload)

    def _mark_lost(self) -> None:
        self._on_live(False)
        self._lost.set()

    async def _keep_alive(self) -> None:
        while True:
            await self._lost.wait()
            log.warning("lost the LISTEN connection for %s; reconnecting", self._channel)
            for attempt in range(1_000_000):
                await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
                try:
                    await self._connect()
                    break
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                    continue

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._on_live(False)
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
        self._conn = None

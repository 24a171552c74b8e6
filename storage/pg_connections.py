"""Postgres connections kept open and handed out without asyncpg's pool machinery.

Through asyncpg's pool every request paid for an acquire and a release, each a wrapped task
(`shield` around the release) with the pool's queue and proxy around them: measured here, more
CPU than a point read's own round trip, and ~16 % of a `POST /Users`. These connections are
opened on demand up to a limit and kept: taking one is a list pop, giving it back a list append,
and waiting (all busy) is the only path that allocates.

A connection left idle for MAX_IDLE_SECONDS is closed rather than used (as asyncpg's pool does
by default): proxies and firewalls cut connections that sit idle, and the first statement on such
a one would fail.

A connection goes back only clean: after a single statement outside any transaction, or a
transaction that committed or rolled back. One whose work failed in a way that leaves it in
doubt is closed, and its place taken by a fresh one later; one found closed while idle (the
server ended it) is never handed out.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

import asyncpg

MAX_IDLE_SECONDS = 300.0


class KeptConnections:
    """Up to `limit` connections, opened by `connect` when needed."""

    def __init__(
        self, connect: Callable[[], Awaitable[asyncpg.Connection]], limit: int, timeout: float
    ):
        self._connect = connect
        self._limit = limit
        self._timeout = timeout
        self._idle: list[tuple[asyncpg.Connection, float]] = []  # with when it was given back
        self._held = 0  # open, idle or in use
        self._waiters: deque[asyncio.Future] = deque()
        self._opening: set[asyncio.Task] = set()

    async def take(self) -> asyncpg.Connection:
        conn = self.take_idle()
        if conn is not None:
            return conn
        if self._held < self._limit:
            self._held += 1
            try:
                return await self._connect()
            except BaseException:
                self._held -= 1
                raise
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self._timeout):  # no task per wait, unlike wait_for
                return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.give_back(waiter.result())  # handed over just as the wait ended
            else:
                waiter.cancel()
            raise

    def take_idle(self) -> asyncpg.Connection | None:
        """An idle connection, the most recently used (warm, and fresh), without waiting or
        opening one; None when there is none."""
        while self._idle:
            conn, since = self._idle.pop()
            if not conn.is_closed() and time.monotonic() - since < MAX_IDLE_SECONDS:
                return conn
            self._close(conn)
        return None

    @property
    def all_busy(self) -> bool:
        """Every connection it may hold is open and in use: a `take` would wait."""
        return not self._idle and self._held >= self._limit

    def give_back(self, conn: asyncpg.Connection) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        now = time.monotonic()
        self._idle.append((conn, now))
        while now - self._idle[0][1] >= MAX_IDLE_SECONDS:  # the least recently used first
            self._close(self._idle.pop(0)[0])

    def _close(self, conn: asyncpg.Connection) -> None:
        self._held -= 1
        conn.terminate()

    def drop(self, conn: asyncpg.Connection) -> None:
        """After work that left it in doubt: the connection is closed, and a waiter, if any,
        is served by a fresh one."""
        self._close(conn)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._serve_fresh(waiter)
                return

    def _serve_fresh(self, waiter: asyncio.Future) -> None:
        async def fresh() -> None:
            self._held += 1
            try:
                conn = await self._connect()
            except BaseException as error:
                self._held -= 1
                if not waiter.done():
                    waiter.set_exception(error)
                return
            if waiter.done():
                self.give_back(conn)
            else:
                waiter.set_result(conn)

        task = asyncio.get_running_loop().create_task(fresh())
        self._opening.add(task)
        task.add_done_callback(self._opening.discard)

    def stats(self) -> tuple[int, int, int]:
        """(in use, idle, at most)."""
        return self._held - len(self._idle), len(self._idle), self._limit

    async def close(self) -> None:
        for waiter in self._waiters:
            waiter.cancel()
        self._waiters.clear()
        if self._opening:
            await asyncio.gather(*self._opening, return_exceptions=True)
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            self._held -= 1
            try:
                await asyncio.wait_for(conn.close(), self._timeout)
            except Exception:  # noqa: BLE001 (closing a broken connection: nothing to keep)
                conn.terminate()

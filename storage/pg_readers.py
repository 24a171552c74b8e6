"""A few Postgres connections kept for point reads, handed out without asyncpg's pool machinery.

A `GET /Users/{id}` is one statement. Through asyncpg's pool it also pays for an acquire and a
release, each a wrapped task (`wait_for` for the timeout, `shield` around the release): measured
here, more CPU than the statement's own round trip. These connections are opened for reads and
kept (outside the pool, so its bookkeeping never reaches them): taking one is a list pop, giving
it back a list append, and waiting (all busy) is the only path that allocates.

Only single statements outside any transaction run on them, so no session state is left behind
to reset. A connection whose read failed in any way is closed, and its place taken by a fresh
one on a later read; one found closed while idle (the server ended it) is never handed out.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

import asyncpg


class ReadConnections:
    def __init__(
        self, connect: Callable[[], Awaitable[asyncpg.Connection]], limit: int, timeout: float
    ):
        self._connect = connect
        self._limit = limit
        self._timeout = timeout
        self._idle: list[asyncpg.Connection] = []
        self._held = 0  # open, idle or in use
        self._waiters: deque[asyncio.Future] = deque()
        self._opening: set[asyncio.Task] = set()

    async def take(self) -> asyncpg.Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.is_closed():
                return conn
            self._held -= 1
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
            return await asyncio.wait_for(waiter, self._timeout)
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.give_back(waiter.result())  # handed over just as the wait ended
            else:
                waiter.cancel()
            raise

    def give_back(self, conn: asyncpg.Connection) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def drop(self, conn: asyncpg.Connection) -> None:
        """After a failed read: the connection is closed, and a waiter, if any, is served by a
        fresh one."""
        self._held -= 1
        conn.terminate()
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

    async def close(self) -> None:
        for waiter in self._waiters:
            waiter.cancel()
        self._waiters.clear()
        if self._opening:
            await asyncio.gather(*self._opening, return_exceptions=True)
        idle, self._idle = self._idle, []
        for conn in idle:
            self._held -= 1
            try:
                await asyncio.wait_for(conn.close(), self._timeout)
            except Exception:  # noqa: BLE001 (closing a broken connection: nothing to keep)
                conn.terminate()

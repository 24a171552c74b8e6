"""A live server with settings of a test's choosing (limits, timeouts) on a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tests.support.databases import dispose_database_url, new_database_url
from tests.support.server import LiveServer


@asynccontextmanager
async def live_server(
    backend: str, tmp_path_factory, **settings: object
) -> AsyncIterator[LiveServer]:
    url = await new_database_url(backend, tmp_path_factory.mktemp("db"))
    live = await LiveServer(url, **settings).start()
    try:
        yield live
    finally:
        await live.stop()
        await dispose_database_url(url)

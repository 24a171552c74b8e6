"""A TCP proxy in front of Postgres, to make "the database is down" without stopping the shared
server that other tests use.

Modes: `forward` (a transparent pipe), `refuse` (existing connections are cut and new ones
closed at once, like a database that went away), `blackhole` (connections are accepted and
data is swallowed: a hung network, where only timeouts help).
"""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.mode = "forward"
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url_for(self, database_url: str) -> str:
        """`database_url` with its host and port replaced by the proxy's."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(database_url)
        userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=f"{userinfo}127.0.0.1:{self.port}"))

    def forward(self) -> None:
        self.mode = "forward"

    def refuse(self) -> None:
        """Cut every open connection and close new ones at once."""
        self.mode = "refuse"
        self._cut_all()

    def blackhole(self) -> None:
        """Cut every open connection; accept new ones but never answer."""
        self.mode = "blackhole"
        self._cut_all()

    def _cut_all(self) -> None:
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "refuse":
            writer.transport.abort()
            return
        self._writers.add(writer)
        if self.mode == "blackhole":
            with contextlib.suppress(Exception):
                while await reader.read(65536):
                    pass
            self._writers.discard(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        pipes = [
            asyncio.ensure_future(self._pipe(reader, up_writer)),
            asyncio.ensure_future(self._pipe(up_reader, writer)),
        ]
        self._tasks.update(pipes)
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for task in pipes:
            task.cancel()
            self._tasks.discard(task)
        for end in (writer, up_writer):
            self._writers.discard(end)
            with contextlib.suppress(Exception):
                end.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()

    async def close(self) -> None:
        self._cut_all()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

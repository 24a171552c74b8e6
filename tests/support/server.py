"""A live haimaker server for tests: the real application on a real socket and database."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
from aiohttp import web
from attrs import evolve

from app.config import Settings
from app.provisioning.common import Actor
from app.web.app import create_app, runner_options
from app.web.appkeys import SERVICES

MASTER_KEY = "sk-master-test-only-" + "x" * 20
SCIM_JSON = "application/scim+json"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Response:
    def __init__(self, status: int, headers, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self) -> Any:
        import orjson

        return orjson.loads(self.body) if self.body else None

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.body[:300]!r}>"


class Client:
    """HTTP against the live server; `token` is sent as the bearer credential."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str | None):
        self.session = session
        self.base_url = base_url
        self.token = token

    def with_token(self, token: str | None) -> Client:
        return Client(self.session, self.base_url, token)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        headers: dict | None = None,
        params: Any = None,
    ) -> Response:
        all_headers = {"Content-Type": SCIM_JSON}
        if self.token is not None:
            all_headers["Authorization"] = f"Bearer {self.token}"
        all_headers.update(headers or {})
        if json is not None:
            import orjson

            data = orjson.dumps(json)
        async with self.session.request(
            method, self.base_url + path, data=data, headers=all_headers, params=params
        ) as response:
            return Response(response.status, response.headers, await response.read())

    async def get(self, path: str, **kw) -> Response:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw) -> Response:
        return await self.request("POST", path, json=json, **kw)

    async def put(self, path: str, json: Any = None, **kw) -> Response:
        return await self.request("PUT", path, json=json, **kw)

    async def patch(self, path: str, json: Any = None, **kw) -> Response:
        return await self.request("PATCH", path, json=json, **kw)

    async def delete(self, path: str, **kw) -> Response:
        return await self.request("DELETE", path, **kw)


class LiveServer:
    """Starts `create_app(settings)` on 127.0.0.1 and a free port."""

    def __init__(self, database_url: str, **settings: Any):
        self.port = free_port()
        self.settings = evolve(
            Settings(),
            host="127.0.0.1",
            port=self.port,
            database_url=database_url,
            master_key=MASTER_KEY,
            **settings,
        )
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.scim_url = self.base_url + "/scim/v2"
        self._runner: web.AppRunner | None = None
        self.app: web.Application | None = None

    async def start(self) -> LiveServer:
        self.app = create_app(self.settings)
        self._runner = web.AppRunner(self.app, access_log=None, **runner_options(self.settings))
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def services(self):
        return self.app[SERVICES]

    async def new_scim_token(self, name: str = "test-idp", **kw) -> str:
        _, secret = await self.services.scim_tokens.create(name, Actor("cli", None, "tests"), **kw)
        return secret

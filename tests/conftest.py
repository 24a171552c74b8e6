"""Fixtures: every API test runs against a live server on SQLite and on Postgres."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.databases import BACKENDS, dispose_database_url, new_database_url
from tests.support.server import MASTER_KEY, Client, LiveServer


@pytest.fixture(params=BACKENDS, scope="module")
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="module")
async def server(backend, tmp_path_factory):
    """One live server per test module and backend, on a fresh database."""
    url = await new_database_url(backend, tmp_path_factory.mktemp("db"))
    live = await LiveServer(url).start()
    yield live
    await live.stop()
    await dispose_database_url(url)


@pytest.fixture(scope="module")
async def http_session():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(scope="module")
async def scim_token(server) -> str:
    return await server.new_scim_token()


@pytest.fixture
def scim(server, http_session, scim_token) -> Client:
    """A client for /scim/v2 with a valid SCIM token; paths are relative to the tenant URL."""
    return Client(http_session, server.scim_url, scim_token)


@pytest.fixture
def admin(server, http_session) -> Client:
    """A client for the key API with the master key."""
    return Client(http_session, server.base_url, MASTER_KEY)


@pytest.fixture
def anonymous(server, http_session) -> Client:
    return Client(http_session, server.base_url, None)

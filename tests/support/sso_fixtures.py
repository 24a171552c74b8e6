"""Pytest fixtures for SSO tests (imported by the conftest of each folder that needs them)."""

from __future__ import annotations

import pytest

from tests.support.sso import GraphStub, sso_live_server


@pytest.fixture(scope="module")
async def graph():
    stub = await GraphStub().start()
    yield stub
    await stub.stop()


@pytest.fixture(scope="module")
async def sso_server(backend, tmp_path_factory, iam_server, graph):
    """haimaker on a fresh database of `backend`, signing in with SSO at pytest-iam's server."""
    async with sso_live_server(backend, tmp_path_factory, iam_server, graph) as live:
        yield live


@pytest.fixture(scope="session")
def iam_configuration(iam_configuration):
    """pytest-iam's Canaille, logging warnings only (its debug log prints every token)."""
    iam_configuration["CANAILLE"]["LOGGING"]["loggers"]["canaille"]["level"] = "WARNING"
    return iam_configuration

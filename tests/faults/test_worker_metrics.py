"""`serve --workers 2`: /metrics, answered by whichever worker a scrape reaches, counts the
requests of both (prometheus-client multiprocess mode, set up by the parent process), each
worker's within a second."""

from __future__ import annotations

import asyncio
import re
import time

import aiohttp

from tests.support.serve_process import ServeProcess

SAMPLE = re.compile(r"^haimaker_http_requests_total\{([^}]*)\} (\S+)$", re.M)
POOL_PIDS = re.compile(r'^haimaker_db_pool_connections\{pid="(\d+)",state="max"\}', re.M)


async def fresh_connection_get(url: str) -> tuple[int, str]:
    """A new TCP connection per request, so the kernel spreads them over the workers."""
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session, session.get(url) as response:
        return response.status, await response.text()


def openapi_requests(text: str) -> list[float]:
    wanted = {'route="/openapi.json"', 'method="GET"', 'status="200"'}
    return [
        float(value) for labels, value in SAMPLE.findall(text) if wanted <= set(labels.split(","))
    ]


async def test_metrics_add_up_every_worker(tmp_path):
    server = await ServeProcess(
        f"sqlite:///{tmp_path / 'workers.db'}", extra_args=("--workers", "2")
    ).start()
    try:
        sent = 0
        deadline = time.monotonic() + 30
        while True:
            for _ in range(10):
                status, _ = await fresh_connection_get(server.base_url + "/openapi.json")
                assert status == 200
                sent += 1
            _, text = await fresh_connection_get(server.base_url + "/metrics")
            if len(set(POOL_PIDS.findall(text))) == 2:
                break
            assert time.monotonic() < deadline, "the second worker never answered"
        # Each worker adds its tallies to the shared metrics at least once a second
        # (app.web.observability), so within a second every scrape sees every request ...
        deadline = time.monotonic() + 5
        while openapi_requests(text) != [sent]:
            assert time.monotonic() < deadline, text[:3000]
            await asyncio.sleep(0.2)
            _, text = await fresh_connection_get(server.base_url + "/metrics")
        for _ in range(6):  # ... whichever worker answers it
            _, text = await fresh_connection_get(server.base_url + "/metrics")
            assert openapi_requests(text) == [sent], text[:3000]
    finally:
        assert await server.stop() == 0, server.log_text()[-3000:]
        server.close()

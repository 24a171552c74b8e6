"""haimaker as operators run it: `python run.py …` in subprocesses over a shared database.

Used to prove what must hold across processes: a key deleted by one server is refused by
another at once, and concurrent writes through two servers lose nothing.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.support.server import MASTER_KEY, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 30.0


def _environment(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAIMAKER_")}
    env.update(
        HAIMAKER_DATABASE_URL=database_url,
        HAIMAKER_MASTER_KEY=MASTER_KEY,
        HAIMAKER_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


async def run_cli(database_url: str, *args: str, timeout: float = 60.0) -> tuple[int, str, str]:
    """Run `python run.py ARGS` against the database; returns (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "run.py",
        *args,
        cwd=REPO_ROOT,
        env=_environment(database_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode, stdout.decode(), stderr.decode()


async def create_token_cli(database_url: str, name: str = "cli-token") -> str:
    """`run.py token create`: the token is the last line of stdout, alone (interface.md)."""
    code, stdout, stderr = await run_cli(database_url, "token", "create", "--name", name)
    assert code == 0, stderr
    return stdout.strip().splitlines()[-1]


class ServerProcess:
    """`python run.py serve` on a free port, with HAIMAKER_MASTER_KEY set to the tests' key."""

    def __init__(self, database_url: str, *serve_args: str):
        self.database_url = database_url
        self.serve_args = serve_args  # e.g. "--workers", "2"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.scim_url = self.base_url + "/scim/v2"
        self._process: asyncio.subprocess.Process | None = None
        # Held open for the lifetime of the subprocess, which writes its output there.
        self._log = tempfile.NamedTemporaryFile(prefix="haimaker-serve-", suffix=".log")  # noqa: SIM115

    async def start(self) -> ServerProcess:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "run.py",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *self.serve_args,
            cwd=REPO_ROOT,
            env=_environment(self.database_url),
            stdout=self._log,
            stderr=self._log,
        )
        await self._wait_until_healthy()
        return self

    async def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self._process.returncode is not None:
                    break
                try:
                    async with session.get(self.base_url + "/health") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        log = self.log_text()[-3000:]
        await self.stop()
        raise RuntimeError(f"run.py serve did not become healthy:\n{log}")

    @property
    def pid(self) -> int:
        return self._process.pid

    def log_text(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        self._log.close()

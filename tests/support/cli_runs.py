"""`python run.py …` as an operator types it: in a directory of the test's choosing, with only
the HAIMAKER_* variables the test sets (the caller's own are dropped)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import aiohttp

from tests.support.server import MASTER_KEY

RUN_PY = Path(__file__).resolve().parents[2] / "run.py"


def cli_environment(**variables: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HAIMAKER_")}
    env.update(HAIMAKER_MASTER_KEY=MASTER_KEY, PYTHONUNBUFFERED="1", **variables)
    return env


async def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60.0
) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `python run.py ARGS`."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(RUN_PY),
        *args,
        cwd=cwd,
        env=env or cli_environment(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode, stdout.decode(), stderr.decode()


class ServedProcess:
    """`python run.py [ARGS]` left running: wait for /health, read its log, stop it."""

    def __init__(self, *args: str, cwd: Path, env: dict[str, str]):
        self.args = args
        self.cwd = cwd
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.log_path = cwd / f"serve-{time.monotonic_ns()}.log"

    async def start(self) -> ServedProcess:
        log = self.log_path.open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(RUN_PY),
            *self.args,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=log,
        )
        log.close()
        return self

    async def wait_healthy(self, base_url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    break
                try:
                    async with session.get(base_url + "/health") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError(f"run.py did not become healthy at {base_url}:\n{self.log()[-3000:]}")

    async def wait_exit(self, timeout: float = 30.0) -> int:
        return await asyncio.wait_for(self.process.wait(), timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

"""A haimaker server in a child process, for faults that need a real process: SIGKILL in the
middle of writes, SIGTERM with requests in flight, several processes on one database, the
single-file build and the console command.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.support.server import MASTER_KEY, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def server_environment(database_url: str, **settings: object) -> dict[str, str]:
    """This process's environment without HAIMAKER_*, plus the database, the tests' master key
    and `settings` as HAIMAKER_<NAME> variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAIMAKER_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        HAIMAKER_DATABASE_URL=database_url,
        HAIMAKER_MASTER_KEY=MASTER_KEY,
        HAIMAKER_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update({f"HAIMAKER_{name.upper()}": str(value) for name, value in settings.items()})
    return env


class ServeProcess:
    """`COMMAND serve --host 127.0.0.1 --port P` (COMMAND defaults to `python run.py`)."""

    def __init__(
        self,
        database_url: str,
        *,
        command: list[str] | None = None,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        port: int | None = None,
        cwd: Path = REPO_ROOT,
        subcommand: bool = True,
        **settings: object,
    ):
        """`subcommand=False` runs COMMAND with no arguments at all (host and port then come
        from HAIMAKER_HOST/HAIMAKER_PORT), as an operator starting it bare would."""
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.scim_url = self.base_url + "/scim/v2"
        self.command = command or [sys.executable, str(REPO_ROOT / "run.py")]
        self.env = {**server_environment(database_url, **settings), **(env or {})}
        self.cwd = cwd
        self.arguments = ["serve", "--host", "127.0.0.1", "--port", str(self.port), *extra_args]
        if not subcommand:
            self.arguments = []
            self.env.update(HAIMAKER_HOST="127.0.0.1", HAIMAKER_PORT=str(self.port))
        self.process: asyncio.subprocess.Process | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="haimaker-serve-", suffix=".log")  # noqa: SIM115 (lives as long as the process)

    async def start(self, *, timeout: float = 60.0) -> ServeProcess:
        self.process = await asyncio.create_subprocess_exec(
            *self.command,
            *self.arguments,
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )
        await self.wait_ready(timeout)
        return self

    async def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    break
                try:
                    async with session.get(self.base_url + "/health/ready") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        output = self.log_text()[-4000:]
        await self.kill()
        raise RuntimeError(f"the server did not become ready:\n{output}")

    def log_text(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    async def wait(self, timeout: float = 30.0) -> int:
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it has not stopped within 20 s."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                await self.kill()
        return self.process.returncode

    def close(self) -> None:
        self._log.close()

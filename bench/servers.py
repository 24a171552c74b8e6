"""The processes under test: the real server (`run.py serve`), and the yardstick, an aiohttp
handler returning a fixed SCIM user document, both started the same way on this machine."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
MASTER_KEY = "sk-master-bench-" + "b" * 24


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAIMAKER_")}
    env.update(
        HAIMAKER_DATABASE_URL=database_url,
        HAIMAKER_MASTER_KEY=MASTER_KEY,
        HAIMAKER_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        PYTHONFAULTHANDLER="1",  # a crash leaves its traceback in the server's log
    )
    return env


class Process:
    """A server subprocess on a free port; `peak_rss_mb()` reads the kernel's high-water mark."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._argv = [a.replace("{port}", str(self.port)) for a in argv]
        self._env = env
        self._log = open(f"/tmp/bench-{self.port}.log", "w")  # noqa: SIM115 (lives with the process)
        self.process: subprocess.Popen | None = None

    async def start(self, health_path: str = "/health") -> Process:
        self.process = subprocess.Popen(
            self._argv, cwd=REPO, env=self._env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                try:
                    async with session.get(self.base_url + health_path) as response:
                        if response.status == 200:
                            return self
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self._argv} did not start: see {self._log.name}")

    def exit_report(self) -> str | None:
        """None while the process runs; else how it ended and the last lines it wrote, so a
        server that dies mid-run is reported as such, not as a client's lost connection."""
        code = self.process.poll() if self.process is not None else None
        if code is None:
            return None
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"status {code}"
        tail = Path(self._log.name).read_text(errors="replace").splitlines()[-20:]
        return f"exited with {how}; the end of {self._log.name}:\n" + "\n".join(tail)

    def pids(self) -> list[int]:
        """The serving processes: the children when there are workers, else the process."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        found = [int(pid) for pid in children.read_text().split()] if children.exists() else []
        return found or [self.process.pid]

    def peak_rss_mb(self) -> float:
        """The largest VmHWM (peak resident set) among the serving processes."""
        peaks = []
        for pid in self.pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return max(peaks)

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the serving processes (/proc/PID/stat)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def haimaker(database_url: str, workers: int = 1) -> Process:
    return Process(
        [sys.executable, "run.py", "serve", "--host", "127.0.0.1", "--port", "{port}",
         "--workers", str(workers)],
        _env(database_url),
    )  # fmt: skip


def fixed_document() -> Process:
    return Process([sys.executable, "-m", "bench.fixed_document", "{port}"])


def create_token(database_url: str) -> str:
    """`run.py token create`: the token is the last line of stdout."""
    done = subprocess.run(
        [sys.executable, "run.py", "token", "create", "--name", f"bench-{time.time_ns()}"],
        cwd=REPO, env=_env(database_url), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]

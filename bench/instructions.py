"""`python -m bench.instructions`: the server's CPU instructions per request, counted by
valgrind's callgrind.

On a shared, noisy machine a change of a few percent in a request's cost is lost in the noise of
req/s or CPU-seconds figures; an instruction count is the same from run to run (within ~2 %)
whatever else the machine does. It is what the server executes in user space (system calls and
cache misses are not in it), so it complements the wrk figures of `python -m bench`; it does not
replace them.

    python -m bench.instructions --backend sqlite --scenarios yardstick,get,match --requests 500

Needs valgrind (`apt-get install -y valgrind`). The server runs under callgrind with counting
off while it starts and warms up; one keep-alive connection then sends the requests one by one
with counting on. Scenarios: `yardstick` (the fixed-document handler), `get` (`GET
/Users/{id}`), `match` (`filter=userName eq`), `config` (`/ServiceProviderConfig`: no database),
`create` (`POST /Users`, a new user each time).
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import orjson

from bench.__main__ import POSTGRES_ADMIN_URL, scratch_database
from bench.scenarios import USER_URN
from bench.seed import Directory, grow_to, user_name
from bench.servers import REPO, _env, create_token, free_port

SCENARIOS = ("yardstick", "get", "match", "config", "create")


def _paths(scenario: str, directory: Directory) -> list[str]:
    if scenario == "yardstick":
        return ["/scim/v2/Users/any"]
    if scenario == "config":
        return ["/scim/v2/ServiceProviderConfig"]
    if scenario == "create":
        return ["/scim/v2/Users"]
    if scenario == "get":
        return [f"/scim/v2/Users/{user_id}" for user_id in directory.sample_ids]
    step = max(1, directory.users // 2000)
    return [
        "/scim/v2/Users?filter=userName%20eq%20%22" + user_name(n).replace("@", "%40") + "%22"
        for n in range(0, directory.users, step)
    ]


def _argv(scenario: str, port: int, out: str) -> list[str]:
    server = (
        [sys.executable, "-m", "bench.fixed_document", str(port)]
        if scenario == "yardstick"
        else [sys.executable, "run.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
    )
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
            *server]  # fmt: skip


def _connect(port: int, health: str) -> http.client.HTTPConnection:
    deadline = time.monotonic() + 180  # a Python under valgrind starts slowly
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.request("GET", health)
            conn.getresponse().read()
            return conn
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


_RUN = uuid.uuid4().hex[:8]


def _request(scenario: str, path: str, n: int) -> tuple[str, bytes | None, int]:
    """(method, body, expected status) of the nth request."""
    if scenario != "create":
        return "GET", None, 200
    name = f"created-{_RUN}-{n}@bench.example"
    body = {"schemas": [USER_URN], "userName": name, "externalId": f"created-{_RUN}-{n}",
            "displayName": f"Created {n}", "emails": [{"value": name, "primary": True}]}  # fmt: skip
    return "POST", orjson.dumps(body), 201


def _send(conn, scenario: str, paths: list[str], count: int, headers: dict, offset: int) -> None:
    for n in range(offset, offset + count):
        path = paths[n % len(paths)]
        method, body, expected = _request(scenario, path, n)
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != expected:
            raise RuntimeError(f"{method} {path}: {response.status}")


def count(scenario: str, url: str, token: str, directory: Directory, requests: int) -> float:
    """Instructions per request of one scenario (thousands)."""
    folder = tempfile.mkdtemp(prefix="haimaker-callgrind-")
    out = os.path.join(folder, "callgrind.out")
    port = free_port()
    process = subprocess.Popen(
        _argv(scenario, port, out), cwd=REPO, env=_env(url),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        conn = _connect(port, "/health" if scenario == "yardstick" else "/health/live")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        paths = _paths(scenario, directory)
        _send(conn, scenario, paths, 200, headers, offset=10**6)  # warm: caches, statements

        def control(*args: str) -> None:
            subprocess.run(["callgrind_control", *args, str(process.pid)],
                           check=True, capture_output=True)  # fmt: skip

        control("-i", "on")
        _send(conn, scenario, paths, requests, headers, offset=0)
        control("-i", "off")
        control("-d")
    finally:
        process.terminate()
        process.wait(120)
    totals = []
    for name in glob.glob(out + "*"):
        with open(name) as dump:
            totals += [int(line.split()[1]) for line in dump if line.startswith("totals:")]
    shutil.rmtree(folder, ignore_errors=True)
    return max(totals) / requests / 1000


async def _prepare(args) -> tuple[str, object, Directory]:
    url, drop = await scratch_database(args)
    directory = Directory()
    await grow_to(url, directory, args.users, lambda message: None)
    return url, drop, directory


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=",".join(SCENARIOS))
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL)
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install -y valgrind)", file=sys.stderr)
        return 2
    url, drop, directory = asyncio.run(_prepare(args))
    try:
        token = create_token(url)
        base = None
        for scenario in args.scenarios.split(","):
            thousands = count(scenario, url, token, directory, args.requests)
            base = thousands if scenario == "yardstick" else base
            versus = f"  ({thousands / base:.2f}x the yardstick)" if base else ""
            print(f"{args.backend:8} {scenario:10} {thousands:8.1f}k instructions a request{versus}",
                  flush=True)  # fmt: skip
    finally:
        asyncio.run(drop())
    return 0


if __name__ == "__main__":
    sys.exit(main())

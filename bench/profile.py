"""`python -m bench.profile`: where a scenario's server time goes, sampled by py-spy under load.

The benchmark says how fast a request is; this says why. It seeds a directory, starts the real
server, drives one lookup scenario (or `POST /Users`) with the benchmark's load generator and,
meanwhile, samples the serving process with py-spy (the process is paused for each sample, so
stacks are exact; samples of an idle loop are left out). It prints the busy time by module and
by function, inclusive and self, as shares of all busy samples:

    python -m bench.profile --backend sqlite --scenario get --users 20000 --seconds 10

A function's self time includes the C code it calls (SQLite's for a statement, orjson's for an
encoding); time in the event loop's own C code (uvloop: sockets, callbacks) shows as
`run_app`'s self time. Only the event loop's thread is counted (`summarise`). Needs py-spy
(a test dependency) and permission to trace the server (root, or `kernel.yama.ptrace_scope=0`).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

import attrs

from bench.__main__ import POSTGRES_ADMIN_URL, scratch_database
from bench.load import Measurement, measure
from bench.scenarios import lookups, writes
from bench.seed import Directory, grow_to
from bench.servers import create_token, haimaker

SCENARIOS = {
    "get": "GET /Users/{id}",
    "match": "filter userName eq",
    "externalId": "filter externalId eq",
    "emails": "filter emails.value eq",
    "displayName": "filter displayName eq",
    "create": "POST /Users",
}
# The trunk every sample of the loop's thread passes through (the process's start, the event
# loop): leaving it out of the inclusive table keeps that table about the requests' own work.
_TRUNK = frozenset(
    (
        "<module> (run.py)",
        "main (app/cli.py)",
        "_run_command (app/cli.py)",
        "serve (app/server.py)",
        "_run_worker (app/server.py)",
        "run_app (aiohttp/web.py)",
    )
)
_MAIN_THREAD_ROOT = "<module> (run.py)"
_FRAME = re.compile(r"(?P<function>.*) \((?P<file>[^():]+)(?::\d+)?\)")


@attrs.frozen
class Profile:
    """Busy samples of the event loop's thread summed by function and by module (shares of
    `samples`); `other_threads` counts the samples of any other thread, left out."""

    samples: int
    other_threads: int
    inclusive: dict[str, int]  # "function (file)": samples with it anywhere on the stack
    own: dict[str, int]  # "function (file)": samples with it at the top of the stack
    modules: dict[str, int]  # file: samples whose top frame is in it

    def share(self, count: int) -> float:
        return 100.0 * count / self.samples if self.samples else 0.0


def _frame_key(frame: str) -> tuple[str, str]:
    """("function (file)", file) of one py-spy frame, without its line number."""
    found = _FRAME.fullmatch(frame.strip())
    if found is None:
        return frame.strip(), frame.strip()
    file = found["file"]
    return f"{found['function']} ({file})", file


def summarise(raw: str) -> Profile:
    """A Profile from py-spy's `--format raw` output: one line per distinct stack, outermost
    frame first, frames separated by `;`, the number of samples last.

    Only the event loop's thread (the stacks rooted in run.py) is counted: every request runs
    there. aiosqlite's worker thread, waiting on its queue, is sampled as busy by py-spy (a
    blocked `queue.get` is not recognised as idle), so other threads are only tallied."""
    samples = other_threads = 0
    inclusive: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    modules: collections.Counter = collections.Counter()
    for line in raw.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        weight = int(count)
        frames = [_frame_key(frame) for frame in stack.split(";") if frame.strip()]
        if not frames:
            continue
        if frames[0][0] != _MAIN_THREAD_ROOT:
            other_threads += weight
            continue
        samples += weight
        for key in {key for key, _ in frames}:
            inclusive[key] += weight
        top, file = frames[-1]
        own[top] += weight
        modules[file] += weight
    for key in _TRUNK:
        inclusive.pop(key, None)
    return Profile(samples, other_threads, dict(inclusive), dict(own), dict(modules))


def report(profile: Profile, top: int) -> str:
    lines = [
        f"{profile.samples:,} busy samples of the event loop's thread "
        f"({profile.other_threads:,} of other threads left out)"
    ]
    for title, counts in (
        ("by module (self time)", profile.modules),
        ("by function, inclusive (the request's own work, without the process's trunk)",
         profile.inclusive),
        ("by function, self time", profile.own),
    ):  # fmt: skip
        lines.append(f"\n{title}:")
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
        lines += [f"  {profile.share(count):5.1f} %  {name}" for name, count in ranked]
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--scenario", choices=tuple(SCENARIOS), default="get")
    parser.add_argument("--users", type=int, default=20_000, help="directory size")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to sample")
    parser.add_argument("--rate", type=int, default=200, help="samples a second")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--top", type=int, default=20, help="rows per table")
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL, help="as for python -m bench")
    return parser.parse_args(argv)


def py_spy_path() -> str | None:
    """py-spy on PATH, else beside this Python (the venv's); None when neither."""
    found = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    return found if os.access(found, os.X_OK) else None


def _py_spy() -> str:
    found = py_spy_path()
    if found is None:
        raise SystemExit("py-spy is needed: pip install py-spy (a test dependency)")
    return found


async def _sample(pid: int, seconds: float, rate: int) -> str:
    """py-spy's raw stacks of the process over `seconds`."""
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as out:
        done = await asyncio.to_thread(
            subprocess.run,
            [_py_spy(), "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
             "--rate", str(rate), "--format", "raw", "--output", out.name],
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"py-spy failed: {done.stderr.strip()[-500:]}")
        return out.read()


def _requests(directory: Directory, name: str) -> tuple[list, int]:
    """The scenario's requests (as the benchmark sends them) and the status each expects;
    a create's bodies are made unique per request by the load generator."""
    found = lookups(directory).get(name)
    return (found, 200) if found is not None else writes(directory, [])[name]


async def profile_scenario(url: str, args) -> tuple[Profile, Measurement]:
    directory = Directory()
    directory.sample_ids = []
    await grow_to(url, directory, args.users, lambda message: print(message, file=sys.stderr))
    headers = {
        "Authorization": f"Bearer {create_token(url)}",
        "Content-Type": "application/scim+json",
    }
    requests, expected = _requests(directory, SCENARIOS[args.scenario])
    server = await haimaker(url).start()
    try:
        await measure(server.base_url, requests, headers=headers, expected=expected, seconds=2)
        load = asyncio.create_task(
            measure(server.base_url, requests, headers=headers, expected=expected,
                    connections=args.connections, seconds=args.seconds + 2)
        )  # fmt: skip
        await asyncio.sleep(1)  # sample inside the load, not its ramp
        raw = await _sample(server.pids()[0], args.seconds, args.rate)
        measurement = await load
    finally:
        server.stop()
    return summarise(raw), measurement


async def main(argv=None) -> int:
    args = parse_args(argv)
    url, drop = await scratch_database(args)
    try:
        profile, measurement = await profile_scenario(url, args)
    finally:
        await drop()
    print(
        f"{args.backend}, {SCENARIOS[args.scenario]}, {args.users:,} users: "
        f"{measurement.rps:,.0f} req/s under {args.connections} connections "
        f"({measurement.errors} bad answers); py-spy at {args.rate} Hz for {args.seconds:g} s"
    )
    print(report(profile, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

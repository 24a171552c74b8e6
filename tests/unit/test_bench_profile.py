"""`python -m bench.profile`: py-spy's raw stacks summed into the tables it prints."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from bench import profile
from bench.profile import report, summarise

LOOP = (
    "<module> (run.py:8);main (app/cli.py:158);_run_command (app/cli.py:171);"
    "serve (app/server.py:99);_run_worker (app/server.py:67);run_app (aiohttp/web.py:502)"
)
RAW = "\n".join(
    (
        f"{LOOP};frontline (app/web/middlewares.py:129);get (app/web/scim_resources.py:203);"
        "fetchrow (storage/sqlite.py:183) 6",
        f"{LOOP};frontline (app/web/middlewares.py:129);authenticate (app/web/auth.py:104) 2",
        f"{LOOP};frontline (app/web/middlewares.py:140);observe (app/web/observability.py:12) 1",
        f"{LOOP} 1",
        # recursion: one sample, one count for the function however deep it recurses
        f"{LOOP};walk (app/scim/patch.py:10);walk (app/scim/patch.py:11) 2",
        # another thread (aiosqlite's worker waiting on its queue): left out
        "_bootstrap (threading.py:995);_connection_worker_thread (aiosqlite/core.py:59) 7",
        "",
        "not a stack line",
    )
)


def test_only_the_loop_threads_samples_are_counted_and_the_rest_tallied():
    summary = summarise(RAW)
    assert summary.samples == 12
    assert summary.other_threads == 7


def test_inclusive_counts_every_function_once_per_sample_without_the_trunk():
    summary = summarise(RAW)
    assert summary.inclusive["frontline (app/web/middlewares.py)"] == 9  # line numbers merged
    assert summary.inclusive["walk (app/scim/patch.py)"] == 2
    assert "run_app (aiohttp/web.py)" not in summary.inclusive
    assert "<module> (run.py)" not in summary.inclusive


def test_self_time_goes_to_the_top_frame_and_its_module():
    summary = summarise(RAW)
    assert summary.own["fetchrow (storage/sqlite.py)"] == 6
    assert summary.own["run_app (aiohttp/web.py)"] == 1  # the event loop's own C code
    assert summary.own["walk (app/scim/patch.py)"] == 2
    assert summary.modules == {
        "storage/sqlite.py": 6,
        "app/web/auth.py": 2,
        "app/web/observability.py": 1,
        "aiohttp/web.py": 1,
        "app/scim/patch.py": 2,
    }


def test_the_report_gives_shares_of_the_loops_samples_largest_first():
    text = report(summarise(RAW), top=2)
    assert "12 busy samples of the event loop's thread (7 of other threads left out)" in text
    inclusive = text.split("by function, inclusive")[1].split("by function, self")[0]
    assert inclusive.splitlines()[1:3] == [
        "   75.0 %  frontline (app/web/middlewares.py)",
        "   50.0 %  fetchrow (storage/sqlite.py)",
    ]


SPINNER = (
    "import time\n"
    "def spin_for_the_profiler():\n"
    "    while True:\n"
    "        sum(range(1000))\n"
    "print('ready', flush=True)\n"
    "spin_for_the_profiler()\n"
)


async def test_py_spy_samples_a_running_process():
    """The sampler against a real process: its raw stacks name the function it spends its time
    in (py-spy and ptrace are needed; the benchmark's own dependency)."""
    if profile.py_spy_path() is None:
        pytest.skip("py-spy is not installed (pip install -e '.[test]')")
    spinner = subprocess.Popen([sys.executable, "-c", SPINNER], stdout=subprocess.PIPE, text=True)
    try:
        assert spinner.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        try:
            raw = await profile._sample(spinner.pid, 1, 100)
        except SystemExit as refused:
            if "ptrace" in str(refused).lower() or "permission" in str(refused).lower():
                pytest.skip(f"this machine does not let py-spy trace a process: {refused}")
            raise
    finally:
        spinner.kill()
        spinner.wait()
    spinning = sum(
        int(line.rpartition(" ")[2]) for line in raw.splitlines() if "spin_for_the_profiler" in line
    )
    assert spinning >= 50

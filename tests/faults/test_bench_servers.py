"""The benchmark's server processes (bench/servers.py): a server that dies mid-run is reported
with how it ended and what it last wrote, not only as a lost connection on the client's side."""

from __future__ import annotations

import sys

import pytest

from bench.servers import Process

DYING = (
    "import faulthandler, os, signal, sys\n"
    "print('last words before the crash', flush=True)\n"
    "faulthandler.enable()\n"
    "os.kill(os.getpid(), signal.SIGBUS)\n"
)


async def test_a_server_that_dies_is_reported_with_its_signal_and_last_output():
    dying = Process([sys.executable, "-c", DYING])
    try:
        with pytest.raises(RuntimeError, match="did not start"):
            await dying.start()
        report = dying.exit_report()
    finally:
        dying.stop()
    assert report is not None
    assert report.startswith("exited with signal SIGBUS")
    assert "last words before the crash" in report
    assert "Fatal Python error: Bus error" in report  # faulthandler's traceback, in the log


async def test_a_running_server_has_nothing_to_report():
    alive = Process([sys.executable, "-m", "bench.fixed_document", "{port}"])
    try:
        await alive.start()
        assert alive.exit_report() is None
    finally:
        alive.stop()

"""SQLite's change signals (storage.sqlite_signals), between real processes on a real file: what
tells every process's SCIM-token cache that a token was revoked, and what happens when a process
dies half-way through announcing a change. (Postgres does this with LISTEN/NOTIFY: see
tests/api/test_token_cache.py.)"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from storage.sqlite_signals import close_signals, open_signals

CHANNEL = "haimaker_scim_tokens"
REPO = Path(__file__).resolve().parents[2]


def in_another_process(database: str, code: str) -> subprocess.CompletedProcess:
    script = textwrap.dedent(
        f"""
        import os, sys
        from storage.sqlite_signals import open_signals
        signals = open_signals({database!r})
        """
    ) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=REPO
    )


def test_a_change_announced_by_another_process_changes_the_version(tmp_path):
    database = str(tmp_path / "db.sqlite")
    signals = open_signals(database)
    try:
        before = signals.version(CHANNEL)
        assert signals.version(CHANNEL) == before  # stable while nothing happens
        done = in_another_process(database, f"with signals.announcing({CHANNEL!r}): pass")
        assert done.returncode == 0, done.stderr
        after = signals.version(CHANNEL)
        assert after != before
        assert signals.version(CHANNEL) == after
        assert signals.version("another channel") == signals.version("another channel")
    finally:
        close_signals(signals)


def test_while_a_change_is_under_way_no_two_answers_are_equal(tmp_path):
    signals = open_signals(str(tmp_path / "db.sqlite"))
    try:
        before = signals.version(CHANNEL)
        with signals.announcing(CHANNEL):
            during = {signals.version(CHANNEL) for _ in range(5)}
            assert len(during) == 5 and before not in during  # nothing can be cached meanwhile
        assert signals.version(CHANNEL) not in during | {before}
    finally:
        close_signals(signals)


def test_a_process_dying_mid_change_stops_caching_until_a_fresh_start(tmp_path):
    database = str(tmp_path / "db.sqlite")
    signals = open_signals(database)
    try:
        died = in_another_process(
            database, f"with signals.announcing({CHANNEL!r}):\n    os._exit(3)"
        )
        assert died.returncode == 3
        assert signals.version(CHANNEL) != signals.version(CHANNEL)  # distrusted, not trusted
    finally:
        close_signals(signals)
    # Nobody has the file open now: the next process to open it clears what the dead one left.
    reopened = open_signals(database)
    try:
        assert reopened.version(CHANNEL) == reopened.version(CHANNEL)
    finally:
        close_signals(reopened)


def test_one_process_shares_one_mapping_between_its_databases(tmp_path):
    database = str(tmp_path / "db.sqlite")
    first, second = open_signals(database), open_signals(database)
    try:
        assert first is second
        before = first.version(CHANNEL)
        with second.announcing(CHANNEL):
            pass
        assert first.version(CHANNEL) != before
    finally:
        close_signals(first)
        close_signals(second)

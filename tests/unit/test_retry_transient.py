"""A write rolled back to break a deadlock is tried again as a whole, a bounded number of times."""

from __future__ import annotations

import pytest

from app.provisioning.common import TRANSIENT_ATTEMPTS, retry_transient
from storage.db import Conflict, TransientConflict


def failing(times: int, error: type[Exception] = TransientConflict):
    calls = []

    @retry_transient
    async def write(value):
        calls.append(value)
        if len(calls) <= times:
            raise error("deadlock detected")
        return value * 2

    return write, calls


async def test_a_deadlock_victim_is_run_again_until_it_commits():
    write, calls = failing(TRANSIENT_ATTEMPTS - 1)
    assert await write(21) == 42
    assert calls == [21] * TRANSIENT_ATTEMPTS


async def test_after_the_last_attempt_the_conflict_goes_out():
    write, calls = failing(TRANSIENT_ATTEMPTS)
    with pytest.raises(TransientConflict):
        await write(1)
    assert len(calls) == TRANSIENT_ATTEMPTS


async def test_other_errors_are_never_retried():
    write, calls = failing(1, Conflict)
    with pytest.raises(Conflict):
        await write(1)
    assert calls == [1]

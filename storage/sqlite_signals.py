"""Change signals between the processes sharing one SQLite file (what LISTEN/NOTIFY is on Postgres).

A process that caches something another process can change (the SCIM-token cache) asks, on every
use, for the version of a channel; a process about to change it announces the change around its
transaction. The versions live in a small file beside the database (`<database>-signals`), mapped
into every process, so asking costs two memory reads and no system call — where the SQLite
`PRAGMA data_version` it replaces was a statement (and its file locks) on every request.

Each channel has two counters: `begun` and `ended`. An announcement adds one to `begun` before its
transaction starts and one to `ended` after it has committed or rolled back. A reader trusts
what it cached only while both equal the value it cached at; while they differ a change is under
way and the version is a fresh number every time, so nothing is cached or served from the cache.
Readers read `ended` before `begun`, so a stable answer means no change began before the read.

A process that dies between the two additions leaves the channel "under way": caching stops
(every use reads the database, which is always right) until the next time a process opens the
file while no other process has it open, which resets the counters.

Increments take a byte-range lock on the file (announcements are rare: a token revoked); reads
take none. POSIX locks belong to a process, so each process maps the file once (`open_signals`)
however many databases it opens on it.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import mmap
import os
import struct
import zlib
from collections.abc import Iterator

SLOTS = 64  # channels hash into slots; two channels sharing one only invalidate more often
_SLOT = struct.Struct("<qq")  # ended, begun
_COUNTER = struct.Struct("<q")
_SIZE = SLOTS * _SLOT.size
_ATTACHED_BYTE = _SIZE  # locked shared by every process that has the file open
_MUTEX_BYTE = _SIZE + 1  # locked exclusively around an increment

_unstable = itertools.count(1)
_offsets: dict[str, int] = {}  # channel -> its slot's offset (asked on every request)
_open: dict[str, SignalFile] = {}


class SignalFile:
    def __init__(self, path: str):
        self.path = path
        self._users = 0
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(self._fd).st_size < _SIZE + 2:
                os.ftruncate(self._fd, _SIZE + 2)  # every process asks for the same size
            self._map = mmap.mmap(self._fd, _SIZE)
            self._attach()
        except BaseException:
            os.close(self._fd)
            raise

    def _attach(self) -> None:
        """Alone on the file: reset what a dead process may have left under way."""
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _ATTACHED_BYTE)
        except OSError:
            fcntl.lockf(self._fd, fcntl.LOCK_SH, 1, _ATTACHED_BYTE)
            return
        for slot in range(SLOTS):
            ended, begun = _SLOT.unpack_from(self._map, slot * _SLOT.size)
            if begun != ended:
                _SLOT.pack_into(self._map, slot * _SLOT.size, begun, begun)
        fcntl.lockf(self._fd, fcntl.LOCK_SH, 1, _ATTACHED_BYTE)

    def version(self, channel: str) -> int:
        """The channel's version, or a number never given before while a change is under way."""
        offset = _offsets.get(channel)
        if offset is None:
            offset = _offsets[channel] = _offset(channel)
        ended, begun = _SLOT.unpack_from(self._map, offset)  # fields in order: `ended` first
        return ended if begun == ended else -next(_unstable)

    @contextlib.contextmanager
    def announcing(self, channel: str) -> Iterator[None]:
        """Around a transaction that changes what `channel` covers (see the module docstring)."""
        offset = _offset(channel)
        self._add_one(offset + _COUNTER.size)
        try:
            yield
        finally:
            self._add_one(offset)

    def _add_one(self, offset: int) -> None:
        fcntl.lockf(self._fd, fcntl.LOCK_EX, 1, _MUTEX_BYTE)
        try:
            value = _COUNTER.unpack_from(self._map, offset)[0]
            _COUNTER.pack_into(self._map, offset, value + 1)
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, _MUTEX_BYTE)

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)  # releases this process's locks on the file


def _offset(channel: str) -> int:
    return zlib.crc32(channel.encode()) % SLOTS * _SLOT.size


def open_signals(database_path: str) -> SignalFile:
    """The signal file of a database, shared by every opener in this process."""
    path = os.path.realpath(database_path) + "-signals"
    signals = _open.get(path)
    if signals is None:
        signals = _open[path] = SignalFile(path)
    signals._users += 1
    return signals


def close_signals(signals: SignalFile) -> None:
    signals._users -= 1
    if signals._users == 0:
        del _open[signals.path]
        signals.close()

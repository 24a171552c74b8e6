"""Load generators: wrk (with a generated Lua script) where installed, else an aiohttp client.

Both return a `Measurement`: requests per second, p50 and p99 latency in milliseconds, and the
count of answers that were not the expected status (a benchmark of errors is no benchmark).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import shutil
import subprocess
import tempfile
import time

import aiohttp
from attrs import frozen

WRK = shutil.which("wrk")
UNIQUE = "{n}"  # in a path or body: replaced by a number unique within the process (one wrk thread)
_RUNS = itertools.count(1)  # each load run numbers its requests from its own block


def _first_unique() -> int:
    """Where a run's unique numbers start: runs of one bench (a scenario measured in turns)
    never repeat each other's names."""
    return next(_RUNS) * 100_000_000


@frozen
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()


@frozen
class Measurement:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    tool: str


def _lua_string(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode()
    return (
        '"' + "".join(c if c.isalnum() or c in " -_./:@" else f"\\{ord(c):03d}" for c in text) + '"'
    )


def _lua_script(requests: list[Request], headers: dict[str, str], expected: int) -> str:
    """Requests are taken in turn (each wrk thread from its own offset), bad statuses counted."""
    rows = []
    for r in requests:
        all_headers = {**headers, **dict(r.headers)}
        header_lua = ", ".join(
            f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in all_headers.items()
        )
        body = _lua_string(r.body) if r.body is not None else "nil"
        template = "true" if UNIQUE in r.path or UNIQUE in (r.body or b"").decode() else "false"
        rows.append(
            f"  {{{_lua_string(r.method)}, {_lua_string(r.path)}, {{{header_lua}}}, {body}, {template}}},"
        )
    return "\n".join(
        [
            "local requests = {",
            *rows,
            "}",
            "local n = 0",
            "bad = 0",
            "local threads = {}",
            "function setup(thread) table.insert(threads, thread) end",
            "function init(args) n = math.random(#requests) end",
            f"local counter = {_first_unique()}",
            "function request()",
            "  n = n % #requests + 1",
            "  local r = requests[n]",
            "  local path, body = r[2], r[4]",
            "  if r[5] then",
            "    counter = counter + 1",
            "    path = (string.gsub(path, '{n}', counter))",
            "    if body then body = (string.gsub(body, '{n}', counter)) end",
            "  end",
            "  return wrk.format(r[1], path, r[3], body)",
            "end",
            "function response(status, headers, body)",
            f"  if status ~= {expected} then bad = bad + 1 end",
            "end",
            "function done(summary, latency, requests)",
            "  local total = 0",
            "  for _, t in ipairs(threads) do total = total + t:get('bad') end",
            '  io.write(string.format("BAD %d\\n", total))',
            "end",
        ]
    )


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _latency_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([0-9.]+)([a-z]+)", text).groups()
    return float(value) * _UNITS[unit]


def _run_wrk(
    base_url: str, requests: list[Request], headers, expected, connections, seconds, threads
) -> Measurement:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(_lua_script(requests, headers, expected))
        script.flush()
        output = subprocess.run(
            [WRK, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
             "--timeout", "30s", "-s", script.name, base_url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.MULTILINE))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    bad = int(re.search(r"^BAD (\d+)", output, re.MULTILINE).group(1))
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    socket_errors = sum(int(g) for g in errors.groups()) if errors else 0
    return Measurement(
        rps=float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1)),
        p50_ms=_latency_ms(percentiles["50"]),
        p99_ms=_latency_ms(percentiles["99"]),
        requests=total,
        errors=bad + socket_errors,
        tool="wrk",
    )


async def _run_aiohttp(
    base_url: str, requests: list[Request], headers, expected, connections, seconds
) -> Measurement:
    latencies: list[float] = []
    errors = 0
    counter = itertools.count(_first_unique())
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client(offset: int) -> None:
            nonlocal errors
            n = offset
            while time.perf_counter() < deadline:
                r = requests[n % len(requests)]
                n += 1
                unique = str(next(counter)).encode()
                body = r.body.replace(UNIQUE.encode(), unique) if r.body else r.body
                path = r.path.replace(UNIQUE, unique.decode())
                started = time.perf_counter()
                async with session.request(
                    r.method, base_url + path, data=body, headers={**headers, **dict(r.headers)}
                ) as response:
                    await response.read()
                    errors += response.status != expected
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client(i * 7919) for i in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return Measurement(
        rps=len(latencies) / elapsed,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        requests=len(latencies),
        errors=errors,
        tool="aiohttp",
    )


async def measure(
    base_url: str,
    requests: list[Request],
    *,
    headers: dict[str, str],
    expected: int = 200,
    connections: int = 16,
    seconds: float = 5.0,
    threads: int = 1,
    use_wrk: bool = True,
) -> Measurement:
    if WRK and use_wrk:
        return await asyncio.to_thread(
            _run_wrk, base_url, requests, headers, expected, connections, seconds, threads
        )
    return await _run_aiohttp(base_url, requests, headers, expected, connections, seconds)


async def timed(
    session: aiohttp.ClientSession, url: str, request: Request, headers
) -> tuple[float, int]:
    """One request: (milliseconds, status)."""
    started = time.perf_counter()
    async with session.request(
        request.method,
        url + request.path,
        data=request.body,
        headers={**headers, **dict(request.headers)},
    ) as response:
        await response.read()
        return (time.perf_counter() - started) * 1000, response.status

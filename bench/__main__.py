"""`python -m bench --backend sqlite|postgres --users 100000`: seed, serve, load, report.

See bench/README.md for what each figure means and how the targets are read.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid

import asyncpg
import attrs

from bench import scenarios
from bench.load import WRK, Measurement, Request
from bench.seed import BIG_TEAM_SIZE, Directory, add_teams, fresh_users, give_keys, grow_to
from bench.servers import Process, create_token, fixed_document, haimaker

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
ALL = ("lookups", "scans", "writes", "patch10k", "deprovision", "sync", "bulk-sync", "workers")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--users", type=int, default=100_000, help="directory size")
    parser.add_argument(
        "--sizes",
        help="comma-separated directory sizes to measure in turn (e.g. 10000,1000000); "
        "the lookups, PATCH and deprovisioning scenarios are repeated at each",
    )
    parser.add_argument("--scenarios", default=",".join(ALL), help=f"any of {','.join(ALL)}")
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput scenario")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="turns alternating with the "
                        "yardstick per throughput scenario (more: steadier medians on a noisy "
                        "machine; --seconds is shared among them)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-wrk", action="store_true", help="use the aiohttp load generator")
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL, help="an existing database "
                        "on the server where a scratch database is created and dropped")  # fmt: skip
    return parser.parse_args(argv)


async def scratch_database(args) -> tuple[str, callable]:
    if args.backend == "sqlite":
        folder = tempfile.mkdtemp(prefix="haimaker-bench-")
        return f"sqlite:///{folder}/bench.db", _nothing
    name = "haimaker_bench_" + uuid.uuid4().hex[:8]
    conn = await asyncpg.connect(args.postgres_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = args.postgres_url.rsplit("/", 1)[0] + "/" + name

    async def drop() -> None:
        conn = await asyncpg.connect(args.postgres_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    return url, drop


async def _nothing() -> None:
    return None


@attrs.frozen
class Yardstick:
    """The fixed-document server, kept running through the whole run, and its load settings."""

    server: Process
    settings: scenarios.Settings

    async def measure(self, seconds: float, connections: int) -> tuple[Measurement, float]:
        settings = attrs.evolve(self.settings, seconds=seconds)
        run = scenarios.run_throughput(
            self.server.base_url,
            [Request("GET", "/scim/v2/Users/x")],
            {},
            settings,
            200,
            connections,
        )
        return await measured(self.server, run)


@attrs.frozen
class Paired:
    """A scenario measured in turn with the yardstick: on a shared machine whatever else runs
    slows both alike, so the ratio of each pair is steadier than either figure."""

    measurement: Measurement
    cpu_us: float
    ratio: float  # throughput ÷ the yardstick's, median over the pairs
    cpu_ratio: float  # the yardstick's CPU per request ÷ this one's, median over the pairs


async def measured(server: Process, run) -> tuple[Measurement, float]:
    """A throughput run and the server's CPU time per request during it (microseconds): on a
    shared machine the CPU cost is steadier than the throughput."""
    before = server.cpu_seconds()
    m = await run
    return m, (server.cpu_seconds() - before) / max(1, m.requests) * 1e6


async def paired(
    server: Process, yardstick: Yardstick, requests, headers, settings, expected=200,
    connections: int | None = None,
) -> Paired:  # fmt: skip
    """`settings.rounds` × (yardstick, scenario), each for that share of the time, same
    connections."""
    connections = connections or settings.connections
    slice_settings = attrs.evolve(settings, seconds=settings.seconds / settings.rounds)
    ours, theirs = [], []
    for _ in range(settings.rounds):
        theirs.append(await yardstick.measure(slice_settings.seconds, connections))
        ours.append(
            await measured(
                server,
                scenarios.run_throughput(
                    server.base_url, requests, headers, slice_settings, expected, connections
                ),
            )
        )
    pairs = list(zip(ours, theirs, strict=True))
    merged = Measurement(
        rps=statistics.median(m.rps for m, _ in ours),
        p50_ms=statistics.median(m.p50_ms for m, _ in ours),
        p99_ms=statistics.median(m.p99_ms for m, _ in ours),
        requests=sum(m.requests for m, _ in ours),
        errors=sum(m.errors for m, _ in ours),
        tool=ours[0][0].tool,
    )
    return Paired(
        merged,
        statistics.median(cpu for _, cpu in ours),
        statistics.median(o.rps / t.rps for (o, _), (t, _) in pairs if t.rps),
        statistics.median(t_cpu / o_cpu for (_, o_cpu), (_, t_cpu) in pairs if o_cpu),
    )


def row(name: str, p: Paired) -> str:
    m = p.measurement
    if m.requests == 0:
        return f"  {name:<38} no request finished within the run"
    errors = f"  ({m.errors} bad answers)" if m.errors else ""
    return (
        f"  {name:<38} {m.rps:>9.0f} {m.p50_ms:>8.2f} {m.p99_ms:>8.2f} {p.ratio:>6.2f}"
        f" {p.cpu_us:>8.0f} {p.cpu_ratio:>6.2f}{errors}"
    )


HEADER = (
    f"  {'scenario':<38} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}"
    f" {'CPU us':>8} {'CPU r.':>6}"
)


def timings_row(name: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"  {name:<38} {'':>9} {statistics.median(ordered):>8.2f} {p99:>8.2f}"


async def measure_size(args, url, directory, wanted, yardstick, spare_ids, keyed, report) -> dict:
    """Every per-size scenario against a freshly started server; returns p50s for comparison."""
    settings = scenarios.Settings(args.seconds, args.connections, not args.no_wrk, args.rounds)
    server = await haimaker(url, args.workers).start()
    p50s: dict[str, float] = {}
    try:
        token = create_token(url)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        base = server.base_url
        report(f"\n{args.backend}, {directory.users:,} users, {args.workers} worker(s), "
               f"load by {'wrk' if WRK and not args.no_wrk else 'aiohttp'}")  # fmt: skip
        report(HEADER)
        if "lookups" in wanted:
            for name, requests in scenarios.lookups(directory).items():
                result = await paired(server, yardstick, requests, headers, settings)
                p50s[name] = result.measurement.p50_ms
                report(row(name, result))
        if "scans" in wanted:
            for name, requests in scenarios.scans(directory).items():
                result = await paired(server, yardstick, requests, headers, settings, connections=2)
                p50s[name] = result.measurement.p50_ms
                report(row(name, result))
        if "writes" in wanted:
            for name, (requests, expected) in scenarios.writes(directory, spare_ids).items():
                result = await paired(server, yardstick, requests, headers, settings, expected)
                p50s[name] = result.measurement.p50_ms
                report(row(name, result))
        if "patch10k" in wanted:
            members = await fresh_users(url, directory, BIG_TEAM_SIZE)
            timings = await scenarios.patch_ten_thousand(base, headers, members)
            p50s["PATCH +10,000 members (one request)"] = statistics.median(timings)
            report(timings_row("PATCH +10,000 members (one request)", timings))
        if "deprovision" in wanted and keyed:
            timings = await scenarios.deprovision(base, headers, keyed)
            p50s["deprovision a user with 20 keys"] = statistics.median(timings)
            report(timings_row("deprovision a user with 20 keys", timings))
        if "sync" in wanted:
            result = await scenarios.entra_initial_sync(base, headers)
            report(f"  Entra-style initial sync: {result.users:,} users + {result.groups} groups "
                   f"in {result.seconds:.1f} s = {result.users_per_second:,.0f} users/s "
                   f"({result.requests / result.seconds:,.0f} requests/s, 8 clients)")  # fmt: skip
        if "bulk-sync" in wanted:
            result = await scenarios.bulk_initial_sync(base, headers)
            report(f"  Bulk initial sync: {result.users:,} users + {result.groups} groups in "
                   f"{result.seconds:.1f} s = {result.users_per_second:,.0f} users/s "
                   f"({result.requests} Bulk requests of 100+ operations, 8 clients)")  # fmt: skip
        report(f"  server peak RSS: {server.peak_rss_mb():.0f} MB")
    except Exception as error:
        ended = server.exit_report()
        if ended is not None:
            raise RuntimeError(f"the server under test died: {ended}") from error
        raise
    finally:
        server.stop()
    return p50s


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


async def compare_workers(args, url, directory, report) -> None:
    """GET /Users/{id} through 1 and then 2 workers, with where the machine's CPU went: on a
    machine whose cores the load generator and Postgres share, two workers can only add what
    the other processes leave idle."""
    settings = scenarios.Settings(args.seconds, args.connections * 2, not args.no_wrk, args.rounds)
    requests = scenarios.lookups(directory)["GET /Users/{id}"]
    results = {}
    for workers in (1, 2):
        server = await haimaker(url, workers).start()
        try:
            await asyncio.sleep(1)  # every worker up
            token = create_token(url)
            headers = {"Authorization": f"Bearer {token}"}
            busy_before, total_before = machine_busy_seconds()
            server_before = server.cpu_seconds()
            m = await scenarios.run_throughput(server.base_url, requests, headers, settings)
            busy, total = machine_busy_seconds()
            server_cpu = server.cpu_seconds() - server_before
            results[workers] = (m, (busy - busy_before) / (total - total_before), server_cpu)
        finally:
            server.stop()
    (one, busy_one, cpu_one), (two, busy_two, cpu_two) = results[1], results[2]
    report(f"\nGET /Users/{{id}} with --workers 2 vs 1 ({args.backend}, {os.cpu_count()} cores): "
           f"{two.rps:,.0f} vs {one.rps:,.0f} req/s = {two.rps / one.rps:.2f}x; "
           f"machine busy {busy_one:.0%} vs {busy_two:.0%}; server CPU per request "
           f"{cpu_one / max(1, one.requests) * 1e6:.0f} vs {cpu_two / max(1, two.requests) * 1e6:.0f} us "
           f"(server share of the machine {cpu_one / (args.seconds * os.cpu_count()):.0%} vs "
           f"{cpu_two / (args.seconds * os.cpu_count()):.0%})")  # fmt: skip


async def main(argv=None) -> int:
    args = parse_args(argv)
    wanted = set(args.scenarios.split(","))
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.users]
    url, drop = await scratch_database(args)
    lines: list[str] = []

    def report(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    fixed_server = None
    try:
        directory = Directory()
        started = time.perf_counter()
        await grow_to(url, directory, sizes[0], log)
        log(f"seeded {directory.users:,} users in {time.perf_counter() - started:.1f} s")
        team_members = await fresh_users(url, directory, BIG_TEAM_SIZE)
        await add_teams(url, directory, team_members)
        spare_ids = await fresh_users(url, directory, 5000)
        fixed_server = await fixed_document().start()
        yardstick = Yardstick(
            fixed_server,
            scenarios.Settings(args.seconds, args.connections, not args.no_wrk, args.rounds),
        )
        baseline, baseline_cpu = await yardstick.measure(args.seconds, args.connections)
        report(f"fixed-document aiohttp handler: {baseline.rps:,.0f} req/s, "
               f"p50 {baseline.p50_ms:.2f} ms, p99 {baseline.p99_ms:.2f} ms, "
               f"{baseline_cpu:.0f} us CPU a request (ratio 1.00; each scenario below is "
               f"measured in {args.rounds} turns with it, and its ratios are the medians of the turns)")  # fmt: skip
        per_size = {}
        for index, size in enumerate(sizes):
            if size > directory.users:
                started = time.perf_counter()
                await grow_to(url, directory, size, log)
                log(f"grown to {directory.users:,} users in {time.perf_counter() - started:.1f} s")
            keyed = await fresh_users(url, directory, 50)
            await give_keys(url, keyed)
            size_wanted = wanted if index == 0 else wanted - {"sync", "bulk-sync", "scans"}
            if index > 0:
                size_wanted |= {"scans"} & wanted
            per_size[size] = await measure_size(
                args, url, directory, size_wanted, yardstick, spare_ids, keyed, report
            )
        if len(sizes) > 1:
            first, last = sizes[0], sizes[-1]
            report(f"\np50 at {last:,} users / p50 at {first:,} users")
            for name, p50 in per_size[last].items():
                if per_size[first].get(name) and p50:
                    report(f"  {name:<38} {p50 / per_size[first][name]:6.2f}x")
        if "workers" in wanted and args.backend == "postgres":
            await compare_workers(args, url, directory, report)
    finally:
        if fixed_server is not None:
            fixed_server.stop()
        await drop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

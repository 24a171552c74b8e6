"""`python -m bench.admin_pages --backend sqlite|postgres --users 100000`: how fast the admin
page's lists answer on a large directory.

Seeds N users, a team holding all of them and 2,000 teams of 20, starts the real server, signs
in with the master key and times each page (median and worst of REPEATS requests, whole HTTP
round trip). Prints one line per page.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
import uuid

import aiohttp
import asyncpg

from bench.seed import Directory, _open, grow_to
from bench.servers import MASTER_KEY, Process, _env
from storage.bulk_load import load_memberships
from storage.records import TeamRecord
from storage.teams import TeamStore

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
SMALL_TEAMS = 2_000
SMALL_TEAM_SIZE = 20
REPEATS = 7


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def seed_users_postgres(url: str, count: int) -> None:
    """The same users as bench.seed, made by Postgres itself (generate_series)."""
    db = await _open(url)
    try:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO users (id, user_name, user_name_lower, external_id, display_name,"
                " display_name_lower, active, source, doc, version, created_at, updated_at)"
                " SELECT gen_random_uuid()::text, 'user' || n || '@bench.example',"
                " 'user' || n || '@bench.example', 'ext-' || n, 'User ' || n, 'user ' || n, TRUE,"
                " 'scim', jsonb_build_object('userName', 'user' || n || '@bench.example',"
                " 'displayName', 'User ' || n, 'active', TRUE), 1, now(), now()"
                " FROM generate_series(0, ? - 1) AS n",
                count,
            )
            await conn.execute(
                "INSERT INTO user_emails (user_id, position, value, value_lower, type, is_primary)"
                " SELECT id, 0, user_name, user_name_lower, 'work', TRUE FROM users"
            )
    finally:
        await db.close()


async def seed_teams(url: str) -> str:
    """One team with every user and SMALL_TEAMS teams of SMALL_TEAM_SIZE; returns the big
    team's id."""
    import datetime as dt

    db = await _open(url)
    try:
        now = dt.datetime.now(dt.UTC)
        async with db.transaction() as conn:
            ids = [row[0] for row in await conn.fetch("SELECT id FROM users")]
            teams = TeamStore(conn, db.dialect)
            big = str(uuid.uuid4())
            await teams.insert(
                TeamRecord(big, "Everyone", None, {"displayName": "Everyone"}, 1, now, now)
            )
            await load_memberships(conn, big, ids, "scim", now)
            for n in range(SMALL_TEAMS):
                name, team_id = f"Team {n:05}", str(uuid.uuid4())
                await teams.insert(
                    TeamRecord(team_id, name, None, {"displayName": name}, 1, now, now)
                )
                start = (n * SMALL_TEAM_SIZE) % max(1, len(ids) - SMALL_TEAM_SIZE)
                await load_memberships(
                    conn, team_id, ids[start : start + SMALL_TEAM_SIZE], "scim", now
                )
        return big
    finally:
        await db.close()


async def timed_pages(base_url: str, pages: list[tuple[str, str]]) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        async with session.get(base_url + "/ui/login") as response:
            token = re.search(r'name="csrf_token" value="([^"]+)"', await response.text()).group(1)
        async with session.post(
            base_url + "/ui/login",
            data={"csrf_token": token, "master_key": MASTER_KEY, "next": "/ui"},
            allow_redirects=False,
        ) as response:
            assert response.status == 303, response.status
        for label, path in pages:
            times = []
            for _ in range(REPEATS):
                started = time.perf_counter()
                async with session.get(base_url + path) as response:
                    body = await response.text()
                    assert response.status == 200, (path, response.status, body[:300])
                times.append((time.perf_counter() - started) * 1000)
            shown = re.search(r"Showing ([^<]+)", body)
            print(
                f"{label:<34} median {statistics.median(times):7.1f} ms   worst {max(times):7.1f} ms"
                f"   ({shown.group(1).strip() if shown else ''})",
                flush=True,
            )


async def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.admin_pages", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_args(argv)
    if args.backend == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/admin-pages.db"
    else:
        name = "bench_ui_" + uuid.uuid4().hex[:8]
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    log(f"seeding {args.users:,} users on {args.backend} …")
    if args.backend == "sqlite":
        await grow_to(url, Directory(), args.users, log)
    else:
        await seed_users_postgres(url, args.users)
    big = await seed_teams(url)
    if args.backend == "postgres":  # what autovacuum does soon after a bulk load
        conn = await asyncpg.connect(url)
        await conn.execute("VACUUM ANALYZE")
        await conn.close()
    server = await Process(
        [sys.executable, "run.py", "serve", "--port", "{port}"], env=_env(url)
    ).start()
    last = max(1, -(-args.users // 50))
    try:
        print(f"admin pages, {args.backend}, {args.users:,} users, {SMALL_TEAMS + 1:,} teams")
        await timed_pages(
            server.base_url,
            [
                ("overview", "/ui"),
                ("users, first page", "/ui/users"),
                ("users, middle page", f"/ui/users?page={last // 2}"),
                ("users, last page", f"/ui/users?page={last}"),
                ("users, search 'user9999'", "/ui/users?q=user9999"),
                ("teams, first page", "/ui/teams"),
                ("teams, search 'team 01'", "/ui/teams?q=team%2001"),
                ("team of everyone, first page", f"/ui/teams/{big}"),
                ("team of everyone, last page", f"/ui/teams/{big}?page={last}"),
                ("audit log, first page", "/ui/audit"),
            ],
        )
    finally:
        server.stop()
        if args.backend == "postgres":
            conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
            await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())

"""Starting haimaker as an operator does (interface.md): `python run.py` in a directory of its
own, configured by flags and HAIMAKER_* variables (flags win), announcing itself in one log
line that never shows a database password, and /health telling whether the database answers.

Few and fast: each subprocess costs about half a second to start.
"""

from __future__ import annotations

import re
import uuid

import asyncpg

from app.cli import build_parser
from app.config import settings_from
from tests.support.cli_runs import ServedProcess, cli_environment, run_cli
from tests.support.databases import (
    create_postgres_database,
    dispose_database_url,
    drop_postgres_database,
)
from tests.support.scim_data import assert_scim_error
from tests.support.server import Client, LiveServer, free_port

PASSWORD = "s3cret-" + uuid.uuid4().hex[:8]


def announcement(log: str) -> str:
    """The one line saying where the server listens."""
    lines = [line for line in log.splitlines() if "listening on" in line]
    assert len(lines) == 1, log
    return lines[0]


def test_defaults_are_the_documented_ones():
    settings = settings_from({})
    assert (settings.host, settings.port) == ("127.0.0.1", 4000)
    assert settings.database_url == "sqlite:///haimaker.db"
    assert build_parser().parse_args([]).command is None  # `python run.py` means serve


async def test_bare_run_serves_on_the_default_database_in_the_working_directory(tmp_path):
    port = free_port()  # the only setting given: 4000 may be taken on a shared machine
    served = await ServedProcess(cwd=tmp_path, env=cli_environment(HAIMAKER_PORT=str(port))).start()
    try:
        await served.wait_healthy(f"http://127.0.0.1:{port}")
        assert (tmp_path / "haimaker.db").exists()
        line = announcement(served.log())
        assert f"http://127.0.0.1:{port}" in line
        assert "sqlite:///haimaker.db" in line
        assert f"http://127.0.0.1:{port}/scim/v2" in line
    finally:
        await served.stop()
    code, _, stderr = await run_cli("migrate", cwd=tmp_path)  # on the same default database
    assert code == 0, stderr


async def test_flags_win_over_environment_variables(tmp_path, http_session):
    env_port, flag_port = free_port(), free_port()
    env = cli_environment(
        HAIMAKER_HOST="0.0.0.0",
        HAIMAKER_PORT=str(env_port),
        HAIMAKER_DATABASE_URL="sqlite:///from-env.db",
        HAIMAKER_PUBLIC_URL="https://env.example.com",
    )
    code, stdout, stderr = await run_cli(
        "token",
        "create",
        "--name",
        "flags",
        "--database-url",
        "sqlite:///from-flag.db",
        cwd=tmp_path,
        env=env,
    )
    assert code == 0, stderr
    token = stdout.splitlines()[-1]
    served = await ServedProcess(
        "--host",
        "127.0.0.1",
        "--port",
        str(flag_port),
        "--database-url",
        "sqlite:///from-flag.db",
        "--public-url",
        "https://scim.example.com/base/",
        cwd=tmp_path,
        env=env,
    ).start()
    try:
        await served.wait_healthy(f"http://127.0.0.1:{flag_port}")
        assert (tmp_path / "from-flag.db").exists() and not (tmp_path / "from-env.db").exists()
        line = announcement(served.log())
        assert f"http://127.0.0.1:{flag_port}" in line and "sqlite:///from-flag.db" in line
        assert "https://scim.example.com/base/scim/v2" in line
        scim = Client(http_session, f"http://127.0.0.1:{flag_port}/scim/v2", token)
        config = (await scim.get("/ServiceProviderConfig")).json
        assert (
            config["meta"]["location"]
            == "https://scim.example.com/base/scim/v2/ServiceProviderConfig"
        )
    finally:
        await served.stop()


async def test_environment_variables_alone_configure_the_server(tmp_path):
    port = free_port()
    env = cli_environment(
        HAIMAKER_HOST="127.0.0.1",
        HAIMAKER_PORT=str(port),
        HAIMAKER_DATABASE_URL=f"sqlite:///{tmp_path / 'absolute.db'}",
        HAIMAKER_PUBLIC_URL="https://idp-facing.example.org",
    )
    served = await ServedProcess("serve", cwd=tmp_path, env=env).start()
    try:
        await served.wait_healthy(f"http://127.0.0.1:{port}")
        assert (tmp_path / "absolute.db").exists()
        line = announcement(served.log())
        assert f"sqlite:///{tmp_path / 'absolute.db'}" in line
        assert "https://idp-facing.example.org/scim/v2" in line
    finally:
        await served.stop()


async def test_a_postgresql_url_selects_postgres_and_hides_the_password(tmp_path):
    url = await create_postgres_database()
    with_password = url.replace("://postgres@", f"://postgres:{PASSWORD}@")  # trust auth
    port = free_port()
    served = await ServedProcess(
        "--port",
        str(port),
        "--database-url",
        with_password,
        cwd=tmp_path,
        env=cli_environment(),
    ).start()
    try:
        await served.wait_healthy(f"http://127.0.0.1:{port}")
        log = served.log()
        assert PASSWORD not in log
        line = announcement(log)
        assert "postgresql://postgres:***@127.0.0.1" in line
        conn = await asyncpg.connect(url)
        try:
            tables = {r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables")}
        finally:
            await conn.close()
        assert {"users", "teams", "scim_tokens", "schema_migrations"} <= tables
        assert not list(tmp_path.glob("*.db"))
    finally:
        await served.stop()
        await dispose_database_url(url)


async def test_an_unreachable_database_stops_the_start_with_a_clear_message(tmp_path):
    closed_port = free_port()
    unreachable = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{closed_port}/haimaker"
    served = await ServedProcess(
        "--port",
        str(free_port()),
        "--database-url",
        unreachable,
        cwd=tmp_path,
        env=cli_environment(HAIMAKER_DB_TIMEOUT_SECONDS="3"),
    ).start()
    try:
        code = await served.wait_exit(timeout=30)
    finally:
        await served.stop()
    log = served.log()
    assert code != 0
    assert PASSWORD not in log
    assert "Traceback" not in log, log
    assert re.search(r"database.*postgresql://postgres:\*\*\*@127\.0\.0\.1", log, re.I), log
    assert "listening on" not in log
    code, stdout, stderr = await run_cli(
        "token",
        "list",
        "--database-url",
        unreachable,
        cwd=tmp_path,
        env=cli_environment(HAIMAKER_DB_TIMEOUT_SECONDS="3"),
    )
    assert code != 0 and "Traceback" not in stderr and PASSWORD not in stderr + stdout
    assert "postgresql://postgres:***@" in stderr


async def test_health_is_503_when_the_database_goes_away(http_session):
    url = await create_postgres_database()
    live = await LiveServer(url, db_timeout_seconds=3.0).start()
    try:
        scim = Client(http_session, live.scim_url, await live.new_scim_token())
        health = Client(http_session, live.base_url, None)
        assert (await health.get("/health")).status == 200
        assert (await scim.get("/Users")).status == 200
        await drop_postgres_database(url)  # terminates the server's connections too
        down = await health.get("/health")
        assert down.status == 503, down
        assert down.json["status"] != "ok"
        failed = await scim.get("/Users")
        assert_scim_error(failed, 503)
        assert failed.headers.get("Retry-After")
    finally:
        await live.stop()
        await dispose_database_url(url)

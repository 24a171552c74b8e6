"""The self-host builds: `scripts/build_pyz.sh` makes one haimaker.pyz that serves exactly like
run.py (migrations, SCIM, the admin page's templates and static files, all from inside it),
and installing the package gives a `haimaker` command."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import zipfile
from pathlib import Path

import aiohttp
import pytest

from tests.support.serve_process import REPO_ROOT, ServeProcess
from tests.support.server import MASTER_KEY


async def run(*command: str, cwd: Path, env: dict | None = None, timeout: float = 300) -> str:
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-4000:]
    return text


async def serves_like_run_py(server: ServeProcess, token: str) -> None:
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        async with session.post(
            server.scim_url + "/Users", json={"userName": "pyz@example.com"}, headers=headers
        ) as created:
            assert created.status == 201, await created.text()
        async with session.get(server.base_url + "/ui/login") as login:
            assert login.status == 200
            assert "<form" in await login.text()  # rendered from the packaged templates
        async with session.get(server.base_url + "/ui/static/ui.css") as css:
            assert css.status == 200
        async with session.get(
            server.base_url + "/key/list",
            params={"user_id": "nobody"},
            headers={"Authorization": f"Bearer {MASTER_KEY}"},
        ) as keys:
            assert keys.status == 404


async def test_the_single_file_build_serves_like_run_py(tmp_path):
    pyz = tmp_path / "haimaker.pyz"
    await run("bash", str(REPO_ROOT / "scripts" / "build_pyz.sh"), str(pyz), cwd=REPO_ROOT)
    names = set(zipfile.ZipFile(pyz).namelist())
    for inside in (
        "site-packages/app/_assets/templates/login.html",
        "site-packages/app/_assets/static/ui.css",
        "site-packages/storage/migrations/sqlite/0001_initial.sql",
        "site-packages/storage/migrations/postgres/0001_initial.sql",
        "site-packages/aiohttp/__init__.py",
    ):
        assert inside in names, inside

    elsewhere = tmp_path / "elsewhere"  # far from the checkout: nothing can come from it
    elsewhere.mkdir()
    database = f"sqlite:///{elsewhere / 'pyz.db'}"
    env = {"PATH": "/usr/bin:/bin", "SHIV_ROOT": str(tmp_path / "shiv")}
    output = await run(
        sys.executable,
        str(pyz),
        "token",
        "create",
        "--name",
        "pyz",
        "--database-url",
        database,
        cwd=elsewhere,
        env={**env, "HAIMAKER_MASTER_KEY": MASTER_KEY},
    )
    token = output.strip().splitlines()[-1]
    server = ServeProcess(
        database,
        command=[sys.executable, str(pyz)],
        cwd=elsewhere,
        subcommand=False,
        env={"SHIV_ROOT": env["SHIV_ROOT"], "PYTHONPATH": ""},
    )
    await server.start()
    try:
        await serves_like_run_py(server, token)
    finally:
        assert await server.stop() == 0
        log = server.log_text()
        server.close()
    assert "Traceback" not in log
    unpacked = list((tmp_path / "shiv").glob("*/site-packages/app/_assets/templates/login.html"))
    assert unpacked, "the server did not run from the unpacked single file"


def console_script() -> str:
    found = Path(sys.executable).with_name("haimaker")
    if not found.exists():
        pytest.fail(
            f"no `haimaker` command beside {sys.executable}: install the package "
            "(pip install -e '.[test]', as CI does)"
        )
    return str(found)


async def test_the_haimaker_command_is_installed(tmp_path):
    command = console_script()
    help_text = subprocess.run([command, "--help"], capture_output=True, text=True, check=True)
    assert "serve" in help_text.stdout and "token" in help_text.stdout
    database = f"sqlite:///{tmp_path / 'console.db'}"
    migrated = await run(command, "migrate", "--database-url", database, cwd=tmp_path)
    assert "schema is current" in migrated
    token = (
        (
            await run(
                command,
                "token",
                "create",
                "--name",
                "cli",
                "--database-url",
                database,
                cwd=tmp_path,
            )
        )
        .strip()
        .splitlines()[-1]
    )
    server = await ServeProcess(database, command=[command], cwd=tmp_path).start()
    try:
        await serves_like_run_py(server, token)
    finally:
        assert await server.stop() == 0
        server.close()

"""Headless Chromium (Debian's package) driven by Playwright's async API against live servers.

Without /usr/bin/chromium or the playwright package the browser tests skip and say why, except
with HAIMAKER_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from tests.support.sso_fixtures import graph, iam_configuration, sso_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

__all__ = ["graph", "iam_configuration", "sso_server"]


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get update && apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing (pip install playwright)"
    return None


@pytest.fixture(scope="session")
async def chromium():
    reason = _missing()
    if reason:
        if os.environ.get("HAIMAKER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required (HAIMAKER_REQUIRE_BROWSER=1): {reason}")
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def page(chromium):
    """A fresh browser profile (no cookies) per test; fails the test on any page error or
    Content-Security-Policy violation reported to the console."""
    context = await chromium.new_context(viewport={"width": 1280, "height": 860})
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    yield page
    await context.close()
    assert not problems, problems


async def snapshot(page, name: str, backend: str) -> Path:
    """A full-page screenshot in tests/artifacts/ (ignored by git) to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}-{backend}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path

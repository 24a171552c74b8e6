"""An HTTP client for the admin page: its own cookies, no automatic redirects, form tokens."""

from __future__ import annotations

import re

import aiohttp

from tests.support.server import MASTER_KEY

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "the page has no form token"
    return found.group(1)


class UiClient:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.session.close()

    async def get(self, url: str, **kw) -> tuple[int, dict, str]:
        if url.startswith("/"):
            url = self.base_url + url
        async with self.session.get(url, allow_redirects=False, **kw) as response:
            return response.status, response.headers, await response.text()

    async def post_form(self, path: str, form: dict, **kw) -> tuple[int, dict, str]:
        async with self.session.post(
            self.base_url + path, data=form, allow_redirects=False, **kw
        ) as response:
            return response.status, response.headers, await response.text()

    async def sign_in(self, master_key: str = MASTER_KEY) -> tuple[int, dict, str]:
        _, _, page = await self.get("/ui/login")
        return await self.post_form(
            "/ui/login", {"csrf_token": form_token(page), "master_key": master_key, "next": "/ui"}
        )

    async def token_of(self, path: str) -> str:
        """The form token on the page at `path` (the session's)."""
        status, _, page = await self.get(path)
        assert status == 200, (status, page[:300])
        return form_token(page)

    def cookie(self, name: str) -> str | None:
        for cookie in self.session.cookie_jar:
            if cookie.key == name:
                return cookie.value
        return None

"""Rendering the admin page: Jinja templates from the top-level `templates/` folder with
autoescaping on (a displayName of `<script>` from an IdP shows as text), paging, HTML errors."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from urllib.parse import urlencode

import aiohttp_jinja2
import jinja2
import orjson
from aiohttp import web
from attrs import frozen

from app.assets import asset_dir
from app.web.appkeys import SETTINGS
from app.web.ui_session import csrf_token, current_session

TEMPLATES_DIR = asset_dir("templates")  # top-level folders, or their packaged copies
STATIC_DIR = asset_dir("static")
PAGE_SIZE = 50

ERROR_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    413: "Request too large",
    429: "Too many attempts",
    500: "Something went wrong",
    502: "Identity provider problem",
    503: "Service unavailable",
}


_STATIC_FILES = {path.name: path for path in Path(STATIC_DIR).iterdir() if path.is_file()}


async def static_file(request: web.Request) -> web.FileResponse:
    """The admin page's own files, by name from the list read at start (no path is ever built
    from the request); caching, ETag and ranges are aiohttp's FileResponse."""
    path = _STATIC_FILES.get(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path)


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _compact_json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode() if value else ""


def _thousands(value: int) -> str:
    return f"{value:,}"


def _page_context(request: web.Request) -> dict:
    session = current_session(request)
    return {
        "session": session,
        "csrf_token": csrf_token(request),
        "sso_enabled": request.app[SETTINGS].sso_enabled,
        "path": request.path,
    }


def setup_templates(app: web.Application) -> None:
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        filters={"when": _when, "compact_json": _compact_json, "thousands": _thousands},
    )


def render(request: web.Request, template: str, *, status: int = 200, **context) -> web.Response:
    """A page with what every page shows (who is signed in, the form token, the navigation);
    not an aiohttp_jinja2 context processor, so error pages made outside the handler get it."""
    return aiohttp_jinja2.render_template(
        template, request, {**_page_context(request), **context}, status=status
    )


def see_other(location: str) -> web.Response:
    """A 303 redirect as a response object, so cookies can be set on it."""
    return web.Response(status=303, headers={"Location": location})


def error_page(request: web.Request, status: int, message: str) -> web.Response:
    return render(
        request,
        "error.html",
        status=status,
        title=ERROR_TITLES.get(status, "Error"),
        status_code=status,
        message=message,
    )


@frozen
class Pager:
    """One page of a server-side paged list: where it starts and how to reach the others."""

    page: int
    size: int
    total: int
    base_query: tuple[tuple[str, str], ...] = ()

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def first_shown(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last_shown(self) -> int:
        return min(self.offset + self.size, self.total)

    def url(self, page: int) -> str:
        return "?" + urlencode([*self.base_query, ("page", str(page))])


def page_number(request: web.Request) -> int:
    try:
        return max(1, min(int(request.query.get("page", "1")), 10_000_000))
    except ValueError:
        return 1


def query_text(request: web.Request, name: str, limit: int = 200) -> str:
    return request.query.get(name, "").strip()[:limit]

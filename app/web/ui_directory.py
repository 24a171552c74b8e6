"""Overview, Teams and Users pages. Lists are paged on the server (PAGE_SIZE rows a page).

An administrator sees everything; a person signed in with SSO without admin rights sees the
overview of their own account and only the teams they belong to.
"""

from __future__ import annotations

from aiohttp import web

from app.provisioning.common import utcnow
from app.provisioning.directory import Directory
from app.provisioning.scim_tokens import token_state
from app.web.appkeys import SERVICES
from app.web.ui_render import PAGE_SIZE, Pager, page_number, query_text, render
from app.web.ui_session import current_session


def _directory(request: web.Request) -> Directory:
    return Directory(request.app[SERVICES].repo)


async def home(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    directory = _directory(request)
    if not session.is_admin:
        return render(
            request,
            "home_member.html",
            memberships=await directory.memberships(session.user_id),
            keys=await directory.keys(session.user_id),
        )
    overview = await directory.overview()
    now = utcnow()
    tokens = await request.app[SERVICES].scim_tokens.list()
    active_tokens = sum(1 for token in tokens if token_state(token, now) == "active")
    return render(request, "home.html", overview=overview, active_tokens=active_tokens)


async def home_slash(request: web.Request) -> web.StreamResponse:
    raise web.HTTPMovedPermanently("/ui")


async def teams(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    search = query_text(request, "q")
    page = page_number(request)
    member_id = None if session.is_admin else session.user_id
    result = await _directory(request).teams_page(
        search or None, PAGE_SIZE, (page - 1) * PAGE_SIZE, member_id=member_id
    )
    pager = Pager(page, PAGE_SIZE, result.total, (("q", search),) if search else ())
    return render(request, "teams.html", teams=result.items, pager=pager, search=search)


async def team(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    team_id = request.match_info["team_id"]
    directory = _directory(request)
    if not session.is_admin and not await directory.is_member(team_id, session.user_id):
        raise web.HTTPNotFound()
    page = page_number(request)
    detail = await directory.team(team_id, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    pager = Pager(page, PAGE_SIZE, detail.members.total)
    return render(request, "team.html", team=detail.team, members=detail.members.items, pager=pager)


async def users(request: web.Request) -> web.StreamResponse:
    search = query_text(request, "q")
    page = page_number(request)
    result = await _directory(request).users_page(search or None, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    pager = Pager(page, PAGE_SIZE, result.total, (("q", search),) if search else ())
    return render(request, "users.html", users=result.items, pager=pager, search=search)


async def user(request: web.Request) -> web.StreamResponse:
    detail = await _directory(request).user(request.match_info["user_id"])
    emails = detail.user.doc.get("emails") if isinstance(detail.user.doc, dict) else None
    return render(
        request,
        "user.html",
        detail=detail,
        user=detail.user,
        emails=[e.get("value") for e in emails or [] if isinstance(e, dict) and e.get("value")],
    )

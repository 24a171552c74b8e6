"""The audit log page: newest first, filtered by a user, a team or an action, paged."""

from __future__ import annotations

from aiohttp import web

from app.provisioning.directory import Directory
from app.web.appkeys import SERVICES
from app.web.ui_render import PAGE_SIZE, Pager, page_number, query_text, render

KNOWN_ACTIONS = (
    "user.create",
    "user.update",
    "user.replace",
    "user.deactivate",
    "user.reactivate",
    "user.delete",
    "team.create",
    "team.update",
    "team.replace",
    "team.delete",
    "team.member_add",
    "team.member_remove",
    "key.create",
    "key.delete",
    "access_token.delete",
    "scim_token.create",
    "scim_token.revoke",
    "sso.team_sync",
    "sso.login_refused",
    "ui.login",
    "ui.login_failed",
    "ui.logout",
)


async def audit_log(request: web.Request) -> web.StreamResponse:
    user_text = query_text(request, "user")
    team_text = query_text(request, "team")
    action = query_text(request, "action", 100)
    page = page_number(request)
    directory = Directory(request.app[SERVICES].repo)
    error = None
    target_id = None
    if user_text and team_text:
        error = "Filter by a user or by a team, not both at once."
    elif user_text:
        target_id = await directory.find_user_id(user_text)
        error = None if target_id else f"No user has the id or userName {user_text!r}."
    elif team_text:
        target_id = await directory.find_team_id(team_text)
        error = None if target_id else f"No team has the id or name {team_text!r}."
    if error:
        events, total = [], 0
    else:
        result = await request.app[SERVICES].audit.page(
            target_id=target_id,
            action=action or None,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        events, total = result.items, result.total
    query = tuple(
        (name, value)
        for name, value in (("user", user_text), ("team", team_text), ("action", action))
        if value
    )
    return render(
        request,
        "audit.html",
        events=events,
        pager=Pager(page, PAGE_SIZE, total, query),
        filter_user=user_text,
        filter_team=team_text,
        filter_action=action,
        actions=KNOWN_ACTIONS,
        error=error,
    )

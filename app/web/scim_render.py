"""Users and teams as SCIM documents: `meta`, `groups`/`members` and `$ref` URLs."""

from __future__ import annotations

from app.provisioning.teams import TeamView
from app.provisioning.users import StoredUser, UserView
from app.scim.ast import AttrPath
from app.scim.codec import render_resource
from app.scim.rendering import resource_meta
from app.scim.schemas import GROUP_RESOURCE, USER_RESOURCE
from app.scim.stored_documents import complete


def _meta(resource_type: str, endpoint: str, record, base_url: str) -> dict:
    return resource_meta(
        resource_type,
        f"{base_url}{endpoint}/{record.id}",
        record.created_at,
        record.updated_at,
        record.version,
    )


def user_groups(pairs: list[tuple[str, str]], base_url: str) -> list[dict]:
    """A user's `groups` (RFC 7643 §4.1.2) from their (team id, team name) pairs."""
    return [
        {
            "value": team_id,
            "$ref": f"{base_url}/Groups/{team_id}",
            "display": name,
            "type": "direct",
        }
        for team_id, name in pairs
    ]


def stored_user_body(stored: StoredUser, base_url: str) -> bytes | None:
    """A plain `GET /Users/{id}` body from the representation stored with the user, None where
    there is none usable (app.scim.stored_documents): the same bytes `user_document` gives."""
    groups = user_groups(stored.groups, base_url)
    return complete(stored.rendered, USER_RESOURCE, groups, f"{base_url}/Users/{stored.id}")


def stored_view_body(view: UserView, base_url: str) -> bytes | None:
    """A user just written, answered from the text stored with it (None: render it)."""
    record = view.record
    stored = StoredUser(record.id, record.rendered, record.version, view.groups)
    return stored_user_body(stored, base_url)


def user_document(
    view: UserView,
    base_url: str,
    attributes: tuple[AttrPath, ...] = (),
    excluded: tuple[AttrPath, ...] = (),
) -> dict:
    record = view.record
    groups = user_groups(view.groups, base_url)
    return render_resource(
        record.doc,
        USER_RESOURCE,
        resource_id=record.id,
        meta=_meta("User", "/Users", record, base_url),
        computed={"groups": groups} if groups else {},
        attributes=attributes,
        excluded=excluded,
    )


def team_document(
    view: TeamView,
    base_url: str,
    attributes: tuple[AttrPath, ...] = (),
    excluded: tuple[AttrPath, ...] = (),
) -> dict:
    record = view.record
    computed = {}
    if view.members:
        computed["members"] = [
            {
                "value": m.user_id,
                "$ref": f"{base_url}/Users/{m.user_id}",
                "display": m.display,
                "type": "User",
            }
            for m in view.members
        ]
    return render_resource(
        record.doc,
        GROUP_RESOURCE,
        resource_id=record.id,
        meta=_meta("Group", "/Groups", record, base_url),
        computed=computed,
        attributes=attributes,
        excluded=excluded,
    )

"""Users and teams as SCIM documents: `meta`, `groups`/`members` and `$ref` URLs."""

from __future__ import annotations

import datetime as dt

from app.provisioning.teams import TeamView
from app.provisioning.users import UserView
from app.scim.ast import AttrPath
from app.scim.codec import etag_for, render_resource
from app.scim.schemas import GROUP_RESOURCE, USER_RESOURCE


def timestamp(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with milliseconds (`2026-01-01T00:00:00.000Z`)."""
    if moment.tzinfo is not dt.UTC:
        moment = moment.astimezone(dt.UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"  # drop "+00:00"


def _meta(resource_type: str, endpoint: str, record, base_url: str) -> dict:
    return {
        "resourceType": resource_type,
        "created": timestamp(record.created_at),
        "lastModified": timestamp(record.updated_at),
        "location": f"{base_url}{endpoint}/{record.id}",
        "version": etag_for(record.version),
    }


def user_document(
    view: UserView,
    base_url: str,
    attributes: tuple[AttrPath, ...] = (),
    excluded: tuple[AttrPath, ...] = (),
) -> dict:
    record = view.record
    groups = [
        {
            "value": team_id,
            "$ref": f"{base_url}/Groups/{team_id}",
            "display": name,
            "type": "direct",
        }
        for team_id, name in view.groups
    ]
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

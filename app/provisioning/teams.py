"""Team use cases: a SCIM Group is a haimaker team (RFC 7644 §3.3–3.6 on /Groups).

Members are rows of a join table changed with set-based statements, never a list rewritten in
Python, so concurrent PATCHes from an IdP each keep their members and a 10,000-member change is
a few statements. Members must be users of ours: unknown ids are refused by name (no phantom
users), and so are nested groups.
"""

from __future__ import annotations

import datetime as dt

from attrs import frozen

from app.provisioning.access import credential_events
from app.provisioning.common import (
    Actor,
    audit_event,
    conflict_error,
    current_for_write,
    new_id,
    not_found,
    retry_transient,
    utcnow,
)
from app.provisioning.search import search_resources
from app.scim.codec import canonicalize_resource
from app.scim.errors import invalid_value
from app.scim.filter import matches_element
from app.scim.listing import ListQuery
from app.scim.patch import MemberChange, apply_patch, parse_patch_request, split_member_changes
from app.scim.schemas import GROUP_RESOURCE
from storage.db import Conflict
from storage.records import Member, TeamRecord
from storage.repository import Stores
from storage.selective import is_selective
from storage.sql_fields import TEAMS

MEMBERS = GROUP_RESOURCE.schema.attribute("members")


@frozen
class TeamView:
    record: TeamRecord
    members: list[Member] | None  # None when the caller did not ask for members


def _split_members(doc: dict) -> tuple[dict, list[str]]:
    """The stored document (without members) and the member ids of a POST/PUT body."""
    members = doc.pop("members", None) or []
    ids = []
    for member in members:
        if str(member.get("type", "User")).lower() == "group":
            raise invalid_value(
                f"member {member.get('value')!r} is a group; nested groups are not supported"
            )
        ids.append(member["value"])
    return doc, list(dict.fromkeys(ids))


def _record(
    doc: dict, *, team_id: str, version: int, created: dt.datetime, now: dt.datetime, source: str
) -> TeamRecord:
    return TeamRecord(
        id=team_id,
        display_name=doc["displayName"],
        external_id=doc.get("externalId"),
        doc=doc,
        version=version,
        created_at=created,
        updated_at=now,
        source=source,
    )


class TeamProvisioning:
    def __init__(
        self, repo, *, max_patch_operations: int = 1000, max_members_per_request: int = 100_000
    ):
        self.repo = repo
        self.max_patch_operations = max_patch_operations
        self.max_members_per_request = max_members_per_request

    # -- reads --------------------------------------------------------------------------------

    async def get(self, team_id: str, *, with_computed: bool = True) -> TeamView:
        reader = self.repo.reader if with_computed else self.repo.quick_reader
        async with reader() as stores:
            record = await stores.teams.get(team_id)
            if record is None:
                raise not_found("Group", team_id)
            members = (await stores.teams.members([team_id]))[team_id] if with_computed else None
        return TeamView(record, members)

    async def search(
        self, query: ListQuery, *, with_computed: bool = True
    ) -> tuple[list[TeamView], int]:
        """Entra's match (`displayName eq` without members) runs on the quick reader."""
        quick = not with_computed and is_selective(
            query.filter, TEAMS.table, GROUP_RESOURCE.schema.id
        )
        async with (self.repo.quick_reader if quick else self.repo.reader)() as stores:
            page = await search_resources(stores, stores.teams, GROUP_RESOURCE, TEAMS, query)
            ids = [record.id for record in page.items]
            members = await stores.teams.members(ids) if with_computed else {}
        return [
            TeamView(record, members.get(record.id) if with_computed else None)
            for record in page.items
        ], page.total

    # -- writes -------------------------------------------------------------------------------

    @retry_transient
    async def create(
        self, body: object, actor: Actor, *, source: str = "scim", with_members: bool = True
    ) -> TeamView:
        """POST. `with_members=False` when the caller will not show them (Bulk, a response
        without members): a 10,000-member group is then not read back."""
        doc, member_ids = _split_members(canonicalize_resource(body, GROUP_RESOURCE))
        self._check_size(member_ids)
        now = utcnow()
        record = _record(doc, team_id=new_id(), version=1, created=now, now=now, source=source)
        created = audit_event(
            actor, "team.create", "team", record.id, now, displayName=record.display_name
        )
        if not member_ids:  # an IdP's usual create: the team and its event, one statement
            async with self.repo.transaction(one_statement=True) as stores:
                await self._insert(stores, record, [created])
            return TeamView(record, [])
        async with self.repo.transaction() as stores:
            await self._require_users(stores, member_ids)
            await self._insert(stores, record, [created])
            await stores.teams.add_members(record.id, member_ids, source, now)
            await stores.audit.append(_member_events(actor, record.id, now, added=member_ids))
            members = (await stores.teams.members([record.id]))[record.id] if with_members else None
        return TeamView(record, members)

    @staticmethod
    async def _insert(stores, record: TeamRecord, events: list) -> None:
        try:
            await stores.teams.insert(record, also=[stores.audit.insert_of(events)])
        except Conflict as error:
            raise conflict_error(error) from None

    async def replace(
        self,
        team_id: str,
        body: object,
        actor: Actor,
        *,
        if_match: str | None,
        with_members: bool = True,
    ) -> TeamView:
        """PUT: the body's member list is the new membership (Keycloak, Okta wizard apps)."""
        doc, member_ids = _split_members(canonicalize_resource(body, GROUP_RESOURCE))
        self._check_size(member_ids)
        changes = [MemberChange("replace", tuple(member_ids))]
        return await self._write(
            team_id, lambda current: doc, changes, actor, if_match, "team.replace", with_members
        )

    async def patch(
        self,
        team_id: str,
        body: object,
        actor: Actor,
        *,
        if_match: str | None,
        with_members: bool = True,
    ) -> TeamView:
        """PATCH (RFC 7644 §3.5.2). The cost of adding one member does not grow with the team
        when the members are not shown back (`with_members=False`)."""
        operations = parse_patch_request(body, max_operations=self.max_patch_operations)
        doc_operations, changes = split_member_changes(operations, GROUP_RESOURCE)
        self._check_size([i for change in changes for i in change.ids])

        def compute(current: TeamRecord) -> dict:
            if not doc_operations:
                return current.doc
            return apply_patch(current.doc, doc_operations, GROUP_RESOURCE, resource_id=team_id)

        return await self._write(
            team_id, compute, changes, actor, if_match, "team.update", with_members
        )

    @retry_transient
    async def _write(
        self, team_id, compute, changes, actor, if_match, action, with_members=True
    ) -> TeamView:
        async with self.repo.transaction() as stores:
            current = await current_for_write(stores.teams, "Group", team_id, if_match)
            doc = compute(current)
            now = utcnow()
            added, removed = await self._apply_member_changes(
                stores, team_id, changes, now, current.source
            )
            events = []
            record = current
            if doc != current.doc or added or removed:
                record = _record(
                    doc,
                    team_id=team_id,
                    version=current.version + 1,
                    created=current.created_at,
                    now=now,
                    source=current.source,
                )
                try:
                    await stores.teams.update(record, expected_version=current.version)
                except Conflict as error:
                    raise conflict_error(error) from None
                if doc != current.doc:
                    events.append(
                        audit_event(
                            actor, action, "team", team_id, now, displayName=record.display_name
                        )
                    )
            events += _member_events(actor, team_id, now, added=added, removed=removed)
            deleted_keys = await stores.api_keys.delete_for_team_members(team_id, removed)
            events += credential_events(deleted_keys, actor, now, "removed from team")
            await stores.audit.append(events)
            members = (await stores.teams.members([team_id]))[team_id] if with_members else None
        return TeamView(record, members)

    async def _apply_member_changes(
        self,
        stores: Stores,
        team_id: str,
        changes: list[MemberChange],
        now: dt.datetime,
        source: str,
    ) -> tuple[list[str], list[str]]:
        """Apply the ordered changes; returns (ids added, ids removed), net of each other."""
        added: dict[str, None] = {}
        removed: dict[str, None] = {}

        def note(add=(), remove=()):
            for user_id in add:
                if user_id in removed:
                    removed.pop(user_id)
                else:
                    added[user_id] = None
            for user_id in remove:
                if user_id in added:
                    added.pop(user_id)
                else:
                    removed[user_id] = None

        for change in changes:
            if change.kind in ("add", "replace"):
                await self._require_users(stores, change.ids)
            if change.kind == "add":
                note(add=await stores.teams.add_members(team_id, change.ids, source, now))
            elif change.kind == "remove":
                note(remove=await stores.teams.remove_members(team_id, change.ids))
            elif change.kind == "clear":
                note(remove=await stores.teams.remove_members_except(team_id, []))
            elif change.kind == "replace":
                note(remove=await stores.teams.remove_members_except(team_id, change.ids))
                note(add=await stores.teams.add_members(team_id, change.ids, source, now))
            elif change.kind == "remove_matching":
                members = (await stores.teams.members([team_id]))[team_id]
                doomed = [
                    m.user_id
                    for m in members
                    if matches_element(
                        change.filter,
                        {"value": m.user_id, "display": m.display, "type": "User"},
                        MEMBERS,
                    )
                ]
                note(remove=await stores.teams.remove_members(team_id, doomed))
        return list(added), list(removed)

    @retry_transient
    async def delete(self, team_id: str, actor: Actor, *, if_match: str | None = None) -> None:
        """DELETE: the team, its memberships and every key scoped to it."""
        async with self.repo.transaction() as stores:
            current = await current_for_write(stores.teams, "Group", team_id, if_match)
            now = utcnow()
            events = credential_events(
                await stores.api_keys.delete_for_team(team_id), actor, now, "team deleted"
            )
            await stores.teams.delete(team_id)
            events.append(
                audit_event(
                    actor, "team.delete", "team", team_id, now, displayName=current.display_name
                )
            )
            await stores.audit.append(events)

    async def _require_users(self, stores: Stores, user_ids) -> None:
        missing = await stores.users.missing_ids(list(user_ids))
        if missing:
            shown = ", ".join(repr(i) for i in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise invalid_value(f"members must be existing users; unknown: {shown}{more}")

    def _check_size(self, ids) -> None:
        if len(ids) > self.max_members_per_request:
            raise invalid_value(
                f"{len(ids)} members in one request; at most {self.max_members_per_request} are accepted"
            )


def _member_events(actor: Actor, team_id: str, now: dt.datetime, *, added=(), removed=()):
    events = []
    if added:
        events.append(
            audit_event(actor, "team.member_add", "team", team_id, now, user_ids=list(added))
        )
    if removed:
        events.append(
            audit_event(actor, "team.member_remove", "team", team_id, now, user_ids=list(removed))
        )
    return events

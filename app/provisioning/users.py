"""User use cases (RFC 7644 §3.3–3.6): create, read, replace, patch, delete, search.

Each write is one transaction: read the row (locked where the database locks rows), let the
pure PATCH/codec layer compute the new document, write it against the version read, and, when
the user stops being active or is deleted, cut their access in the same commit.
"""

from __future__ import annotations

import datetime as dt

from attrs import frozen

from app.provisioning.access import revoke_user_access
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
from app.provisioning.search import PreparedMatches, compile_query, search_resources
from app.scim.codec import canonicalize_resource
from app.scim.listing import ListQuery, PageLimits, RawListQuery, match_shape
from app.scim.patch import apply_patch, parse_patch_request
from app.scim.rendering import resource_meta
from app.scim.schemas import USER_RESOURCE
from app.scim.stored_documents import fingerprint, prerender
from storage.db import Conflict
from storage.records import Page, StoredUser, UserRecord
from storage.repository import Repository, Stores
from storage.selective import is_selective
from storage.sql_fields import USERS


@frozen
class UserView:
    """A user with what the server computes for it (its teams, RFC 7643 §4.1.2 `groups`)."""

    record: UserRecord
    groups: list[tuple[str, str]]


def stored_representation(
    doc: dict, *, user_id: str, version: int, created: dt.datetime, now: dt.datetime
) -> str:
    """The user's default representation as stored with it (app.scim.stored_documents)."""
    meta = resource_meta("User", "", created, now, version)
    return prerender(doc, USER_RESOURCE, resource_id=user_id, meta=meta)


def _stored_text(user: UserRecord) -> str:
    return stored_representation(
        user.doc,
        user_id=user.id,
        version=user.version,
        created=user.created_at,
        now=user.updated_at,
    )


def _record(
    doc: dict, *, user_id: str, version: int, created: dt.datetime, now: dt.datetime, source: str
) -> UserRecord:
    return UserRecord(
        id=user_id,
        user_name=doc["userName"],
        external_id=doc.get("externalId"),
        display_name=doc.get("displayName"),
        active=doc.get("active", True),
        doc=doc,
        version=version,
        created_at=created,
        updated_at=now,
        source=source,
        rendered=stored_representation(
            doc, user_id=user_id, version=version, created=created, now=now
        ),
    )


def _emails(doc: dict) -> list[dict]:
    emails = doc.get("emails")
    return emails if isinstance(emails, list) else []


class UserProvisioning:
    def __init__(self, repo: Repository, *, max_patch_operations: int = 1000):
        self.repo = repo
        self.max_patch_operations = max_patch_operations
        self._matches = PreparedMatches(USER_RESOURCE, USERS, repo.db.dialect)

    @retry_transient
    async def create(self, body: object, actor: Actor, *, source: str = "scim") -> UserView:
        doc = canonicalize_resource(body, USER_RESOURCE)
        doc.setdefault("active", True)
        now = utcnow()
        record = _record(doc, user_id=new_id(), version=1, created=now, now=now, source=source)
        event = audit_event(actor, "user.create", "user", record.id, now, userName=record.user_name)
        # The user, their e-mails and the audit event are one statement where the database
        # can (Postgres: one round trip instead of five); a conflict writes none of them.
        async with self.repo.transaction(one_statement=True) as stores:
            try:
                await stores.users.insert(
                    record, _emails(doc), also=[stores.audit.insert_of([event])]
                )
            except Conflict as error:
                raise conflict_error(error) from None
        return UserView(record, [])

    async def get(self, user_id: str, *, with_computed: bool = True) -> UserView:
        """One indexed statement on the quick reader (the user with their groups)."""
        async with self.repo.quick_reader() as stores:
            if not with_computed:
                record = await stores.users.get(user_id)
                found = (record, []) if record is not None else None
            else:
                found = await stores.users.get_with_groups(user_id)
        if found is None:
            raise not_found("User", user_id)
        return UserView(*found)

    async def get_stored(self, user_id: str) -> StoredUser:
        """A plain point read: one indexed statement, nothing converted (see StoredUser)."""
        async with self.repo.quick_reader() as stores:
            found = await stores.users.get_stored(user_id)
        if found is None:
            raise not_found("User", user_id)
        return found

    async def store_missing_representations(self, batch: int = 500) -> int:
        """Give every user written before stored representations existed (or under other
        rendering rules) a current one, a batch per short transaction; returns how many.
        Started in the background at startup: until a row has one, it is rendered on read."""
        prefix = fingerprint(USER_RESOURCE)
        done, after = 0, 0
        while True:
            async with self.repo.transaction() as stores:
                found = await stores.users.without_stored_text(prefix, after, batch)
                texts = [(user.id, user.version, _stored_text(user)) for _, user in found]
                await stores.users.set_stored_text(texts)
            done += len(found)
            if len(found) < batch:
                return done
            after = found[-1][0]

    async def replace(
        self, user_id: str, body: object, actor: Actor, *, if_match: str | None
    ) -> UserView:
        """PUT (RFC 7644 §3.5.1): the body replaces every writable attribute. An `active` left
        out keeps its value, so a PUT that forgets it never re-enables a deactivated user."""
        doc = canonicalize_resource(body, USER_RESOURCE)

        def compute(current: UserRecord) -> dict:
            doc.setdefault("active", current.active)
            return doc

        return await self._write(user_id, compute, actor, if_match=if_match, action="user.replace")

    async def patch(
        self, user_id: str, body: object, actor: Actor, *, if_match: str | None
    ) -> UserView:
        """PATCH (RFC 7644 §3.5.2), every IdP dialect normalised by the pure engine. A `remove`
        of `active` leaves it unassigned (§3.5.2.2), which this server reads as active, the
        same default a create without `active` gets (RFC 7643 §4.1.1 leaves the meaning to the
        service provider)."""
        operations = parse_patch_request(body, max_operations=self.max_patch_operations)

        def compute(current: UserRecord) -> dict:
            return apply_patch(current.doc, operations, USER_RESOURCE, resource_id=user_id)

        return await self._write(user_id, compute, actor, if_match=if_match, action="user.update")

    @retry_transient
    async def _write(
        self, user_id, compute, actor: Actor, *, if_match: str | None, action: str
    ) -> UserView:
        async with self.repo.transaction() as stores:
            current = await current_for_write(stores.users, "User", user_id, if_match)
            doc = compute(current)
            groups = (await stores.users.groups_of([user_id]))[user_id]
            if doc == current.doc:
                return UserView(current, groups)
            now = utcnow()
            updated = _record(
                doc,
                user_id=user_id,
                version=current.version + 1,
                created=current.created_at,
                now=now,
                source=current.source,
            )
            try:
                written = await stores.users.update(
                    updated, _emails(doc), expected_version=current.version
                )
            except Conflict as error:
                raise conflict_error(error) from None
            if not written:  # only reachable without row locks; the transaction holds the lock
                raise not_found("User", user_id)
            events = [
                audit_event(
                    actor,
                    action,
                    "user",
                    user_id,
                    now,
                    userName=updated.user_name,
                    changed=_changed_attributes(current.doc, doc),
                )
            ]
            events += await self._access_change(stores, current, updated, actor, now)
            await stores.audit.append(events)
        return UserView(updated, groups)

    async def _access_change(
        self, stores: Stores, before: UserRecord, after: UserRecord, actor: Actor, now: dt.datetime
    ):
        if before.active and not after.active:
            events = [
                audit_event(
                    actor, "user.deactivate", "user", after.id, now, userName=after.user_name
                )
            ]
            return events + await revoke_user_access(
                stores, after.id, actor, now, "user deactivated"
            )
        if not before.active and after.active:
            return [
                audit_event(
                    actor, "user.reactivate", "user", after.id, now, userName=after.user_name
                )
            ]
        return []

    @retry_transient
    async def delete(self, user_id: str, actor: Actor, *, if_match: str | None = None) -> None:
        """DELETE (RFC 7644 §3.6): the user, their memberships, keys and access tokens.

        The user's teams are locked before the user (the order every writer follows), so a
        concurrent membership PATCH on one of them waits instead of deadlocking."""
        async with self.repo.transaction() as stores:
            await stores.teams.lock(await stores.teams.teams_of_user(user_id))
            current = await current_for_write(stores.users, "User", user_id, if_match)
            now = utcnow()
            events = await revoke_user_access(stores, user_id, actor, now, "user deleted")
            left = await stores.teams.remove_user_everywhere(user_id)
            await stores.teams.touch_many(left, now)
            events += [
                audit_event(
                    actor,
                    "team.member_remove",
                    "team",
                    team_id,
                    now,
                    user_id=user_id,
                    reason="user deleted",
                )
                for team_id in left
            ]
            await stores.users.delete(user_id)
            events.append(
                audit_event(actor, "user.delete", "user", user_id, now, userName=current.user_name)
            )
            await stores.audit.append(events)

    def _reader_for(self, query: ListQuery):
        """A selective filter (an indexed `eq`, as IdPs match users) runs on the quick reader;
        anything that may scan runs on the ordinary one."""
        selective = is_selective(query.filter, USERS.table, USER_RESOURCE.schema.id)
        return self.repo.quick_reader() if selective else self.repo.reader()

    async def search(
        self, query: ListQuery, *, with_computed: bool = True
    ) -> tuple[list[UserView], int]:
        async with self._reader_for(query) as stores:
            if with_computed:
                page: Page = await stores.users.search_with_groups(
                    compile_query(stores, USER_RESOURCE, USERS, query)
                )
                return [UserView(*item) for item in page.items], page.total
            page = await search_resources(stores, stores.users, USER_RESOURCE, USERS, query)
        return [UserView(record, []) for record in page.items], page.total

    async def match_stored(
        self, raw: RawListQuery, limits: PageLimits
    ) -> tuple[list[StoredUser], int] | None:
        """`search_stored` for an IdP's match (app.scim.listing.match_shape) from its prepared
        comparison; None for any other request, or a shape not prepared yet (the caller binds
        the request in full)."""
        shape = match_shape(raw, limits)
        if shape is None:
            return None
        attr, sub, op, text, count = shape
        template = self._matches.template(attr, sub, op)
        if template is None:
            return None
        async with self.repo.quick_reader() if template.selective else self.repo.reader() as stores:
            page: Page = await stores.users.match_stored(template.bind(text), count)
        return page.items, page.total

    async def search_stored(self, query: ListQuery) -> tuple[list[StoredUser], int]:
        """`search` for a page with no attributes asked for: each user as a point read gets it."""
        async with self._reader_for(query) as stores:
            page: Page = await stores.users.search_stored(
                compile_query(stores, USER_RESOURCE, USERS, query)
            )
        return page.items, page.total


def _changed_attributes(before: dict, after: dict) -> list[str]:
    keys = set(before) | set(after)
    return sorted(key for key in keys if before.get(key) != after.get(key))

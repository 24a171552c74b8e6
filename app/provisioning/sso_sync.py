"""SSO sign-in: who signed in, which groups they are in, and the teams that follow from it.

The web layer verifies the ID token and, for Entra ID, reads groups from Microsoft Graph; what
is left is protocol-free and lives here:

- reading an identity and its groups from verified ID-token claims, including Entra's "group
  overage" signals (`_claim_names`/`_claim_sources` naming `groups`, or `hasgroups`), which mean
  the token holds no usable group list and Graph must be asked;
- matching the person to a user (userName, then e-mail, then externalId) or creating them
  just in time (source "sso"); a deactivated user is refused;
- team sync both ways: a team per group (found by externalId = the group id, else by name,
  created with source "sso" when missing), SSO-managed memberships added and removed. A
  membership that SCIM made is never removed here: the IdP's provisioning owns it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from attrs import frozen

from app.provisioning.access import credential_events
from app.provisioning.common import Actor, audit_event, utcnow
from app.provisioning.teams import TeamProvisioning
from app.provisioning.users import UserProvisioning
from app.scim.errors import ScimError
from app.scim.schemas import GROUP_URN, USER_URN
from storage.records import TeamRecord, UserRecord
from storage.repository import Repository, Stores

log = logging.getLogger("haimaker.sso")

SSO = "sso"
MICROSOFT_ISSUER_HOSTS = (
    "login.microsoftonline.com",
    "sts.windows.net",
    "login.microsoftonline.us",
)


@frozen
class IdpGroup:
    """A group as the IdP names it: `id` (an Entra object id, or the claim value) and `name`."""

    name: str
    id: str | None = None


@frozen
class SsoIdentity:
    subject: str
    user_name: str
    email: str | None
    email_verified: bool | None
    display_name: str | None
    given_name: str | None
    family_name: str | None
    object_id: str | None  # Entra `oid`


@frozen
class GroupsClaim:
    groups: tuple[IdpGroup, ...] | None  # None: the token carries no group list
    overage: bool  # the IdP says the list is elsewhere (Entra: Microsoft Graph)


@frozen
class SignInResult:
    user: UserRecord
    is_admin: bool
    created: bool
    teams_added: tuple[str, ...]
    teams_removed: tuple[str, ...]
    teams_created: tuple[str, ...]


class SignInRefused(Exception):
    """The IdP vouched for the person but haimaker will not let them in (shown to them)."""


def _text(claims: Mapping, name: str) -> str | None:
    value = claims.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def identity_from_claims(claims: Mapping) -> SsoIdentity:
    """The person in a verified ID token (OIDC Core §5.1 standard claims, plus Entra's
    `upn`/`oid`). userName is the first of preferred_username, email, upn and sub."""
    subject = _text(claims, "sub")
    if subject is None:
        raise SignInRefused("the ID token names no subject")
    email = _text(claims, "email")
    verified = claims.get("email_verified")
    user_name = _text(claims, "preferred_username") or email or _text(claims, "upn") or subject
    return SsoIdentity(
        subject=subject,
        user_name=user_name,
        email=email,
        email_verified=verified if isinstance(verified, bool) else None,
        display_name=_text(claims, "name"),
        given_name=_text(claims, "given_name"),
        family_name=_text(claims, "family_name"),
        object_id=_text(claims, "oid"),
    )


def groups_from_claims(claims: Mapping, claim_name: str = "groups") -> GroupsClaim:
    """The group list of the token, and whether the IdP signals that it is incomplete.

    Entra ID leaves out `groups` past 150–200 groups and instead sends `_claim_names:
    {"groups": "src1"}` with `_claim_sources` (OIDC Core §5.6.2 distributed claims), or
    `hasgroups: true` in implicit flows."""
    names = claims.get("_claim_names")
    overage = (isinstance(names, Mapping) and claim_name in names) or claims.get("hasgroups") in (
        True,
        "true",
    )
    raw = claims.get(claim_name)
    if raw is None:
        return GroupsClaim(None, overage)
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise SignInRefused(f"the {claim_name!r} claim is neither a list nor a string")
    groups = tuple(
        IdpGroup(name=value.strip(), id=value.strip())
        for value in dict.fromkeys(v for v in raw if isinstance(v, str) and v.strip())
    )
    return GroupsClaim(groups, overage)


def is_microsoft_issuer(issuer: str | None) -> bool:
    return bool(issuer) and urlsplit(issuer).hostname in MICROSOFT_ISSUER_HOSTS


def needs_graph(claim: GroupsClaim, *, source: str, issuer: str | None) -> bool:
    """Ask Microsoft Graph for the groups? `source` is HAIMAKER_SSO_GROUPS_SOURCE: "claim"
    never, "graph" always, "auto" on overage or when an Entra token has no groups claim."""
    if source == "claim":
        return False
    if source == "graph":
        return True
    return claim.overage or (claim.groups is None and is_microsoft_issuer(issuer))


def is_admin_member(groups: Sequence[IdpGroup], admin_group: str | None) -> bool:
    """Whether one of the groups is the admin group, by name (case-insensitively) or id."""
    if not admin_group:
        return False
    wanted = admin_group.strip().casefold()
    return any(
        group.name.casefold() == wanted or (group.id or "").casefold() == wanted for group in groups
    )


def _new_user_body(identity: SsoIdentity) -> dict:
    body: dict = {
        "schemas": [USER_URN],
        "userName": identity.user_name,
        "externalId": identity.object_id or identity.subject,
        "active": True,
    }
    if identity.display_name:
        body["displayName"] = identity.display_name
    name = {
        key: value
        for key, value in (
            ("givenName", identity.given_name),
            ("familyName", identity.family_name),
        )
        if value
    }
    if name:
        body["name"] = name
    if identity.email:
        body["emails"] = [{"value": identity.email, "type": "work", "primary": True}]
    return body


class SsoSignIn:
    def __init__(
        self,
        repo: Repository,
        users: UserProvisioning,
        teams: TeamProvisioning,
        *,
        team_sync: bool,
        admin_group: str | None,
    ):
        self.repo = repo
        self.users = users
        self.teams = teams
        self.team_sync = team_sync
        self.admin_group = admin_group

    async def sign_in(self, identity: SsoIdentity, groups: Sequence[IdpGroup]) -> SignInResult:
        user, created = await self._user_for(identity)
        actor = Actor(SSO, user.id, user.user_name)
        if not user.active:
            await self._refuse(user, actor, "user deactivated")
            raise SignInRefused(
                "your haimaker account is deactivated; ask your administrator to re-enable it"
            )
        added: list[str] = []
        removed: list[str] = []
        created_teams: list[str] = []
        if self.team_sync:
            teams, created_teams = await self._teams_for(groups, actor)
            added, removed = await self._sync_memberships(user, teams, actor)
        is_admin = is_admin_member(groups, self.admin_group)
        return SignInResult(
            user=user,
            is_admin=is_admin,
            created=created,
            teams_added=tuple(added),
            teams_removed=tuple(removed),
            teams_created=tuple(created_teams),
        )

    # -- the person ----------------------------------------------------------------------------

    async def _match(self, stores: Stores, identity: SsoIdentity) -> UserRecord | None:
        """userName, then e-mail, then externalId. An e-mail the IdP says it has not verified
        is never used to match (it could claim someone else's account)."""
        trusted_email = identity.email if identity.email_verified is not False else None
        for candidate in dict.fromkeys(c for c in (identity.user_name, trusted_email) if c):
            found = await stores.users.find_by_user_name(candidate)
            if found is not None:
                return found
        if trusted_email:
            found = await stores.users.find_by_email(trusted_email)
            if len(found) == 1:
                return found[0]
        for external_id in dict.fromkeys(c for c in (identity.object_id, identity.subject) if c):
            found = await stores.users.find_by_external_id(external_id)
            if len(found) == 1:
                return found[0]
        return None

    async def _user_for(self, identity: SsoIdentity) -> tuple[UserRecord, bool]:
        async with self.repo.reader() as stores:
            found = await self._match(stores, identity)
        if found is not None:
            return found, False
        actor = Actor(SSO, None, identity.user_name)
        try:
            view = await self.users.create(_new_user_body(identity), actor, source=SSO)
        except ScimError as error:
            if error.status != 409:
                raise SignInRefused(f"your account could not be created: {error.detail}") from None
            async with self.repo.reader() as stores:  # created meanwhile by a parallel sign-in
                found = await self._match(stores, identity)
            if found is None:
                raise SignInRefused(f"your account could not be created: {error.detail}") from None
            return found, False
        log.info("created user %s just in time for an SSO sign-in", view.record.id)
        return view.record, True

    async def _refuse(self, user: UserRecord, actor: Actor, reason: str) -> None:
        async with self.repo.transaction() as stores:
            await stores.audit.append(
                [
                    audit_event(
                        actor,
                        "sso.login_refused",
                        "user",
                        user.id,
                        utcnow(),
                        userName=user.user_name,
                        reason=reason,
                    )
                ]
            )

    # -- teams ---------------------------------------------------------------------------------

    async def _teams_for(
        self, groups: Sequence[IdpGroup], actor: Actor
    ) -> tuple[list[TeamRecord], list[str]]:
        """The team of each group, creating the missing ones (source "sso")."""
        async with self.repo.reader() as stores:
            by_id = await stores.directory.teams_by_external_ids(
                [group.id for group in groups if group.id]
            )
            by_name = await stores.directory.teams_by_names([group.name for group in groups])
        teams: dict[str, TeamRecord] = {}
        created: list[str] = []
        for group in groups:
            team = by_id.get(group.id or "") or by_name.get(group.name.lower())
            if team is None:
                team, was_created = await self._create_team(group, actor)
                if was_created:
                    created.append(team.display_name)
                by_name[team.display_name.lower()] = team
            teams[team.id] = team
        return list(teams.values()), created

    async def _create_team(self, group: IdpGroup, actor: Actor) -> tuple[TeamRecord, bool]:
        body = {"schemas": [GROUP_URN], "displayName": group.name}
        if group.id and group.id != group.name:
            body["externalId"] = group.id
        try:
            return (await self.teams.create(body, actor, source=SSO)).record, True
        except ScimError as error:
            if error.status != 409:
                raise
        async with self.repo.reader() as stores:  # created meanwhile by a parallel sign-in
            found = await stores.directory.teams_by_names([group.name])
        return found[group.name.lower()], False

    async def _sync_memberships(
        self, user: UserRecord, teams: Sequence[TeamRecord], actor: Actor
    ) -> tuple[list[str], list[str]]:
        """Add the user to the teams of their groups and take them out of the SSO-made
        memberships of groups they left; one transaction, audited like SCIM changes."""
        now = utcnow()
        wanted = {team.id: team for team in teams}
        added: list[str] = []
        removed: list[str] = []
        async with self.repo.transaction() as stores:
            # Teams before the user: the lock order every writer follows (no deadlocks).
            await stores.teams.lock(
                sorted(set(wanted) | set(await stores.teams.teams_of_user(user.id)))
            )
            current = await stores.users.get(user.id, for_update=True)
            if current is None or not current.active:
                raise SignInRefused("your haimaker account was deactivated during sign-in")
            member_of = set(await stores.teams.teams_of_user(user.id))
            sso_made = set(await stores.teams.teams_of_source(user.id, SSO))
            events = []
            for team_id, team in wanted.items():
                if team_id in member_of:
                    continue
                if await stores.teams.add_members(team_id, [user.id], SSO, now):
                    await stores.teams.touch(team_id, now)
                    added.append(team.display_name)
                    events.append(_member_event(actor, "team.member_add", team_id, user.id, now))
            for team_id in sorted(sso_made - set(wanted)):
                if await stores.teams.remove_members(team_id, [user.id]):
                    await stores.teams.touch(team_id, now)
                    team = await stores.teams.get(team_id)
                    removed.append(team.display_name if team else team_id)
                    events.append(_member_event(actor, "team.member_remove", team_id, user.id, now))
                    keys = await stores.api_keys.delete_for_team_members(team_id, [user.id])
                    events += credential_events(keys, actor, now, "left the group in the IdP")
            events.append(
                audit_event(
                    actor,
                    "sso.team_sync",
                    "user",
                    user.id,
                    now,
                    userName=user.user_name,
                    teams_added=added or None,
                    teams_removed=removed or None,
                )
            )
            await stores.audit.append(events)
        return added, removed


def _member_event(actor: Actor, action: str, team_id: str, user_id: str, now: dt.datetime):
    return audit_event(actor, action, "team", team_id, now, user_ids=[user_id], source=SSO)

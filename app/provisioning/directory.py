"""What the admin page reads: paged users and teams with their counts, one user or team.

Each read is one short read transaction of a few indexed queries, whatever the directory's
size: a page of rows, then their teams and key counts for just those rows (no N+1).
"""

from __future__ import annotations

from attrs import frozen

from app.provisioning.common import not_found
from storage.directory import MembershipRow, UserRow
from storage.records import ApiKeyRecord, Page, TeamRecord, UserRecord
from storage.repository import Repository


@frozen
class UserListItem:
    user: UserRow
    team_names: list[str]
    key_count: int


@frozen
class UserDetail:
    user: UserRecord
    memberships: list[MembershipRow]
    keys: list[ApiKeyRecord]
    team_names: dict[str, str]  # team id -> name, for the keys' teams


@frozen
class TeamDetail:
    team: TeamRecord
    members: Page  # of storage.directory.MemberRow


@frozen
class Overview:
    users: int
    teams: int


class Directory:
    def __init__(self, repo: Repository):
        self.repo = repo

    async def overview(self) -> Overview:
        async with self.repo.reader() as stores:
            return Overview(
                users=await stores.directory.count_users(),
                teams=await stores.directory.count_teams(),
            )

    async def users_page(self, search: str | None, limit: int, offset: int) -> Page:
        async with self.repo.reader() as stores:
            page = await stores.directory.users_page(search, limit, offset)
            ids = [row.id for row in page.items]
            teams = await stores.users.groups_of(ids)
            keys = await stores.api_keys.count_for_users(ids)
        items = [
            UserListItem(row, [name for _, name in teams[row.id]], keys[row.id])
            for row in page.items
        ]
        return Page(items, page.total)

    async def user(self, user_id: str) -> UserDetail:
        async with self.repo.reader() as stores:
            user = await stores.users.get(user_id)
            if user is None:
                raise not_found("User", user_id)
            memberships = await stores.directory.memberships(user_id)
            keys = await stores.api_keys.list_for_user(user_id)
        names = {m.team_id: m.display_name for m in memberships}
        return UserDetail(user, memberships, keys, names)

    async def teams_page(
        self, search: str | None, limit: int, offset: int, *, member_id: str | None = None
    ) -> Page:
        async with self.repo.reader() as stores:
            return await stores.directory.teams_page(search, limit, offset, member_id=member_id)

    async def team(self, team_id: str, limit: int, offset: int) -> TeamDetail:
        async with self.repo.reader() as stores:
            team = await stores.teams.get(team_id)
            if team is None:
                raise not_found("Group", team_id)
            members = await stores.directory.members_page(team_id, limit, offset)
        return TeamDetail(team, members)

    async def is_member(self, team_id: str, user_id: str) -> bool:
        async with self.repo.reader() as stores:
            return team_id in await stores.teams.teams_of_user(user_id)

    async def memberships(self, user_id: str) -> list[MembershipRow]:
        async with self.repo.reader() as stores:
            return await stores.directory.memberships(user_id)

    async def keys(self, user_id: str) -> list[ApiKeyRecord]:
        async with self.repo.reader() as stores:
            return await stores.api_keys.list_for_user(user_id)

    async def find_user_id(self, text: str) -> str | None:
        """A user named by id or userName (the audit filter accepts either)."""
        async with self.repo.reader() as stores:
            found = await stores.users.get(text) or await stores.users.find_by_user_name(text)
        return found.id if found else None

    async def find_team_id(self, text: str) -> str | None:
        async with self.repo.reader() as stores:
            found = await stores.teams.get(text) or await stores.teams.find_by_name(text)
        return found.id if found else None

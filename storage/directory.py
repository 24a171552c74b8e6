"""SQL for the admin page and SSO sign-in: pages of users, teams and members; team lookups.

Every list is `ORDER BY` an indexed column with `LIMIT`/`OFFSET`, and every count is a
`count(*)` the database answers from an index, so the pages stay fast with 100,000 users and
nothing ever loads a whole table into Python. Searches are case-insensitive prefix matches on
the lower-cased, indexed columns (userName, displayName, e-mail; a team's name).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from attrs import frozen

from storage.db import Connection, Dialect
from storage.records import Page, TeamRecord
from storage.teams import _COLUMNS as _TEAM_COLUMNS
from storage.teams import _team


@frozen
class UserRow:
    id: str
    user_name: str
    display_name: str | None
    active: bool
    source: str
    external_id: str | None
    created_at: dt.datetime


@frozen
class TeamRow:
    id: str
    display_name: str
    source: str
    external_id: str | None
    created_at: dt.datetime
    member_count: int


@frozen
class MemberRow:
    user_id: str
    user_name: str
    display_name: str | None
    active: bool
    membership_source: str
    added_at: dt.datetime


@frozen
class MembershipRow:
    team_id: str
    display_name: str
    team_source: str
    membership_source: str
    added_at: dt.datetime


def _user_row(row) -> UserRow:
    return UserRow(
        id=row["id"],
        user_name=row["user_name"],
        display_name=row["display_name"],
        active=bool(row["active"]),
        source=row["source"],
        external_id=row["external_id"],
        created_at=row["created_at"],
    )


class DirectoryStore:
    def __init__(self, conn: Connection, dialect: Dialect):
        self.conn = conn
        self.dialect = dialect

    async def count_users(self) -> int:
        return await self.conn.fetchval("SELECT count(*) FROM users")

    async def count_teams(self) -> int:
        return await self.conn.fetchval("SELECT count(*) FROM teams")

    async def users_page(self, search: str | None, limit: int, offset: int) -> Page:
        """Users by userName; `search` matches the start of userName, displayName or an email."""
        where, params = "TRUE", []
        if search:
            prefix = search.lower()
            by_name, name_params = self.dialect.starts_with("m.user_name_lower", prefix)
            by_display, display_params = self.dialect.starts_with("m.display_name_lower", prefix)
            by_email, email_params = self.dialect.starts_with("e.value_lower", prefix)
            # A UNION of three index seeks: an OR across them would scan the table.
            where = (
                f"u.id IN (SELECT m.id FROM users m WHERE {by_name}"
                f" UNION SELECT m.id FROM users m WHERE {by_display}"
                f" UNION SELECT e.user_id FROM user_emails e WHERE {by_email})"
            )
            params = [*name_params, *display_params, *email_params]
        total = await self.conn.fetchval(f"SELECT count(*) FROM users u WHERE {where}", *params)
        if offset >= total:
            return Page([], total)
        rows = await self.conn.fetch(
            "SELECT u.id, u.user_name, u.display_name, u.active, u.source, u.external_id,"
            f" u.created_at FROM users u WHERE {where} ORDER BY u.user_name_lower LIMIT ? OFFSET ?",
            *params,
            limit,
            offset,
        )
        return Page([_user_row(row) for row in rows], total)

    async def teams_page(
        self, search: str | None, limit: int, offset: int, *, member_id: str | None = None
    ) -> Page:
        """Teams by name with their member counts; `member_id` keeps the teams of one user."""
        conditions, params = [], []
        if search:
            by_name, name_params = self.dialect.starts_with("t.display_name_lower", search.lower())
            conditions.append(by_name)
            params += name_params
        if member_id:
            conditions.append(
                "t.id IN (SELECT tm.team_id FROM team_members tm WHERE tm.user_id = ?)"
            )
            params.append(member_id)
        where = " AND ".join(conditions) or "TRUE"
        total = await self.conn.fetchval(f"SELECT count(*) FROM teams t WHERE {where}", *params)
        if offset >= total:
            return Page([], total)
        rows = await self.conn.fetch(
            "SELECT t.id, t.display_name, t.source, t.external_id, t.created_at,"
            " (SELECT count(*) FROM team_members c WHERE c.team_id = t.id) AS member_count"
            f" FROM teams t WHERE {where} ORDER BY t.display_name_lower LIMIT ? OFFSET ?",
            *params,
            limit,
            offset,
        )
        return Page(
            [
                TeamRow(
                    id=row["id"],
                    display_name=row["display_name"],
                    source=row["source"],
                    external_id=row["external_id"],
                    created_at=row["created_at"],
                    member_count=row["member_count"],
                )
                for row in rows
            ],
            total,
        )

    async def members_page(self, team_id: str, limit: int, offset: int) -> Page:
        """A team's members in the order of the membership index (team id, user id): the page
        is cut from the index first and only its rows are joined to users."""
        total = await self.conn.fetchval(
            "SELECT count(*) FROM team_members WHERE team_id = ?", team_id
        )
        if offset >= total:
            return Page([], total)
        rows = await self.conn.fetch(
            "SELECT u.id, u.user_name, u.display_name, u.active, tm.source, tm.added_at FROM"
            " (SELECT user_id, source, added_at FROM team_members WHERE team_id = ?"
            "  ORDER BY user_id LIMIT ? OFFSET ?) tm"
            " JOIN users u ON u.id = tm.user_id ORDER BY tm.user_id",
            team_id,
            limit,
            offset,
        )
        return Page(
            [
                MemberRow(
                    user_id=row["id"],
                    user_name=row["user_name"],
                    display_name=row["display_name"],
                    active=bool(row["active"]),
                    membership_source=row["source"],
                    added_at=row["added_at"],
                )
                for row in rows
            ],
            total,
        )

    async def memberships(self, user_id: str) -> list[MembershipRow]:
        """The teams of one user with where each membership came from (SCIM or SSO)."""
        rows = await self.conn.fetch(
            "SELECT t.id, t.display_name, t.source AS team_source, tm.source, tm.added_at"
            " FROM team_members tm JOIN teams t ON t.id = tm.team_id WHERE tm.user_id = ?"
            " ORDER BY t.display_name_lower",
            user_id,
        )
        return [
            MembershipRow(
                team_id=row["id"],
                display_name=row["display_name"],
                team_source=row["team_source"],
                membership_source=row["source"],
                added_at=row["added_at"],
            )
            for row in rows
        ]

    async def teams_by_external_ids(self, external_ids: Sequence[str]) -> dict[str, TeamRecord]:
        """{external id: team} in one query (the oldest team when several share one)."""
        if not external_ids:
            return {}
        rows = await self.conn.fetch(
            f"SELECT {_TEAM_COLUMNS} FROM teams t WHERE {self.dialect.in_list('t.external_id')} ORDER BY t.seq DESC",
            self.dialect.id_list_param(list(external_ids)),
        )
        return {team.external_id: team for team in map(_team, rows)}

    async def teams_by_names(self, names: Sequence[str]) -> dict[str, TeamRecord]:
        """{lower-cased name: team} in one query; names compare case-insensitively."""
        if not names:
            return {}
        rows = await self.conn.fetch(
            f"SELECT {_TEAM_COLUMNS} FROM teams t WHERE {self.dialect.in_list('t.display_name_lower')}",
            self.dialect.id_list_param(sorted({name.lower() for name in names})),
        )
        return {team.display_name.lower(): team for team in map(_team, rows)}

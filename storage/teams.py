"""SQL for teams (SCIM groups) and memberships.

Membership changes are set-based statements over an id-list parameter, so adding or removing
10,000 members is a handful of statements and concurrent PATCHes never lose one another's
members (each statement only touches its own rows).
"""

from __future__ import annotations

from collections.abc import Sequence

from storage.db import Connection, Dialect
from storage.inserts import Insert, insert_rows
from storage.paging import PageQuery, search_page
from storage.records import Member, Page, TeamRecord

_COLUMNS = (
    "t.id, t.display_name, t.external_id, t.doc, t.version, t.created_at, t.updated_at, t.source"
)

_INSERT_COLUMNS = (
    "id",
    "display_name",
    "display_name_lower",
    "external_id",
    "source",
    "doc",
    "version",
    "created_at",
    "updated_at",
)


def _team(row) -> TeamRecord:
    return TeamRecord(
        id=row["id"],
        display_name=row["display_name"],
        external_id=row["external_id"],
        doc=row["doc"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        source=row["source"],
    )


class TeamStore:
    def __init__(self, conn: Connection, dialect: Dialect):
        self.conn = conn
        self.dialect = dialect

    async def insert(self, team: TeamRecord, *, also: Sequence[Insert] = ()) -> None:
        """The team, and `also` (the audit event of the create) written together: one
        statement on Postgres (storage.inserts)."""
        row = (
            team.id,
            team.display_name,
            team.display_name.lower(),
            team.external_id,
            team.source,
            team.doc,
            team.version,
            team.created_at,
            team.updated_at,
        )
        await insert_rows(self.conn, self.dialect, [Insert("teams", _INSERT_COLUMNS, [row]), *also])

    async def update(self, team: TeamRecord, *, expected_version: int) -> bool:
        return bool(
            await self.conn.execute(
                "UPDATE teams SET display_name = ?, display_name_lower = ?, external_id = ?, doc = ?,"
                " version = ?, updated_at = ? WHERE id = ? AND version = ?",
                team.display_name,
                team.display_name.lower(),
                team.external_id,
                team.doc,
                team.version,
                team.updated_at,
                team.id,
                expected_version,
            )
        )

    async def get(self, team_id: str, *, for_update: bool = False) -> TeamRecord | None:
        lock = self.dialect.for_update if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM teams t WHERE t.id = ?{lock}", team_id
        )
        return _team(row) if row else None

    async def find_by_name(self, display_name: str) -> TeamRecord | None:
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM teams t WHERE t.display_name_lower = ?", display_name.lower()
        )
        return _team(row) if row else None

    async def delete(self, team_id: str) -> bool:
        return bool(await self.conn.execute("DELETE FROM teams WHERE id = ?", team_id))

    async def search(self, page: PageQuery) -> Page:
        """One page of teams matching a compiled filter, and how many match in all."""
        return await search_page(
            self.conn, table="teams", alias="t", columns=_COLUMNS, page=page, to_record=_team
        )

    # -- members ------------------------------------------------------------------------------

    async def members(self, team_ids: Sequence[str]) -> dict[str, list[Member]]:
        """{team id: members} for many teams in one query (no N+1)."""
        result: dict[str, list[Member]] = {team_id: [] for team_id in team_ids}
        if not team_ids:
            return result
        rows = await self.conn.fetch(
            "SELECT tm.team_id, u.id, COALESCE(u.display_name, u.user_name) AS display "
            "FROM team_members tm JOIN users u ON u.id = tm.user_id "
            f"WHERE {self.dialect.in_list('tm.team_id')} "
            "ORDER BY tm.team_id, u.seq",
            self.dialect.id_list_param(team_ids),
        )
        for row in rows:
            result[row[0]].append(Member(row[1], row[2]))
        return result

    async def add_members(
        self, team_id: str, user_ids: Sequence[str], source: str, now
    ) -> list[str]:
        """Add the users not yet members (existing members are left as they are); returns the
        ids actually added."""
        if not user_ids:
            return []
        rows = await self.conn.fetch(
            "INSERT INTO team_members (team_id, user_id, source, added_at) "
            f"SELECT CAST(? AS TEXT), ids.value, CAST(? AS TEXT), {self.dialect.timestamp_param} "
            f"FROM {self.dialect.id_list('ids')} WHERE TRUE "
            "ON CONFLICT (team_id, user_id) DO NOTHING RETURNING user_id",
            team_id,
            source,
            now,
            self.dialect.id_list_param(list(dict.fromkeys(user_ids))),
        )
        return [row[0] for row in rows]

    async def remove_members(self, team_id: str, user_ids: Sequence[str]) -> list[str]:
        """Remove these users from the team; returns those that were members."""
        if not user_ids:
            return []
        rows = await self.conn.fetch(
            f"DELETE FROM team_members WHERE team_id = ? AND {self.dialect.in_list('user_id')} RETURNING user_id",
            team_id,
            self.dialect.id_list_param(list(user_ids)),
        )
        return [row[0] for row in rows]

    async def remove_members_except(self, team_id: str, keep_ids: Sequence[str]) -> list[str]:
        """Remove every member not in `keep_ids` (a full replace); returns those removed."""
        rows = await self.conn.fetch(
            f"DELETE FROM team_members WHERE team_id = ? AND NOT {self.dialect.in_list('user_id')} RETURNING user_id",
            team_id,
            self.dialect.id_list_param(list(keep_ids)),
        )
        return [row[0] for row in rows]

    async def remove_user_everywhere(self, user_id: str) -> list[str]:
        rows = await self.conn.fetch(
            "DELETE FROM team_members WHERE user_id = ? RETURNING team_id", user_id
        )
        return [row[0] for row in rows]

    async def teams_of_user(self, user_id: str) -> list[str]:
        rows = await self.conn.fetch("SELECT team_id FROM team_members WHERE user_id = ?", user_id)
        return [row[0] for row in rows]

    async def teams_of_source(self, user_id: str, source: str) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT team_id FROM team_members WHERE user_id = ? AND source = ?", user_id, source
        )
        return [row[0] for row in rows]

    async def lock(self, team_ids: Sequence[str]) -> None:
        """Lock these teams' rows, in id order, where rows lock. Writers that lock both take
        teams before users, so a user delete and a membership PATCH never deadlock."""
        if team_ids and self.dialect.for_update:
            await self.conn.fetch(
                f"SELECT t.id FROM teams t WHERE {self.dialect.in_list('t.id')} "
                f"ORDER BY t.id{self.dialect.for_update}",
                self.dialect.id_list_param(list(team_ids)),
            )

    async def touch_many(self, team_ids: Sequence[str], now) -> None:
        """`touch` for many teams in one statement."""
        if team_ids:
            await self.conn.execute(
                f"UPDATE teams SET version = version + 1, updated_at = ? WHERE {self.dialect.in_list('id')}",
                now,
                self.dialect.id_list_param(list(team_ids)),
            )

    async def touch(self, team_id: str, now) -> None:
        """Bump the version after a membership change, so ETags change with the members."""
        await self.conn.execute(
            "UPDATE teams SET version = version + 1, updated_at = ? WHERE id = ?", now, team_id
        )

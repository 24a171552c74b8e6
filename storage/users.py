"""SQL for users and their e-mail side table."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Sequence

import orjson

from storage.db import Connection, Dialect
from storage.inserts import Insert, insert_rows
from storage.paging import PageQuery, first_page, search_page
from storage.records import Page, StoredUser, UserRecord
from storage.sql_fields import USERS

_COLUMNS = (
    "u.id, u.user_name, u.external_id, u.display_name, u.active, u.doc, u.version, "
    "u.created_at, u.updated_at, u.source"
)


def _user(row) -> UserRecord:
    return UserRecord(
        id=row["id"],
        user_name=row["user_name"],
        external_id=row["external_id"],
        display_name=row["display_name"],
        active=bool(row["active"]),
        doc=row["doc"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        source=row["source"],
    )


_STORED_COLUMNS = "u.id, u.rendered, u.version"


def _user_with_groups(row) -> tuple:
    return (_user(row), _pairs(row["groups"]))


def _stored(row) -> StoredUser:
    return StoredUser(row[0], row[1], row[2], _pairs(row[3]))


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else None


USER_COLUMNS = (
    "id", "user_name", "user_name_lower", "external_id", "display_name", "display_name_lower",
    "active", "source", "doc", "version", "created_at", "updated_at", "rendered",
)  # fmt: skip
_INSERT_USER = (
    f"INSERT INTO users ({', '.join(USER_COLUMNS)}) VALUES ({', '.join('?' * len(USER_COLUMNS))})"
)
EMAIL_COLUMNS = ("user_id", "position", "value", "value_lower", "type", "display", "is_primary")


def insert_params(user: UserRecord) -> tuple:
    """The parameters of `_INSERT_USER`, the lower-cased lookup columns included."""
    return (
        user.id,
        user.user_name,
        user.user_name.lower(),
        user.external_id,
        user.display_name,
        _lower(user.display_name),
        user.active,
        user.source,
        user.doc,
        user.version,
        user.created_at,
        user.updated_at,
        user.rendered,
    )


def email_rows(user_id: str, emails: Sequence[dict]) -> list[tuple]:
    """The `user_emails` rows of a user (in `EMAIL_COLUMNS` order)."""
    return [
        (
            user_id,
            position,
            email.get("value"),
            email["value"].lower() if isinstance(email.get("value"), str) else None,
            email.get("type"),
            email.get("display"),
            email.get("primary") if isinstance(email.get("primary"), bool) else None,
        )
        for position, email in enumerate(emails)
        if isinstance(email, dict)
    ]


def _pairs(raw) -> list[tuple[str, str]]:
    """The (team id, team name) pairs of a `Dialect.json_pairs` column."""
    if isinstance(raw, str | bytes):
        raw = orjson.loads(raw)
    return [(pair[0], pair[1]) for pair in raw or ()]


@functools.cache
def _groups_column(dialect: Dialect) -> str:
    """A user's teams as (id, name) pairs in one column (the SQL built once per dialect)."""
    return dialect.json_pairs(
        "t.id",
        "t.display_name",
        "team_members tm JOIN teams t ON t.id = tm.team_id",
        "tm.user_id = u.id",
        "t.seq",
    )


@functools.cache
def _with_groups(columns: str, dialect: Dialect) -> str:
    return f"{columns}, {_groups_column(dialect)} AS groups"


@functools.cache
def _point_read(columns: str, dialect: Dialect) -> str:
    """One user by id with their teams (the statement text put together once)."""
    return f"SELECT {_with_groups(columns, dialect)} FROM users u WHERE u.id = ?"


class UserStore:
    def __init__(self, conn: Connection, dialect: Dialect):
        self.conn = conn
        self.dialect = dialect

    async def insert(
        self, user: UserRecord, emails: Sequence[dict], *, also: Sequence[Insert] = ()
    ) -> None:
        """The user and their e-mails, and `also` (the audit event of the create), written
        together: one statement on Postgres (storage.inserts)."""
        await insert_rows(
            self.conn,
            self.dialect,
            [
                Insert("users", USER_COLUMNS, [insert_params(user)]),
                Insert("user_emails", EMAIL_COLUMNS, email_rows(user.id, emails)),
                *also,
            ],
        )

    async def insert_many(self, users: Sequence[UserRecord]) -> None:
        """Insert many users (without e-mails) in one batched statement: imports, benchmarks
        and fixtures that need thousands of users quickly."""
        await self.conn.executemany(_INSERT_USER, [insert_params(user) for user in users])

    async def update(
        self, user: UserRecord, emails: Sequence[dict], *, expected_version: int
    ) -> bool:
        """Write `user` if its stored version is still `expected_version` (optimistic concurrency)."""
        changed = await self.conn.execute(
            "UPDATE users SET user_name = ?, user_name_lower = ?, external_id = ?, display_name = ?,"
            " display_name_lower = ?, active = ?, doc = ?, version = ?, updated_at = ?,"
            " rendered = ? WHERE id = ? AND version = ?",
            user.user_name,
            user.user_name.lower(),
            user.external_id,
            user.display_name,
            _lower(user.display_name),
            user.active,
            user.doc,
            user.version,
            user.updated_at,
            user.rendered,
            user.id,
            expected_version,
        )
        if changed:
            await self.conn.execute("DELETE FROM user_emails WHERE user_id = ?", user.id)
            await self._insert_emails(user.id, emails)
        return bool(changed)

    async def _insert_emails(self, user_id: str, emails: Sequence[dict]) -> None:
        await insert_rows(
            self.conn,
            self.dialect,
            [Insert("user_emails", EMAIL_COLUMNS, email_rows(user_id, emails))],
        )

    async def get(self, user_id: str, *, for_update: bool = False) -> UserRecord | None:
        lock = self.dialect.for_update if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM users u WHERE u.id = ?{lock}", user_id
        )
        return _user(row) if row else None

    async def get_with_groups(
        self, user_id: str
    ) -> tuple[UserRecord, list[tuple[str, str]]] | None:
        """The user and their teams (RFC 7643 §4.1.2 `groups`) in one statement: one round
        trip for a `GET /Users/{id}`."""
        row = await self.conn.fetchrow(_point_read(_COLUMNS, self.dialect), user_id)
        return (_user(row), _pairs(row["groups"])) if row else None

    async def get_stored(self, user_id: str) -> StoredUser | None:
        """(id, stored representation, version, teams) of a user: what a plain
        `GET /Users/{id}` needs, in one statement that converts no document and no datetime."""
        row = await self.conn.fetchrow(_point_read(_STORED_COLUMNS, self.dialect), user_id)
        return _stored(row) if row else None

    def search_stored(self, page: PageQuery) -> Awaitable[Page]:
        """Like `search_with_groups`, each item what `get_stored` gives."""
        return self._page(_with_groups(_STORED_COLUMNS, self.dialect), _stored, page)

    def match_stored(self, where: tuple[str, list], limit: int) -> Awaitable[Page]:
        """`search_stored` for the first page of a compiled filter in creation order (an
        IdP's match)."""
        return first_page(
            self.conn,
            table="users",
            alias="u",
            columns=_with_groups(_STORED_COLUMNS, self.dialect),
            where=where,
            order_sql=USERS.order,
            limit=limit,
            to_record=_stored,
        )

    async def without_stored_text(
        self, current_prefix: str, after_seq: int, limit: int
    ) -> list[tuple[int, UserRecord]]:
        """(seq, user) of users whose stored text is missing or does not start with
        `current_prefix`, in creation order after `after_seq`: what a backfill rewrites."""
        rows = await self.conn.fetch(
            f"SELECT u.seq, {_COLUMNS} FROM users u WHERE u.seq > ?"
            " AND (u.rendered IS NULL OR substr(u.rendered, 1, ?) <> ?) ORDER BY u.seq LIMIT ?",
            after_seq,
            len(current_prefix),
            current_prefix,
            limit,
        )
        return [(row["seq"], _user(row)) for row in rows]

    async def set_stored_text(self, texts: Sequence[tuple[str, int, str]]) -> None:
        """(user id, version, text): written only where the user is still at that version (a
        write in between has stored its own)."""
        await self.conn.executemany(
            "UPDATE users SET rendered = ? WHERE id = ? AND version = ?",
            [(text, user_id, version) for user_id, version, text in texts],
        )

    def search_with_groups(self, page: PageQuery) -> Awaitable[Page]:
        """Like `search`, each item a (record, groups) pair, the groups read in the same
        statement (a correlated subquery per returned row, never per matching row)."""
        return self._page(_with_groups(_COLUMNS, self.dialect), _user_with_groups, page)

    async def find_by_user_name(self, user_name: str) -> UserRecord | None:
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM users u WHERE u.user_name_lower = ?", user_name.lower()
        )
        return _user(row) if row else None

    async def find_by_email(self, email: str) -> list[UserRecord]:
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM users u WHERE u.id IN "
            "(SELECT e.user_id FROM user_emails e WHERE e.value_lower = ?) ORDER BY u.seq",
            email.lower(),
        )
        return [_user(row) for row in rows]

    async def find_by_external_id(self, external_id: str) -> list[UserRecord]:
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM users u WHERE u.external_id = ? ORDER BY u.seq", external_id
        )
        return [_user(row) for row in rows]

    async def delete(self, user_id: str) -> bool:
        return bool(await self.conn.execute("DELETE FROM users WHERE id = ?", user_id))

    def search(self, page: PageQuery) -> Awaitable[Page]:
        """One page of users matching a compiled filter, and how many match in all."""
        return self._page(_COLUMNS, _user, page)

    def _page(self, columns: str, to_record, page: PageQuery) -> Awaitable[Page]:
        """`search_page` over users: the three page shapes differ only in columns and items.
        The searches hand back its coroutine for the caller to await, with no frame of their
        own in between (an IdP's match goes through one of them on every request)."""
        return search_page(
            self.conn, table="users", alias="u", columns=columns, page=page, to_record=to_record
        )

    async def groups_of(self, user_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """{user id: [(team id, team name)]} for many users in one query (no N+1)."""
        groups: dict[str, list[tuple[str, str]]] = {user_id: [] for user_id in user_ids}
        if not user_ids:
            return groups
        rows = await self.conn.fetch(
            "SELECT tm.user_id, t.id, t.display_name FROM team_members tm "
            f"JOIN teams t ON t.id = tm.team_id WHERE {self.dialect.in_list('tm.user_id')} "
            "ORDER BY t.seq",
            self.dialect.id_list_param(user_ids),
        )
        for row in rows:
            groups[row[0]].append((row[1], row[2]))
        return groups

    async def missing_ids(self, user_ids: Sequence[str]) -> list[str]:
        """The ids among `user_ids` that are not users (to refuse phantom members).

        The users found are key-share locked where rows lock, so none can be deleted before
        this transaction commits: a membership written next never meets a user deleted in
        between (which would break the foreign key), and a user deleted just before is
        reported here as missing."""
        if not user_ids:
            return []
        rows = await self.conn.fetch(
            f"SELECT u.id FROM users u WHERE {self.dialect.in_list('u.id')}{self.dialect.key_share}",
            self.dialect.id_list_param(user_ids),
        )
        found = {row[0] for row in rows}
        return [user_id for user_id in dict.fromkeys(user_ids) if user_id not in found]

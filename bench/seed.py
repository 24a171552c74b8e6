"""Seeding a benchmark directory through the storage layer (storage.bulk_load): users
`user<n>@bench.example`, a 10,000-member team, a small team, and users holding 20 keys each.

Seeding is incremental: `grow_to(n)` adds users up to n, so one run can measure at 10,000 and
then at 1,000,000 users over the same database.
"""

from __future__ import annotations

import datetime as dt
import uuid

from attrs import define

from app.provisioning.secrets import API_KEY_PREFIX, hash_secret, new_secret
from app.provisioning.users import stored_representation
from storage import open_database
from storage.bulk_load import load_api_keys, load_memberships, load_users, refresh_statistics
from storage.migrations import migrate
from storage.records import ApiKeyRecord, TeamRecord, UserRecord
from storage.teams import TeamStore

BATCH = 20_000
BIG_TEAM_SIZE = 10_000
KEYS_PER_DEPROVISIONED_USER = 20


def user_name(n: int) -> str:
    return f"user{n}@bench.example"


def _user(n: int, now: dt.datetime) -> UserRecord:
    name = user_name(n)
    doc = {
        "externalId": f"ext-{n}",
        "userName": name,
        "name": {"givenName": "User", "familyName": f"Number {n}", "formatted": f"User {n}"},
        "displayName": f"User {n}",
        "active": True,
        "emails": [{"value": name, "type": "work", "primary": True}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Bench"},
    }
    user_id = str(uuid.uuid4())
    return UserRecord(
        id=user_id,
        user_name=name,
        external_id=doc["externalId"],
        display_name=doc["displayName"],
        active=True,
        doc=doc,
        version=1,
        created_at=now,
        updated_at=now,
        rendered=stored_representation(doc, user_id=user_id, version=1, created=now, now=now),
    )


@define
class Directory:
    """What the scenarios need to know about the seeded data."""

    users: int = 0
    sample_ids: list = []  # ids spread over the whole directory, for point reads
    spare_ids: list = []  # users in no team, to add as members
    big_team: str = ""
    small_team: str = ""


async def _open(url: str):
    db = await open_database(url)
    await migrate(db)
    return db


async def grow_to(url: str, directory: Directory, target: int, log) -> None:
    """Add users `directory.users` … `target - 1`, keeping a sample of ids."""
    db = await _open(url)
    try:
        step = max(1, target // 2000)
        while directory.users < target:
            now = dt.datetime.now(dt.UTC)
            count = min(BATCH, target - directory.users)
            batch = [_user(n, now) for n in range(directory.users, directory.users + count)]
            async with db.transaction() as conn:
                await load_users(conn, batch)
            directory.sample_ids += [
                u.id for n, u in enumerate(batch, directory.users) if n % step == 0
            ]
            directory.users += count
            if directory.users % 200_000 == 0:
                log(f"  seeded {directory.users:,} users")
        async with db.reader() as conn:
            await refresh_statistics(conn, db.dialect.name)
    finally:
        await db.close()


async def add_teams(url: str, directory: Directory, member_ids: list[str]) -> None:
    """The 10,000-member team and a small one (both `source` scim)."""
    db = await _open(url)
    try:
        now = dt.datetime.now(dt.UTC)
        async with db.transaction() as conn:
            teams = TeamStore(conn, db.dialect)
            for attribute, name, members in (
                ("big_team", "Bench Big Team", member_ids),
                ("small_team", "Bench Small Team", []),
            ):
                team_id = str(uuid.uuid4())
                await teams.insert(
                    TeamRecord(team_id, name, None, {"displayName": name}, 1, now, now)
                )
                if members:
                    await load_memberships(conn, team_id, members, "scim", now)
                setattr(directory, attribute, team_id)
            await refresh_statistics(conn, db.dialect.name)
    finally:
        await db.close()


async def give_keys(url: str, user_ids: list[str]) -> None:
    """KEYS_PER_DEPROVISIONED_USER gateway keys to each user."""
    db = await _open(url)
    try:
        now = dt.datetime.now(dt.UTC)
        keys = [
            (
                ApiKeyRecord(str(uuid.uuid4()), user_id, None, f"key {k}", now),
                hash_secret(new_secret(API_KEY_PREFIX)),
            )
            for user_id in user_ids
            for k in range(KEYS_PER_DEPROVISIONED_USER)
        ]
        async with db.transaction() as conn:
            await load_api_keys(conn, keys)
    finally:
        await db.close()


async def fresh_users(url: str, directory: Directory, count: int) -> list[str]:
    """`count` new users (grown past the directory size); returns their ids."""
    before = len(directory.sample_ids)
    start = directory.users
    db = await _open(url)
    try:
        now = dt.datetime.now(dt.UTC)
        batch = [_user(n, now) for n in range(start, start + count)]
        async with db.transaction() as conn:
            await load_users(conn, batch)
        directory.users += count
    finally:
        await db.close()
    del directory.sample_ids[before:]
    return [u.id for u in batch]

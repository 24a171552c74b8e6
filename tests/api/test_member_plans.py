"""Member reads stay index seeks whatever the statistics say.

An IdP's first sync often pushes one huge group ("All staff") before the rest. Statistics taken
then say one team holds every membership, and Postgres planned the member read of any team
(every `GET /Groups/{id}`, every group PATCH answered with its members) as a hash join over the
whole `team_members` and `users` tables: ~30 ms for a 20-member team at 20,000 memberships,
halving the speed of an initial sync. This module's database is its own, so the statistics are
exactly that skewed.
"""

from __future__ import annotations

from app.provisioning.common import utcnow
from storage.bulk_load import load_memberships, refresh_statistics
from tests.support.provisioning_data import bulk_users
from tests.support.scim_data import unique_name
from tests.support.statement_counter import StatementCounter

BIG_TEAM = 2000


async def _plans(db, sql: str, params: list) -> list[str]:
    """The plan Postgres would use for the first runs (custom) and after them (generic), or
    SQLite's plan."""
    async with db.transaction() as conn:  # SET LOCAL ends with it
        if db.dialect.name != "postgres":
            rows = await conn.fetch(f"EXPLAIN QUERY PLAN {sql}", *params)
            return ["\n".join(str(row[-1]) for row in rows)]
        plans = []
        for mode in ("force_custom_plan", "force_generic_plan"):
            await conn.execute(f"SET LOCAL plan_cache_mode = {mode}")
            rows = await conn.fetch(f"EXPLAIN {sql}", *params)
            plans.append("\n".join(row[0] for row in rows))
        return plans


async def test_a_small_team_is_read_by_seeks_after_one_team_held_every_membership(server, scim):
    services = server.services
    db = services.db
    everyone = await bulk_users(services, BIG_TEAM)
    big = (await scim.post("/Groups", {"displayName": unique_name("all staff")})).json["id"]
    async with db.transaction() as conn:
        await load_memberships(conn, big, everyone, "scim", utcnow())
    async with db.reader() as conn:
        await refresh_statistics(conn, db.dialect.name)  # taken now: one team holds them all

    members = [{"value": user_id} for user_id in everyone[:3]]
    small = await scim.post("/Groups", {"displayName": unique_name("small"), "members": members})
    assert small.status == 201
    counter = StatementCounter().install(db)
    try:
        with counter.counting() as executed:
            read = await scim.get(f"/Groups/{small.json['id']}")
    finally:
        counter.uninstall()
    assert sorted(m["value"] for m in read.json["members"]) == sorted(everyone[:3])

    member_reads = [s.sql for s in executed if "FROM team_members tm JOIN users u" in s.sql]
    assert len(member_reads) == 1, [s.sql for s in executed]
    for plan in await _plans(db, member_reads[0], [db.dialect.id_list_param([small.json["id"]])]):
        assert "Seq Scan" not in plan and "Hash Join" not in plan, plan
        assert "SCAN tm" not in plan and "SCAN u" not in plan, plan


async def test_the_big_team_is_still_read_whole(server, scim):
    """The same query form answers for the big team too (every member, in creation order)."""
    services = server.services
    everyone = await bulk_users(services, 300)
    team = (await scim.post("/Groups", {"displayName": unique_name("big")})).json["id"]
    async with services.db.transaction() as conn:
        await load_memberships(conn, team, everyone, "scim", utcnow())
    read = await scim.get(f"/Groups/{team}")
    assert [m["value"] for m in read.json["members"]] == everyone

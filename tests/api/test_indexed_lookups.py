"""What keeps lookups flat from 10,000 to 1,000,000 users: the filters IdPs match with compile
to SQL the database answers from an index, they run on the quick reader (in-loop on SQLite),
and anything that may scan stays off it. Also: group PATCH reads no members it does not show."""

from __future__ import annotations

import pytest

from app.scim.listing import PageLimits, RawListQuery, bind_query
from app.scim.schemas import GROUP_RESOURCE, USER_RESOURCE
from storage.sql_fields import TEAMS, USERS
from storage.sql_filter import FilterCompiler
from tests.support.scim_data import patch_body, unique_name, user_body
from tests.support.statement_counter import StatementCounter, touching

USER_LOOKUPS = [
    'id eq "x"',
    'userName eq "Someone@Example.com"',
    'externalId eq "x"',
    'emails.value eq "a@example.com"',
    'emails[type eq "work"].value eq "a@example.com"',
    'displayName eq "Some One"',
    'userName eq "a" and active eq true',
]
GROUP_LOOKUPS = ['displayName eq "Eng"', 'externalId eq "x"', 'members.value eq "u"']


async def _plan(db, table: str, where: tuple[str, list]) -> str:
    sql, params = where
    async with db.transaction() as conn:  # a transaction, so SET LOCAL ends with it
        if db.dialect.name == "postgres":
            await conn.execute("SET LOCAL enable_seqscan = off")  # tiny tables: ask for index
            rows = await conn.fetch(f"EXPLAIN SELECT * FROM {table} WHERE {sql}", *params)
        else:
            rows = await conn.fetch(
                f"EXPLAIN QUERY PLAN SELECT * FROM {table} WHERE {sql}", *params
            )
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize(
    ("rt", "table", "alias", "expression"),
    [(USER_RESOURCE, USERS, "u", f) for f in USER_LOOKUPS]
    + [(GROUP_RESOURCE, TEAMS, "t", f) for f in GROUP_LOOKUPS],
)
async def test_matching_filters_are_index_seeks(server, rt, table, alias, expression):
    db = server.services.db
    query = bind_query(RawListQuery(filter=expression), rt, PageLimits())
    where = FilterCompiler(rt, table, db.dialect).where(query.filter)
    plan = await _plan(db, f"{table.table} {alias}", where)
    assert f"Seq Scan on {table.table}" not in plan, plan
    if db.dialect.name == "postgres":
        assert "Index Cond" in plan, plan  # a seek, not a walk over a whole index
    assert f"SCAN {alias}\n" not in plan + "\n" and f"SCAN {alias} " not in plan, plan


@pytest.fixture(scope="module")
def statements(server):
    counter = StatementCounter().install(server.services.db)
    yield counter
    counter.uninstall()


async def test_lookups_run_on_the_quick_reader_and_scans_do_not(scim, statements):
    name = unique_name("quick")
    created = (await scim.post("/Users", user_body(name))).json
    for expression in (f'userName eq "{name}"', f'emails.value eq "{name}"'):
        with statements.counting() as executed:
            found = await scim.get("/Users", params={"filter": expression})
        assert [r["id"] for r in found.json["Resources"]] == [created["id"]]
        assert {s.scope.split("-")[0] for s in touching(executed, "FROM users")} == {"quick"}
    with statements.counting() as executed:
        await scim.get(f"/Users/{created['id']}")
    assert {s.scope.split("-")[0] for s in touching(executed, "FROM users")} == {"quick"}
    with statements.counting() as executed:
        found = await scim.get("/Users", params={"filter": f'emails.value co "{name[:12]}"'})
    assert found.json["totalResults"] >= 1
    assert {s.scope.split("-")[0] for s in touching(executed, "FROM users")} == {"read"}


async def test_a_user_read_is_one_statement_with_its_groups(scim, statements):
    user = (await scim.post("/Users", user_body())).json
    group = await scim.post(
        "/Groups", {"displayName": unique_name("g"), "members": [{"value": user["id"]}]}
    )
    with statements.counting() as executed:
        fetched = await scim.get(f"/Users/{user['id']}")
    assert [g["value"] for g in fetched.json["groups"]] == [group.json["id"]]
    assert len(touching(executed, "FROM users")) == 1, executed


async def test_group_patch_reads_members_back_only_to_show_them(scim, statements):
    users = [(await scim.post("/Users", user_body())).json["id"] for _ in range(3)]
    group = (
        await scim.post(
            "/Groups", {"displayName": unique_name("g"), "members": [{"value": users[0]}]}
        )
    ).json
    path = f"/Groups/{group['id']}"

    def add(user_id: str) -> dict:
        return patch_body({"op": "add", "path": "members", "value": [{"value": user_id}]})

    with statements.counting() as executed:
        response = await scim.patch(path, add(users[1]), headers={"Prefer": "return=minimal"})
    assert response.status == 204 and response.headers["ETag"]
    assert touching(executed, "COALESCE(u.display_name") == [], executed
    with statements.counting() as executed:
        response = await scim.patch(path, add(users[2]), params={"excludedAttributes": "members"})
    assert response.status == 200 and "members" not in response.json
    assert touching(executed, "COALESCE(u.display_name") == [], executed
    response = await scim.patch(path, patch_body({"op": "replace", "path": "displayName",
                                                  "value": unique_name("renamed")}))  # fmt: skip
    assert response.status == 200
    assert {m["value"] for m in response.json["members"]} == set(users), "200 is the whole group"


async def test_a_match_is_one_statement_and_only_a_full_first_page_is_counted(scim, statements):
    """A filtered first page that does not fill is its own total (no count); a full one is
    counted by a second statement, so `totalResults` stays exact."""
    name = unique_name("match")
    created = (await scim.post("/Users", user_body(name))).json
    with statements.counting() as executed:
        found = await scim.get("/Users", params={"filter": f'userName eq "{name}"'})
    assert [r["id"] for r in found.json["Resources"]] == [created["id"]]
    assert found.json["totalResults"] == 1
    reads = touching(executed, "FROM users")
    assert len(reads) == 1 and "count(*)" not in reads[0].sql, reads

    tag = unique_name("tag")
    for _ in range(3):
        assert (await scim.post("/Users", user_body(nickName=tag))).status == 201
    for count, statements_run in ((2, 2), (3, 2), (4, 1)):
        with statements.counting() as executed:
            page = await scim.get(
                "/Users", params={"filter": f'nickName eq "{tag}"', "count": str(count)}
            )
        assert page.json["totalResults"] == 3
        assert len(page.json["Resources"]) == min(count, 3)
        reads = touching(executed, "FROM users")
        assert len(reads) == statements_run, (count, reads)

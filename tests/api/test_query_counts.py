"""Membership work is set-based: 10,000 members are added, removed, read and listed with a
handful of statements, never one per member or per user (no N+1), counted on the live
server's own storage connections. Also the size limits of one membership request."""

from __future__ import annotations

import pytest

from tests.support.provisioning_data import bulk_users, create_group, patch_body, unique
from tests.support.statement_counter import StatementCounter, touching, without_authentication

MANY = 10_000
# Authentication (token lookup, maybe its last-used touch) plus the use case's own statements.
FEW_STATEMENTS = 10


@pytest.fixture(scope="module")
def statements(server):
    counter = StatementCounter().install(server.services.db)
    yield counter
    counter.uninstall()


@pytest.fixture(scope="module")
async def many_user_ids(server) -> list[str]:
    return await bulk_users(server.services, MANY)


async def test_adding_and_removing_10000_members_takes_a_handful_of_statements(
    scim, statements, many_user_ids
):
    group = await create_group(scim)
    path = f"/Groups/{group['id']}"
    add = patch_body(
        {
            "op": "Add",
            "path": "members",
            "value": [{"$ref": None, "value": i} for i in many_user_ids],
        }
    )
    with statements.counting() as executed:
        response = await scim.patch(path, add, headers={"Prefer": "return=minimal"})
    assert response.status == 204, response
    assert len(executed) <= FEW_STATEMENTS, executed
    assert len(touching(executed, "team_members")) <= 2, executed

    with statements.counting() as executed:
        fetched = await scim.get(path)
    assert fetched.status == 200
    assert len(fetched.json["members"]) == MANY
    assert {m["value"] for m in fetched.json["members"]} == set(many_user_ids)
    assert len(touching(executed, "team_members")) == 1, executed
    assert len(executed) <= 4, executed

    half = many_user_ids[: MANY // 2]
    remove = patch_body({"op": "Remove", "path": "members", "value": [{"value": i} for i in half]})
    with statements.counting() as executed:
        response = await scim.patch(path, remove)
    assert response.status == 200, response
    assert len(response.json["members"]) == MANY - len(half)
    assert len(executed) <= FEW_STATEMENTS, executed

    with statements.counting() as executed:
        response = await scim.patch(
            path,
            patch_body({"op": "replace", "path": "members", "value": [{"value": i} for i in half]}),
        )
    assert response.status == 200, response
    assert {m["value"] for m in response.json["members"]} == set(half)
    assert len(executed) <= FEW_STATEMENTS, executed


async def test_creating_and_replacing_a_10000_member_group(scim, statements, many_user_ids):
    members = [{"value": i} for i in many_user_ids]
    with statements.counting() as executed:
        created = await scim.post("/Groups", {"displayName": unique("Big"), "members": members})
    assert created.status == 201, created
    assert len(created.json["members"]) == MANY
    assert len(executed) <= FEW_STATEMENTS, executed
    with statements.counting() as executed:
        replaced = await scim.put(
            f"/Groups/{created.json['id']}",
            {"displayName": created.json["displayName"], "members": members[:10]},
        )
    assert replaced.status == 200, replaced
    assert len(replaced.json["members"]) == 10
    assert len(executed) <= FEW_STATEMENTS, executed


async def test_listing_groups_reads_members_once_per_page(scim, statements, many_user_ids):
    marker = unique("Listed")
    for number in range(12):
        await create_group(
            scim, f"{marker}-{number}", member_ids=many_user_ids[number * 20 : number * 20 + 20]
        )

    async def list_page(count: int) -> list[str]:
        with statements.counting() as executed:
            response = await scim.get(
                "/Groups", params={"filter": f'displayName sw "{marker}"', "count": count}
            )
        assert response.status == 200
        assert all(len(r["members"]) == 20 for r in response.json["Resources"])
        assert len(response.json["Resources"]) == count
        return executed

    small, large = await list_page(2), await list_page(12)
    assert len(without_authentication(large)) == len(without_authentication(small)), (small, large)
    assert len(touching(large, "team_members")) == 1, large
    with statements.counting() as executed:
        response = await scim.get(
            "/Groups",
            params={"filter": f'displayName sw "{marker}"', "excludedAttributes": "members"},
        )
    assert response.json["totalResults"] == 12
    assert touching(executed, "team_members") == [], "excluded members are never read"


async def test_listing_users_with_groups_has_no_n_plus_1(scim, statements, many_user_ids):
    page_users = many_user_ids[-50:]
    for _ in range(3):
        await create_group(scim, member_ids=page_users)
    filter_text = " or ".join(f'id eq "{i}"' for i in page_users)

    async def list_page(count: int) -> list[str]:
        with statements.counting() as executed:
            response = await scim.post("/Users/.search", {"filter": filter_text, "count": count})
        assert response.status == 200, response
        assert len(response.json["Resources"]) == count
        assert all(len(r["groups"]) == 3 for r in response.json["Resources"])
        return executed

    small, large = await list_page(5), await list_page(50)
    assert len(without_authentication(large)) == len(without_authentication(small)), (small, large)
    assert len(touching(large, "team_members")) == 1, large


async def test_a_user_in_many_teams_is_read_with_one_membership_query(
    scim, statements, many_user_ids
):
    user_id = many_user_ids[0]
    for _ in range(25):
        await create_group(scim, member_ids=[user_id])
    with statements.counting() as executed:
        response = await scim.get(f"/Users/{user_id}")
    assert response.status == 200
    assert len(response.json["groups"]) >= 25
    assert len(touching(executed, "team_members")) == 1, executed


async def test_more_members_than_allowed_in_one_request_is_400(scim, server):
    limit = server.settings.max_members_per_request
    group = await create_group(scim)
    too_many = [{"value": f"u{n}"} for n in range(limit + 1)]
    response = await scim.patch(
        f"/Groups/{group['id']}", patch_body({"op": "add", "path": "members", "value": too_many})
    )
    assert response.status == 400, response
    assert response.json["scimType"] == "invalidValue"
    assert str(limit) in response.json["detail"]


async def test_a_body_over_the_size_limit_is_413(scim, server):
    group = await create_group(scim)
    padding = "x" * (server.settings.max_body_bytes + 1)
    response = await scim.patch(
        f"/Groups/{group['id']}",
        patch_body({"op": "replace", "path": "displayName", "value": padding}),
    )
    assert response.status == 413, response
    assert response.json["status"] == "413"


async def test_10000_members_fit_the_body_limit(server, many_user_ids):
    import orjson

    body = orjson.dumps(
        patch_body(
            {
                "op": "add",
                "path": "members",
                "value": [
                    {"$ref": None, "value": i, "display": "Some Person"} for i in many_user_ids
                ],
            }
        )
    )
    assert len(body) < server.settings.max_body_bytes
    assert server.settings.max_members_per_request >= MANY


async def test_a_group_created_without_members_is_one_statement_and_reads_none(
    scim, statements, backend
):
    """An IdP creates its groups empty and adds members by PATCH: the create writes the team
    and its audit event (one statement on Postgres) and reads no members back."""
    name = unique("empty group")
    with statements.counting() as executed:
        created = await scim.post("/Groups", {"displayName": name, "externalId": name})
    assert created.status == 201, created
    assert created.json.get("members", []) == []
    work = without_authentication(executed)
    assert touching(work, "team_members") == [], work
    assert len(touching(work, "INSERT INTO teams")) == 1, work
    assert len(touching(work, "INSERT INTO audit_events")) == 1, work
    assert len(work) == (1 if backend == "postgres" else 2), work
    again = await scim.post("/Groups", {"displayName": name})  # still refused as a duplicate
    assert again.status == 409, again

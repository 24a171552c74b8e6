"""Users and teams for API tests: request bodies with unique names, and bulk users made
through the storage layer when a test needs thousands of them in well under a second."""

from __future__ import annotations

import uuid

from app.provisioning.common import new_id, utcnow
from app.provisioning.users import stored_representation
from storage.records import UserRecord
from tests.support.server import Client

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def user_body(user_name: str | None = None, **extra) -> dict:
    user_name = user_name or unique("user") + "@example.com"
    return {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "active": True,
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        **extra,
    }


def group_body(display_name: str | None = None, member_ids=(), **extra) -> dict:
    return {
        "schemas": [GROUP_SCHEMA],
        "displayName": display_name or unique("team"),
        "members": [{"value": member_id} for member_id in member_ids],
        **extra,
    }


def patch_body(*operations: dict) -> dict:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


async def create_user(scim: Client, user_name: str | None = None, **extra) -> dict:
    response = await scim.post("/Users", user_body(user_name, **extra))
    assert response.status == 201, response
    return response.json


async def create_group(
    scim: Client, display_name: str | None = None, member_ids=(), **extra
) -> dict:
    response = await scim.post("/Groups", group_body(display_name, member_ids, **extra))
    assert response.status == 201, response
    return response.json


def member_ids(group: dict) -> set[str]:
    return {member["value"] for member in group.get("members", [])}


async def bulk_users(services, count: int, *, prefix: str | None = None) -> list[str]:
    """`count` active users inserted in one batched statement; returns their ids."""
    prefix = prefix or unique("bulk")
    now = utcnow()
    records = []
    for number in range(count):
        user_name = f"{prefix}-{number}@example.com"
        doc = {"userName": user_name, "active": True, "displayName": f"{prefix} {number}"}
        user_id = new_id()
        records.append(
            UserRecord(
                id=user_id,
                user_name=user_name,
                external_id=None,
                display_name=doc["displayName"],
                active=True,
                doc=doc,
                version=1,
                created_at=now,
                updated_at=now,
                rendered=stored_representation(
                    doc, user_id=user_id, version=1, created=now, now=now
                ),
            )
        )
    async with services.repo.transaction() as stores:
        await stores.users.insert_many(records)
    return [record.id for record in records]

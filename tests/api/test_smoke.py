"""The first walk through the live server, on both backends."""

from __future__ import annotations

import uuid


def user_body(name: str | None = None, **extra) -> dict:
    name = name or f"user-{uuid.uuid4().hex[:8]}@example.com"
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "active": True,
        "emails": [{"value": name, "type": "work", "primary": True}],
        **extra,
    }


async def test_health(anonymous):
    response = await anonymous.get("/health")
    assert response.status == 200
    assert response.json == {"status": "ok"}


async def test_create_then_find_by_user_name_case_insensitively(scim):
    created = await scim.post("/Users", user_body("Smoke.User@Example.com"))
    assert created.status == 201, created
    found = await scim.get("/Users", params={"filter": 'userName eq "smoke.user@example.com"'})
    assert found.status == 200
    assert [r["id"] for r in found.json["Resources"]] == [created.json["id"]]

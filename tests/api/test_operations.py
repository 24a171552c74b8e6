"""Operations: liveness and readiness, Prometheus metrics, the access log, the OpenAPI document."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid

import orjson

from app.logs import JsonFormatter
from storage.migrations import available_migrations


def user_body(name: str | None = None) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name or f"ops-{uuid.uuid4().hex[:10]}@example.com",
    }


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample, 0 when absent."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        metric, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', metric))
        if metric.split("{")[0] == name and all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0


async def test_liveness_and_readiness(anonymous):
    for path in ("/health/live", "/health/ready", "/health"):
        response = await anonymous.get(path)
        assert response.status == 200, (path, response)
        assert response.json == {"status": "ok"}


async def test_readiness_says_503_while_a_migration_is_pending(server, anonymous):
    """A database whose schema is behind the code is not ready; liveness does not care."""
    newest, name, _ = available_migrations(server.services.db.dialect.name)[-1]
    async with server.services.db.transaction() as conn:
        applied_at = await conn.fetchval(
            "SELECT applied_at FROM schema_migrations WHERE version = ?", newest
        )
        await conn.execute("DELETE FROM schema_migrations WHERE version = ?", newest)
    try:
        ready = await anonymous.get("/health/ready")
        assert ready.status == 503
        assert ready.json["pending_migrations"] == [name]
        assert ready.headers["Retry-After"].isdigit()
        assert (await anonymous.get("/health")).status == 503
        assert (await anonymous.get("/health/live")).status == 200
    finally:
        async with server.services.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                newest,
                name,
                applied_at,
            )
    assert (await anonymous.get("/health/ready")).status == 200


async def test_metrics_count_requests_operations_deprovisionings_and_auth_failures(
    scim, anonymous, admin
):
    before = (await anonymous.get("/metrics")).body.decode()
    created = await scim.post("/Users", user_body())
    assert created.status == 201
    user_id = created.json["id"]
    deactivate = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }
    assert (await scim.patch(f"/Users/{user_id}", deactivate)).status == 200
    assert (await scim.delete(f"/Users/{user_id}")).status == 204
    assert (await scim.with_token("hmscim_wrong").get("/Users")).status == 401
    assert (await admin.with_token("wrong").get("/key/list", params={"user_id": "x"})).status == 401

    response = await anonymous.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    after = response.body.decode()

    def grew(name: str, by: float = 1, **labels: str) -> None:
        assert sample(after, name, **labels) - sample(before, name, **labels) >= by, (name, labels)

    grew("haimaker_http_requests_total", route="/scim/v2/Users", method="POST", status="201")
    grew("haimaker_http_requests_total", route="/scim/v2/Users/{id}", method="DELETE", status="204")
    grew("haimaker_http_request_duration_seconds_count", route="/scim/v2/Users", method="POST")
    grew("haimaker_scim_operations_total", resource="Users", operation="create", outcome="success")
    grew("haimaker_scim_operations_total", resource="Users", operation="patch", outcome="success")
    grew("haimaker_deprovisionings_total", reason="deactivated")
    grew("haimaker_deprovisionings_total", reason="deleted")
    grew("haimaker_audit_events_total", action="user.create")
    grew("haimaker_auth_failures_total", realm="scim")
    grew("haimaker_auth_failures_total", realm="admin")
    assert sample(after, "haimaker_db_pool_connections", state="max") >= 1
    # Ids never become labels: routes are templates.
    assert user_id not in after


async def test_sqlite_commits_and_the_writes_they_carry_are_counted(scim, anonymous, backend):
    """On SQLite the creates of one loop turn share a COMMIT (group commit): the writes grow by
    every create, the COMMITs by no more. Postgres commits each write on its own connection and
    has no such figure."""
    before = (await anonymous.get("/metrics")).body.decode()
    created = await asyncio.gather(*(scim.post("/Users", user_body()) for _ in range(6)))
    assert [response.status for response in created] == [201] * 6
    after = (await anonymous.get("/metrics")).body.decode()

    def grown(name: str) -> float:
        return sample(after, name) - sample(before, name)

    writes = grown("haimaker_sqlite_committed_writes_total")
    commits = grown("haimaker_sqlite_commits_total")
    if backend == "sqlite":
        assert writes >= 6  # the creates, and any other write made meanwhile
        assert 1 <= commits <= writes
    else:
        assert "haimaker_sqlite_commits_total" not in after or (writes, commits) == (0, 0)


async def test_every_request_is_logged_once_with_its_id_route_status_and_token_name(
    scim, server, caplog
):
    caplog.set_level(logging.INFO, logger="haimaker.access")
    request_id = uuid.uuid4().hex
    response = await scim.get("/Users", headers={"X-Request-Id": request_id})
    assert response.status == 200
    lines = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    assert len(lines) == 1
    line = orjson.loads(JsonFormatter().format(lines[0]))
    assert line["route"] == "/scim/v2/Users"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["token_name"] == "test-idp"
    assert line["level"] == "INFO"
    assert scim.token not in JsonFormatter().format(lines[0])


async def test_openapi_document_describes_every_route(anonymous, server):
    response = await anonymous.get("/openapi.json")
    assert response.status == 200
    document = response.json
    assert document["openapi"].startswith("3.")
    schemes = document["components"]["securitySchemes"]
    assert {scheme["scheme"] for scheme in schemes.values()} == {"bearer"}
    described = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    served = {
        (route.resource.canonical, route.method)
        for route in server.app.router.routes()
        if route.method not in ("HEAD", "*")  # `*`: the catch-all that answers 404/405
        and route.resource is not None
        and not route.resource.canonical.startswith(("/ui", "/static", "/sso"))
    }
    assert served <= described, served - described

"""Every limit is a setting, is advertised where SCIM has a field for it, and is answered with
the right SCIM error; slow clients are cut off."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid

import pytest

from tests.support.live import live_server
from tests.support.server import MASTER_KEY

LIMITS = {
    "max_body_bytes": 4096,
    "max_filter_length": 200,
    "max_filter_depth": 4,
    "max_page_size": 3,
    "max_patch_operations": 3,
    "max_members_per_request": 3,
    "bulk_max_operations": 2,
    "bulk_max_payload_bytes": 2048,
    "body_timeout_seconds": 0.5,
    "idle_timeout_seconds": 0.5,
}
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


@pytest.fixture(scope="module")
async def server(backend, tmp_path_factory):
    async with live_server(backend, tmp_path_factory, **LIMITS) as live:
        yield live


def assert_scim_error(response, status: int, scim_type: str | None = None) -> None:
    assert response.status == status, response
    assert response.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert response.json["status"] == str(status)
    if scim_type:
        assert response.json.get("scimType") == scim_type, response


async def new_users(scim, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        created = await scim.post("/Users", {"userName": f"lim-{uuid.uuid4().hex}"})
        assert created.status == 201, created
        ids.append(created.json["id"])
    return ids


async def test_request_body_size(scim, admin):
    big = {"userName": f"big-{uuid.uuid4().hex}", "title": "x" * 5000}
    assert_scim_error(await scim.post("/Users", big), 413)
    refused = await admin.post("/key/generate", {"user_id": "x" * 5000})
    assert refused.status == 413 and refused.json["error"]["code"] == "413"

    async def chunks():  # no Content-Length: the limit holds while reading
        for _ in range(10):
            yield b" " * 1000

    assert_scim_error(await scim.post("/Users", data=chunks()), 413)


@pytest.mark.parametrize("via", ["query", "search"])
async def test_filter_length_and_depth(scim, via):
    too_long = " or ".join(f'userName eq "{i}"' for i in range(20))
    too_deep = "(" * 5 + 'userName eq "x"' + ")" * 5
    deep_enough = "(" * 4 + 'userName eq "x"' + ")" * 4
    for text, status in ((too_long, 400), (too_deep, 400), (deep_enough, 200)):
        if via == "query":
            response = await scim.get("/Users", params={"filter": text})
        else:
            response = await scim.post(
                "/Users/.search",
                {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": text,
                },
            )
        if status == 400:
            assert_scim_error(response, 400, "invalidFilter")
        else:
            assert response.status == 200, response


async def test_page_size_cap_is_advertised_and_applied(scim):
    await new_users(scim, 4)
    config = (await scim.get("/ServiceProviderConfig")).json
    assert config["filter"]["maxResults"] == LIMITS["max_page_size"]
    page = await scim.get("/Users", params={"count": "1000"})
    assert page.status == 200
    assert page.json["itemsPerPage"] == LIMITS["max_page_size"]
    assert len(page.json["Resources"]) == LIMITS["max_page_size"]
    assert page.json["totalResults"] >= 4


async def test_patch_operations_per_request(scim):
    (user_id,) = await new_users(scim, 1)
    operation = {"op": "replace", "path": "title", "value": "t"}
    allowed = {"schemas": [PATCH_OP], "Operations": [operation] * 3}
    assert (await scim.patch(f"/Users/{user_id}", allowed)).status == 200
    refused = {"schemas": [PATCH_OP], "Operations": [operation] * 4}
    assert_scim_error(await scim.patch(f"/Users/{user_id}", refused), 400, "tooMany")


async def test_members_per_request(scim):
    user_ids = await new_users(scim, 4)
    members = [{"value": i} for i in user_ids]
    body = {"displayName": f"lim-{uuid.uuid4().hex}", "members": members}
    assert_scim_error(await scim.post("/Groups", body), 400, "invalidValue")
    created = await scim.post("/Groups", {**body, "members": members[:3]})
    assert created.status == 201, created
    add = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": members}],
    }
    assert_scim_error(await scim.patch(f"/Groups/{created.json['id']}", add), 400, "invalidValue")


async def test_bulk_limits_when_bulk_is_served(server, scim):
    if not any(r.resource.canonical == "/scim/v2/Bulk" for r in server.app.router.routes()):
        pytest.skip("this build serves no /Bulk")
    bulk = (await scim.get("/ServiceProviderConfig")).json["bulk"]
    assert bulk["maxOperations"] == LIMITS["bulk_max_operations"]
    assert bulk["maxPayloadSize"] == LIMITS["bulk_max_payload_bytes"]

    def operation(n: int) -> dict:
        return {
            "method": "POST",
            "path": "/Users",
            "bulkId": f"b{n}",
            "data": {"userName": f"bulk-{uuid.uuid4().hex}"},
        }

    too_many = {"schemas": [BULK_REQUEST], "Operations": [operation(n) for n in range(3)]}
    assert_scim_error(await scim.post("/Bulk", too_many), 413)
    too_big = {
        "schemas": [BULK_REQUEST],
        "Operations": [{**operation(0), "data": {"userName": "x", "title": "y" * 2500}}],
    }
    assert_scim_error(await scim.post("/Bulk", too_big), 413)


def _exchange(port: int, payload: bytes, wait: float) -> tuple[bytes, float]:
    """Send `payload`, then read until the server closes; (what came back, seconds taken)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(wait)
        sock.sendall(payload)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            return received + b"<still open>", time.monotonic() - started
    return received, time.monotonic() - started


@pytest.mark.parametrize("path", ["/scim/v2/Users", "/scim/v2/Bulk", "/key/generate"])
async def test_a_stalled_body_is_answered_408_and_cut(server, scim_token, path):
    token = MASTER_KEY if path.startswith("/key") else scim_token
    head = (
        f"POST {path} HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Content-Type: application/scim+json\r\n"
        "Content-Length: 100\r\n\r\n"
        '{"userName":'
    ).encode()
    received, seconds = await asyncio.to_thread(_exchange, server.port, head, 10)
    assert received.startswith(b"HTTP/1.1 408"), received
    assert b'"408"' in received
    assert not received.endswith(b"<still open>")
    assert seconds < 5


@pytest.mark.parametrize(
    "payload",
    [b"", b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"],
    ids=["nothing", "half-headers"],
)
async def test_idle_and_half_sent_requests_are_closed(server, payload):
    received, seconds = await asyncio.to_thread(_exchange, server.port, payload, 10)
    assert not received.endswith(b"<still open>"), received
    assert seconds < 5

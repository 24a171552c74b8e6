"""The pure Bulk layer (RFC 7644 §3.7): parsing, limits, bulkId resolution order, response."""

from __future__ import annotations

import pytest

from app.scim.bulk import (
    BULK_REQUEST_URN,
    BulkLimits,
    BulkResult,
    BulkSchedule,
    bulk_response,
    check_payload_size,
    error_budget_spent,
    parse_bulk_request,
    references,
)
from app.scim.errors import ScimError

LIMITS = BulkLimits(max_operations=10, max_payload_bytes=1000)
ENDPOINTS = ("/Users", "/Groups")


def parse(*operations, **extra):
    body = {"schemas": [BULK_REQUEST_URN], "Operations": list(operations), **extra}
    return parse_bulk_request(body, LIMITS, ENDPOINTS)


def post(bulk_id, path="/Users", **data):
    return {
        "method": "post",
        "path": path,
        "bulkId": bulk_id,
        "data": data or {"userName": bulk_id},
    }


def run_order(request) -> list[tuple[str | None, int | None]]:
    """(bulkId, error status) in the order the schedule hands operations out, all succeeding."""
    schedule, order = BulkSchedule(request.operations), []
    while (step := schedule.next()) is not None:
        op, error = step
        order.append((op.bulk_id or op.path, error.status if error else None))
        if error is None:
            schedule.created(op, f"id-of-{op.bulk_id}")
        else:
            schedule.failed(op)
    return order


def test_methods_and_paths_are_read_case_insensitively():
    request = parse(post("a", "users"), {"METHOD": "Delete", "PATH": "/groups/g1"})
    first, second = request.operations
    assert (first.method, first.endpoint, first.resource_id) == ("POST", "/Users", None)
    assert (second.method, second.endpoint, second.resource_id) == ("DELETE", "/Groups", "g1")
    assert request.fail_on_errors is None


@pytest.mark.parametrize(
    ("operation", "detail"),
    [
        ({"method": "GET", "path": "/Users/x"}, "method"),
        ({"method": "POST", "path": "/Users", "data": {}}, "bulkId"),
        ({"method": "POST", "path": "/Users/x", "bulkId": "b", "data": {}}, "endpoint"),
        ({"method": "PATCH", "path": "/Users", "data": {}}, "one resource"),
        ({"method": "PUT", "path": "/Users/x"}, "data"),
        ({"method": "DELETE", "path": "/Teams/x"}, "path"),
        ("not an object", "object"),
    ],
)
def test_a_malformed_operation_fails_alone(operation, detail):
    request = parse(operation, post("fine"))
    bad, good = request.operations
    assert bad.error is not None and bad.error.status == 400 and detail in bad.error.detail
    assert good.error is None


def test_whole_request_errors():
    with pytest.raises(ScimError) as raised:
        parse_bulk_request({"Operations": "x"}, LIMITS, ENDPOINTS)
    assert raised.value.scim_type == "invalidSyntax"
    with pytest.raises(ScimError) as raised:
        parse_bulk_request({"schemas": ["urn:other"], "Operations": []}, LIMITS, ENDPOINTS)
    assert raised.value.status == 400
    with pytest.raises(ScimError) as raised:
        parse(*(post(str(n)) for n in range(11)))
    assert raised.value.status == 413 and "maxOperations (10)" in raised.value.detail
    for bad in (0, -1, True, "1"):
        with pytest.raises(ScimError):
            parse(post("a"), failOnErrors=bad)
    with pytest.raises(ScimError) as raised:
        parse(post("a"), post("a"))
    assert "two operations" in raised.value.detail


def test_payload_size_limit():
    check_payload_size(1000, LIMITS)
    check_payload_size(None, LIMITS)
    with pytest.raises(ScimError) as raised:
        check_payload_size(1001, LIMITS)
    assert raised.value.status == 413 and "maxPayloadSize (1000)" in raised.value.detail


def test_references_are_found_anywhere_in_data_and_path():
    request = parse(
        {
            "method": "PATCH",
            "path": "/Groups/bulkId:g",
            "data": {"Operations": [{"value": [{"value": "bulkId:u1"}, {"x": ["bulkId:u2"]}]}]},
        }
    )
    assert references(request.operations[0]) == {"g", "u1", "u2"}


def test_operations_wait_for_the_posts_they_reference():
    request = parse(
        post("team", "/Groups", displayName="t", members=[{"value": "bulkId:late"}]),
        post("early"),
        post("late"),
    )
    assert run_order(request) == [("early", None), ("late", None), ("team", None)]
    schedule = BulkSchedule(request.operations)
    schedule.next()
    schedule.created(request.operations[1], "id-early")
    op, _ = schedule.next()
    schedule.created(op, "id-late")
    team, error = schedule.next()
    assert error is None and team.data["members"] == [{"value": "id-late"}]


def test_unknown_failed_and_circular_references_are_409():
    request = parse(
        post("a", "/Groups", displayName="a", members=[{"value": "bulkId:nobody"}]),
        {"method": "PATCH", "path": "/Users/bulkId:c2", "bulkId": "c1", "data": {"x": "bulkId:c1"}},
    )
    order = run_order(request)
    assert order[0] == ("a", 409)
    assert order[1][1] == 409

    schedule = BulkSchedule(parse(post("u"), post("g", "/Groups", m="bulkId:u")).operations)
    user, _ = schedule.next()
    schedule.failed(user)
    group, error = schedule.next()
    assert error.status == 409 and "failed" in error.detail


def test_response_lists_operations_in_request_order_with_string_status():
    request = parse(post("a"), {"method": "DELETE", "path": "/Users/x"})
    created, deleted = request.operations
    failure = ScimError(404, "User 'x' not found")
    body = bulk_response(
        [BulkResult(deleted, 404, error=failure), BulkResult(created, 201, "id1", 'W/"1"')],
        "https://h/scim/v2",
    )
    assert body == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
        "Operations": [
            {
                "method": "POST",
                "bulkId": "a",
                "version": 'W/"1"',
                "location": "https://h/scim/v2/Users/id1",
                "status": "201",
            },
            {"method": "DELETE", "status": "404", "response": failure.to_body()},
        ],
    }


def test_error_budget():
    op = parse(post("a")).operations[0]
    results = [BulkResult(op, 201), BulkResult(op, 409)]
    assert not error_budget_spent(results, None)
    assert error_budget_spent(results, 1)
    assert not error_budget_spent(results, 2)

"""Bulk (RFC 7644 §3.7): the BulkRequest read and checked, bulkId references, the order in
which operations can run, and the BulkResponse. Pure: the use cases run the operations.

- Limits (§3.7.4): more operations than `maxOperations`, or a body over `maxPayloadSize`, is a
  413 for the whole request.
- A request that is not a BulkRequest at all is a 400 for the whole request; one malformed
  operation only fails that operation (its own status in the response).
- `bulkId:<id>` (§3.7.2) may stand for the id of a resource created by a POST of the same
  request, in any value of `data` (a group's `members[].value`, a manager) and in `path`
  (`/Users/bulkId:qwerty`). An operation runs once everything it references exists, so a
  reference to a later POST is resolved by running that POST first (§3.7.1). A reference to a
  bulkId that failed, that no POST defines, or that is circular fails with 409.
- `failOnErrors` (§3.7.3): after that many errors the rest is not run; the response lists
  what ran.
"""

from __future__ import annotations

from collections.abc import Iterator

from attrs import evolve, frozen

from app.scim.errors import ScimError, invalid_syntax, invalid_value

BULK_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
BULK_ID_PREFIX = "bulkId:"
METHODS = ("POST", "PUT", "PATCH", "DELETE")


@frozen
class BulkLimits:
    max_operations: int
    max_payload_bytes: int


@frozen
class BulkOperation:
    """One operation as sent. `error` is set when it cannot run at all (malformed)."""

    index: int
    method: str
    path: str
    endpoint: str | None = None  # "/Users" or "/Groups"
    resource_id: str | None = None  # may be "bulkId:…" until resolved
    bulk_id: str | None = None
    version: str | None = None
    data: object = None
    error: ScimError | None = None


@frozen
class BulkRequest:
    operations: tuple[BulkOperation, ...]
    fail_on_errors: int | None


@frozen
class BulkResult:
    """What one operation did: `status`, and the resource it touched or the error."""

    operation: BulkOperation
    status: int
    resource_id: str | None = None
    version: str | None = None  # the ETag of the resource after the operation
    error: ScimError | None = None


def payload_too_large(limits: BulkLimits) -> ScimError:
    return ScimError(
        413, f"the size of the bulk request exceeds the maxPayloadSize ({limits.max_payload_bytes})"
    )


def check_payload_size(length: int | None, limits: BulkLimits) -> None:
    """§3.7.4: a body over maxPayloadSize is refused before it is read."""
    if length is not None and length > limits.max_payload_bytes:
        raise payload_too_large(limits)


def parse_bulk_request(body: object, limits: BulkLimits, endpoints: tuple[str, ...]) -> BulkRequest:
    """The request's operations, each checked on its own; whole-request errors raise."""
    if not isinstance(body, dict):
        raise invalid_syntax("a bulk request must be a JSON object")
    fields = {key.lower(): value for key, value in body.items() if isinstance(key, str)}
    schemas = fields.get("schemas")
    if schemas is not None and (
        not isinstance(schemas, list)
        or BULK_REQUEST_URN.lower() not in [str(s).lower() for s in schemas]
    ):
        raise invalid_syntax(f"schemas must contain {BULK_REQUEST_URN}")
    raw_operations = fields.get("operations")
    if not isinstance(raw_operations, list):
        raise invalid_syntax("a bulk request needs an Operations list")
    if len(raw_operations) > limits.max_operations:
        raise ScimError(
            413,
            f"{len(raw_operations)} operations exceed the maxOperations ({limits.max_operations})",
        )
    fail_on_errors = fields.get("failonerrors")
    if fail_on_errors is not None and (
        isinstance(fail_on_errors, bool)
        or not isinstance(fail_on_errors, int)
        or fail_on_errors < 1
    ):
        raise invalid_value("failOnErrors must be a positive integer")
    operations = [_operation(index, raw, endpoints) for index, raw in enumerate(raw_operations)]
    _refuse_duplicate_bulk_ids(operations)
    return BulkRequest(tuple(operations), fail_on_errors)


def _operation(index: int, raw: object, endpoints: tuple[str, ...]) -> BulkOperation:
    if not isinstance(raw, dict):
        return BulkOperation(index, "", "", error=invalid_syntax("an operation must be an object"))
    fields = {key.lower(): value for key, value in raw.items() if isinstance(key, str)}
    method = fields.get("method")
    method = method.upper() if isinstance(method, str) else ""
    path = fields.get("path") if isinstance(fields.get("path"), str) else ""
    bulk_id = fields.get("bulkid")
    version = fields.get("version")
    base = BulkOperation(
        index,
        method,
        path,
        bulk_id=bulk_id if isinstance(bulk_id, str) else None,
        version=version if isinstance(version, str) else None,
        data=fields.get("data"),
    )
    problem = _problem(base, bulk_id, version, endpoints)
    if problem is not None:
        return _with(base, error=problem)
    endpoint, _, resource_id = ("/" + path.strip("/")).partition("/")[2].partition("/")
    return _with(
        base,
        endpoint="/" + _canonical_endpoint(endpoint, endpoints),
        resource_id=resource_id or None,
    )


def _problem(op: BulkOperation, bulk_id, version, endpoints) -> ScimError | None:
    if op.method not in METHODS:
        return invalid_value(f"method must be one of {', '.join(METHODS)}")
    if bulk_id is not None and (not isinstance(bulk_id, str) or not bulk_id):
        return invalid_value("bulkId must be a non-empty string")
    if version is not None and not isinstance(version, str):
        return invalid_value("version must be a string (an entity tag)")
    parts = [part for part in op.path.split("/") if part]
    if not parts or _canonical_endpoint(parts[0], endpoints) is None:
        return invalid_value(f"path must name one of {', '.join(endpoints)}, not {op.path[:100]!r}")
    if op.method == "POST":
        if len(parts) != 1:
            return invalid_value("a POST path names a resource type endpoint, e.g. /Users")
        if op.bulk_id is None:
            return invalid_value("bulkId is required for POST (RFC 7644 §3.7)")
    elif len(parts) != 2:
        return invalid_value(f"a {op.method} path names one resource, e.g. /Users/<id>")
    if op.method in ("POST", "PUT", "PATCH") and not isinstance(op.data, dict):
        return invalid_value(f"a {op.method} operation needs its data object")
    return None


def _canonical_endpoint(name: str, endpoints: tuple[str, ...]) -> str | None:
    for endpoint in endpoints:
        if endpoint.strip("/").lower() == name.lower():
            return endpoint.strip("/")
    return None


def _with(op: BulkOperation, **changes) -> BulkOperation:
    return evolve(op, **changes)


def _refuse_duplicate_bulk_ids(operations: list[BulkOperation]) -> None:
    seen: set[str] = set()
    for op in operations:
        if op.method == "POST" and op.bulk_id is not None and op.error is None:
            if op.bulk_id in seen:
                raise invalid_value(f"bulkId {op.bulk_id[:100]!r} is used by two operations")
            seen.add(op.bulk_id)


# -- bulkId references --------------------------------------------------------------------------


def references(op: BulkOperation) -> set[str]:
    """The bulkIds an operation refers to, in its path or anywhere in its data."""
    found = set(_references_in(op.data))
    if op.resource_id and op.resource_id.startswith(BULK_ID_PREFIX):
        found.add(op.resource_id[len(BULK_ID_PREFIX) :])
    return found


def _references_in(value: object) -> Iterator[str]:
    if isinstance(value, str):
        if value.startswith(BULK_ID_PREFIX):
            yield value[len(BULK_ID_PREFIX) :]
    elif isinstance(value, dict):
        for item in value.values():
            yield from _references_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references_in(item)


def resolve(op: BulkOperation, ids: dict[str, str]) -> BulkOperation:
    """The operation with every `bulkId:x` replaced by the id the POST with bulkId x made."""
    resource_id = op.resource_id
    if resource_id and resource_id.startswith(BULK_ID_PREFIX):
        resource_id = ids[resource_id[len(BULK_ID_PREFIX) :]]
    return _with(op, resource_id=resource_id, data=_resolved(op.data, ids))


def _resolved(value: object, ids: dict[str, str]) -> object:
    if isinstance(value, str) and value.startswith(BULK_ID_PREFIX):
        return ids.get(value[len(BULK_ID_PREFIX) :], value)
    if isinstance(value, dict):
        return {key: _resolved(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolved(item, ids) for item in value]
    return value


class BulkSchedule:
    """The order of execution: request order, except that an operation waits for the POSTs
    whose bulkIds it references. `next()` gives the next runnable operation (resolved), or
    one that can never run together with its 409, or None when all are done."""

    def __init__(self, operations: tuple[BulkOperation, ...]):
        self._pending = list(operations)
        self._defined = {
            op.bulk_id
            for op in operations
            if op.method == "POST" and op.error is None and op.bulk_id
        }
        self._created: dict[str, str] = {}
        self._failed: set[str] = set()

    def created(self, op: BulkOperation, resource_id: str) -> None:
        if op.method == "POST" and op.bulk_id:
            self._created[op.bulk_id] = resource_id

    def failed(self, op: BulkOperation) -> None:
        if op.method == "POST" and op.bulk_id:
            self._failed.add(op.bulk_id)

    def next(self) -> tuple[BulkOperation, ScimError | None] | None:
        if not self._pending:
            return None
        for position, op in enumerate(self._pending):
            if op.error is not None:
                return self._pending.pop(position), op.error
            refs = references(op)
            unusable = sorted(
                ref for ref in refs if ref in self._failed or ref not in self._defined
            )
            if unusable:
                self._pending.pop(position)
                return op, _unresolvable(unusable[0], unusable[0] in self._failed)
            if refs <= self._created.keys():
                return resolve(self._pending.pop(position), self._created), None
        op = self._pending.pop(0)  # every pending operation waits on another: a cycle
        return op, ScimError(
            409,
            "circular bulkId references: "
            + ", ".join(sorted(references(op) - self._created.keys()))[:300],
            "invalidValue",
        )


def _unresolvable(bulk_id: str, failed: bool) -> ScimError:
    why = "whose operation failed" if failed else "that no POST of this request defines"
    return ScimError(409, f"references bulkId {bulk_id[:100]!r} {why}", "invalidValue")


# -- the response -------------------------------------------------------------------------------


def bulk_response(results: list[BulkResult], base_url: str) -> dict:
    """The BulkResponse (§3.7.3): one entry per operation run, in request order; `status` is a
    string, `location` and `version` for what succeeded, `response` (a SCIM error) otherwise."""
    entries = []
    for result in sorted(results, key=lambda r: r.operation.index):
        op = result.operation
        entry: dict = {"method": op.method or None}
        if op.bulk_id is not None:
            entry["bulkId"] = op.bulk_id
        if result.version is not None:
            entry["version"] = result.version
        if result.resource_id is not None and op.endpoint is not None:
            entry["location"] = f"{base_url}{op.endpoint}/{result.resource_id}"
        entry["status"] = str(result.status)
        if result.error is not None:
            entry["response"] = result.error.to_body()
        entries.append({key: value for key, value in entry.items() if value is not None})
    return {"schemas": [BULK_RESPONSE_URN], "Operations": entries}


def error_budget_spent(results: list[BulkResult], fail_on_errors: int | None) -> bool:
    """§3.7.3: stop once `failOnErrors` operations have failed."""
    if fail_on_errors is None:
        return False
    return sum(1 for result in results if result.status >= 400) >= fail_on_errors

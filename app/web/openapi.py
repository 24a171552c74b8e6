"""The OpenAPI 3 description of the HTTP API (GET /openapi.json), written by hand.

It describes what the server really answers, errors included, so a fuzzer (schemathesis, in
tests/fuzz) can hold every answer against it. Resource bodies stay open (`additionalProperties`)
because SCIM resources carry extension attributes; the SCIM schemas themselves are served by
`/scim/v2/Schemas` (RFC 7643 §7).
"""

from __future__ import annotations

from aiohttp import web

from app.web.responses import json_response

SCIM_JSON = "application/scim+json"
_ERRORS = {
    "400": "Malformed request (scimType says why)",
    "401": "No valid credential",
    "404": "No such resource",
    "408": "The request body did not arrive in time",
    "409": "Uniqueness conflict",
    "412": "If-Match did not match the current version",
    "413": "The request body is too large",
    "429": "Too many failed authentications from this address",
    "503": "The database is unavailable; retry after Retry-After seconds",
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _scim_content(schema: dict) -> dict:
    return {SCIM_JSON: {"schema": schema}}


def _scim_errors(*codes: str) -> dict:
    return {
        code: {"description": _ERRORS[code], "content": _scim_content(_ref("ScimError"))}
        for code in codes
    }


def _json_errors(*codes: str) -> dict:
    return {
        code: {
            "description": _ERRORS[code],
            "content": {"application/json": {"schema": _ref("JsonError")}},
        }
        for code in codes
    }


_SCIM_COMMON = ("400", "401", "429", "503")
_SCIM_BODY = ("408", "413")
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_PROJECTION = [
    {"name": "attributes", "in": "query", "schema": {"type": "string"}},
    {"name": "excludedAttributes", "in": "query", "schema": {"type": "string"}},
]
_LISTING = [
    {"name": "filter", "in": "query", "schema": {"type": "string"}},
    {"name": "startIndex", "in": "query", "schema": {"type": "integer"}},
    {"name": "count", "in": "query", "schema": {"type": "integer"}},
    {"name": "sortBy", "in": "query", "schema": {"type": "string"}},
    {"name": "sortOrder", "in": "query", "schema": {"enum": ["ascending", "descending"]}},
    *_PROJECTION,
]
_IF_MATCH = {"name": "If-Match", "in": "header", "schema": {"type": "string"}}
_ETAG = {"ETag": {"schema": {"type": "string"}}}


def _resource_paths(endpoint: str, schema: str) -> dict:
    """Users or Groups: RFC 7644 §3.3 (create), §3.4 (read, list, search), §3.5 (replace,
    patch), §3.6 (delete)."""
    tag = endpoint
    one = {
        "description": f"The {schema}",
        "headers": _ETAG,
        "content": _scim_content(_ref(schema)),
    }
    listed = {"description": "A page of results", "content": _scim_content(_ref("ListResponse"))}
    body = {"required": True, "content": _scim_content(_ref(f"{schema}Input"))}
    return {
        f"/scim/v2/{endpoint}": {
            "get": {
                "tags": [tag],
                "summary": f"List or filter {endpoint}",
                "parameters": _LISTING,
                "responses": {"200": listed, **_scim_errors(*_SCIM_COMMON)},
            },
            "post": {
                "tags": [tag],
                "summary": f"Create a {schema}",
                "parameters": _PROJECTION,
                "requestBody": body,
                "responses": {
                    "201": {
                        **one,
                        "headers": {**_ETAG, "Location": {"schema": {"type": "string"}}},
                    },
                    **_scim_errors(*_SCIM_COMMON, *_SCIM_BODY, "409"),
                },
            },
        },
        f"/scim/v2/{endpoint}/.search": {
            "post": {
                "tags": [tag],
                "summary": f"Search {endpoint} with a SearchRequest body",
                "requestBody": {"required": True, "content": _scim_content(_ref("SearchRequest"))},
                "responses": {"200": listed, **_scim_errors(*_SCIM_COMMON, *_SCIM_BODY)},
            }
        },
        f"/scim/v2/{endpoint}/{{id}}": {
            "parameters": [_ID],
            "get": {
                "tags": [tag],
                "summary": f"Read a {schema}",
                "parameters": [
                    *_PROJECTION,
                    {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": one,
                    "304": {"description": "Not modified", "headers": _ETAG},
                    **_scim_errors(*_SCIM_COMMON, "404"),
                },
            },
            "put": {
                "tags": [tag],
                "summary": f"Replace a {schema}",
                "parameters": [*_PROJECTION, _IF_MATCH],
                "requestBody": body,
                "responses": {
                    "200": one,
                    **_scim_errors(*_SCIM_COMMON, *_SCIM_BODY, "404", "409", "412"),
                },
            },
            "patch": {
                "tags": [tag],
                "summary": f"Modify a {schema} (PatchOp)",
                "parameters": [
                    *_PROJECTION,
                    _IF_MATCH,
                    {"name": "Prefer", "in": "header", "schema": {"type": "string"}},
                ],
                "requestBody": {"required": True, "content": _scim_content(_ref("PatchOp"))},
                "responses": {
                    "200": one,
                    "204": {"description": "Modified (Prefer: return=minimal)", "headers": _ETAG},
                    **_scim_errors(*_SCIM_COMMON, *_SCIM_BODY, "404", "409", "412"),
                },
            },
            "delete": {
                "tags": [tag],
                "summary": f"Delete a {schema}",
                "parameters": [_IF_MATCH],
                "responses": {
                    "204": {"description": "Deleted"},
                    **_scim_errors(*_SCIM_COMMON, "404", "412"),
                },
            },
        },
    }


def _discovery_paths() -> dict:
    """RFC 7644 §4."""
    document = {"description": "A discovery document", "content": _scim_content(_ref("Resource"))}
    listed = {"description": "All of them", "content": _scim_content(_ref("ListResponse"))}

    def read(summary: str, answer: dict, *extra: str) -> dict:
        return {
            "get": {
                "tags": ["Discovery"],
                "summary": summary,
                "responses": {"200": answer, **_scim_errors(*_SCIM_COMMON, *extra)},
            }
        }

    return {
        "/scim/v2/ServiceProviderConfig": read("What this server supports", document),
        "/scim/v2/ResourceTypes": read("The resource types", listed),
        "/scim/v2/ResourceTypes/{id}": {"parameters": [_ID], **read("One type", document, "404")},
        "/scim/v2/Schemas": read("The schemas", listed),
        "/scim/v2/Schemas/{id}": {"parameters": [_ID], **read("One schema", document, "404")},
        "/scim/v2/Bulk": {
            "post": {
                "tags": ["Bulk"],
                "summary": "Several operations in one request (RFC 7644 §3.7)",
                "requestBody": {"required": True, "content": _scim_content(_ref("BulkRequest"))},
                "responses": {
                    "200": {
                        "description": "One result per operation run",
                        "content": _scim_content(_ref("BulkResponse")),
                    },
                    **_scim_errors(*_SCIM_COMMON, *_SCIM_BODY),
                },
            }
        },
        "/scim/v2/.search": {
            "post": {
                "tags": ["Discovery"],
                "summary": "Search every resource type (RFC 7644 §3.4.3)",
                "requestBody": {"required": True, "content": _scim_content(_ref("SearchRequest"))},
                "responses": {
                    "200": {
                        "description": "A page",
                        "content": _scim_content(_ref("ListResponse")),
                    },
                    **_scim_errors(*_SCIM_COMMON, *_SCIM_BODY),
                },
            }
        },
    }


def _admin_paths() -> dict:
    admin = [{"masterKey": []}]
    common = ("400", "401", "429", "503")

    def ok(schema: str) -> dict:
        return {
            "description": "Done",
            "content": {"application/json": {"schema": _ref(schema)}},
        }

    def body(schema: str) -> dict:
        return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}

    return {
        "/key/generate": {
            "post": {
                "tags": ["Keys"],
                "summary": "Issue an API key to an active user (shown only in this answer)",
                "security": admin,
                "requestBody": body("KeyRequest"),
                "responses": {
                    "200": ok("GeneratedKey"),
                    **_json_errors(*common, *_SCIM_BODY, "404"),
                },
            }
        },
        "/key/list": {
            "get": {
                "tags": ["Keys"],
                "summary": "A user's keys, without secrets",
                "security": admin,
                "parameters": [
                    {
                        "name": "user_id",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {"200": ok("KeyList"), **_json_errors(*common, "404")},
            }
        },
        "/key/delete": {
            "post": {
                "tags": ["Keys"],
                "summary": "Delete keys",
                "security": admin,
                "requestBody": body("KeyDeletion"),
                "responses": {"200": ok("DeletedKeys"), **_json_errors(*common, *_SCIM_BODY)},
            }
        },
        "/audit": {
            "get": {
                "tags": ["Audit"],
                "summary": "The audit log, newest first, filtered and paged",
                "security": admin,
                "parameters": [
                    {"name": name, "in": "query", "schema": schema}
                    for name, schema in (
                        ("target_id", {"type": "string"}),
                        ("action", {"type": "string"}),
                        ("limit", {"type": "integer"}),
                        ("offset", {"type": "integer"}),
                    )
                ],
                "responses": {"200": ok("AuditPage"), **_json_errors(*common)},
            }
        },
        "/key/info": {
            "get": {
                "tags": ["Keys"],
                "summary": "The gateway's check: is this API key live and its user active?",
                "security": [{"apiKey": []}],
                "responses": {"200": ok("KeyInfo"), **_json_errors("401", "503")},
            }
        },
    }


def _operations_paths() -> dict:
    status = {"application/json": {"schema": _ref("Health")}}

    def health(summary: str, can_fail: bool) -> dict:
        responses = {"200": {"description": "OK", "content": status}}
        if can_fail:
            responses["503"] = {"description": "Not ready", "content": status}
        return {
            "get": {
                "tags": ["Operations"],
                "summary": summary,
                "security": [],
                "responses": responses,
            }
        }

    return {
        "/health": health("Readiness (kept for compatibility)", True),
        "/health/live": health("Liveness: the process answers", False),
        "/health/ready": health("Readiness: database reachable, migrations current", True),
        "/metrics": {
            "get": {
                "tags": ["Operations"],
                "summary": "Prometheus metrics",
                "security": [],
                "responses": {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/openapi.json": {
            "get": {
                "tags": ["Operations"],
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


def _schemas() -> dict:
    text = {"type": "string"}
    nullable_text = {"type": ["string", "null"]}
    open_object = {"type": "object", "additionalProperties": True}
    resource = {
        "type": "object",
        "required": ["schemas", "id"],
        "properties": {
            "schemas": {"type": "array", "items": text},
            "id": text,
            "meta": open_object,
        },
        "additionalProperties": True,
    }
    return {
        "Resource": {
            "type": "object",
            "required": ["schemas"],
            "properties": {"schemas": {"type": "array", "items": text}},
            "additionalProperties": True,
        },
        "User": resource,
        "Group": resource,
        "UserInput": {
            "type": "object",
            "required": ["userName"],
            "properties": {
                "schemas": {"type": "array", "items": text},
                "userName": text,
                "externalId": text,
                "displayName": text,
                "active": {"type": "boolean"},
                "name": open_object,
                "emails": {"type": "array", "items": open_object},
            },
            "additionalProperties": True,
        },
        "GroupInput": {
            "type": "object",
            "required": ["displayName"],
            "properties": {
                "schemas": {"type": "array", "items": text},
                "displayName": text,
                "externalId": text,
                "members": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["value"],
                        "properties": {"value": text, "display": text, "type": text},
                    },
                },
            },
            "additionalProperties": True,
        },
        "PatchOp": {
            "type": "object",
            "required": ["schemas", "Operations"],
            "properties": {
                "schemas": {"type": "array", "items": text},
                "Operations": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["op"],
                        "properties": {
                            "op": {"enum": ["add", "replace", "remove"]},
                            "path": text,
                            "value": {},
                        },
                    },
                },
            },
        },
        "SearchRequest": {
            "type": "object",
            "properties": {
                "schemas": {"type": "array", "items": text},
                "filter": text,
                "startIndex": {"type": "integer"},
                "count": {"type": "integer"},
                "sortBy": text,
                "sortOrder": {"enum": ["ascending", "descending"]},
                "attributes": {"type": "array", "items": text},
                "excludedAttributes": {"type": "array", "items": text},
            },
        },
        "ListResponse": {
            "type": "object",
            "required": ["schemas", "totalResults", "itemsPerPage", "startIndex", "Resources"],
            "properties": {
                "schemas": {"type": "array", "items": text},
                "totalResults": {"type": "integer", "minimum": 0},
                "itemsPerPage": {"type": "integer", "minimum": 0},
                "startIndex": {"type": "integer", "minimum": 1},
                "Resources": {"type": "array", "items": _ref("Resource")},
            },
        },
        "ScimError": {
            "type": "object",
            "required": ["schemas", "status", "detail"],
            "properties": {
                "schemas": {
                    "type": "array",
                    "items": {"const": "urn:ietf:params:scim:api:messages:2.0:Error"},
                },
                "status": {"type": "string", "pattern": "^[1-5][0-9][0-9]$"},
                "scimType": text,
                "detail": text,
            },
        },
        "JsonError": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["message", "code"],
                    "properties": {"message": text, "code": text, "type": text},
                }
            },
        },
        "KeyRequest": {
            "type": "object",
            "required": ["user_id"],
            "properties": {"user_id": text, "team_id": nullable_text, "key_alias": nullable_text},
        },
        "KeyInfo": {
            "type": "object",
            "required": ["key_id", "user_id", "team_id", "key_alias"],
            "properties": {
                "key_id": text,
                "user_id": text,
                "team_id": nullable_text,
                "key_alias": nullable_text,
            },
        },
        "KeyDocument": {
            "type": "object",
            "required": ["key_id", "user_id", "team_id", "key_alias", "created_at"],
            "properties": {
                "key_id": text,
                "user_id": text,
                "team_id": nullable_text,
                "key_alias": nullable_text,
                "created_at": text,
            },
        },
        "GeneratedKey": {
            "allOf": [
                _ref("KeyDocument"),
                {"type": "object", "required": ["key"], "properties": {"key": text}},
            ]
        },
        "KeyList": {
            "type": "object",
            "required": ["keys"],
            "properties": {"keys": {"type": "array", "items": _ref("KeyDocument")}},
        },
        "KeyDeletion": {
            "type": "object",
            "required": ["key_ids"],
            "properties": {"key_ids": {"type": "array", "minItems": 1, "items": text}},
        },
        "DeletedKeys": {
            "type": "object",
            "required": ["deleted_keys"],
            "properties": {"deleted_keys": {"type": "array", "items": text}},
        },
        "BulkRequest": {
            "type": "object",
            "required": ["Operations"],
            "properties": {
                "schemas": {"type": "array", "items": text},
                "failOnErrors": {"type": "integer"},
                "Operations": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["method"],
                        "properties": {
                            "method": {"enum": ["POST", "PUT", "PATCH", "DELETE"]},
                            "path": text,
                            "bulkId": text,
                            "version": text,
                            "data": {},
                        },
                    },
                },
            },
        },
        "BulkResponse": {
            "type": "object",
            "required": ["schemas", "Operations"],
            "properties": {
                "schemas": {"type": "array", "items": text},
                "Operations": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["status"],
                        "properties": {
                            "status": {"type": "string"},
                            "location": text,
                            "version": text,
                            "bulkId": text,
                            "response": _ref("ScimError"),
                        },
                    },
                },
            },
        },
        "AuditPage": {
            "type": "object",
            "required": ["total", "limit", "offset", "events"],
            "properties": {
                "total": {"type": "integer", "minimum": 0},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
                "events": {"type": "array", "items": open_object},
            },
        },
        "Health": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"enum": ["ok", "unavailable"]}},
        },
    }


def openapi_spec() -> dict:
    paths: dict = {}
    paths.update(_resource_paths("Users", "User"))
    paths.update(_resource_paths("Groups", "Group"))
    paths.update(_discovery_paths())
    paths.update(_admin_paths())
    paths.update(_operations_paths())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "haimaker SCIM",
            "version": "0.1.0",
            "description": "SCIM 2.0 (RFC 7643/7644) provisioning and the gateway key API.",
        },
        "servers": [{"url": "/"}],
        "security": [{"scimToken": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "scimToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A SCIM token (`run.py token create`), on /scim/v2",
                },
                "masterKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The master key, on the key administration API",
                },
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A user's API key, on GET /key/info",
                },
            },
            "schemas": _schemas(),
        },
    }


async def openapi_document(request: web.Request) -> web.Response:
    return json_response(openapi_spec())

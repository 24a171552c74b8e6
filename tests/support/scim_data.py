"""Test data for the SCIM API tests: user bodies, a user built from the published Schemas,
and a plain-text dump of a whole database (to prove what is never stored)."""

from __future__ import annotations

import sqlite3
import uuid
from urllib.parse import urlsplit

import asyncpg

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

# Values an over-eager server might "normalise"; they must come back exactly as written.
VERBATIM_STRINGS = {
    "locale": "sr-Latn-RS",
    "timezone": "America/Argentina/Buenos_Aires",
    "preferredLanguage": "en-US,fr;q=0.8",
}


def unique_name(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def user_body(user_name: str | None = None, /, **extra) -> dict:
    user_name = user_name or unique_name()
    return {
        "schemas": [USER_URN],
        "userName": user_name,
        "active": True,
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        **extra,
    }


def patch_body(*operations: dict) -> dict:
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


def assert_scim_error(response, status: int, scim_type: str | None = None) -> dict:
    """The response is a SCIM Error (RFC 7644 §3.12) with `status` as a string."""
    assert response.status == status, response
    assert response.headers["Content-Type"].startswith("application/scim+json"), response.headers
    body = response.json
    assert body["schemas"] == [ERROR_URN], body
    assert body["status"] == str(status), body
    assert isinstance(body.get("detail"), str) and body["detail"], body
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


# -- a user holding every attribute the Schemas endpoint publishes ---------------------------


def _scalar(attribute: dict, label: str, element: int) -> object:
    kind = attribute["type"]
    if attribute.get("canonicalValues"):
        values = attribute["canonicalValues"]
        return values[element % len(values)]
    if kind == "boolean":
        return element == 0
    if kind == "reference":
        return f"https://example.com/{label}/{element}"
    if kind == "binary":
        return "TUlJRGZqQ0NBdWFnQXdJQkFn" + str(element)
    if kind == "integer":
        return 40 + element
    if kind == "decimal":
        return 4.5 + element
    if kind == "dateTime":
        return f"2024-0{element + 1}-02T03:04:05Z"
    return VERBATIM_STRINGS.get(label, f"{label} Ünïcødé «{element}» ✓")


def _writable(attribute: dict) -> bool:
    return attribute["mutability"] not in ("readOnly",)


def _value(attribute: dict, label: str, element: int = 0) -> object:
    if attribute["type"] != "complex":
        return _scalar(attribute, label, element)
    return {
        sub["name"]: _scalar(sub, f"{label}.{sub['name']}", element)
        for sub in attribute["subAttributes"]
        if _writable(sub)
    }


def full_user(schemas: dict[str, dict], user_name: str) -> tuple[dict, dict]:
    """(the POST body, what the server must return) built from the Schemas documents:
    every writable attribute of User and EnterpriseUser with a value of its type; multi-valued
    attributes with two values, the first primary. writeOnly attributes are sent, never
    expected back."""
    body: dict = {"schemas": [USER_URN, ENTERPRISE_URN], "externalId": "ext-" + user_name}
    expected: dict = {"externalId": body["externalId"]}
    for urn in (USER_URN, ENTERPRISE_URN):
        sent: dict = {}
        shown: dict = {}
        for attribute in schemas[urn]["attributes"]:
            name = attribute["name"]
            if not _writable(attribute):
                continue
            if attribute["multiValued"]:
                value = [_value(attribute, name, 0), _value(attribute, name, 1)]
            else:
                value = _value(attribute, name)
            sent[name] = value
            if attribute["mutability"] != "writeOnly" and attribute["returned"] != "never":
                shown[name] = value
        if urn == USER_URN:
            sent["userName"] = shown["userName"] = user_name
            body.update(sent)
            expected.update(shown)
        else:
            body[urn] = sent
            expected[urn] = shown
    return body, expected


# -- dumps ----------------------------------------------------------------------------------


async def dump_database(url: str) -> str:
    """Every row of every table as text: SQLite's `.dump`, or a SELECT of each Postgres table."""
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[1]
        connection = sqlite3.connect(path)
        try:
            return "\n".join(connection.iterdump())
        finally:
            connection.close()
    conn = await asyncpg.connect(url, timeout=10)
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        lines = []
        for table in tables:
            name = table["table_name"]
            for row in await conn.fetch(f'SELECT * FROM "{name}"'):
                lines.append(f"{name}: {tuple(row.values())!r}")
        return "\n".join(lines)
    finally:
        await conn.close()


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")

"""The yardstick: an aiohttp handler that returns a fixed SCIM user document (serialised with
orjson on each request, as the real server does), and nothing else. Every throughput figure of
the benchmark is also given as a ratio to this one, measured in the same run on this machine.

    python -m bench.fixed_document PORT
"""

from __future__ import annotations

import sys

import orjson
from aiohttp import web

from app.server import fast_event_loop

DOCUMENT = {
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ],
    "id": "2819c223-7f76-453a-919d-413861904646",
    "externalId": "ext-1",
    "userName": "user1@bench.example",
    "name": {"formatted": "User 1", "familyName": "Number 1", "givenName": "User"},
    "displayName": "User 1",
    "active": True,
    "emails": [{"value": "user1@bench.example", "type": "work", "primary": True}],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Bench"},
    "meta": {
        "resourceType": "User",
        "created": "2026-01-01T00:00:00.000Z",
        "lastModified": "2026-01-01T00:00:00.000Z",
        "location": "http://127.0.0.1/scim/v2/Users/2819c223-7f76-453a-919d-413861904646",
        "version": 'W/"1"',
    },
}


async def user(request: web.Request) -> web.Response:
    return web.Response(body=orjson.dumps(DOCUMENT), content_type="application/scim+json")


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    app = web.Application()
    app.add_routes([web.get("/health", health), web.get("/{tail:.*}", user)])
    web.run_app(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        print=None,
        access_log=None,
        loop=fast_event_loop(),  # the same event loop as the server under test
    )


if __name__ == "__main__":
    main()

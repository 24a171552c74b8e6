"""Conditional requests with ETags (RFC 7644 §3.14, RFC 7232 §3.1–3.2)."""

from __future__ import annotations

from app.scim.errors import precondition_failed
from app.scim.rendering import parse_etag


def _tags(header: str) -> list[str]:
    return [part.strip() for part in header.split(",") if part.strip()]


def _any_matches(header: str, version: int) -> bool:
    return any(tag == "*" or parse_etag(tag) == version for tag in _tags(header))


def require_if_match(header: str | None, version: int) -> None:
    """A write with `If-Match` proceeds only when the resource still has that version."""
    if header is not None and not _any_matches(header, version):
        raise precondition_failed(
            f'If-Match {header[:80]!r} does not match the current version W/"{version}"'
        )


def not_modified(header: str | None, version: int) -> bool:
    """`If-None-Match` naming the current version (or `*`): the client's copy is current."""
    return header is not None and _any_matches(header, version)

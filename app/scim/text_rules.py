"""Rules for text that crosses into storage.

JSON may carry U+0000 (`"\\u0000"`), but PostgreSQL `text` and `jsonb` cannot hold it and
SQLite would keep it silently: so one backend would fail where the other succeeds. NUL is
refused wherever text enters, with the same SCIM error on both backends (RFC 7644 §3.12
invalidValue; invalidFilter inside a filter).
"""

from __future__ import annotations

from app.scim.errors import invalid_value

NUL = "\x00"
NUL_RULE = "NUL characters are not accepted in any value"


def reject_nul_characters(document: object) -> None:
    """Raise invalidValue if any key or string anywhere in `document` holds a NUL."""
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                raise invalid_value(NUL_RULE)
        elif isinstance(item, dict):
            for key, value in item.items():
                if isinstance(key, str) and NUL in key:
                    raise invalid_value(NUL_RULE)
                pending.append(value)
        elif isinstance(item, list):
            pending.extend(item)


def has_nul(text: str) -> bool:
    return NUL in text

"""Logging set-up: one line per event, as text or as JSON (HAIMAKER_LOG_FORMAT), with the level
from HAIMAKER_LOG_LEVEL.

Secrets are never passed to a logger; as a second line of defence every line is scrubbed of
anything shaped like one of our secrets (SCIM tokens, API keys, the master key, sessions) and
of bearer credentials, so a careless `log.info("%s", headers)` still leaks nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys

import orjson

# Attributes every LogRecord has; anything else on a record came from `extra=` and is a field.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)
_SECRET_SHAPES = re.compile(
    r"(?i)(bearer\s+)\S+|\b(hmscim_|sk-master-|sk-|hmsess_)[A-Za-z0-9_\-]{6,}"
)


def scrub(text: str) -> str:
    """`text` with bearer credentials and secret-shaped words replaced by their prefix + ***."""
    return _SECRET_SHAPES.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)


def _fields(record: logging.LogRecord) -> dict:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRIBUTES}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        for key, value in _fields(record).items():
            line[key] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """`time level logger: message key=value …`, scrubbed."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = " ".join(f"{key}={value}" for key, value in _fields(record).items())
        return scrub(f"{text} {extra}" if extra else text)


def configure_logging(level: str = "INFO", log_format: str = "text") -> None:
    """Replace the root handlers with one stderr handler in the chosen format."""
    if log_format not in ("text", "json"):
        raise ValueError(f"log format must be 'text' or 'json', not {log_format!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))

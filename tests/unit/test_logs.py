"""Log lines: JSON or text, with the record's fields, and never a secret."""

from __future__ import annotations

import logging

import orjson
import pytest

from app.logs import JsonFormatter, TextFormatter, configure_logging, scrub
from app.provisioning.secrets import new_secret


@pytest.mark.parametrize("prefix", ["hmscim_", "sk-", "sk-master-", "hmsess_"])
def test_secret_shaped_words_are_scrubbed(prefix):
    secret = new_secret(prefix)
    text = scrub(f"token {secret} was refused")
    assert secret not in text and secret[len(prefix) :] not in text
    assert text == f"token {prefix}*** was refused"


def test_bearer_credentials_are_scrubbed_whatever_their_shape():
    assert scrub("Authorization: Bearer abc.def-ghi") == "Authorization: Bearer ***"
    assert scrub("plain words, user ids 3f2a-11 and task-runner stay") == (
        "plain words, user ids 3f2a-11 and task-runner stay"
    )


def record(message: str, *args, **extra) -> logging.LogRecord:
    made = logging.LogRecord("haimaker.test", logging.WARNING, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_json_lines_carry_the_fields_and_no_secret():
    secret = new_secret("hmscim_")
    line = orjson.loads(
        JsonFormatter().format(
            record("refused %s", secret, request_id="r1", status=401, token_name=secret)
        )
    )
    assert line["level"] == "WARNING" and line["logger"] == "haimaker.test"
    assert line["request_id"] == "r1" and line["status"] == 401
    assert secret not in orjson.dumps(line).decode()
    assert line["time"].endswith("+00:00")


def test_text_lines_carry_the_fields_and_no_secret():
    secret = new_secret("sk-")
    text = TextFormatter().format(record("refused %s", secret, route="/key/info"))
    assert "route=/key/info" in text and secret not in text


@pytest.fixture
def root_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_configure_logging_sets_level_and_format(capsys, root_logging):
    configure_logging("warning", "json")
    logging.getLogger("haimaker.test").info("hidden")
    logging.getLogger("haimaker.test").warning("shown", extra={"status": 503})
    lines = [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["message"], line["status"]) for line in lines] == [("shown", 503)]
    with pytest.raises(ValueError):
        configure_logging("INFO", "xml")

"""Secrets are compared in constant time, on hashes, and stored only as hashes."""

from __future__ import annotations

import hmac

from app.provisioning import secrets as secrets_module
from app.provisioning.master_key import MasterKey
from app.provisioning.secrets import (
    API_KEY_PREFIX,
    SCIM_TOKEN_PREFIX,
    hash_secret,
    new_secret,
    same_secret,
)


def test_master_key_is_compared_with_compare_digest_on_hashes(monkeypatch):
    calls = []
    original = hmac.compare_digest

    def recording(a, b):
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(secrets_module.hmac, "compare_digest", recording)
    key = new_secret("sk-master-")
    verifier = MasterKey(hash_secret(key))
    assert verifier.verify(key)
    assert not verifier.verify(key + "x")
    assert not verifier.verify("")
    assert not verifier.verify(None)
    assert len(calls) == 2
    for presented, stored in calls:
        assert key.encode() not in presented and key.encode() not in stored
        assert len(presented) == len(stored) == 64  # hex SHA-256: equal lengths, no early exit


def test_same_secret_goes_through_compare_digest(monkeypatch):
    seen = []
    monkeypatch.setattr(
        secrets_module.hmac, "compare_digest", lambda a, b: seen.append(1) or a == b
    )
    assert same_secret("a", "a") and not same_secret("a", "b")
    assert len(seen) == 2


def test_secrets_are_long_random_and_prefixed():
    made = {new_secret(SCIM_TOKEN_PREFIX) for _ in range(100)}
    assert len(made) == 100
    assert all(
        s.startswith(SCIM_TOKEN_PREFIX) and len(s) >= len(SCIM_TOKEN_PREFIX) + 43 for s in made
    )
    assert new_secret(API_KEY_PREFIX).startswith("sk-")
    assert hash_secret("x") != "x" and len(hash_secret("x")) == 64

"""Secrets: made with `secrets`, stored only as SHA-256 hashes, compared in constant time.

Every secret here is 256 random bits, so a fast hash is enough: nobody can guess one to match
a stolen hash, and lookups by hash stay an index seek.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SCIM_TOKEN_PREFIX = "hmscim_"
API_KEY_PREFIX = "sk-"
MASTER_KEY_PREFIX = "sk-master-"
SESSION_PREFIX = "hmsess_"


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def same_hash(presented_hash: str, stored_hash: str) -> bool:
    return hmac.compare_digest(presented_hash.encode(), stored_hash.encode())


def same_secret(presented: str, expected: str) -> bool:
    return same_hash(hash_secret(presented), hash_secret(expected))

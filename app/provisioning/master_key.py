"""The master key: the admin secret for the key API and the admin page.

Either given (HAIMAKER_MASTER_KEY, kept only in memory) or generated on first start, printed
once, and stored as a hash. Compared in constant time either way.
"""

from __future__ import annotations

from app.provisioning.secrets import MASTER_KEY_PREFIX, hash_secret, new_secret, same_hash
from storage.repository import Repository

SETTING = "master_key_sha256"


class MasterKey:
    def __init__(self, key_hash: str):
        self._hash = key_hash

    def verify(self, presented: str | None) -> bool:
        return bool(presented) and same_hash(hash_secret(presented), self._hash)


async def load_master_key(repo: Repository, configured: str | None) -> tuple[MasterKey, str | None]:
    """The verifier, and the new key when one was generated just now (to print once)."""
    if configured:
        return MasterKey(hash_secret(configured)), None
    async with repo.transaction() as stores:
        stored = await stores.settings.get(SETTING)
        if stored is not None:
            return MasterKey(stored), None
        generated = new_secret(MASTER_KEY_PREFIX)
        await stores.settings.put(SETTING, hash_secret(generated))
    return MasterKey(hash_secret(generated)), generated

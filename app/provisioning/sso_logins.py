"""Sign-ins in flight: what the SSO callback needs to finish what the login step started.

OpenID Connect's `state` names the attempt (stored as a hash, like every secret here) and carries
the `nonce` the ID token must repeat and the PKCE `code_verifier` (RFC 7636) for the code
exchange. They live in the database, not in process memory, so any process can take the
callback; an attempt is used once (deleted when taken) and lapses after ten minutes.
"""

from __future__ import annotations

import datetime as dt

from attrs import frozen

from app.provisioning.common import new_id, utcnow
from app.provisioning.secrets import hash_secret, same_hash
from storage.records import AccessTokenRecord
from storage.repository import Repository

PENDING_KIND = "sso_state"
PENDING_LIFETIME = dt.timedelta(minutes=10)


@frozen
class PendingLogin:
    nonce: str
    code_verifier: str
    next_path: str


class PendingLogins:
    def __init__(self, repo: Repository):
        self.repo = repo

    async def begin(self, state: str, login: PendingLogin) -> None:
        now = utcnow()
        record = AccessTokenRecord(
            id=new_id(),
            kind=PENDING_KIND,
            user_id=None,
            data={
                "nonce": login.nonce,
                "code_verifier": login.code_verifier,
                "next": login.next_path,
            },
            created_at=now,
            expires_at=now + PENDING_LIFETIME,
        )
        async with self.repo.transaction() as stores:
            await stores.access_tokens.insert(record, hash_secret(state))

    async def take(self, state: str) -> PendingLogin | None:
        """The attempt named by `state`, removed so it cannot be replayed; None if unknown,
        expired or already taken."""
        state_hash = hash_secret(state)
        async with self.repo.transaction() as stores:
            found = await stores.access_tokens.find_by_hash(state_hash, utcnow())
            if found is None or not same_hash(state_hash, found[1]):
                return None
            record = found[0]
            if record.kind != PENDING_KIND or not await stores.access_tokens.delete(record.id):
                return None
        data = record.data
        return PendingLogin(
            nonce=str(data["nonce"]),
            code_verifier=str(data["code_verifier"]),
            next_path=str(data.get("next") or "/ui"),
        )

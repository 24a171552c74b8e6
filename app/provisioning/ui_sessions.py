"""Admin-page sessions and sign-in attempts.

A session is an access token (kind `ui_session`): the browser holds the secret in a cookie, the
database holds its SHA-256 hash, an expiry and who it is for. `user_id` is NULL for the
master-key admin and the user's id for SSO sign-ins, so deprovisioning a user deletes their
sessions with their other credentials (app/provisioning/access.py).

Failed master-key sign-ins are audit events (`ui.login_failed`, target = the client address);
counting the recent ones is the rate limit, shared by every process on the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from attrs import frozen

from app.provisioning.common import Actor, audit_event, new_id, utcnow
from app.provisioning.master_key import MasterKey
from app.provisioning.secrets import SESSION_PREFIX, hash_secret, new_secret, same_hash
from storage.records import AccessTokenRecord
from storage.repository import Repository

SESSION_KIND = "ui_session"
LOGIN_FAILED = "ui.login_failed"
RATE_WINDOW = dt.timedelta(minutes=1)
MASTER_KEY_ACTOR = Actor("admin", None, "master key")


@frozen
class UiSession:
    id: str
    user_id: str | None
    name: str
    is_admin: bool
    via: str  # "master_key" or "sso"
    expires_at: dt.datetime

    @property
    def actor(self) -> Actor:
        """Who acts through this session, as the audit log names them."""
        if self.user_id is None:
            return MASTER_KEY_ACTOR
        return Actor("admin" if self.is_admin else "sso", self.user_id, self.name)


class TooManyAttempts(Exception):
    """More failed sign-ins from this address in the last minute than allowed."""


class WrongMasterKey(Exception):
    pass


class AccountUnavailable(Exception):
    """The user was deleted or deactivated: no session for them."""


def csrf_token_for(session_secret: str) -> str:
    """The form token of a session: derived from its secret, so it needs no storage and is
    worthless without the cookie (which scripts on other sites cannot read)."""
    return hmac.new(session_secret.encode(), b"haimaker-ui-csrf", hashlib.sha256).hexdigest()


def _session(record: AccessTokenRecord) -> UiSession:
    data = record.data or {}
    return UiSession(
        id=record.id,
        user_id=record.user_id,
        name=str(data.get("name") or "admin"),
        is_admin=bool(data.get("is_admin")),
        via=str(data.get("via") or "master_key"),
        expires_at=record.expires_at,
    )


class UiSessions:
    def __init__(self, repo: Repository, *, lifetime: dt.timedelta, attempts_per_minute: int):
        self.repo = repo
        self.lifetime = lifetime
        self.attempts_per_minute = attempts_per_minute

    async def sign_in_with_master_key(
        self, presented: str, master_key: MasterKey, address: str
    ) -> str:
        """A new admin session secret; refuses past the rate limit before even comparing."""
        now = utcnow()
        async with self.repo.reader() as stores:
            recent = await stores.audit.count_since(LOGIN_FAILED, address, now - RATE_WINDOW)
        if recent >= self.attempts_per_minute:
            raise TooManyAttempts()
        if not master_key.verify(presented):
            async with self.repo.transaction() as stores:
                await stores.audit.append(
                    [
                        audit_event(
                            Actor("anonymous", None, address),
                            LOGIN_FAILED,
                            "client_address",
                            address,
                            now,
                            via="master_key",
                        )
                    ]
                )
            raise WrongMasterKey()
        return await self.start(
            user_id=None, name="admin", is_admin=True, via="master_key", actor=MASTER_KEY_ACTOR
        )

    async def start(
        self, *, user_id: str | None, name: str, is_admin: bool, via: str, actor: Actor
    ) -> str:
        """Store a new session (its hash only) and return its secret, for the cookie."""
        now = utcnow()
        secret = new_secret(SESSION_PREFIX)
        record = AccessTokenRecord(
            id=new_id(),
            kind=SESSION_KIND,
            user_id=user_id,
            data={"name": name, "is_admin": is_admin, "via": via},
            created_at=now,
            expires_at=now + self.lifetime,
        )
        async with self.repo.transaction() as stores:
            if user_id is not None:
                user = await stores.users.get(user_id, for_update=True)
                if user is None or not user.active:
                    raise AccountUnavailable()
            await stores.access_tokens.delete_expired(now)
            await stores.access_tokens.insert(record, hash_secret(secret))
            await stores.audit.append(
                [
                    audit_event(
                        actor, "ui.login", "access_token", record.id, now, via=via, admin=is_admin
                    )
                ]
            )
        return secret

    async def resolve(self, secret: str | None) -> UiSession | None:
        """The live session with this secret, else None (unknown, expired or deleted)."""
        if not secret or not secret.startswith(SESSION_PREFIX):
            return None
        presented_hash = hash_secret(secret)
        async with self.repo.reader() as stores:
            found = await stores.access_tokens.find_by_hash(presented_hash, utcnow())
        if found is None or not same_hash(presented_hash, found[1]):
            return None
        record = found[0]
        return _session(record) if record.kind == SESSION_KIND else None

    async def end(self, session: UiSession) -> None:
        now = utcnow()
        async with self.repo.transaction() as stores:
            if await stores.access_tokens.delete(session.id):
                await stores.audit.append(
                    [audit_event(session.actor, "ui.logout", "access_token", session.id, now)]
                )

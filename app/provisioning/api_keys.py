"""Gateway API keys: what haimaker checks on every LLM call (`GET /key/info`).

A key belongs to a user and optionally to one of that user's teams. It authenticates only while
the key row exists and its user is active; deprovisioning deletes the row in the same commit.
"""

from __future__ import annotations

from app.provisioning.access import credential_events
from app.provisioning.common import (
    Actor,
    audit_event,
    new_id,
    not_found,
    retry_transient,
    utcnow,
)
from app.provisioning.secrets import API_KEY_PREFIX, hash_secret, new_secret, same_hash
from app.scim.errors import invalid_value
from storage.records import ApiKeyRecord
from storage.repository import Repository


class ApiKeys:
    def __init__(self, repo: Repository):
        self.repo = repo

    @retry_transient
    async def generate(
        self,
        user_id: str,
        actor: Actor,
        *,
        team_id: str | None = None,
        key_alias: str | None = None,
    ) -> tuple[ApiKeyRecord, str]:
        now = utcnow()
        secret = new_secret(API_KEY_PREFIX)
        record = ApiKeyRecord(
            id=new_id(), user_id=user_id, team_id=team_id, key_alias=key_alias, created_at=now
        )
        async with self.repo.transaction() as stores:
            # The team is locked first (teams before users, as every writer does): a removal
            # from the team or its deletion then either sees this key or is seen by this check.
            if team_id is not None and await stores.teams.get(team_id, for_update=True) is None:
                raise not_found("Group", team_id)
            user = await stores.users.get(user_id, for_update=True)
            if user is None:
                raise not_found("User", user_id)
            if not user.active:
                raise invalid_value("the user is not active; keys are only issued to active users")
            if team_id is not None and team_id not in await stores.teams.teams_of_user(user_id):
                raise invalid_value("the user is not a member of that team")
            await stores.api_keys.insert(record, hash_secret(secret))
            await stores.audit.append(
                [
                    audit_event(
                        actor,
                        "key.create",
                        "api_key",
                        record.id,
                        now,
                        user_id=user_id,
                        team_id=team_id,
                        key_alias=key_alias,
                    )
                ]
            )
        return record, secret

    async def list_for_user(self, user_id: str) -> list[ApiKeyRecord]:
        async with self.repo.reader() as stores:
            if await stores.users.get(user_id) is None:
                raise not_found("User", user_id)
            return await stores.api_keys.list_for_user(user_id)

    @retry_transient
    async def delete(self, key_ids: list[str], actor: Actor) -> list[str]:
        now = utcnow()
        async with self.repo.transaction() as stores:
            deleted = await stores.api_keys.delete(key_ids)
            await stores.audit.append(credential_events(deleted, actor, now, "deleted by admin"))
        return [item.id for item in deleted]

    async def info(self, presented: str) -> ApiKeyRecord | None:
        """The live key with this secret whose user is active, else None. Reads the database on
        every call: nothing caches a key's validity past the commit that deletes it."""
        presented_hash = hash_secret(presented)
        async with self.repo.quick_reader() as stores:
            found = await stores.api_keys.find_live_by_hash(presented_hash)
        if found is None or not same_hash(presented_hash, found[1]):
            return None
        return found[0]

"""Every use case wired to one repository: what the web layer and the CLI call."""

from __future__ import annotations

from attrs import frozen

from app.config import Settings
from app.provisioning.api_keys import ApiKeys
from app.provisioning.audit_log import AuditLog
from app.provisioning.bulk import BulkProvisioning
from app.provisioning.scim_tokens import ScimTokens
from app.provisioning.teams import TeamProvisioning
from app.provisioning.users import UserProvisioning
from storage import open_database
from storage.db import Database
from storage.migrations import migrate
from storage.repository import Repository


@frozen
class Services:
    db: Database
    repo: Repository
    users: UserProvisioning
    teams: TeamProvisioning
    scim_tokens: ScimTokens
    api_keys: ApiKeys
    audit: AuditLog

    bulk: BulkProvisioning

    @classmethod
    def over(cls, db: Database, settings: Settings) -> Services:
        repo = Repository(db)

        def users_over(repository) -> UserProvisioning:
            return UserProvisioning(repository, max_patch_operations=settings.max_patch_operations)

        def teams_over(repository) -> TeamProvisioning:
            return TeamProvisioning(
                repository,
                max_patch_operations=settings.max_patch_operations,
                max_members_per_request=settings.max_members_per_request,
            )

        return cls(
            db=db,
            repo=repo,
            users=users_over(repo),
            teams=teams_over(repo),
            scim_tokens=ScimTokens(repo),
            api_keys=ApiKeys(repo),
            audit=AuditLog(repo),
            bulk=BulkProvisioning(repo, users_over, teams_over),
        )


async def open_services(settings: Settings) -> Services:
    """Open the database, apply pending migrations, wire the use cases."""
    options = {}
    if not settings.database_url.startswith("sqlite"):
        options = {"timeout": settings.db_timeout_seconds, "max_size": settings.db_pool_size}
    db = await open_database(settings.database_url, **options)
    try:
        await migrate(db)
    except BaseException:
        await db.close()
        raise
    return Services.over(db, settings)

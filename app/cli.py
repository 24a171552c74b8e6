"""The command line (interface.md): serve (default), token create/list/revoke, migrate, audit."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from app.config import Settings, settings_from
from app.logs import configure_logging
from app.provisioning.audit_log import event_document
from app.provisioning.common import CLI
from app.provisioning.scim_tokens import token_state
from app.provisioning.services import Services, open_services
from app.scim.rendering import timestamp
from storage import describe_url
from storage.db import DatabaseUnavailable


def _database_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url", help="sqlite:///file.db or postgresql://user:pass@host:port/db"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="haimaker", description="haimaker SCIM provisioning service"
    )
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="run the server (the default)")
    _database_flags(serve)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--public-url", help="the URL IdPs and browsers use; the tenant URL is <this>/scim/v2"
    )
    serve.add_argument("--workers", type=int, help="processes serving one port (SO_REUSEPORT)")

    token = commands.add_parser("token", help="SCIM bearer tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="create a token; it is the last line printed")
    create.add_argument("--name", required=True)
    create.add_argument("--expires-in-days", type=int)
    _database_flags(create)
    listing = token_commands.add_parser("list", help="id, name, created, last used, expires, state")
    _database_flags(listing)
    revoke = token_commands.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("id")
    _database_flags(revoke)

    migrate = commands.add_parser("migrate", help="apply pending database migrations")
    _database_flags(migrate)

    audit = commands.add_parser("audit", help="print the audit log, newest first, as JSON lines")
    audit.add_argument("--target", help="a user, team, key or token id")
    audit.add_argument("--action", help="e.g. user.deactivate, key.delete, team.member_add")
    audit.add_argument("--limit", type=int, default=100)
    audit.add_argument("--offset", type=int, default=0, help="skip this many newer events")
    _database_flags(audit)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return settings_from(
        database_url=getattr(args, "database_url", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        public_url=getattr(args, "public_url", None),
        workers=getattr(args, "workers", None),
    )


async def _with_services(settings: Settings, work):
    services = await open_services(settings)
    try:
        return await work(services)
    finally:
        await services.db.close()


async def _token_create(services: Services, args) -> int:
    record, secret = await services.scim_tokens.create(
        args.name, CLI, expires_in_days=args.expires_in_days
    )
    expires = timestamp(record.expires_at) if record.expires_at else "never"
    print(f"Created SCIM token {record.id} named {record.name!r} (expires: {expires}).")
    print("It is shown only now; paste it into your identity provider as the bearer token:")
    print(secret)
    return 0


async def _token_list(services: Services, args) -> int:
    from app.provisioning.common import utcnow

    now = utcnow()
    rows = [("ID", "NAME", "CREATED", "LAST USED", "EXPIRES", "STATE")]
    for token in await services.scim_tokens.list():
        rows.append(
            (
                token.id,
                token.name,
                timestamp(token.created_at),
                timestamp(token.last_used_at) if token.last_used_at else "never",
                timestamp(token.expires_at) if token.expires_at else "never",
                token_state(token, now),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


async def _token_revoke(services: Services, args) -> int:
    if await services.scim_tokens.revoke(args.id, CLI):
        print(f"Revoked SCIM token {args.id}.")
        return 0
    print(f"No active SCIM token with id {args.id}.", file=sys.stderr)
    return 1


async def _audit(services: Services, args) -> int:
    page = await services.audit.page(
        target_id=args.target, action=args.action, limit=args.limit, offset=args.offset
    )
    for event in page.items:
        print(json.dumps(event_document(event), ensure_ascii=False))
    return 0


async def _migrate(services: Services, args) -> int:
    print("Database schema is current.")  # open_services applied what was pending
    return 0


def _serve_by_default(argv: list[str]) -> list[str]:
    """`run.py --port 5000` is `run.py serve --port 5000`: serve is the default command."""
    if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        return ["serve", *argv]
    return argv


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(_serve_by_default(sys.argv[1:] if argv is None else argv))
    command = args.command or "serve"
    settings = _settings(args)
    try:
        configure_logging(settings.log_level, settings.log_format)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return _run_command(command, settings, args)
    except DatabaseUnavailable as error:
        print(
            f"error: cannot reach the database {describe_url(settings.database_url)}: {error}",
            file=sys.stderr,
        )
        return 3


def _run_command(command: str, settings: Settings, args: argparse.Namespace) -> int:
    if command == "serve":
        from app.server import serve

        return serve(settings)
    work = {
        ("token", "create"): _token_create,
        ("token", "list"): _token_list,
        ("token", "revoke"): _token_revoke,
        ("migrate", None): _migrate,
        ("audit", None): _audit,
    }[(command, getattr(args, "token_command", None))]
    try:
        return asyncio.run(_with_services(settings, lambda services: work(services, args)))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

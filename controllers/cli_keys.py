"""`flask --app app api-key create|list|revoke` (SPEC 8): the operator's key management."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import Engine

from controllers.cli_errors import service_errors
from controllers.cli_output import start_command
from runtime import runtime_of
from services.access import keys
from services.access.principal import ROLES


def _engine(app: Flask) -> Engine:
    runtime = runtime_of(app)
    start_command(runtime)
    runtime.ensure_schema()
    return runtime.engine


def format_key_line(info: keys.KeyInfo) -> str:
    """id, name, role, stores, creation time (tab-separated; "*" = every store), never the secret."""
    stores = ",".join(info.store_ids) if info.store_ids is not None else "*"
    line = "\t".join((info.id, info.name or "-", info.role, stores, info.created_at.isoformat()))
    return line + (f"\trevoked {info.revoked_at.isoformat()}" if info.revoked_at else "")


def register_key_cli(app: Flask) -> None:
    group = click.Group("api-key", help="Create, list and revoke API keys.")

    @group.command("create")
    @click.option("--role", required=True, type=click.Choice(ROLES, case_sensitive=False))
    @click.option("--store-id", "store_ids", multiple=True, help="A store an owner key covers (repeatable).")
    @click.option("--name", default="", help="Who or what the key is for.")
    def create(role: str, store_ids: tuple[str, ...], name: str) -> None:
        """Make a key and print it once, alone on the last line (only its hash is kept)."""
        with service_errors():
            info, secret = keys.create_key(_engine(app), role, store_ids, name)
        click.echo(f"created key {format_key_line(info)}")
        click.echo("the key follows; it is shown this once and cannot be recovered:")
        click.echo(secret)

    @group.command("list")
    def list_keys() -> None:
        """One line per key: id, name, role, stores, creation time (and revocation)."""
        with service_errors():
            found = keys.list_keys(_engine(app))
        for info in found:
            click.echo(format_key_line(info))

    @group.command("revoke")
    @click.argument("key_id")
    def revoke(key_id: str) -> None:
        """End a key at once: the next request with it, in any process, is refused."""
        with service_errors():
            revoked = keys.revoke_key(_engine(app), key_id)
        if not revoked:
            raise click.ClickException(f"no active key with id {key_id!r}")
        click.echo(f"revoked key {key_id}")

    app.cli.add_command(group)

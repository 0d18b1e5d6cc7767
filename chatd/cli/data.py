"""``chatd db …``, ``chatd export`` and ``chatd import``: the schema, backups, and moving data between servers."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ..config import masked_url
from ..core.context import Core
from ..operator_errors import OperatorError
from ..portable import Summary
from ..portable import export as export_archive
from ..portable import import_archive
from ..store import migrations, schema
from ..store.backup import BackupError, backup_sqlite
from .accounts import _resolve_org
from .context import config_option, run_with_core, settings


@click.group("db")
@config_option
def db() -> None:
    """The database: create, upgrade, print the schema, back up."""


@db.command("init")
@config_option
def db_init() -> None:
    """Create the schema (a no-op on a database that has it)."""
    from ..server import ensure_database_dir  # here, not at the top: other commands need not load the server

    ensure_database_dir(settings().sqlite_path)

    async def action(core: Core) -> tuple[int, int]:
        return await migrations.upgrade(core.db, core.clock.now_ms())

    before, after = run_with_core(action, schema=False)
    where = settings().sqlite_path or masked_url(settings().database.url)
    if not before:
        click.echo(f"database created at {where} (schema version {after})")
    elif before == after:
        click.echo(f"database {where} already initialised (schema version {before}); nothing to do")
    else:
        click.echo(f"database {where} upgraded {before} -> {after}")


@db.command("upgrade")
@config_option
def db_upgrade() -> None:
    """Apply pending schema migrations (a starting server does it too)."""
    path = settings().sqlite_path
    if path is not None and not path.exists():
        raise OperatorError(f"no database at {path} to upgrade: `chatd db init` creates one (or pass the server's --config)")

    async def action(core: Core) -> tuple[int, int]:
        return await migrations.upgrade(core.db, core.clock.now_ms())

    before, after = run_with_core(action, schema=False)
    click.echo(f"schema version {before} -> {after}" if before != after else f"schema is current (version {after})")


@db.command("schema")
@config_option
def db_schema() -> None:
    """Print the schema as SQL."""
    sys.stdout.write(schema.render_all())


@db.command("backup")
@config_option
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(path: Path) -> None:
    """Copy the SQLite database to PATH, consistently, while the server runs."""
    current = settings()
    source = current.sqlite_path
    if source is None:
        url = masked_url(current.database.url)
        raise OperatorError(
            "chatd db backup copies SQLite databases; for PostgreSQL use its own tools, e.g. "
            f"`pg_dump --format=custom --file={path} '{url}'` and `pg_restore` to restore "
            "(or `chatd export`, which either backend can import)"
        )
    if path.exists():
        raise OperatorError(f"{path} already exists: choose a new name (a backup never overwrites)")
    started = time.monotonic()
    try:
        size = backup_sqlite(source, path.absolute())
    except BackupError as exc:
        raise OperatorError(str(exc)) from None
    click.echo(f"backed up {source} to {path} ({size / 1e6:.1f} MB) in {time.monotonic() - started:.1f} s")
    click.echo(f"uploads are not in it: also copy {current.data_path / 'files'} with your usual file backup", err=True)


@click.command("export")
@config_option
@click.argument("target", metavar="FILE", type=click.Path(path_type=Path))
@click.option("--org", help="Only this organisation (id or name), with the users and files it refers to.")
def export(target: Path, org: str | None) -> None:
    """Write organisations, teams, channels, members, messages (with versions, reactions, pins, flags, read
    markers) and file bytes to FILE: a folder, or a tar for FILE ending .tar, .tar.gz or .tgz."""

    async def action(core: Core) -> Summary:
        org_id = await _resolve_org(core, org) if org else None
        return await export_archive(core, target.absolute(), org_id)

    started = time.monotonic()
    summary = run_with_core(action)
    rows, files, missing = summary.rows, summary.files, summary.missing_files
    if sys.stderr.isatty():
        click.echo(f"exported {rows} rows and {files} files to {target} in {time.monotonic() - started:.1f} s", err=True)
    if missing:
        click.echo(f"chatd: warning: {len(missing)} stored files were missing from {settings().data_path / 'files'} "
                   f"and are not in the export (first: {missing[0]})", err=True)


@click.command("import")
@config_option
@click.argument("source", metavar="FILE", type=click.Path(path_type=Path))
def import_(source: Path) -> None:
    """Load an export (folder or tar) into an empty database, SQLite or PostgreSQL."""
    from ..server import ensure_database_dir  # here, not at the top: other commands need not load the server

    ensure_database_dir(settings().sqlite_path)
    started = time.monotonic()
    summary = run_with_core(lambda core: import_archive(core, source.absolute()), schema=False)
    if sys.stderr.isatty():
        click.echo(f"imported {summary.rows} rows and {summary.files} files from {source} "
                   f"in {time.monotonic() - started:.1f} s", err=True)

"""``chatd serve`` and ``chatd check-config``: run the server, or say what it would run with."""

from __future__ import annotations

import click

from ..config import masked_url
from .context import config_option, data_dir_origin, database_origin, settings


@click.command("serve")
@config_option
@click.option("--host", help="Address to listen on (server.host).")
@click.option("--port", type=int, help="Port to listen on (server.port).")
@click.option("--workers", type=click.IntRange(1, 64), help="Processes serving the port (server.workers); >1 needs Redis.")
def serve(host: str | None, port: int | None, workers: int | None) -> int:
    """Run the server until SIGTERM or Ctrl-C."""
    from ..server import serve as run_server

    current = settings()
    if host:
        current.server.host = host
    if port is not None:
        if not 1 <= port <= 65535:
            raise click.BadParameter("must be 1-65535", param_hint="--port")
        current.server.port = port
    if workers is not None:
        current.server.workers = workers
    return run_server(current)


@click.command("check-config")
@config_option
def check_config() -> None:
    """Validate the configuration and print what every command will use (secrets masked)."""
    current = settings()
    if current.server.workers > 1:
        from ..workers import check

        check(current)
    server = current.server
    bus = masked_url(current.bus.url) if current.bus.url else "in-process (one process)"
    database = f"{current.sqlite_path} (SQLite, {database_origin(current)})" if current.sqlite_path else masked_url(current.database.url)
    secret = "set" if server.secret_key else f"generated once in {current.data_path / 'secret_key'}"
    click.echo("configuration is valid")
    click.echo(f"  config file:    {current.config_file or 'none (built-in defaults and CHATD_* variables)'}")
    click.echo(f"  data directory: {current.data_path} ({data_dir_origin(current)})")
    click.echo(f"  database:       {database}")
    click.echo(f"  bus:            {bus}")
    click.echo(f"  listen:         {server.host}:{server.port}, {server.workers} worker{'s' if server.workers > 1 else ''}")
    click.echo(f"  secret key:     {secret}")

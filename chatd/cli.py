"""The ``chatd`` command: thin over the core, like every other face.

Exit status: 0 success, 1 a refused operation (the message says why), 2 bad usage or a bad config value.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import secrets
import sys
from datetime import datetime
from typing import Any, Awaitable, Callable

from . import __version__
from .app import build_core
from .config import ConfigError, Settings, load_settings
from .core import auth, users
from .core.context import Core
from .core.paging import PageRequest
from .domain.errors import ChatdError, NotFound
from .store import migrations, schema
from .store import orgs as org_store


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    if getattr(args, "host", None):
        settings.server.host = args.host
    if getattr(args, "port", None):
        settings.server.port = args.port
    return settings


def _with_core(action: Callable[[Core, argparse.Namespace], Awaitable[int]]) -> Callable[[Settings, argparse.Namespace], int]:
    def run(settings: Settings, args: argparse.Namespace) -> int:
        async def main() -> int:
            core = build_core(settings)
            try:
                return await action(core, args)
            finally:
                await core.db.dispose()

        return asyncio.run(main())

    return run


def _read_password(args: argparse.Namespace, prompt: str = "Password: ") -> str | None:
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if first != getpass.getpass("Again: "):
            raise ChatdError("passwords do not match")
        return first
    return None


async def _db_init(core: Core, _args: argparse.Namespace) -> int:
    before, after = await migrations.upgrade(core.db, core.clock.now_ms())
    if before:
        print(f"database already initialised (schema version {before}); nothing to do" if before == after else f"upgraded {before} -> {after}")
    else:
        print(f"database created at schema version {after}")
    return 0


async def _db_upgrade(core: Core, _args: argparse.Namespace) -> int:
    before, after = await migrations.upgrade(core.db, core.clock.now_ms())
    print(f"schema version {before} -> {after}" if before != after else f"schema is current (version {after})")
    return 0


async def _resolve_org(core: Core, org: str) -> int:
    if org.isdigit():
        return int(org)
    async with core.reading() as conn:
        found = await org_store.ids_by_name(conn, org)
    if len(found) != 1:
        raise NotFound(f"no single organisation named {org!r} ({len(found)} found); give its id")
    return found[0]


async def _user_add(core: Core, args: argparse.Namespace) -> int:
    await migrations.upgrade(core.db, core.clock.now_ms())
    password = _read_password(args)
    generated = password is None
    if generated:
        password = secrets.token_urlsafe(12)
    org_id = await _resolve_org(core, args.org) if args.org else None
    user = await users.do_create_user(
        core, args.name, args.email, password, display_name=args.display_name or "", is_admin=args.admin, org_id=org_id
    )
    print(f"created user {user.username} (id {user.id})")
    if generated:
        print(f"password: {password}")
    return 0


async def _user_passwd(core: Core, args: argparse.Namespace) -> int:
    user = await users.find_user(core, args.name)
    password = _read_password(args, f"New password for {user.username}: ")
    if password is None:
        raise ChatdError("give the password on standard input with --password-stdin")
    await users.do_set_password(core, user.id, password)
    print(f"password changed for {user.username}; their sessions were ended")
    return 0


async def _user_list(core: Core, _args: argparse.Namespace) -> int:
    page = PageRequest(1, 1_000_000)
    found = await users.list_users(core, page)
    print(f"{'ID':<20} {'USERNAME':<24} {'EMAIL':<32} {'STATUS':<10} ADMIN")
    for user in found.items:
        print(f"{user.id:<20} {user.username:<24} {user.email:<32} {user.status:<10} {'yes' if user.is_admin else ''}")
    return 0


async def _token_create(core: Core, args: argparse.Namespace) -> int:
    user = await users.find_user(core, args.name)
    secret, token = await auth.do_create_token(core, user.id, args.label or "")
    print(f"access token {token.id} for {user.username} (shown once):", file=sys.stderr)
    print(secret)
    return 0


def _check_config(settings: Settings, _args: argparse.Namespace) -> int:
    print(f"configuration is valid: database {settings.database.url}, bus {settings.bus.url or 'in-process'}")
    return 0


def _db_schema(_settings: Settings, _args: argparse.Namespace) -> int:
    sys.stdout.write(schema.render_all())
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from .server import serve

    return serve(settings)


def _clock(iso: Any) -> str:
    """``HH:MM:SS`` in local time from an ISO timestamp; now when there is none."""
    when = datetime.now().astimezone()
    if isinstance(iso, str) and iso:
        try:
            when = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone()
        except ValueError:
            pass
    return when.strftime("%H:%M:%S")


def tail_line(event: dict[str, Any]) -> str | None:
    """One line for a message event: ``HH:MM:SS <user_id> text`` (edits and removals marked); else None."""
    data = event.get("data") or {}
    kind = event.get("event")
    if kind == "REMOVED":
        return f"{_clock(None)} <{data.get('removed_by') or '-'}> (removed) message {data.get('id')}"
    if kind not in ("CREATED", "EDITED"):
        return None
    text = " ".join(str(data.get("contents") or "").splitlines())
    files = " ".join(f"[file {f.get('name')}]" for f in data.get("files") or [])
    text = " ".join(part for part in (text, files) if part)
    if kind == "EDITED":
        return f"{_clock(data.get('edited_at') or data.get('updated_at'))} <{data.get('user_id') or '-'}> {text} (edited)"
    return f"{_clock(data.get('created_at'))} <{data.get('user_id') or '-'}> {text}"


async def _resolve_channel(client: Any, channel: str) -> str:
    """A channel id, given an id or a name (exact, case-insensitive, a leading ``#`` ignored)."""
    from .client import ChatError

    if channel.isdigit():
        try:
            return str((await client.get("/channel/read", id=channel))["id"])
        except ChatError as exc:
            if exc.code != "not_found":
                raise
    name = channel.removeprefix("#").casefold()
    found = (await client.get("/channel/search", query=channel.removeprefix("#"), per_page=100))["items"]
    matches = [c for c in found if str(c.get("name", "")).casefold() == name]
    if len(matches) != 1:
        ids = ", ".join(c["id"] for c in matches)
        raise LookupError(f"no single channel named {channel!r} ({len(matches)} found{': ' + ids if ids else ''}); give its id")
    return str(matches[0]["id"])


async def _follow(url: str, token: str, channel: str) -> int:
    import httpx

    from .client import AuthError, ChatClient, ChatError

    client = ChatClient(url, token)
    try:
        try:
            channel_id = await _resolve_channel(client, channel)
            ready = await client.connect()
        except AuthError as exc:
            print(f"chatd: authentication failed: {exc.message}", file=sys.stderr)
            return 1
        except LookupError as exc:
            print(f"chatd: {exc.args[0]}", file=sys.stderr)
            return 2
        except (httpx.HTTPError, OSError, asyncio.TimeoutError) as exc:
            print(f"chatd: cannot reach {url}: {exc or type(exc).__name__}", file=sys.stderr)
            return 1
        if channel_id not in {c["id"] for c in ready["data"]["channels"]}:
            print(f"chatd: channel {channel_id} is not readable by this user", file=sys.stderr)
            return 1
        try:
            async for event in client.events():
                kind, event_channel = event.get("type"), event.get("channel_id")
                if kind == "message" and event_channel == channel_id:
                    line = tail_line(event)
                    if line is not None:
                        print(line, flush=True)
                elif kind == "replay_done":
                    data = event.get("data") or {}
                    if channel_id in data.get("lost", []):
                        print(f"chatd: channel {channel_id} is no longer readable", file=sys.stderr)
                        return 1
                    if channel_id in data.get("resync", []):
                        print("chatd: history was purged while disconnected; some messages were not shown", file=sys.stderr)
                elif kind == "channel" and event_channel == channel_id and event.get("event") in ("HIDDEN", "REMOVED"):
                    print(f"chatd: channel {channel_id} is no longer readable", file=sys.stderr)
                    return 1
        except AuthError as exc:
            print(f"chatd: authentication failed: {exc.message}", file=sys.stderr)
            return 1
        return 0
    except ChatError as exc:
        print(f"chatd: {exc.message or exc.code}", file=sys.stderr)
        return 1
    finally:
        await client.close()


def _tail(_settings: Settings, args: argparse.Namespace) -> int:
    from .client import websocket_url

    token = args.token or os.environ.get("CHATD_TOKEN", "")
    if not token.strip():
        print("chatd: tail needs a token: --token or CHATD_TOKEN", file=sys.stderr)
        return 2
    try:
        websocket_url(args.url)
    except ValueError as exc:
        print(f"chatd: --url: {exc}", file=sys.stderr)
        return 2
    if not args.channel.strip():
        print("chatd: CHANNEL must be a channel id or name", file=sys.stderr)
        return 2
    return asyncio.run(_follow(args.url, token.strip(), args.channel.strip()))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatd", description="A realtime team-chat server.")
    parser.add_argument("--version", action="version", version=f"chatd {__version__}")
    parser.add_argument("--config", help="TOML config file (default: $CHATD_CONFIG, else built-in defaults)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--config", default=argparse.SUPPRESS)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(run=_serve)

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("init", help="create the schema").set_defaults(run=_with_core(_db_init))
    db.add_parser("upgrade", help="apply pending schema migrations").set_defaults(run=_with_core(_db_upgrade))
    db.add_parser("schema", help="print the schema as SQL").set_defaults(run=_db_schema)

    user = commands.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    add = user.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--email", required=True)
    add.add_argument("--display-name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--admin", action="store_true", help="make a server administrator")
    add.add_argument("--org", help="also add to this organisation (id or name)")
    add.set_defaults(run=_with_core(_user_add))
    passwd = user.add_parser("passwd", help="set a user's password (ends their sessions)")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    passwd.set_defaults(run=_with_core(_user_passwd))
    user.add_parser("list", help="list users").set_defaults(run=_with_core(_user_list))

    token = commands.add_parser("token", help="access tokens").add_subparsers(dest="token_command", required=True)
    create = token.add_parser("create", help="create an access token for a user; printed once")
    create.add_argument("name", help="username or email")
    create.add_argument("--label")
    create.set_defaults(run=_with_core(_token_create))

    commands.add_parser("check-config", help="validate the configuration").set_defaults(run=_check_config)

    tail = commands.add_parser("tail", help="print a channel's messages as they come, until Ctrl-C")
    tail.add_argument("channel", help="channel id or name")
    tail.add_argument("--url", default="http://127.0.0.1:8080", help="server URL (default: http://127.0.0.1:8080)")
    tail.add_argument("--token", help="access token or session id (default: $CHATD_TOKEN)")
    tail.set_defaults(run=_tail)
    return parser



def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"chatd: config error: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args.run(settings, args))
    except ChatdError as exc:
        print(f"chatd: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

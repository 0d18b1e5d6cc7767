"""``chatd tail CHANNEL``: print a channel's messages as they come, until Ctrl-C (a client of a running server)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime
from typing import Any

import click

from ..operator_errors import OperatorError
from .context import config_option


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
    from ..client import ChatError

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

    from ..client import AuthError, ChatClient, ChatError

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


@click.command("tail")
@config_option
@click.argument("channel")
@click.option("--url", default="http://127.0.0.1:8080", show_default=True, help="The server's URL.")
@click.option("--token", help="Access token or session id (default: $CHATD_TOKEN).")
def tail(channel: str, url: str, token: str | None) -> int:
    """Print a channel's messages (CHANNEL: id or name) as they come, until Ctrl-C."""
    from ..client import websocket_url

    secret = (token or os.environ.get("CHATD_TOKEN", "")).strip()
    if not secret:
        raise OperatorError("tail needs a token: --token or CHATD_TOKEN", exit_code=2)
    try:
        websocket_url(url)
    except ValueError as exc:
        raise OperatorError(f"--url: {exc}", exit_code=2) from None
    if not channel.strip():
        raise OperatorError("CHANNEL must be a channel id or name", exit_code=2)
    return asyncio.run(_follow(url, secret, channel.strip()))

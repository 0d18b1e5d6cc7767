"""``ChatClient``: chatd's calls (send, edit, read, history …) over a ``Connection``, and the Crust API over HTTP."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from .connection import Connection
from .errors import AuthError, ChatError


class ChatClient(Connection):
    """A chatd client that survives disconnects; use as ``async with ChatClient(url, token) as client``.

    The connection's options are ``Connection``'s; every call below waits for the server's answer.
    """

    _http: httpx.AsyncClient | None = None  # opened by the first HTTP call

    async def close(self) -> None:
        """Close the connection (``Connection.close``) and the HTTP client, if one was opened."""
        await super().close()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def send_message(
        self,
        channel_id: str | int,
        contents: str,
        *,
        client_msg_id: str | None = None,
        reply_to: str | int | None = None,
        file_ids: list[str | int] | None = None,
    ) -> dict[str, Any]:
        """Post a message; returns it. The ``client_msg_id`` (a fresh uuid by default) makes it safe to resend,
        so an unanswered send is resent after a reconnect and never posted twice."""
        ack = await self.call(
            "message.send", retry=True, channel_id=str(channel_id), contents=contents,
            client_msg_id=client_msg_id or uuid.uuid4().hex, reply_to=_sid(reply_to),
            file_ids=None if file_ids is None else [str(f) for f in file_ids],
        )
        return dict(ack["data"])

    async def edit_message(self, message_id: str | int, contents: str) -> dict[str, Any]:
        """Change the text of one's own message; returns it (an edit to the same text changes nothing)."""
        return dict((await self.call("message.edit", retry=True, id=str(message_id), contents=contents))["data"])

    async def remove_message(self, message_id: str | int) -> None:
        await self.call("message.remove", id=str(message_id))

    async def typing(self, channel_id: str | int) -> None:
        """Say the user is typing (the server passes on at most two per ``typing_ttl_seconds``)."""
        await self.call("typing", channel_id=str(channel_id))

    async def mark_read(self, channel_id: str | int, message_id: str | int | None = None) -> dict[str, Any]:
        """Move the read marker (to the latest message by default); returns ``{unread, mentions, …}``."""
        ack = await self.call("read", retry=True, channel_id=str(channel_id), message_id=_sid(message_id))
        return dict(ack["data"] or {})

    async def join(self, channel_id: str | int) -> list[dict[str, Any]]:
        """Join a public channel; returns its members."""
        return list((await self.call("join", channel_id=str(channel_id)))["data"]["members"])

    async def part(self, channel_id: str | int) -> None:
        """Leave a channel."""
        await self.call("part", channel_id=str(channel_id))

    async def history(
        self,
        channel_id: str | int,
        *,
        before: str | int | None = None,
        after: str | int | None = None,
        limit: int | None = None,
        thread: str | int | None = None,
        include_replies: bool = False,
    ) -> dict[str, Any]:
        """A page of messages: ``{"items": [...], "has_more": bool}``."""
        ack = await self.call(
            "history", retry=True, channel_id=str(channel_id), before=_sid(before), after=_sid(after), limit=limit,
            thread=_sid(thread), include_replies=include_replies or None,
        )
        return dict(ack["data"])

    async def presence(self, status: str) -> None:
        """``online`` or ``away``."""
        await self.call("presence", retry=True, status=status)

    async def ping(self) -> float:
        """Round trip to the server, in seconds."""
        started = time.monotonic()
        await self.call("ping")
        return time.monotonic() - started

    # -- HTTP (Crust API) ----------------------------------------------------------------------------

    async def post(self, path: str, **params: Any) -> Any:
        """POST a Crust endpoint with a JSON body (``None`` params left out); returns the JSON answer."""
        return await self._http_call("POST", path, json={k: v for k, v in params.items() if v is not None})

    async def get(self, path: str, **params: Any) -> Any:
        """GET a Crust endpoint with a query string (``None`` params left out); returns the JSON answer."""
        return await self._http_call("GET", path, params={k: v for k, v in params.items() if v is not None})

    async def _http_call(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._http is None:
            self._http = httpx.AsyncClient(base_url=self.base_url, headers=self.headers, timeout=self.ack_timeout)
        response = await self._http.request(method, path, **kwargs)
        body: Any = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = response.text
        if response.is_success:
            return body
        error = ChatError.from_body(body, default=f"http_{response.status_code}")
        if response.status_code == 401 and not isinstance(error, AuthError):
            error = AuthError(error.code, error.message, error.fields)
        raise error


def _sid(value: str | int | None) -> str | None:
    return None if value is None else str(value)

"""A small asyncio client for chatd, for bots, tools (``chatd tail``) and tests.

    async with ChatClient("http://127.0.0.1:8080", token) as client:
        await client.send_message(channel_id, "hello")
        async for event in client.events():
            ...

- ``connection.py`` the websocket that survives disconnects: reconnect with backoff, resume from the last
  ``seq`` seen per channel, each answer to its call and every other frame to ``events()``, in order.
- ``api.py``        ``ChatClient``: chatd's calls over that connection, and the Crust API over HTTP.
- ``errors.py``     ``ChatError`` and its kinds, as the server's error bodies name them.

It imports nothing of the server (``tests/test_layers.py``): bots install chatd and use only this.
"""

from __future__ import annotations

from .api import ChatClient
from .connection import Connection, EventStream, websocket_url
from .errors import AuthError, ChatError, ConnectionLost

__all__ = ["AuthError", "ChatClient", "ChatError", "Connection", "ConnectionLost", "EventStream", "websocket_url"]

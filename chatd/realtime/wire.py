"""Frames built once and written straight to the socket.

A server-to-client websocket frame is unmasked (RFC 6455 §5.1), so an event's frame is the same bytes for
every recipient: the hub builds it once per event (``text_frame``) and each connection hands those bytes to
its socket, many frames joined into one write (``connection.py``). Going through ASGI instead would frame
the event again for each socket and cost a task wake-up and a system call per frame and socket, which is
what held fan-out latency at several times the floor's (docs/performance.md).

uvicorn's sans-I/O websocket protocol offers no such write, so ``WebSocketProtocol`` (the class chatd's
server runs: ``server.py``) adds it as the ASGI extension ``chatd.wire``: a ``Wire`` over the connection's
transport. Where it is missing (another server, or per-message compression negotiated, which frames each
message per socket) the connection sends through ASGI as before.
"""

from __future__ import annotations

import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

EXTENSION = "chatd.wire"


def text_frame(payload: bytes) -> bytes:
    """One final, unmasked text frame (RFC 6455 §5.2) holding ``payload`` (UTF-8 JSON)."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


def payload_of(frame: bytes) -> bytes:
    """The payload of a frame made by ``text_frame`` (for the ASGI path, which frames it again)."""
    marker = frame[1]
    return frame[2:] if marker < 126 else frame[4:] if marker == 126 else frame[10:]


class Wire:
    """A websocket connection's transport, for frames already built: ``write`` them, in order, while
    ``writable``; when the transport's buffer is over its high-water mark, ``drained`` waits."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self.protocol = protocol

    def usable(self) -> bool:
        """Frames can be written as built: no extension (compression) transforms them per socket."""
        return not self.protocol.conn.extensions

    def writable(self) -> bool:
        """The transport's buffer is under its high-water mark (a closed socket drops what is written)."""
        return self.protocol.writable.is_set()

    def closed(self) -> bool:
        """The close handshake began or the socket is gone: nothing more may be written."""
        protocol = self.protocol
        return protocol.close_sent or protocol.disconnected or protocol.transport.is_closing()

    def write(self, data: bytes) -> None:
        if not self.closed():
            self.protocol.transport.write(data)

    async def drained(self) -> None:
        await self.protocol.writable.wait()


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O websocket protocol, offering the app a ``Wire`` (ASGI extension ``chatd.wire``)."""

    async def run_asgi(self) -> None:
        self.scope["extensions"][EXTENSION] = {"wire": Wire(self)}
        try:
            await super().run_asgi()
        finally:  # the Wire refers to this protocol through its scope: a cycle (see ``connection_lost``)
            self.scope["extensions"].pop(EXTENSION, None)

    def connection_lost(self, exc: Exception | None) -> None:
        """Also close websockets' parser, a generator whose frame refers to its protocol: nothing is parsed
        once the socket is gone. With that cycle and the Wire's broken, a closed connection's objects go
        with their last reference instead of waiting for a complete pass of the collector (``collector.py``
        leaves what was frozen alive until then), so a reconnecting client reuses the memory it freed."""
        super().connection_lost(exc)
        self.conn.parser.close()


def wire_of(scope: dict[str, Any] | Any) -> Wire | None:
    """The connection's ``Wire``, if the server offers one and frames can be written as built."""
    found = (scope.get("extensions") or {}).get(EXTENSION)
    wire = found.get("wire") if isinstance(found, dict) else None
    return wire if isinstance(wire, Wire) and wire.usable() else None

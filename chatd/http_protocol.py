"""uvicorn's HTTP protocol (httptools), sending a response's head and body in one write.

uvicorn writes a response's status line and headers the moment the app starts the response, and its body as
a second write: two system calls and two TCP segments for every small answer, where one carries it (the
client has the answer when its last byte arrives either way). The kernel's side of each write (TCP, and the
loopback or NIC delivery it starts) was about a tenth of a send's CPU (docs/performance.md, "Sends: one
write per answer").

``OneWriteHttp`` gives each request's cycle a transport that holds the head back and sends it together with
the next write, the body's first part. Nothing waits longer than the event loop's turn: a head still held
at its end (an answer whose body is not ready yet: a stream, ``100 Continue``) is written then, and before
the connection closes. Order is never changed, only writes joined. A websocket upgrade hands uvicorn's own
transport to the websocket protocol (``realtime/wire.py`` writes its frames itself).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .edge.end_of_turn import EndOfTurn

_HEAD = b"HTTP/"  # how every head uvicorn writes starts (an answer's, ``100 Continue``'s)


class JoinedWrites:
    """The part of ``asyncio.Transport`` uvicorn's request cycle uses (``write``, ``close``, ``is_closing``),
    over the connection's transport, holding a response head for the write after it."""

    __slots__ = ("transport", "loop", "head")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self.loop = loop
        self.head: bytes | None = None

    def write(self, data: bytes) -> None:
        head = self.head
        if head is not None:
            self.head = None
            self.transport.write(head + data)
        elif data.startswith(_HEAD):
            self.head = data
            _held.add(self.loop, self)
        else:
            self.transport.write(data)

    def flush(self) -> None:
        head = self.head
        if head is not None:
            self.head = None
            if not self.transport.is_closing():  # the client left: nobody to read it
                self.transport.write(head)

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.flush()
        self.transport.set_protocol(protocol)


_held: EndOfTurn[JoinedWrites] = EndOfTurn(JoinedWrites.flush, "write a response head")  # heads still held


class OneWriteHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol with ``JoinedWrites`` as its transport (see the module docstring)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # flow control and addresses keep the real transport
        self.transport = JoinedWrites(transport, self.loop)  # type: ignore[assignment]

    def handle_websocket_upgrade(self) -> None:
        joined = self.transport
        if isinstance(joined, JoinedWrites):
            joined.flush()
            self.transport = joined.transport
        super().handle_websocket_upgrade()
        # httptools' parser holds this protocol's callbacks, a cycle uvicorn breaks in ``connection_lost``,
        # which an upgraded connection never reaches here: the websocket protocol has the transport now.
        self.parser = None  # type: ignore[assignment]

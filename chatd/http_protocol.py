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

It also runs each plain request through ``Exchange``, chatd's own request cycle, rather than uvicorn's:
uvicorn's protocol was about a fifth of a send's instructions, its cycle's ``send`` the largest part (its
answer's head checked with two regular-expression searches per header; also an ``asyncio.Event`` and a
keep-alive timer made and cancelled per request; docs/performance.md, "The whole server counted").
``Exchange`` keeps every rule of uvicorn's (the ASGI messages and their order, ``Content-Length`` or chunked
bodies, ``HEAD``, 204 and 304, ``Connection: close``, ``100 Continue``, write back-pressure, a 500 for an
app that fails before its answer) at less cost: the head's lines are checked in one match, the body's
arrival is a flag, and an idle connection's timer is made once and moved only when it fires. uvicorn's own cycle still
takes what is rare: upgrades, pipelined requests, and servers configured with its access log, a
concurrency limit or fresh context variables per request.
"""

from __future__ import annotations

import asyncio
import http
import operator
import re
import urllib.parse
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

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
    """uvicorn's httptools protocol with ``JoinedWrites`` as its transport, ``Exchange`` as its request cycle
    and one keep-alive timer per connection (see the module docstring)."""

    idle_since: float | None = None  # when the last answer ended, while no request has begun since
    idle_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # flow control and addresses keep the real transport
        self.transport = JoinedWrites(transport, self.loop)  # type: ignore[assignment]
        config = self.config
        # uvicorn's cycle for what ``Exchange`` leaves to it (the module docstring)
        self.plain = not (self.access_log or self.limit_concurrency is not None
                          or getattr(config, "reset_contextvars", False))
        self.factory = self.loop.get_task_factory() is not None

    def on_headers_complete(self) -> None:
        parser = self.parser
        previous = self.cycle
        if not self.plain or parser.should_upgrade() or (previous is not None and not previous.response_complete):
            super().on_headers_complete()
            return
        scope = self.scope
        method = parser.get_method()
        name = _METHODS.get(method)
        if name is None:
            name = _METHODS[method] = method.decode("ascii")
        scope["method"] = name
        version = parser.get_http_version()
        if version != "1.1":
            scope["http_version"] = version
        url = httptools.parse_url(self.url)
        raw_path = url.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        root = self.root_path
        scope["path"] = root + path if root else path
        scope["raw_path"] = root.encode("ascii") + raw_path if root else raw_path
        scope["query_string"] = url.query or b""
        cycle = self.cycle = Exchange(self, scope, version != "1.0" and parser.should_keep_alive())
        run = cycle.run_asgi(self.app)
        # Named, so that asyncio does not format a "Task-N" name for each request (uvloop's ``create_task``
        # names a task only after making it); through the loop when it has a task factory.
        task = self.loop.create_task(run) if self.factory else asyncio.Task(run, loop=self.loop, name=_TASK_NAME)
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    # Keep-alive: uvicorn cancels a timer as each request begins and makes a new one as its answer ends. Here
    # the connection notes when it fell idle, and its one timer, when it fires early, waits out the rest.

    def _unset_keepalive_if_required(self) -> None:
        self.idle_since = None

    def on_response_complete(self) -> None:
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self.idle_since = self.loop.time()
        if self.idle_timer is None:
            self.idle_timer = self.loop.call_later(self.timeout_keep_alive, self._idle_check)

    def _idle_check(self) -> None:
        self.idle_timer = None
        since = self.idle_since
        if since is None:
            return  # a request is under way: its answer's end starts the timer again
        left = since + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self.idle_timer = self.loop.call_later(left, self._idle_check)
        elif not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        timer = self.idle_timer
        if timer is not None:
            self.idle_timer = None
            timer.cancel()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        timer = self.idle_timer
        if timer is not None:  # a kept-alive connection upgraded: it is no longer this protocol's to close
            self.idle_timer = None
            timer.cancel()
        joined = self.transport
        if isinstance(joined, JoinedWrites):
            joined.flush()
            self.transport = joined.transport
        super().handle_websocket_upgrade()
        # httptools' parser holds this protocol's callbacks, a cycle uvicorn breaks in ``connection_lost``,
        # which an upgraded connection never reaches here: the websocket protocol has the transport now.
        self.parser = None  # type: ignore[assignment]


# What HTTP forbids in a header's name (anything but a token's characters: RFC 9110) and in its value
# (controls other than the tab, so also CR and LF).
_BAD_NAME = re.compile(rb"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# A head whose names were all checked before and whose values hold no control takes ``_start``'s short path.
# Names: the lower-case ones (as ASGI asks of apps) that passed ``_start_slowly``, but not those that change
# how the body is sent, which that path handles; a few dozen in practice (the set starts again should an app
# make hundreds). Values: every control but the tab becomes a line feed, so a head's lines then hold exactly
# two per header, its CR LF.
_CHECKED_NAMES: set[bytes] = set()
_CHECKED_NAMES_MAX = 256
_FRAMING_NAMES = frozenset({b"transfer-encoding", b"connection"})
_CONTROLS = bytes([*range(0x09), *range(0x0A, 0x20), 0x7F])
_CONTROLS_AS_LF = bytes.maketrans(_CONTROLS, b"\n" * len(_CONTROLS))
_NAME = operator.itemgetter(0)
_LENGTH = b"\r\ncontent-length: "


def _status_line(status: int) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}\r\n".encode()


_STATUS_LINES = {status: _status_line(status) for status in range(100, 600)}
_METHODS: dict[bytes, str] = {}  # each method's name as ``str``, decoded once
_TASK_NAME = "chatd: an HTTP request"
_NO_BODY = frozenset({204, 304})
_SERVER_ERROR = [
    (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"21"), (b"connection", b"close"),
]


class Arrival:
    """The request body's next part has come (or the request ended, or the client left): what ``receive``
    waits for. ``asyncio.Event``'s part for uvicorn's protocol, which only calls ``set``: a flag first, a
    future for each caller only when one has to wait (an app may wait in two tasks: its handler, and a
    response's watch for the client leaving)."""

    __slots__ = ("flag", "waiters")

    def __init__(self) -> None:
        self.flag = False
        self.waiters: list[asyncio.Future[None]] | None = None

    def set(self) -> None:
        self.flag = True
        waiters = self.waiters
        if waiters is not None:
            self.waiters = None
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def wait(self) -> None:
        if self.flag:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.waiters is None:
            self.waiters = []
        self.waiters.append(waiter)
        try:
            await waiter
        finally:
            if self.waiters is not None and waiter in self.waiters:
                self.waiters.remove(waiter)


class Exchange(RequestResponseCycle):
    """One request and its answer on a ``OneWriteHttp`` connection: uvicorn's ``RequestResponseCycle`` as
    far as the protocol sees it (the same attributes), with chatd's own ``receive``, ``send`` and run. The
    fields every request starts with are the class's, until a request changes its own."""

    disconnected = False
    more_body = True
    response_started = False
    response_complete = False
    chunked_encoding: bool | None = None
    expected_content_length = 0

    def __init__(self, protocol: OneWriteHttp, scope: Any, keep_alive: bool) -> None:  # noqa: no super(): every field is set here
        self.scope = scope
        self.transport = protocol.transport
        self.flow = protocol.flow
        self.logger = protocol.logger
        self.default_headers = protocol.server_state.default_headers
        self.message_event = Arrival()  # type: ignore[assignment]
        self.on_response = protocol.on_response_complete
        self.keep_alive = keep_alive
        self.waiting_for_100_continue = protocol.expect_100_continue
        self.body = bytearray()

    async def run_asgi(self, app: Any) -> None:
        try:
            result = await app(self.scope, self.receive, self.send)
        except BaseException as exc:
            self.logger.error("Exception in ASGI application\n", exc_info=exc)
            if not self.response_started:
                self._server_error()
            else:
                self.transport.close()
        else:
            if result is not None:
                self.logger.error("ASGI callable should return None, but returned '%s'.", result)
                self.transport.close()
            elif not self.response_started and not self.disconnected:
                self.logger.error("ASGI callable returned without starting response.")
                self._server_error()
            elif not self.response_complete and not self.disconnected:
                self.logger.error("ASGI callable returned without completing response.")
                self.transport.close()
        finally:
            self.on_response = _nothing

    def _server_error(self) -> None:
        """A 500 with ``Connection: close`` for an app that failed before its answer began, sent as any
        answer is."""
        if self.disconnected:
            return
        self._start(500, _SERVER_ERROR)
        self._body(b"Internal Server Error", False)

    async def receive(self) -> Any:
        if self.waiting_for_100_continue and not self.transport.is_closing():
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.waiting_for_100_continue = False
        if not self.disconnected and not self.response_complete:
            self.flow.resume_reading()
            arrival: Arrival = self.message_event  # type: ignore[assignment]
            if not arrival.flag:
                await arrival.wait()
            arrival.flag = False
        if self.disconnected or self.response_complete:
            return {"type": "http.disconnect"}
        body = self.body
        self.body = bytearray()
        return {"type": "http.request", "body": bytes(body), "more_body": self.more_body}

    async def send(self, message: Any) -> None:
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        if not self.response_started:
            if message["type"] != "http.response.start":
                raise RuntimeError(f"Expected ASGI message 'http.response.start', but got '{message['type']}'.")
            self._start(message["status"], message.get("headers", ()))
        elif not self.response_complete:
            if message["type"] != "http.response.body":
                raise RuntimeError(f"Expected ASGI message 'http.response.body', but got '{message['type']}'.")
            self._body(message.get("body", b""), message.get("more_body", False))
        else:
            raise RuntimeError(f"Unexpected ASGI message '{message['type']}' sent, after response already completed.")

    def _start(self, status: int, headers: Any) -> None:
        """The answer's head, checked before anything is sent (a bad header fails the app's ``send``, and an
        app failing so still gets its 500), then written (``JoinedWrites`` holds it for the body). Most heads
        take one pass: their lines are made in one go, checked by a set and two counts (a line per header, a
        name and value per line), and the length found by a search."""
        headers = (*self.default_headers, *headers)
        try:
            lines = b"\r\n".join(map(b": ".join, headers)) + b"\r\n"
        except TypeError:  # a name or value that is not bytes
            raise RuntimeError("Invalid HTTP header: names and values must be bytes.") from None
        count = len(headers)
        if (not _CHECKED_NAMES.issuperset(map(_NAME, headers)) or lines.count(b": ") != count
                or lines.translate(_CONTROLS_AS_LF).count(b"\n") != 2 * count):
            self._start_slowly(status, list(headers))
            return
        head = _STATUS_LINES[status] + lines
        # ``find``, not ``in``: ``bytes.__contains__`` first takes its argument for a byte's number, and formats
        # the ``TypeError`` it then drops (about 1,800 instructions each time).
        at = head.find(_LENGTH)
        if at >= 0:
            at += len(_LENGTH)
            self.expected_content_length = int(head[at:head.index(b"\r\n", at)])
            self.chunked_encoding = False
        self.response_started = True
        self.waiting_for_100_continue = False
        if at >= 0:
            pass
        elif self.scope["method"] != "HEAD" and status not in _NO_BODY:
            self.chunked_encoding = True  # neither length nor encoding given: chunks
            head += b"transfer-encoding: chunked\r\n"
        if not self.keep_alive:
            head += b"connection: close\r\n"
        self.transport.write(head + b"\r\n")

    def _start_slowly(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        """``_start`` for a head with upper-case names, a bad header, or framing headers of the app's own."""
        for name, value in headers:
            if _BAD_NAME.search(name) or not name:
                raise RuntimeError("Invalid HTTP header name.")
            if _BAD_VALUE.search(value):
                raise RuntimeError("Invalid HTTP header value.")
        if len(_CHECKED_NAMES) > _CHECKED_NAMES_MAX:
            _CHECKED_NAMES.clear()
        _CHECKED_NAMES.update(
            name for name, _ in headers if type(name) is bytes and name.islower() and name not in _FRAMING_NAMES
        )
        self.response_started = True
        self.waiting_for_100_continue = False
        head = [_STATUS_LINES[status]]
        closing = False
        for name, value in headers:
            name = name.lower()
            if name == b"content-length":
                if self.chunked_encoding is None:
                    self.expected_content_length = int(value.decode())
                    self.chunked_encoding = False
            elif name == b"transfer-encoding":
                if value.lower() == b"chunked":
                    self.expected_content_length = 0
                    self.chunked_encoding = True
            elif name == b"connection":
                if b"close" in [token.strip().lower() for token in value.split(b",")]:
                    self.keep_alive = False
                    closing = True
            head += (name, b": ", value, b"\r\n")
        if not self.keep_alive and not closing:
            head.append(b"connection: close\r\n")
        if self.chunked_encoding is None and self.scope["method"] != "HEAD" and status not in _NO_BODY:
            self.chunked_encoding = True  # neither length nor encoding given: chunks
            head.append(b"transfer-encoding: chunked\r\n")
        head.append(b"\r\n")
        self.transport.write(b"".join(head))

    def _body(self, body: bytes, more: bool) -> None:
        if self.scope["method"] == "HEAD":
            self.expected_content_length = 0
        elif self.chunked_encoding:
            chunk = b"%x\r\n%b\r\n" % (len(body), body) if body else b""
            if not more:
                chunk += b"0\r\n\r\n"  # the last chunk
            if chunk:
                self.transport.write(chunk)
        else:
            if len(body) > self.expected_content_length:
                raise RuntimeError("Response content longer than Content-Length")
            self.expected_content_length -= len(body)
            self.transport.write(body)
        if not more:
            if self.expected_content_length != 0:
                raise RuntimeError("Response content shorter than Content-Length")
            self.response_complete = True
            self.message_event.set()
            if not self.keep_alive:
                self.transport.close()
            self.on_response()


def _nothing() -> None:
    pass

"""``chatd/http_protocol.py``: each answer leaves in one write, and holding the head never delays or reorders
what the client gets."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from chatd.http_protocol import Exchange, OneWriteHttp


async def turns_until(done: Callable[[], Any], turns: int = 100) -> None:
    """Let the event loop turn until ``done()`` holds, at most ``turns`` times (the assertions after it judge)."""
    for _ in range(turns):
        if done():
            return
        await asyncio.sleep(0)


class Recording(asyncio.Transport):
    """The connection's socket as uvicorn sees it: every write kept as it was made."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.after_close: list[bytes] = []
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 40000)}.get(name, default)

    def write(self, data: Any) -> None:
        (self.after_close if self.closed else self.writes).append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def connect(
    app: Any, protocol_class: type[HttpToolsProtocol] = OneWriteHttp, **options: Any
) -> tuple[Any, Recording]:
    """A connection as ``chatd serve`` configures it: no uvicorn access log (chatd logs requests itself)."""
    config = uvicorn.Config(
        app, http=protocol_class, lifespan="off", log_level="critical", access_log=False, **options
    )
    config.load()
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    transport = Recording()
    protocol.connection_made(transport)
    return protocol, transport


async def answered(transport: Recording, count: int) -> None:
    for _ in range(1000):
        if sum(w.count(b"HTTP/1.1 2") for w in transport.writes) >= count and not any(
            w.startswith(b"HTTP/") and w.endswith(b"\r\n\r\n") for w in transport.writes[-1:]
        ):
            return
        await asyncio.sleep(0)
    raise AssertionError(f"no answer: {transport.writes!r}")


async def json_app(scope: Any, receive: Any, send: Any) -> None:
    body = b'{"path":"' + scope["path"].encode() + b'"}'
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def test_an_answer_leaves_in_one_write() -> None:
    protocol, transport = connect(json_app)
    protocol.data_received(b"GET /one HTTP/1.1\r\nHost: chatd\r\n\r\n")
    await answered(transport, 1)
    assert len(transport.writes) == 1, transport.writes
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert transport.writes[0].endswith(b'\r\n\r\n{"path":"/one"}')


async def test_pipelined_answers_come_whole_and_in_order() -> None:
    protocol, transport = connect(json_app)
    protocol.data_received(b"GET /a HTTP/1.1\r\nHost: chatd\r\n\r\nGET /b HTTP/1.1\r\nHost: chatd\r\n\r\n")
    await answered(transport, 2)
    joined = b"".join(transport.writes)
    assert joined.index(b'{"path":"/a"}') < joined.index(b"HTTP/1.1 200", joined.index(b'{"path":"/a"}'))
    assert joined.endswith(b'{"path":"/b"}')
    assert len(transport.writes) == 2  # one each


async def test_a_head_whose_body_is_not_ready_is_written_within_the_turn() -> None:
    """A streamed answer: the client gets the status and headers at once, not when the first part is ready."""
    ready = asyncio.Event()

    async def stream(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await ready.wait()
        await send({"type": "http.response.body", "body": b"late", "more_body": False})

    protocol, transport = connect(stream)
    protocol.data_received(b"GET /stream HTTP/1.1\r\nHost: chatd\r\n\r\n")
    await turns_until(lambda: transport.writes)
    assert len(transport.writes) == 1 and transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert transport.writes[0].endswith(b"\r\n\r\n")  # the head alone, the body still to come
    ready.set()
    await turns_until(lambda: len(transport.writes) > 1)
    assert b"late" in transport.writes[1]


async def test_a_connection_closing_after_its_answer_gets_all_of_it_first() -> None:
    protocol, transport = connect(json_app)
    protocol.data_received(b"GET /bye HTTP/1.1\r\nHost: chatd\r\nConnection: close\r\n\r\n")
    await turns_until(lambda: transport.closed)
    assert transport.closed
    assert len(transport.writes) == 1 and transport.writes[0].endswith(b'{"path":"/bye"}')


async def test_nothing_is_written_to_a_connection_the_client_closed() -> None:
    """A head held when the client leaves is dropped with the connection, as unsent data is."""
    ready = asyncio.Event()

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await ready.wait()

    protocol, transport = connect(slow)
    protocol.data_received(b"GET /gone HTTP/1.1\r\nHost: chatd\r\n\r\n")
    transport.closed = True  # the client went away before the end of the turn
    for _ in range(20):
        await asyncio.sleep(0)
    assert transport.writes == [] and transport.after_close == []
    protocol.connection_lost(None)
    ready.set()


# chatd's request cycle (``Exchange``) against uvicorn's own: the same request and app give the client the
# same bytes, the same connection state and the same scope.


async def _exchange(protocol_class: type[HttpToolsProtocol], app: Any, *parts: bytes) -> tuple[bytes, bool]:
    """What the client gets for ``parts`` (sent one after the other), and whether the server closed."""
    protocol, transport = connect(app, protocol_class)
    for index, part in enumerate(parts):
        protocol.data_received(part)
        for _ in range(20):
            await asyncio.sleep(0)
        if index == 0 and protocol_class is OneWriteHttp:
            assert isinstance(protocol.cycle, Exchange)  # chatd's cycle, not uvicorn's, took the request
    for _ in range(50):
        await asyncio.sleep(0)
    return b"".join(transport.writes), transport.closed


def _answering(status: int, headers: list[tuple[bytes, bytes]], *bodies: bytes) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        for index, body in enumerate(bodies):
            await send({"type": "http.response.body", "body": body, "more_body": index < len(bodies) - 1})
        if not bodies:
            await send({"type": "http.response.body", "body": b""})
    return app


def _reading(scope: Any, receive: Any, send: Any) -> Any:
    async def app() -> None:
        parts = []
        while True:
            message = await receive()
            parts.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"|".join(parts) + b" " + scope["method"].encode() + b" " + scope["raw_path"] + b"?" + scope["query_string"]
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    return app()


GET = b"GET /x HTTP/1.1\r\nHost: chatd\r\n\r\n"
CASES: dict[str, tuple[Any, tuple[bytes, ...]]] = {
    "a length": (_answering(200, [(b"content-type", b"application/json"), (b"content-length", b"2")], b"{}"), (GET,)),
    "chunks when no length is given": (_answering(200, [(b"content-type", b"text/plain")], b"one", b"", b"two"), (GET,)),
    "chunks the app asked for": (_answering(200, [(b"transfer-encoding", b"chunked")], b"a", b"b"), (GET,)),
    "no body for HEAD": (_answering(200, [(b"content-length", b"5")], b"hello"),
                         (b"HEAD /x HTTP/1.1\r\nHost: chatd\r\n\r\n",)),
    "no chunks for HEAD without a length": (_answering(200, []), (b"HEAD /x HTTP/1.1\r\nHost: chatd\r\n\r\n",)),
    "no body for 204": (_answering(204, []), (GET,)),
    "no body for 304": (_answering(304, [(b"etag", b'"v1"')]), (GET,)),
    "an unknown status": (_answering(599, [(b"content-length", b"0")]), (GET,)),
    "the client closes": (_answering(200, [(b"content-length", b"2")], b"ok"),
                          (b"GET /x HTTP/1.1\r\nHost: chatd\r\nConnection: close\r\n\r\n",)),
    "HTTP/1.0": (_answering(200, [(b"content-length", b"2")], b"ok"), (b"GET /x HTTP/1.0\r\n\r\n",)),
    "HTTP/1.0 kept alive": (_answering(200, [(b"content-length", b"2")], b"ok"),
                            (b"GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",)),
    "the app closes": (_answering(200, [(b"content-length", b"2"), (b"connection", b"close")], b"ok"), (GET,)),
    "the app's upper-case names": (_answering(200, [(b"Content-Length", b"2"), (b"X-Thing", b"A b")], b"ok"), (GET,)),
    "a tab in a value": (_answering(200, [(b"content-length", b"2"), (b"x-tab", b"a\tb")], b"ok"), (GET,)),
    "a colon in a value": (_answering(200, [(b"content-length", b"2"), (b"x-note", b"a: b: c")], b"ok"), (GET,)),
    "two answers on one connection": (_answering(200, [(b"content-length", b"2")], b"ok"), (GET, GET)),
    "a body in parts": (_reading, (b"POST /up HTTP/1.1\r\nHost: chatd\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
                                   b"2\r\nde\r\n0\r\n\r\n")),
    "a body with a length, late": (_reading, (b"PUT /a%20b/c?q=1&r=%20 HTTP/1.1\r\nHost: chatd\r\nContent-Length: 4\r\n\r\nab",
                                              b"cd")),
    "100 Continue": (_reading, (b"POST /c HTTP/1.1\r\nHost: chatd\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
                                b"hi")),
}


@pytest.mark.parametrize("case", CASES)
async def test_a_client_gets_what_uvicorns_own_cycle_gives(case: str) -> None:
    app, parts = CASES[case]
    ours = await _exchange(OneWriteHttp, app, *parts)
    theirs = await _exchange(HttpToolsProtocol, app, *parts)
    assert ours == theirs
    assert ours[0].startswith(b"HTTP/1.1 ")


async def test_a_request_sees_the_scope_uvicorn_gives() -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(dict(scope))
        await _answering(200, [(b"content-length", b"0")])(scope, receive, send)

    request = b"GET /caf%C3%A9/x?a=1&b=%2F HTTP/1.1\r\nHost: chatd\r\nX-Thing: One\r\n\r\n"
    await _exchange(OneWriteHttp, app, request)
    await _exchange(HttpToolsProtocol, app, request)
    ours, theirs = seen
    assert ours.keys() == theirs.keys()
    for key in ours:
        if key != "state":
            assert ours[key] == theirs[key], key
    assert ours["path"] == "/café/x" and ours["query_string"] == b"a=1&b=%2F"


async def test_an_app_failing_before_its_answer_gets_a_500_and_the_connection_closes() -> None:
    async def failing(scope: Any, receive: Any, send: Any) -> None:
        raise ValueError("boom")

    async def silent(scope: Any, receive: Any, send: Any) -> None:
        return None

    for app in (failing, silent):
        written, closed = await _exchange(OneWriteHttp, app, GET, GET)
        assert written == (await _exchange(HttpToolsProtocol, app, GET, GET))[0]
        assert written.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
        assert written.endswith(b"\r\n\r\nInternal Server Error") and written.count(b"HTTP/1.1") == 1
        assert closed


async def test_a_bad_header_fails_the_apps_send_and_the_client_gets_a_500() -> None:
    """uvicorn marks the answer begun before it checks the headers, so its client got a closed connection
    and no answer; here nothing is sent until the head is good, and the failure is answered."""
    failures: list[BaseException] = []

    def bad(name: bytes, value: bytes) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            try:
                await send({"type": "http.response.start", "status": 200, "headers": [(name, value)]})
            except RuntimeError as exc:
                failures.append(exc)
                raise
        return app

    cases = ((b"x-bad", b"a\r\nset-cookie: x=1"), (b"x bad", b"v"), (b"x-bad", b"\x00"), (b"", b"v"), (b"x-\xe9", b"v"),
             (b"x-bad", b"a\rb"), (b"x-bad", b"a\nb"), (b"x-bad", b"a\x7fb"), (b"x-bad: x", b"v"))
    for learnt in (False, True):  # the second time round, every name but the bad ones was answered before
        for name, value in cases:
            written, closed = await _exchange(OneWriteHttp, bad(name, value), GET)
            assert written.startswith(b"HTTP/1.1 500 ") and b"set-cookie" not in written and closed, (name, value)
        if not learnt:
            written, _ = await _exchange(OneWriteHttp, _answering(200, [(b"x-bad", b"fine")], b"ok"), GET)
            assert b"\r\nx-bad: fine\r\n" in written
    assert len(failures) == 2 * len(cases)


async def test_a_header_that_is_not_a_name_and_a_value_fails_the_apps_send() -> None:
    failures: list[BaseException] = []

    def shaped(header: Any) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            try:
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-length", b"2"), header]})
            except (RuntimeError, ValueError) as exc:
                failures.append(exc)
                raise
            await send({"type": "http.response.body", "body": b"ok"})
        return app

    await _exchange(OneWriteHttp, _answering(200, [(b"content-type", b"text/plain")], b"ok"), GET)  # a known name
    for header in ((b"content-type",), (b"content-type", b"text/plain", b"x")):
        written, closed = await _exchange(OneWriteHttp, shaped(header), GET)
        assert written.startswith(b"HTTP/1.1 500 ") and closed, header
    assert len(failures) == 2
    # a header as a list, as ASGI allows, is answered as uvicorn does
    app = shaped([b"content-type", b"text/plain"])
    assert await _exchange(OneWriteHttp, app, GET) == await _exchange(HttpToolsProtocol, app, GET)
    assert len(failures) == 2


async def test_a_body_longer_or_shorter_than_its_length_closes_the_connection() -> None:
    for bodies in ((b"toolong",), (b"s",)):
        app = _answering(200, [(b"content-length", b"3")], *bodies)
        written, closed = await _exchange(OneWriteHttp, app, GET, GET)
        assert closed and written.count(b"HTTP/1.1 200") == 1


async def test_the_app_hears_of_a_client_that_left_mid_request() -> None:
    heard: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                heard.append("disconnect")
                return

    protocol, transport = connect(app)
    protocol.data_received(b"POST /up HTTP/1.1\r\nHost: chatd\r\nContent-Length: 10\r\n\r\nabc")
    await turns_until(lambda: False, 10)
    protocol.connection_lost(None)
    await turns_until(lambda: heard)
    assert heard == ["disconnect"] and transport.writes == []


async def test_an_idle_connection_is_closed_after_the_keep_alive_time_and_a_busy_one_is_not() -> None:
    protocol, transport = connect(json_app, timeout_keep_alive=0.2)
    for _ in range(6):  # a request every 0.1 s for 0.6 s: never idle for the whole 0.2 s
        protocol.data_received(GET)
        await asyncio.sleep(0.1)
        assert not transport.closed
    assert sum(w.count(b"HTTP/1.1 200") for w in transport.writes) == 6
    await asyncio.sleep(0.35)
    assert transport.closed


async def test_a_connection_that_is_closed_leaves_no_timer_behind() -> None:
    protocol, transport = connect(json_app, timeout_keep_alive=0.05)
    protocol.data_received(GET)
    await turns_until(lambda: transport.writes)
    assert protocol.idle_timer is not None
    protocol.connection_lost(None)
    assert protocol.idle_timer is None


async def test_chatd_serves_its_requests_with_its_own_cycle() -> None:
    """``chatd serve``'s uvicorn settings (its logging, no access log of uvicorn's) leave every plain request
    to ``Exchange``: uvicorn's own cycle only takes what ``Exchange`` leaves to it."""
    import logging

    from chatd import logs
    from chatd.config import Settings
    from chatd.server import uvicorn_config

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    loggers = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate)
               for name in ("uvicorn", "uvicorn.error", "uvicorn.access")}
    try:
        config = uvicorn_config(Settings(), json_app, logs.configure())
        config.load()
        assert config.http_protocol_class is OneWriteHttp
        protocol = OneWriteHttp(config=config, server_state=ServerState(), app_state={})
        protocol.connection_made(Recording())
        assert protocol.plain
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        for name, (handlers, propagate) in loggers.items():
            logging.getLogger(name).handlers[:] = handlers
            logging.getLogger(name).propagate = propagate


async def test_two_tasks_of_an_app_waiting_for_the_body_both_hear_of_it() -> None:
    """A response's watch for the client leaving may wait beside the handler: one event wakes both, and one
    of them given up (cancelled) leaves the other waiting."""
    heard: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        async def listen(name: str) -> None:
            message = await receive()
            heard.append(f"{name}:{message['type']}")

        first = asyncio.ensure_future(listen("one"))
        second = asyncio.ensure_future(listen("two"))
        cancelled = asyncio.ensure_future(listen("three"))
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.gather(first, second)

    protocol, transport = connect(app)
    protocol.data_received(b"POST /up HTTP/1.1\r\nHost: chatd\r\nContent-Length: 4\r\n\r\n")
    await turns_until(lambda: False, 10)
    protocol.connection_lost(None)
    await turns_until(lambda: len(heard) == 2)
    assert sorted(heard) == ["one:http.disconnect", "two:http.disconnect"]


async def test_an_answer_waits_while_the_client_reads_slowly_then_comes_whole() -> None:
    """Back-pressure: while the transport asks for no more writes, the app's ``send`` waits (and writes
    nothing); once the client has read, the answer goes out as uvicorn's own cycle sends it."""
    for protocol_class in (OneWriteHttp, HttpToolsProtocol):
        sent: list[str] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
            sent.append("start")
            await send({"type": "http.response.body", "body": b"ok"})
            sent.append("body")

        protocol, transport = connect(app, protocol_class)
        protocol.pause_writing()
        protocol.data_received(GET)
        await turns_until(lambda: False, 20)
        assert sent == [] and transport.writes == [], protocol_class
        protocol.resume_writing()
        await turns_until(lambda: sent == ["start", "body"])
        assert sent == ["start", "body"], protocol_class
        await turns_until(lambda: bool(transport.writes))
        written = b"".join(transport.writes)
        assert written.startswith(b"HTTP/1.1 200 OK\r\n") and written.endswith(b"\r\n\r\nok"), protocol_class

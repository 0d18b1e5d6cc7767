"""``chatd/http_protocol.py``: each answer leaves in one write, and holding the head never delays or reorders
what the client gets."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import uvicorn
from uvicorn.server import ServerState

from chatd.http_protocol import OneWriteHttp


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


def connect(app: Any) -> tuple[OneWriteHttp, Recording]:
    config = uvicorn.Config(app, http=OneWriteHttp, lifespan="off", log_level="warning")
    config.load()
    protocol = OneWriteHttp(config=config, server_state=ServerState(), app_state={})
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

"""A closed websocket's objects are freed when it closes, not at the collector's next complete pass.

The serving process freezes what each full collection finds alive (``chatd/collector.py``), so a connection's
objects are frozen while it lives, and any of them left in a reference cycle when it closes stays until the
frozen set has grown by half. Clients reconnect all day (phones, laptops waking up): every closed socket held
that way is memory a reconnecting client cannot reuse (about 12 KiB of RSS per closed connection, measured:
docs/performance.md). So a websocket's protocol objects, and the HTTP protocol it was upgraded from, must go
with their last reference. These tests run with the cycle collector off and watch the objects each socket
made.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.server import ServerProtocol

from chatd.http_protocol import OneWriteHttp
from chatd.realtime.wire import WebSocketProtocol
from harness import LiveServer, Person, live, make_settings, wait_until

TRACKED = (OneWriteHttp, WebSocketProtocol, ServerProtocol)  # a Wire in a cycle keeps its protocol too


def tracked() -> list[Any]:
    """The server's connection objects in memory now (with the collector off, those in cycles stay)."""
    return [o for o in gc.get_objects() if issubclass(type(o), TRACKED)]  # type(): a dead weak proxy raises


def new_since(before: weakref.WeakSet[Any]) -> list[weakref.ReferenceType[Any]]:
    """Weak references to the tracked objects made since ``before`` (other tests' leftovers are not ours)."""
    return [weakref.ref(o) for o in tracked() if o not in before]


def protocols(refs: list[weakref.ReferenceType[Any]]) -> int:
    return sum(isinstance(r(), WebSocketProtocol) for r in refs)


@pytest.fixture
async def alice_on(sqlite_url: str, tmp_path: Path) -> AsyncIterator[tuple[LiveServer, Person]]:
    async with live(make_settings(sqlite_url, tmp_path)) as server:
        alice = await server.user("alice")
        gc.collect()
        gc.disable()
        try:
            yield server, alice
        finally:
            gc.enable()


async def opened(server: LiveServer, person: Person) -> ClientConnection:
    ws = await connect(server.ws, additional_headers={"X-Session-ID": person.secret})
    await ws.recv()  # ready
    return ws


async def test_a_socket_closed_by_either_side_leaves_nothing_for_the_cycle_collector(
    alice_on: tuple[LiveServer, Person],
) -> None:
    server, alice = alice_on
    hub = server.app.state.hub
    for closed_by in ("client", "server"):
        before = weakref.WeakSet(tracked())
        ws = await opened(server, alice)
        await wait_until(lambda: bool(hub.by_user.get(int(alice.id))), what="the socket registered")
        made = new_since(before)
        assert protocols(made) == 1
        if closed_by == "server":
            for conn in hub.by_user[int(alice.id)]:
                conn.close(4000, "bye")
            del conn  # the test must not be what keeps it
            await ws.wait_closed()
        else:
            await ws.close()
        await wait_until(lambda: not hub.by_user.get(int(alice.id)), what="the socket unregistered")
        await wait_until(lambda: all(r() is None for r in made), timeout=5,
                         what=f"a socket closed by the {closed_by} freed without the collector")


async def test_sockets_closed_together_free_their_protocols(alice_on: tuple[LiveServer, Person]) -> None:
    server, alice = alice_on
    hub = server.app.state.hub
    before = weakref.WeakSet(tracked())
    sockets = await asyncio.gather(*(opened(server, alice) for _ in range(20)))
    await wait_until(lambda: len(hub.by_user.get(int(alice.id), ())) == 20, what="the sockets registered")
    made = new_since(before)
    assert protocols(made) == 20
    await asyncio.gather(*(ws.close() for ws in sockets))
    await wait_until(lambda: not hub.by_user.get(int(alice.id)), what="the sockets unregistered")
    await wait_until(lambda: all(r() is None for r in made), timeout=5,
                     what="the closed sockets' protocols freed without the collector")

"""A database outage is a 503, never a 500, logged once, and chatd recovers by itself (issue 13).

A chatd node on its own PostgreSQL serves a steady load of writes and reads, over HTTP and the websocket;
PostgreSQL is shut down under it (clients disconnected, new connections refused) and started again. During
the outage every HTTP answer is a 503 with the JSON error ``unavailable`` and ``Retry-After``, every
websocket frame that needs the store gets an ``error`` frame ``unavailable`` on a socket that stays open,
a new websocket is refused with 503 (or closed with 1013 once accepted: never 401), ``/readyz`` says
unavailable, and nothing waits beyond a bounded time. The log has one line for the outage's start and one
for its end, rather than one per request, and no traceback. Afterwards requests succeed again without
restarting chatd, a socket that stayed connected has received every acknowledged message, and one that
reconnects and resumes is replayed every acknowledged message it missed.

The SQLite side (a database file that stops taking writes while chatd serves) is the second test; the
third shows that a Redis outage is not a 503 at all.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chatd.store.db import Database

from harness import (
    Harness,
    LiveServer,
    Person,
    PostgresServer,
    RedisServer,
    Socket,
    live,
    make_settings,
    team,
    throwaway,
    wait_until,
)

WAIT = 45.0  # seconds for each phase: PostgreSQL's fast shutdown and restart take a few on a busy machine
REQUEST_TIMEOUT = 10.0  # no answer may take longer, during the outage or after it
Answer = tuple[str, int, Any]  # (what, status (0: no answer in time, or the socket closed), details)


@pytest.fixture
def own_pg() -> Iterator[PostgresServer]:
    """A cluster of this test's own: stopping it must not stop everyone else's."""
    yield from throwaway(PostgresServer)


@pytest.fixture
async def node(own_pg: PostgresServer, tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live(make_settings(own_pg.url, tmp_path)) as running:
        yield running


class Load:
    """Writes and reads, one after another per client, until told to stop: every answer is kept, and the ids
    of the messages acknowledged to their sender."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.answers: list[Answer] = []
        self.acknowledged: set[str] = set()
        self.stop = asyncio.Event()

    def count(self, status: int, since: int = 0, what: str | None = None) -> int:
        return sum(1 for name, got, _ in self.answers[since:] if got == status and what in (None, name))

    async def http(self, person: Person) -> None:
        headers = {"X-Session-ID": person.secret}
        async with httpx.AsyncClient(base_url=person.server.http, headers=headers, timeout=REQUEST_TIMEOUT) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                text = f"{person.name} {n}"
                requests: list[tuple[str, Callable[[], Awaitable[httpx.Response]]]] = [
                    ("post", lambda: client.post("/message/edit", json={"channel_id": self.channel, "contents": text})),
                    ("history", lambda: client.get("/message/read", params={"channel_id": self.channel, "limit": 5})),
                    ("search", lambda: client.get("/channel/search")),
                ]
                for name, request in requests:
                    try:
                        response = await request()
                    except httpx.TimeoutException as exc:
                        self.answers.append((name, 0, repr(exc)))
                        continue
                    json = response.headers.get("content-type", "").startswith("application/json")
                    body: Any = response.json() if json else response.text
                    self.answers.append((name, response.status_code, (body, response.headers.get("retry-after"))))
                    if name == "post" and response.status_code == 200:
                        self.acknowledged.add(body["id"])

    async def websocket(self, sock: Socket) -> None:
        """Sends over the websocket: an ``ack`` is 200 here, an ``error`` frame its code's status."""
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                answer = await sock.call("message.send", channel_id=self.channel, contents=f"ws {n}")
            except (asyncio.TimeoutError, ConnectionClosed) as exc:
                self.answers.append(("ws send", 0, repr(exc)))
                return
            if answer["type"] == "ack":
                self.answers.append(("ws send", 200, answer))
                self.acknowledged.add(answer["data"]["id"])
            else:
                code = answer["error"]["code"]
                status = 503 if code == "unavailable" else 500 if code == "internal" else 400
                self.answers.append(("ws send", status, (answer, answer["error"].get("retry_after"))))


async def _listen(sock: Socket, received: list[dict[str, Any]]) -> None:
    """Everything a socket that stays connected receives; returns when it is closed (a failure)."""
    try:
        while True:
            received.append(await sock.recv(timeout=3600))
    except ConnectionClosed as closed:
        received.append({"type": "closed", "code": closed.rcvd.code if closed.rcvd else None})


async def _until(predicate: Callable[[], bool], what: str) -> None:
    await wait_until(predicate, WAIT, what)


async def _refused_socket(person: Person) -> int:
    """Try to open a websocket during the outage: the HTTP status of its refusal, or the close code."""
    try:
        async with person.socket() as sock:
            return await sock.closed(REQUEST_TIMEOUT)
    except InvalidStatus as denied:
        return denied.response.status_code
    except ConnectionClosed as closed:  # accepted (a cached credential), then closed before ``ready``
        assert closed.rcvd is not None, "closed without a close frame"
        return closed.rcvd.code


def _message_ids(frames: list[dict[str, Any]], channel: str) -> set[str]:
    return {f["data"]["id"] for f in frames if f["type"] == "message" and f.get("channel_id") == channel}


def _texts(page: dict[str, Any]) -> list[str]:
    """The contents of a history page's messages, without the channel's own notices (``@alice created…``)."""
    return [m["contents"] for m in page["items"] if not m["contents"].startswith("@")]


def _outage_lines(records: list[logging.LogRecord]) -> tuple[list[logging.LogRecord], list[logging.LogRecord]]:
    """Warnings and worse (the start), and the database's line saying it serves again (the end)."""
    return (
        [r for r in records if r.levelno >= logging.WARNING],
        [r for r in records if r.name == "chatd.db" and "serves again" in r.getMessage()],
    )


@pytest.mark.slow
async def test_a_database_outage_is_503_logged_once_and_recovered_from(
    node: LiveServer, own_pg: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    (alice, bob, carol, dave, erin, frank), org = await team(node, "alice", "bob", "carol", "dave", "erin", "frank")
    members = [bob.id, carol.id, dave.id, erin.id]
    channel = (await alice.post("/channel/edit", organisation_id=org, name="general", members=members))["id"]
    async with erin.socket() as sock:  # erin will come back after the outage and resume from here
        erin_seq = next(c["seq"] for c in sock.ready["data"]["channels"] if c["id"] == channel)
    load = Load(channel)
    heard: list[dict[str, Any]] = []
    async with carol.socket() as listener, dave.socket() as sender:
        tasks = [
            asyncio.create_task(_listen(listener, heard)),
            *(asyncio.create_task(load.http(p)) for p in (alice, bob)),
            asyncio.create_task(load.websocket(sender)),
        ]
        try:
            await _until(lambda: load.count(200) >= 30, "the load to run")
            caplog.clear()
            with caplog.at_level(logging.INFO):
                before = len(load.answers)
                await asyncio.to_thread(own_pg.halt)
                await _until(lambda: load.count(503, before) >= 30, "503s during the outage")
                await _until(lambda: load.count(503, before, "ws send") >= 1, "a refused frame")
                async with httpx.AsyncClient(base_url=node.http, timeout=REQUEST_TIMEOUT) as client:
                    ready = await client.get("/readyz")
                assert ready.status_code == 503, ready.text
                assert ready.json() == {"status": "unavailable", "reason": "database unavailable"}
                assert await _refused_socket(frank) == 503  # never 401: his session is fine, but unread
                assert await _refused_socket(erin) in (503, 1013)  # hers may be cached: accepted, then 1013
                during = len(load.answers)
                await asyncio.to_thread(own_pg.resume)
                await _until(lambda: load.count(200, during) >= 30, "requests to succeed again")
                await _until(lambda: load.count(200, during, "ws send") >= 1, "frames to succeed again")
                async with httpx.AsyncClient(base_url=node.http, timeout=REQUEST_TIMEOUT) as client:
                    assert (await client.get("/readyz")).status_code == 200
                load.stop.set()
                await asyncio.gather(*tasks[1:])
                records = list(caplog.records)
            heard_all = "the listener to hear every acknowledged message"
            await _until(lambda: load.acknowledged <= _message_ids(heard, channel), heard_all)
        finally:
            load.stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        assert not [f for f in heard if f["type"] == "closed"], "the listening socket stayed open"

    statuses = {status for _, status, _ in load.answers}
    assert statuses <= {200, 503}, sorted(statuses)  # never a 500, never a hang (0), never a 4xx
    refused = [(name, details) for name, status, details in load.answers if status == 503]
    assert {name for name, _ in refused} == {"post", "history", "search", "ws send"}
    for name, (body, retry_after) in refused:
        if name == "ws send":
            assert body["error"]["code"] == "unavailable" and retry_after == 5, body
        else:
            assert isinstance(body, dict) and body["error"]["code"] == "unavailable", (name, body)
            assert retry_after == "5", name
            assert str(own_pg.port) not in body["error"]["message"], body  # the operator's detail is in the log

    starts, ends = _outage_lines(records)
    assert [(r.name, r.levelname) for r in starts] == [("chatd.db", "ERROR")], [r.getMessage() for r in starts]
    assert "cannot serve" in starts[0].getMessage()
    assert len(ends) == 1, [r.getMessage() for r in ends]
    assert not [r for r in records if r.exc_info], "no tracebacks"

    missed: list[dict[str, Any]] = []
    async with erin.socket("resume=1") as sock:
        await sock.send({"type": "resume", "ref": "r", "channels": {channel: erin_seq}})
        while (frame := await sock.recv())["type"] != "replay_done":
            missed.append(frame)
    assert load.acknowledged <= _message_ids(missed, channel)


@pytest.mark.slow
async def test_a_database_that_hangs_is_503_within_the_command_timeout(
    own_pg: PostgresServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL frozen (SIGSTOP): connections stay open and nothing answers, neither refusal nor reset.
    Without a bound, every request would wait for TCP to give up (many minutes)."""
    bounds = {"command_timeout": 2.0, "connect_timeout": 2.0}
    async with live(make_settings(own_pg.url, tmp_path, database=bounds)) as node:
        (alice, bob), org = await team(node, "alice", "bob")
        channel = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
        before = await alice.post("/message/edit", channel_id=channel, contents="before the freeze")
        headers = {"X-Session-ID": alice.secret}
        async with httpx.AsyncClient(base_url=node.http, headers=headers, timeout=REQUEST_TIMEOUT) as client:
            caplog.clear()
            with caplog.at_level(logging.INFO):
                own_pg.freeze()
                try:
                    post = await client.post("/message/edit", json={"channel_id": channel, "contents": "frozen"})
                    history = await client.get("/message/read", params={"channel_id": channel})
                    ready = await client.get("/readyz")
                finally:
                    own_pg.thaw()
                for refused in (post, history):
                    assert refused.status_code == 503, refused.text
                    assert refused.json()["error"]["code"] == "unavailable" and refused.headers["retry-after"] == "5"
                assert ready.status_code == 503 and ready.json()["reason"] == "database unavailable", ready.text
                deadline = asyncio.get_running_loop().time() + WAIT  # then it recovers by itself
                while (answer := await client.post("/message/edit", json={"channel_id": channel, "contents": "after"})).status_code != 200:
                    assert answer.status_code == 503 and asyncio.get_running_loop().time() < deadline, answer.text
                    await asyncio.sleep(0.1)  # polling interval: the answer, not this sleep, ends the wait
                assert (await client.get("/readyz")).status_code == 200
                records = list(caplog.records)
        page = await bob.get("/message/read", channel_id=channel)
        assert before["id"] in [m["id"] for m in page["items"]] and "after" in _texts(page)
    starts, ends = _outage_lines(records)
    assert [(r.name, r.levelname) for r in starts] == [("chatd.db", "ERROR")], [r.getMessage() for r in starts]
    assert len(ends) == 1 and not [r for r in records if r.exc_info], "one line each way, no traceback"


@pytest.fixture
def immutable() -> Iterator[Callable[[Path], None]]:
    """``chattr +i`` a file (even root cannot write it then) and ``chattr -i`` it again when asked or after."""
    if os.geteuid() != 0:
        pytest.skip("needs root for chattr +i")
    frozen: list[Path] = []

    def freeze(path: Path) -> None:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not supported on this filesystem")
        frozen.append(path)

    yield freeze
    for path in frozen:
        subprocess.run(["chattr", "-i", str(path)], check=False)


async def test_an_sqlite_file_that_stops_taking_writes_is_one_outage_until_it_takes_them_again(
    tmp_path: Path, immutable: Callable[[Path], None], caplog: pytest.LogCaptureFixture
) -> None:
    """The database file and its write-ahead log made immutable while chatd serves (as a failing disk would
    refuse writes): writes answer 503 and reads 200 or 503 (SQLite may fail them too after a failed write),
    never 500; ``/readyz`` says unavailable; a read served in between does not end the outage, so it is
    logged once however many writes it refuses. Once the file takes writes again, the next write succeeds
    and the end is logged."""
    db = tmp_path / "chatd.db"
    async with Harness.running(make_settings(f"sqlite+aiosqlite:///{db}", tmp_path)) as chat:
        alice = await chat.user("alice")
        org = (await alice.post("/organisation/edit", name="Acme"))["id"]
        channel = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
        await alice.post("/message/edit", channel_id=channel, contents="before")
        caplog.clear()
        with caplog.at_level(logging.INFO):
            for path in (db, db.with_name("chatd.db-wal")):  # never the -shm: SQLite maps it, and would crash
                immutable(path)
            served_reads = 0
            for n in range(5):
                lost = {"channel_id": channel, "contents": f"lost {n}"}
                refused = await alice.call("POST", "/message/edit", json=lost)
                assert refused.status_code == 503 and refused.json()["error"]["code"] == "unavailable", refused.text
                assert refused.headers["retry-after"] == "5"
                assert str(tmp_path) not in refused.text
                history = await alice.call("GET", "/message/read", params={"channel_id": channel})
                assert history.status_code in (200, 503), history.text  # a failing disk may fail reads too
                if history.status_code == 200:
                    assert _texts(history.json()) == ["before"]
                    served_reads += 1
            ready = await chat.anonymous("GET", "/readyz")
            assert ready.status_code == 503 and ready.json()["status"] == "unavailable", ready.text
            during = list(caplog.records)
            subprocess.run(["chattr", "-i", str(db), str(db.with_name("chatd.db-wal"))], check=True)
            await alice.post("/message/edit", channel_id=channel, contents="after")
            assert (await chat.anonymous("GET", "/readyz")).status_code == 200
            records = list(caplog.records)
        history = await alice.get("/message/read", channel_id=channel)
        assert sorted(_texts(history)) == ["after", "before"]  # nothing refused was stored

    starts, ends = _outage_lines(during)
    assert [(r.name, r.levelname) for r in starts] == [("chatd.db", "ERROR")], [r.getMessage() for r in starts]
    assert str(db) in starts[0].getMessage()  # the operator is told which file
    assert ends == [], served_reads  # reads served in between do not end an outage of writes
    starts, ends = _outage_lines(records)
    assert len(starts) == 1 and len(ends) == 1, [r.getMessage() for r in records if r.levelno >= logging.INFO]
    assert not [r for r in records if r.exc_info], "no tracebacks"


async def test_an_sqlite_transaction_left_open_is_rolled_back_when_its_connection_returns(tmp_path: Path) -> None:
    """SQLAlchemy's reset of every connection handed back to the pool is replaced on SQLite by one that
    rolls back only a transaction SQLite still has open (a COMMIT that failed can leave one): the next
    write on that connection must not find it, and what it held is not stored."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'chatd.db'}", tmp_path)
    database = Database(settings.database)
    try:
        async with database.write() as conn:
            await conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
        async with database.engine.connect() as conn:  # a transaction SQLAlchemy does not know is open
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.execute("BEGIN IMMEDIATE")
            await driver.execute("INSERT INTO t VALUES (1)")
            assert driver.in_transaction
        for n in (2, 3):  # both on the one pooled connection: BEGIN IMMEDIATE would fail inside a transaction
            async with database.write() as conn:
                await conn.exec_driver_sql(f"INSERT INTO t VALUES ({n})")
        async with database.read() as conn:
            assert [row[0] for row in await conn.exec_driver_sql("SELECT n FROM t ORDER BY n")] == [2, 3]
    finally:
        await database.dispose()


@pytest.mark.slow
async def test_a_redis_outage_is_no_503_and_readyz_says_so_while_ready(
    tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis killed under a node: sends are still acknowledged (the store is the truth) and reach this node's
    sockets, ``/readyz`` stays 200 and says ``bus: unavailable`` (so a load balancer keeps the node), the
    bus logs the outage's start and end once each side, whatever the number of sends, and no traceback."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/chatd.db", tmp_path, bus={"url": redis_server.url})
    async with live(settings) as node:
        (alice, bob), org = await team(node, "alice", "bob")
        channel = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
        async with httpx.AsyncClient(base_url=node.http) as client, bob.socket() as sock:
            assert (await client.get("/readyz")).json() == {"status": "ready"}
            caplog.clear()
            with caplog.at_level(logging.INFO):
                await asyncio.to_thread(redis_server.kill)
                ready: dict[str, Any] = {}

                async def lost() -> bool:
                    nonlocal ready
                    answer = await client.get("/readyz")
                    assert answer.status_code == 200, answer.text
                    ready = answer.json()
                    return "bus" in ready

                await _until_async(lost, "readyz to report the bus lost")
                assert ready == {"status": "ready", "bus": "unavailable"}
                sent = [await _post(alice, channel, f"m{n}") for n in range(20)]
                frames = await sock.drain()
                assert [f["data"]["id"] for f in frames if f["type"] == "message"] == sent
                await asyncio.to_thread(redis_server.start)

                async def back() -> bool:
                    answer = await client.get("/readyz")
                    return answer.status_code == 200 and "bus" not in answer.json()

                await _until_async(back, "readyz to report the bus back")
                sent.append(await _post(alice, channel, "after"))
                assert [f["data"]["id"] for f in await sock.drain() if f["type"] == "message"] == sent[-1:]
                records = list(caplog.records)
    warnings = [r for r in records if r.levelno >= logging.WARNING]
    assert {r.name for r in warnings} <= {"chatd.bus"} and len(warnings) <= 2, [r.getMessage() for r in warnings]
    assert not [r for r in records if r.exc_info], "no tracebacks"


async def _post(person: Person, channel: str, text: str) -> str:
    return str((await person.post("/message/edit", channel_id=channel, contents=text))["id"])


async def _until_async(predicate: Callable[[], Awaitable[bool]], what: str) -> None:
    async def poll() -> None:
        while not await predicate():
            await asyncio.sleep(0.05)  # polling an async condition, ended by it or the deadline below

    try:
        await asyncio.wait_for(poll(), WAIT)
    except asyncio.TimeoutError:
        pytest.fail(f"timed out after {WAIT:g} s waiting for {what}")

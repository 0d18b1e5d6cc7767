"""``scripts/bench --inprocess``: the CPU a send costs in chatd's own code, without the HTTP server.

The send scenario measures the whole server from outside, with a CPU clock that ticks every 10 ms; its
figures move by a tenth between runs on this machine. This drives the ASGI apps directly instead (chatd's,
and the floor's, built in this process), with 1, 16 and 128 concurrent senders, and reads this process's CPU
time (user and system, every thread: aiosqlite's included) over thousands of sends, alternating chatd and
the floor round by round. What it leaves out is what both pay alike: uvicorn, httptools and the sockets
(about 35 µs per request here). So its ratio is not the issue's (that one is ``send``'s), but its absolute
figures are steady enough to compare two versions of chatd's request path, and its per-send system time and
context switches show what the thread hops cost (docs/performance.md, "Sends: per transaction").
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import resource
import tempfile
from pathlib import Path
from typing import Any, Awaitable, Callable

import httpx
import orjson

from . import procs

CONTENTS = "tabule kimo fara lesune vadi kopo mira tesa nuvo"
ASGI = Callable[..., Awaitable[None]]


def _scope(path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5555), "scheme": "http", "method": "POST",
        "root_path": "", "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()), *headers],
    }


async def _round(
    app: ASGI, scope: dict[str, Any] | list[dict[str, Any]], body: bytes, senders: int, sends: int, *,
    collect: bool = True,
) -> dict[str, Any]:
    """``sends`` posts from ``senders`` concurrent callers; CPU and context switches per send. ``scope``: one
    for every caller, or a list of them, caller ``n`` posting with the ``n``-th (the senders who are people).
    ``collect``: a full collection first and the heap frozen meanwhile (the instruction count leaves that
    out)."""
    scopes = scope if isinstance(scope, list) else [scope]
    statuses: dict[int, int] = {}
    counter = itertools.count()

    async def one(scope: dict[str, Any]) -> None:
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client never disconnects
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        await app({**scope, "headers": list(scope["headers"]), "state": {}}, receive, send)

    async def sender(scope: dict[str, Any]) -> None:
        while next(counter) < sends:
            await one(scope)

    if collect:
        gc.collect()
        gc.freeze()  # as chatd's collector does between full passes (chatd/collector.py)
    before = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.gather(*(sender(scopes[n % len(scopes)]) for n in range(senders)))
    after = resource.getrusage(resource.RUSAGE_SELF)
    if collect:
        gc.unfreeze()
    if set(statuses) != {200}:
        raise RuntimeError(f"not every send succeeded: {statuses}")
    return _per_operation(before, after, sends)


def _per_operation(before: Any, after: Any, count: int) -> dict[str, Any]:
    """CPU µs (user, system, both) and voluntary thread switches per operation, from two ``getrusage``."""
    per = 1e6 / count
    return {
        "user_us": round((after.ru_utime - before.ru_utime) * per, 1),
        "system_us": round((after.ru_stime - before.ru_stime) * per, 1),
        "cpu_us": round((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * per, 1),
        "switches": round((after.ru_nvcsw - before.ru_nvcsw) / count, 2),
    }


async def _chatd(database_url: str, workdir: Path, users: int = 0) -> tuple[Any, Any, Any, bytes]:
    """chatd's app with the benchmark's settings, its lifespan entered, and a signed-in admin's post.
    ``users``: that many users made, members of the channel, each signed in, and a list of their posts'
    scopes in place of the admin's (as ``setup.chatd_room`` makes them for the send scenario)."""
    from chatd.app import create_app
    from chatd.config import load_settings
    from chatd.server import prepare

    os.environ["CHATD_ADMIN_PASSWORD"] = procs.ADMIN_PASSWORD
    settings = load_settings(environ=procs.chatd_env(database_url, workdir))
    await prepare(settings)  # the schema and the admin, as ``chatd serve`` makes them
    app = create_app(settings)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://chatd.bench") as client:
        login = await client.post("/user/login", json={"username": "admin", "password": procs.ADMIN_PASSWORD})
        login.raise_for_status()
        session = login.json()["session_id"]
        headers = {"X-Session-ID": session}
        org = (await client.post("/organisation/edit", json={"name": "Bench"}, headers=headers)).json()["id"]
        names = [f"bench-sender{n:03d}" for n in range(users)]
        ids = []
        for who in names:
            added = await client.post("/api/users/add", headers=headers, json={
                "email": f"{who}@bench.example", "userName": who, "password": procs.ADMIN_PASSWORD,
                "organizationId": org})
            added.raise_for_status()
            ids.append(str(added.json()["id"]))
        made = await client.post("/channel/edit", headers=headers,
                                 json={"organisation_id": org, "name": "bench", "members": ids})
        channel = made.json()["id"]
        sessions = []
        for who in names:
            signed = await client.post("/user/login", json={"username": who, "password": procs.ADMIN_PASSWORD})
            signed.raise_for_status()
            sessions.append(signed.json()["session_id"])
    body = orjson.dumps({"channel_id": channel, "contents": CONTENTS})
    if users:
        return app, lifespan, [_scope("/message/edit", body, [(b"x-session-id", s.encode())]) for s in sessions], body
    return app, lifespan, _scope("/message/edit", body, [(b"x-session-id", session.encode())]), body


async def run(opts: Any) -> list[dict[str, Any]]:
    from .floor import app as floor_app  # the floor's ASGI app, as its server runs it

    floor_body = orjson.dumps({"channel_id": "1", "contents": CONTENTS})
    floor_scope = _scope("/message/edit", floor_body, [])
    sends = {1: 1000, 16: 6000, 128: 10000} if not opts.quick else {1: 300, 16: 2000, 128: 3000}
    rows: list[dict[str, Any]] = []
    for dialect in opts.dialects:
        with tempfile.TemporaryDirectory(prefix="chatd-bench-") as tmp:
            cluster = None
            if dialect == "sqlite":
                url = f"sqlite+aiosqlite:///{tmp}/chatd.db"
            else:
                from servers import PostgresServer

                cluster = PostgresServer(settings=procs.DURABLE_POSTGRES)
                cluster.start()
                url = cluster.url
            try:
                app, lifespan, scope, body = await _chatd(url, Path(tmp))
                try:
                    for senders in opts.senders:
                        count = sends.get(senders, 2000)
                        await _round(app, scope, body, senders, 200)  # warm up both
                        await _round(floor_app, floor_scope, floor_body, senders, 200)
                        ours, theirs = [], []
                        for _ in range(max(3, opts.rounds)):
                            theirs.append(await _round(floor_app, floor_scope, floor_body, senders, count))
                            ours.append(await _round(app, scope, body, senders, count))
                        chatd, base = procs.median_record(ours, "cpu_us"), procs.median_record(theirs, "cpu_us")
                        rows.append({"case": f"{dialect}, {senders} senders", "dialect": dialect, "senders": senders,
                                     "sends": count, "chatd": chatd, "floor": base,
                                     "ratio": round(float(chatd["cpu_us"]) / float(base["cpu_us"]), 2)})
                        print(f"bench: in-process {dialect} {senders}: chatd {chatd['cpu_us']} µs "
                              f"({chatd['switches']} switches), floor {base['cpu_us']} µs per send", flush=True)
                finally:
                    await lifespan.__aexit__(None, None, None)
                if dialect == "sqlite":
                    channel_id = int(orjson.loads(body)["channel_id"])
                    bare = bare_commit(Path(tmp) / "chatd.db", channel_id, 300 if opts.quick else 1000)
                    floor_lone = next((r["floor"] for r in rows if r["case"] == "sqlite, 1 senders"), None)
                    rows.append({"case": "sqlite: one post's rows committed alone, bare sqlite3 (no HTTP, no chatd)",
                                 "dialect": dialect, "senders": 1, "chatd": bare, "floor": floor_lone or bare,
                                 "ratio": round(bare["cpu_us"] / floor_lone["cpu_us"], 2) if floor_lone else None})
                    print(f"bench: in-process bare sqlite3 commit of one post's rows: {bare['cpu_us']} µs", flush=True)
            finally:
                if cluster is not None:
                    cluster.stop()
    return rows


def bare_commit(path: Path, channel_id: int, commits: int) -> dict[str, Any]:
    """What one post's rows cost committed alone, with no chatd around them: the statements chatd's batch
    runs (``store/new_messages.py``, the note of its words for the search index included) for one message,
    in one ``BEGIN IMMEDIATE`` … ``COMMIT`` with ``synchronous=FULL``, with the standard ``sqlite3`` module on
    this thread. The lower bound of a lone sender's CPU per send on SQLite, before HTTP and before any of
    chatd's Python (its words are indexed later, in batches, and not counted here)."""
    import sqlite3

    from chatd.store import new_messages as rows, search_backlog
    from chatd.store.words import document

    db = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"):
            db.execute(pragma)
        (user_id,) = db.execute("SELECT user_id FROM messages WHERE channel_id = ? LIMIT 1", (channel_id,)).fetchone()
        (first,) = db.execute("SELECT max(id) + 1 FROM messages").fetchone()
        (event_first,) = db.execute("SELECT max(id) + 1 FROM channel_events").fetchone()

        def one(n: int) -> None:
            now = 1_764_000_000_000 + n
            db.execute("BEGIN IMMEDIATE")
            db.execute(rows._SQLITE_MESSAGES, (first + n, channel_id, user_id, "MESSAGE", CONTENTS, "{}", None, None, now, now))
            (seq,) = db.execute(rows._SQLITE_BUMP, (1, now, channel_id)).fetchone()
            db.execute(rows._SQLITE_EVENTS, (channel_id, seq, event_first + n, "message", "CREATED", user_id, "{}", now, first + n))
            noted = search_backlog.note_row([(first + n, document(CONTENTS))], changed=False)
            db.execute(search_backlog.NOTE, noted)
            db.execute("COMMIT")

        for n in range(50):  # warm the page cache
            one(n)
        before = resource.getrusage(resource.RUSAGE_SELF)
        for n in range(50, 50 + commits):
            one(n)
        after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        db.close()
    return _per_operation(before, after, commits)


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| case | chatd CPU µs per send (user + system) | thread switches per send | floor CPU µs | ratio |",
             "|---|---|---|---|---|"]
    for row in rows:
        chatd, base = row["chatd"], row["floor"]
        lines.append(f"| {row['case']} | {chatd['cpu_us']} ({chatd['user_us']} + {chatd['system_us']}) | "
                     f"{chatd['switches']} | {base['cpu_us']} | {row['ratio']} |")
    return "\n".join(lines)


"""History and search on a store of a million messages (the fill step's), SQLite and PostgreSQL.

History: the newest page (50) of the biggest channel, and a page from its middle (``before`` a cursor),
by a member. Search, by a reader of 95 of the 101 channels: a rare word (20 messages), a common one
(25,000), the most frequent one (in most messages), two words, and a rare word in one channel; and by a
reader of one small channel only (``narrow``): a common and the most frequent word. Requests go one at a
time (latency, not throughput). The floor answers ``GET /message/read`` with a page of the same shape.

The search plan is checked here too (the word index drives; no sort of all matches), and every answer must
come within the search budget or be a 503 ``unavailable``: both recorded in the results.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlencode

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from . import fill, loadgen, procs
from .setup import login
from .trial import Target, measured, ratio


async def _gets(server: procs.Server, path: str, headers: dict[str, str], count: int) -> dict[str, Any]:
    request = loadgen.get(path, headers)
    result = await loadgen.closed_loop("127.0.0.1", server.port, lambda _c, _i: request, 1, count, 60)
    return {
        "requests": result.requests,
        "p50_ms": round(loadgen.percentile(result.latencies, 0.5) * 1000, 2),
        "p99_ms": round(loadgen.percentile(result.latencies, 0.99) * 1000, 2),
        "max_ms": round(max(result.latencies, default=0) * 1000, 2),
        "statuses": {str(k): v for k, v in result.statuses.items()},
    }


async def _plan(url: str, user_id: int, words: list[str]) -> dict[str, Any]:
    """The search's candidate statement as the engine plans it, and whether the word index drives it."""
    from chatd.store import channels as channel_store
    from chatd.store import search as search_index

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            readable = [c.id for c in await channel_store.readable_channels(conn, user_id, False)]
            narrow = await search_index.few_messages(conn, readable)
            statement = search_index.candidates(conn, words, readable, [], 1001, narrow)
            sql = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
            if conn.dialect.name == "sqlite":
                plan = [row[3] for row in await conn.execute(text("EXPLAIN QUERY PLAN " + sql))]
                ok = plan[0].startswith("SCAN message_fts") and not any("TEMP B-TREE" in p for p in plan)
            else:
                plan = [row[0] for row in await conn.execute(text("EXPLAIN " + sql))]
                ok = not any("Seq Scan on messages" in p for p in plan)
            # The statement's own time, in this process, apart from HTTP and the rest of the request: on a
            # busy machine the percentiles above carry its noise, these say what the query itself costs.
            if conn.dialect.name != "sqlite":
                await conn.execute(text("SET plan_cache_mode = force_custom_plan"))  # as a search does
            runs = []
            for _ in range(7):
                started = time.perf_counter()
                hits = len((await conn.execute(statement)).all())
                runs.append((time.perf_counter() - started) * 1000)
            runs.sort()
    finally:
        await engine.dispose()
    return {"user_id": user_id, "words": words, "narrow": narrow, "plan": plan, "index_drives": ok,
            "hits": hits, "statement_ms": {"min": round(runs[0], 2), "median": round(runs[3], 2)}}


async def _middle_id(url: str, channel_id: int) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            count = (await conn.execute(text("SELECT count(*) FROM messages WHERE channel_id = :c"),
                                        {"c": channel_id})).scalar_one()
            return int((await conn.execute(
                text("SELECT id FROM messages WHERE channel_id = :c ORDER BY id LIMIT 1 OFFSET :o"),
                {"c": channel_id, "o": count // 2})).scalar_one())
    finally:
        await engine.dispose()


@contextlib.contextmanager
def _filled(dialect: str, cache: Path, spec: fill.FillSpec) -> Iterator[fill.Store]:
    with (fill.filled_sqlite if dialect == "sqlite" else fill.filled_postgres)(cache, spec) as store:
        yield store


async def run(opts: Any) -> list[dict[str, Any]]:
    count = 20 if opts.quick else 200
    spec = fill.FillSpec(messages=opts.fill_messages, common_count=max(100, opts.fill_messages // 40))
    rows: list[dict[str, Any]] = []
    with procs.floor() as floor:
        base = await measured(Target("floor", floor.pid), lambda: _gets(floor, "/message/read", {}, count),
                              opts.attempts, "history floor")
        for dialect in opts.dialects:
            with _filled(dialect, opts.cache, spec) as store, tempfile.TemporaryDirectory(prefix="chatd-bench-") as tmp, \
                    procs.chatd(store.url, Path(tmp)) as server:
                info = store.info
                target = Target(f"chatd {dialect}", server.pid, info.get("postgres_pid"))
                password = info["users"]["password"]
                member = login(server, "poster00", password)
                reader = login(server, "reader", password)
                narrow = login(server, "narrow", password)
                general = info["channels"]["general"]
                middle = await _middle_id(store.url, int(general))
                deep_page = max(1, int(info["fill"]["per_channel"][general] * 0.95) // 50)
                words = info["fill"]["words"]
                queries = {
                    "history, newest page": (member, f"/message/read?channel_id={general}&limit=50"),
                    "history, middle page": (member, f"/message/read?channel_id={general}&limit=50&before={middle}"),
                    "search, rare word": (reader, "/message/search?" + urlencode({"query": words["rare"]})),
                    "search, common word": (reader, "/message/search?" + urlencode({"query": words["common"]})),
                    "search, most frequent word": (reader, "/message/search?" + urlencode({"query": words["frequent"]})),
                    "search, two words": (reader, "/message/search?" + urlencode(
                        {"query": f"{words['common']} {words['frequent']}"})),
                    "search, rare word in one channel": (reader, "/message/search?" + urlencode(
                        {"query": words["rare"], "channel_id": general})),
                    "search, common word, narrow reader": (narrow, "/message/search?" + urlencode({"query": words["common"]})),
                    "search, most frequent word, narrow reader": (narrow, "/message/search?" + urlencode(
                        {"query": words["frequent"]})),
                    # By author: one of 50,000 messages (a walk newest first finds theirs soon), and the admin, who
                    # wrote 10,000 in a channel the reader cannot read and a hundred it can (their own messages
                    # drive it); both answered 503 at the budget before the thirteenth pass.
                    "search, by an author of many": (reader, "/message/search?" + urlencode(
                        {"user_id": info["users"]["posters"][3]})),
                    "search, common word by an author of many": (reader, "/message/search?" + urlencode(
                        {"query": words["common"], "user_id": info["users"]["posters"][3]})),
                    "search, by an author of few readable": (reader, "/message/search?" + urlencode(
                        {"user_id": info["admin_user_id"]})),
                    # The most frequent word by that author: too many of the admin's messages to probe the word
                    # index for each, too few of the word's hits theirs to walk them (503 until the fourteenth pass).
                    "search, most frequent word by an author of few readable": (reader, "/message/search?" + urlencode(
                        {"query": words["frequent"], "user_id": info["admin_user_id"]})),
                    # One kind of message: the files of the reader's channels (none in this store), found in
                    # their own index, where a walk went through all 1,000,000 messages (a 503 until then).
                    "search, files only": (reader, "/message/search?" + urlencode({"message_type": "FILE"})),
                    # The WorkDrive listing pages by number: its first page, and one 95 % of the way to the
                    # channel's oldest message, whose place was found by reading every row before it until the
                    # thirteenth pass (docs/performance.md, "Deep pages by number").
                    "numbered page, first": (member, f"/api/{general}/messages?cur_page=1&per_page=50"),
                    "numbered page, 95 % deep": (member, f"/api/{general}/messages?" + urlencode(
                        {"cur_page": deep_page, "per_page": 50})),
                    # Every channel of a member far behind in nearly all of them (a poster reads none): the list
                    # a client loads, with the unread and mention counts of each (at most 100 each, counted).
                    "channel list, member of every channel": (member, "/channel/search?" + urlencode(
                        {"member": "true", "per_page": 100})),
                }
                for name, (headers, path) in queries.items():
                    answer = httpx.get(server.base + path, headers=headers, timeout=60)
                    await _gets(server, path, headers, 5)  # warm up
                    found = await measured(target, lambda: _gets(server, path, headers, count), opts.attempts,
                                           f"{name} ({dialect})")
                    if name.startswith("search"):
                        body = answer.json()
                        found.update(status=answer.status_code, total=body.get("total"),
                                     total_capped=body.get("total_capped"), items=len(body.get("items", [])))
                    elif name.startswith("numbered"):
                        body = answer.json()
                        found.update(status=answer.status_code, items=len(body.get("messages", [])),
                                     total=body.get("meta", {}).get("totalResults"))
                    rows.append({"case": f"{dialect}: {name}", "dialect": dialect, "query": name, "chatd": found,
                                 "floor": base, "ratio": {"p99_ms": ratio(found["p99_ms"], base["p99_ms"])}})
                    print(f"bench: {dialect} {name}: p50 {found['p50_ms']} ms p99 {found['p99_ms']} ms", flush=True)
                reader_id = int(info["users"]["reader"])
                narrow_id = int(info["users"]["narrow"])
                plans = [await _plan(store.url, user, [words[w]]) for user in (reader_id, narrow_id)
                         for w in ("rare", "common", "frequent")]
                for plan in plans:
                    print(f"bench: {dialect} statement, {'narrow' if plan['user_id'] == narrow_id else 'reader'} "
                          f"{plan['words']}: {plan['hits']} rows, median {plan['statement_ms']['median']} ms", flush=True)
                rows.append({"case": f"{dialect}: search plans", "dialect": dialect, "plans": plans,
                             "fill": {k: info["fill"][k] for k in ("messages", "seconds", "per_second")}})
    return rows


def dump(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, indent=1)

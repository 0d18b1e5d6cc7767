"""The fill step: a store of a million messages, made through chatd's own code, cached between runs.

Setup (users, organisations, channels, memberships) goes through the HTTP API of a running chatd, as an
operator would do it. The messages then go in bulk, in-process, through the core's one write path for new
messages, the one group commit takes (``messages.queue_message`` → ``Tx.defer_post`` → ``Tx.flush`` at
the transaction's end: the messages, their search entries and their channel events written with
one statement per table, seqs allocated per channel), so the log, the search index and the channels' last
seqs agree exactly as if every message had been posted. Ids and times are minted by the real clock while it
runs, so ids sort like seqs, as for any post.

Words: a Zipf-distributed vocabulary (the first word is in most messages, as "the" would be), plus planted
words with exact counts: ``rare`` in 20 messages, ``common`` in 25,000. A filled store is kept under the
cache directory, keyed on the fill parameters, the schema and ``FILL_VERSION``; ``complete.json`` is
written last, so an interrupted fill is redone, never reused.
"""

from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
import contextlib
import hashlib
import json
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx

from . import procs

FILL_VERSION = 1
BATCH = 5000  # messages per transaction


@dataclass(frozen=True)
class FillSpec:
    messages: int = 1_000_000
    public_channels: int = 90
    private_channels: int = 10
    posters: int = 20
    rare_count: int = 20
    common_count: int = 25_000
    seed: int = 14

    def key(self, dialect: str) -> str:
        schema = (procs.ROOT / "schema.sql").read_bytes()
        raw = json.dumps({"spec": asdict(self), "dialect": dialect, "version": FILL_VERSION}, sort_keys=True)
        return f"{dialect}-{self.messages}-" + hashlib.sha256(raw.encode() + schema).hexdigest()[:12]


RARE, COMMON = "quetzal", "kestrel"
PASSWORD = "bench-user-password"


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """Pronounceable made-up words (letters only, so each is one search term), none a planted word."""
    onsets, vowels = "bdfgklmnprstvz", "aeiou"
    words: list[str] = []
    seen = {RARE, COMMON}
    while len(words) < size:
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class Texts:
    """Message texts drawn from the vocabulary with Zipf weights (s = 1.07), 4 to 20 words each."""

    def __init__(self, spec: FillSpec) -> None:
        self.rng = random.Random(spec.seed)
        self.words = vocabulary(20_000, self.rng)
        total = 0.0
        self.cumulative = []
        for rank in range(1, len(self.words) + 1):
            total += 1 / rank**1.07
            self.cumulative.append(total)
        picks = self.rng.sample(range(spec.messages), spec.rare_count + spec.common_count)
        self.rare = set(picks[: spec.rare_count])
        self.common = set(picks[spec.rare_count :])

    def text(self, index: int) -> str:
        words = self.rng.choices(self.words, cum_weights=self.cumulative, k=self.rng.randint(4, 20))
        if index in self.rare:
            words.insert(self.rng.randrange(len(words) + 1), RARE)
        if index in self.common:
            words.insert(self.rng.randrange(len(words) + 1), COMMON)
        return " ".join(words)


def _call(client: httpx.Client, path: str, headers: dict[str, str], **body: Any) -> Any:
    response = client.post(path, json=body, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"setup {path} failed: {response.status_code} {response.text[:300]}")
    return response.json()


def setup(server: procs.Server, spec: FillSpec) -> dict[str, Any]:
    """Users, two organisations and their channels, through the API: the layout the fill posts into.

    ``Main``: ``posters`` users, ``reader`` (member of the first half of the private channels), 90 public and
    10 private channels; ``general`` (the first public one) gets a fifth of all messages. ``Side``: one
    public channel with 1 % of the messages and ``narrow``, who reads nothing else."""
    with httpx.Client(base_url=server.base, timeout=60) as client:
        login = _call(client, "/user/login", {}, username="admin", password=procs.ADMIN_PASSWORD)
        admin = {"X-Session-ID": login["session_id"]}
        main = _call(client, "/organisation/edit", admin, name="Main")["id"]
        side = _call(client, "/organisation/edit", admin, name="Side")["id"]

        def user(name: str, org: str) -> str:
            made = _call(client, "/api/users/add", admin, email=f"{name}@bench.example", userName=name,
                         password=PASSWORD, organizationId=org)
            return str(made.get("id") or made.get("_id") or made["data"]["id"])

        posters = [user(f"poster{n:02d}", main) for n in range(spec.posters)]
        reader = user("reader", main)
        narrow = user("narrow", side)
        public = [
            _call(client, "/channel/edit", admin, organisation_id=main, name=f"c{n:02d}", members=posters)["id"]
            for n in range(spec.public_channels)
        ]
        private = []
        for n in range(spec.private_channels):
            members = posters + ([reader] if n < spec.private_channels // 2 else [])
            private.append(
                _call(client, "/channel/edit", admin, organisation_id=main, name=f"p{n:02d}", type="private",
                      members=members)["id"]
            )
        side_channel = _call(client, "/channel/edit", admin, organisation_id=side, name="side")["id"]
    return {
        "organisations": {"main": main, "side": side},
        "users": {"posters": posters, "reader": reader, "narrow": narrow, "password": PASSWORD},
        "channels": {"public": public, "private": private, "general": public[0], "side": side_channel},
        "admin_user_id": login["user"]["id"],
    }


def _channel_plan(layout: dict[str, Any], spec: FillSpec) -> tuple[list[int], list[float]]:
    """Channels and cumulative weights: general 20 %, side 1 %, the rest shared evenly."""
    channels = layout["channels"]
    others = channels["public"][1:] + channels["private"]
    ids = [int(channels["general"]), int(channels["side"])] + [int(c) for c in others]
    weights = [0.20, 0.01] + [0.79 / len(others)] * len(others)
    cumulative, total = [], 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    return ids, cumulative


async def load(database_url: str, workdir: Path, layout: dict[str, Any], spec: FillSpec) -> dict[str, Any]:
    """Post ``spec.messages`` messages in transactions of ``BATCH``, through the core's one write path for new
    messages (``messages.queue_message``: ``Tx.defer_post``, flushed when the transaction ends)."""
    from chatd.core.assembly import build_core
    from chatd.config import load_settings
    from chatd.core.messages import message_payload, queue_message
    from chatd.domain.models import Message

    settings = load_settings(environ={**procs.chatd_env(database_url, workdir, "NORMAL")})
    core = build_core(settings)
    texts = Texts(spec)
    channel_ids, weights = _channel_plan(layout, spec)
    side = int(layout["channels"]["side"])
    posters = [int(p) for p in layout["users"]["posters"]]
    admin = int(layout["admin_user_id"])
    rng = random.Random(spec.seed + 1)
    counts: dict[int, int] = {}
    started = time.monotonic()
    try:
        for first in range(0, spec.messages, BATCH):
            async with core.transaction() as tx:
                now = tx.now
                for index in range(first, min(first + BATCH, spec.messages)):
                    channel_id = channel_ids[bisect.bisect_left(weights, rng.random() * weights[-1])]
                    author = admin if channel_id == side else posters[index % len(posters)]
                    message = Message(
                        id=tx.new_id(), channel_id=channel_id, user_id=author, type="MESSAGE",
                        contents=texts.text(index), created_at=now, updated_at=now, meta={},
                    )
                    queue_message(tx, message, message_payload(message), audience=[])
                    counts[channel_id] = counts.get(channel_id, 0) + 1
            await core.indexer.catch_up()  # the batch's words (a server indexes them in the background)
            done = min(first + BATCH, spec.messages)
            if done % 100_000 < BATCH:
                rate = done / (time.monotonic() - started)
                print(f"fill: {done:,} messages ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    finally:
        await core.close()
    seconds = time.monotonic() - started
    return {
        "messages": spec.messages,
        "seconds": round(seconds, 1),
        "per_second": round(spec.messages / seconds),
        "per_channel": {str(k): v for k, v in counts.items()},
        "words": {"rare": RARE, "common": COMMON, "frequent": texts.words[0]},
        "planted": {"rare": spec.rare_count, "common": spec.common_count},
    }


def _fill(server_url: str, workdir: Path, spec: FillSpec) -> dict[str, Any]:
    with procs.chatd(server_url, workdir / "setup", synchronous="NORMAL", name="fill") as server:
        layout = setup(server, spec)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # its own event loop, whoever calls
        figures = pool.submit(asyncio.run, load(server_url, workdir / "setup", layout, spec)).result()
    return {**layout, "fill": figures, "spec": asdict(spec)}


@dataclass
class Store:
    """A filled store, ready to serve: its URL, and what the fill made (ids, words, counts)."""

    url: str
    info: dict[str, Any]


@contextlib.contextmanager
def filled_sqlite(cache: Path, spec: FillSpec) -> Iterator[Store]:
    home = cache / spec.key("sqlite")
    done = home / "complete.json"
    url = f"sqlite+aiosqlite:///{home}/chatd.db"
    if not done.exists():
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        print(f"fill: making {home} (once; cached after)", file=sys.stderr, flush=True)
        info = _fill(url, home, spec)
        import sqlite3

        with contextlib.closing(sqlite3.connect(home / "chatd.db")) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        done.write_text(json.dumps(info, indent=1))
    yield Store(url, json.loads(done.read_text()))


async def _vacuum(url: str) -> None:
    """``VACUUM ANALYZE``, what autovacuum would have done by now, with no time limit: on a busy machine
    it took over the 30 s that ``PostgresServer.execute`` allows, and a fill of 13 minutes was lost."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()


@contextlib.contextmanager
def filled_postgres(cache: Path, spec: FillSpec) -> Iterator[Store]:
    """A cluster kept in the cache; started (on the server core) for the ``with`` block, stopped after."""
    from servers import PostgresServer  # tests/servers.py: the one place that runs throwaway clusters

    home = cache / spec.key("postgresql")
    done = home / "complete.json"
    if not done.exists():
        shutil.rmtree(home, ignore_errors=True)
    cluster = PostgresServer(keep_dir=home, prefix=procs.taskset([]))
    cluster.start()
    try:
        if not done.exists():
            print(f"fill: making {home} (once; cached after)", file=sys.stderr, flush=True)
            info = _fill(cluster.url, home / "work", spec)
            with concurrent.futures.ThreadPoolExecutor(1) as pool:  # its own event loop, as in ``_fill``
                pool.submit(asyncio.run, _vacuum(cluster.url)).result()
            done.write_text(json.dumps(info, indent=1))
        yield Store(cluster.url, {**json.loads(done.read_text()), "postgres_pid": cluster.pid})
    finally:
        cluster.stop()

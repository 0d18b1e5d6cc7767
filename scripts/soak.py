"""Soak: N websocket receivers, M posters and connect/disconnect churn for T minutes, against a chatd of its
own (SQLite, started here) or a running one. Every acknowledged post must reach every receiver exactly
once: the stable sockets live, the churning ones through ``resume`` when they come back.

Reports delivered against expected (the exit status is 1 unless they are equal), post-to-delivery and
acknowledgement latency percentiles, and the server's resident memory over time (sampled every few
seconds; its growth after warm-up, per minute and per connect/disconnect). Everything is bounded: T
minutes of load, then at most ``--drain`` seconds for the last deliveries.

Run: ``scripts/soak [--sockets N] [--posters M] [--minutes T] [--rate R] [--churners C] [--out FILE]``;
the report goes to ``bench-results/soak.json`` (and a summary to stdout). docs/reliability.md has figures.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(Path(__file__).parent))
from benchmark import procs  # noqa: E402

ROOT = procs.ROOT

WARM_UP = 0.2  # the first fifth of the run is warm-up: memory growth is measured after it


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(fraction: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000, 2)

    return {"p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "max_ms": at(1.0), "count": len(ordered)}


@dataclass
class Receiver:
    """One user's view of the channel: every message id seen, and the channel's last seq."""

    name: str
    token: str
    user_id: str = ""
    seen: dict[str, int] = field(default_factory=dict)  # message id → times seen
    last_seq: int = 0
    cycles: int = 0

    def take(self, frame: dict[str, Any], channel: str, latencies: list[float] | None) -> None:
        if frame.get("channel_id") != channel or "seq" not in frame:
            return
        self.last_seq = max(self.last_seq, int(frame["seq"]))
        if frame.get("type") == "message" and frame.get("event") == "CREATED":
            message_id = frame["data"]["id"]
            self.seen[message_id] = self.seen.get(message_id, 0) + 1
            sent = frame["data"].get("contents", "").partition(" ")[0]
            if latencies is not None and sent.replace(".", "", 1).isdigit():
                latencies.append(time.time() - float(sent))


@dataclass
class Soak:
    base: str
    channel: str
    args: argparse.Namespace
    admin: str  # the admin's session: mints a fresh credential for each visit of a churner
    acked: set[str] = field(default_factory=set)
    ack_latencies: list[float] = field(default_factory=list)
    delivery_latencies: list[float] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    stop: asyncio.Event = field(default_factory=asyncio.Event)  # posters and churners stop
    posted: asyncio.Event = field(default_factory=asyncio.Event)  # every post has its answer: listeners may end

    @property
    def ws(self) -> str:
        return self.base.replace("http", "ws", 1) + "/websocket/client"

    async def post(self, token: str, number: int) -> None:
        """A poster: ``rate`` messages a second until told to stop; only acknowledged ones are expected."""
        async with httpx.AsyncClient(base_url=self.base, headers={"X-API-KEY": token}, timeout=30) as client:
            period = 1 / self.args.rate
            next_at = time.monotonic()
            for n in itertools.count():
                if self.stop.is_set():
                    return
                started = time.time()
                try:
                    response = await client.post(
                        "/message/edit", json={"channel_id": self.channel, "contents": f"{started} p{number}-{n}"}
                    )
                except httpx.HTTPError as exc:
                    self.refused[type(exc).__name__] = self.refused.get(type(exc).__name__, 0) + 1
                else:
                    if response.status_code == 200:
                        self.acked.add(response.json()["id"])
                        self.ack_latencies.append(time.time() - started)
                    else:
                        self.refused[str(response.status_code)] = self.refused.get(str(response.status_code), 0) + 1
                next_at += period
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def listen(self, receiver: Receiver) -> None:
        """A stable socket, connected for the whole run."""
        async with connect(self.ws, additional_headers={"X-API-KEY": receiver.token}, max_size=None) as ws:
            await ws.recv()  # ready
            while True:
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except asyncio.TimeoutError:
                    if self.posted.is_set() and self.acked <= receiver.seen.keys():
                        return
                    continue
                receiver.take(orjson.loads(raw), self.channel, self.delivery_latencies)

    async def churn(self, receiver: Receiver) -> None:
        """Connect, resume from the last seq seen, stay a moment, go; again and again until told to stop."""
        while not self.stop.is_set():
            await self.visit(receiver, stay=random.uniform(0, 2 / self.args.churn_rate))
            receiver.cycles += 1

    async def credential(self, receiver: Receiver) -> str:
        """The receiver's token, or with ``--fresh-credentials`` a new one (a client signing in again)."""
        if not self.args.fresh_credentials:
            return receiver.token
        async with httpx.AsyncClient(base_url=self.base, headers={"X-Session-ID": self.admin}, timeout=30) as client:
            answer = await client.post("/api/token/generate-access", json={"userId": receiver.user_id})
        return str(answer.json()["token"])

    async def visit(self, receiver: Receiver, stay: float) -> None:
        try:
            token = await self.credential(receiver)
            async with connect(self.ws + "?resume=1", additional_headers={"X-API-KEY": token}, max_size=None) as ws:
                await ws.recv()  # ready
                await ws.send(orjson.dumps({"type": "resume", "ref": "r", "channels": {self.channel: receiver.last_seq}}).decode())
                await self.read_until(ws, receiver, lambda f: f.get("type") == "replay_done")
                deadline = time.monotonic() + stay
                while (left := deadline - time.monotonic()) > 0:
                    try:
                        receiver.take(orjson.loads(await asyncio.wait_for(ws.recv(), left)), self.channel, None)
                    except asyncio.TimeoutError:
                        break
        except (ConnectionClosed, OSError, httpx.HTTPError) as exc:
            self.refused[f"churn {type(exc).__name__}"] = self.refused.get(f"churn {type(exc).__name__}", 0) + 1

    async def read_until(self, ws: ClientConnection, receiver: Receiver, done: Any) -> None:
        while True:
            frame = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
            receiver.take(frame, self.channel, None)
            if done(frame):
                return


async def prepare(base: str, password: str, people: int) -> tuple[str, str, list[str], list[str]]:
    """An organisation, a public channel everyone is in, and an access token per person: (admin session,
    channel, tokens, user ids)."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        login = await client.post("/user/login", json={"username": "admin", "password": password})
        client.headers["X-Session-ID"] = login.json()["session_id"]
        org = (await client.post("/organisation/edit", json={"name": f"Soak{int(time.time())}"})).json()["id"]
        tokens, ids = [], []
        for n in range(people):
            user = (await client.post("/api/users/add", json={
                "email": f"soak{n}-{org}@example.com", "userName": f"soak{n}-{org}", "organizationId": org,
            })).json()
            ids.append(user["id"])
            tokens.append((await client.post("/api/token/generate-access", json={"userId": user["id"]})).json()["token"])
        channel = (await client.post("/channel/edit", json={
            "organisation_id": org, "name": "soak", "type": "public", "members": ids,
        })).json()["id"]
    return str(client.headers["X-Session-ID"]), channel, tokens, ids


async def sample_memory(pid: int | None, soak: Soak, every: float, samples: list[dict[str, float]],
                        receivers: list[Receiver], started: float) -> None:
    while not soak.stop.is_set():
        if pid is not None:
            samples.append({
                "seconds": round(time.monotonic() - started, 1), "rss_kib": rss_kib(pid),
                "cycles": sum(r.cycles for r in receivers), "acked": len(soak.acked),
            })
        try:
            await asyncio.wait_for(soak.stop.wait(), every)
        except asyncio.TimeoutError:
            pass


def growth(samples: list[dict[str, float]], minutes: float) -> dict[str, float]:
    """Resident memory after warm-up: the change from the first sample after it to the last (the mean of
    the last three, to smooth the allocator's steps), per minute and per connect/disconnect."""
    kept = [s for s in samples if s["seconds"] >= minutes * 60 * WARM_UP]
    if len(kept) < 4:
        return {}
    head = sum(s["rss_kib"] for s in kept[:3]) / 3
    tail = sum(s["rss_kib"] for s in kept[-3:]) / 3
    span = (kept[-2]["seconds"] - kept[1]["seconds"]) / 60 or 1
    cycles = (kept[-2]["cycles"] - kept[1]["cycles"]) or 1
    return {
        "rss_after_warm_up_kib": round(head), "rss_at_end_kib": round(tail), "growth_kib": round(tail - head),
        "kib_per_minute": round((tail - head) / span, 1), "bytes_per_cycle": round((tail - head) * 1024 / cycles, 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Against ``--url``, or a chatd of its own on SQLite (the benchmark's: write limits lifted, cheap hashes)."""
    if args.url:
        return await soak_at(args.url.rstrip("/"), args.pid, args.password, args)
    workdir = Path(tempfile.mkdtemp(prefix="chatd-soak-"))
    with procs.chatd(f"sqlite+aiosqlite:///{workdir}/chatd.db", workdir, args.synchronous, "soak") as server:
        return await soak_at(server.base, server.pid, procs.ADMIN_PASSWORD, args)


async def soak_at(base: str, pid: int | None, password: str, args: argparse.Namespace) -> dict[str, Any]:
    admin, channel, tokens, ids = await prepare(base, password, args.sockets + args.posters + args.churners)
    soak = Soak(base, channel, args, admin)
    stable = [Receiver(f"s{n}", tokens[n], ids[n]) for n in range(args.sockets)]
    first = args.sockets + args.posters
    churners = [Receiver(f"c{n}", tokens[first + n], ids[first + n]) for n in range(args.churners)]
    samples: list[dict[str, float]] = []
    started = time.monotonic()
    listeners = [asyncio.create_task(soak.listen(r)) for r in stable]
    await asyncio.sleep(0.5)
    load = [
        *(asyncio.create_task(soak.post(tokens[args.sockets + n], n)) for n in range(args.posters)),
        *(asyncio.create_task(soak.churn(r)) for r in churners),
    ]
    sampler = asyncio.create_task(sample_memory(pid, soak, args.sample_seconds, samples, churners, started))
    await asyncio.sleep(args.minutes * 60)
    soak.stop.set()
    await asyncio.gather(*load, sampler)
    soak.posted.set()
    for receiver in churners:  # one last visit: catch up on whatever was posted while away
        await soak.visit(receiver, stay=0)
    done, late = await asyncio.wait(listeners, timeout=args.drain)
    for task in late:
        task.cancel()
    for task in done:
        task.result()
    expected = len(soak.acked)
    everyone = stable + churners
    report = {
        "config": {k: v for k, v in vars(args).items() if k not in ("password",)},
        "seconds": round(time.monotonic() - started, 1),
        "posts_acknowledged": expected,
        "posts_refused": soak.refused,
        "receivers": len(everyone),
        "expected_deliveries": expected * len(everyone),
        "delivered": sum(len(soak.acked & r.seen.keys()) for r in everyone),
        "duplicates": sum(n - 1 for r in everyone for n in r.seen.values() if n > 1),
        "missing_by_receiver": {r.name: len(soak.acked - r.seen.keys()) for r in everyone if soak.acked - r.seen.keys()},
        "connect_disconnect_cycles": sum(r.cycles for r in churners),
        "delivery_latency": percentiles(soak.delivery_latencies),
        "ack_latency": percentiles(soak.ack_latencies),
        "memory": growth(samples, args.minutes),
        "rss_samples": samples,
    }
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=50, help="stable websocket receivers")
    parser.add_argument("--posters", type=int, default=4, help="users posting over HTTP")
    parser.add_argument("--rate", type=float, default=5.0, help="messages a second per poster")
    parser.add_argument("--churners", type=int, default=10, help="receivers that keep reconnecting and resuming")
    parser.add_argument("--churn-rate", type=float, default=2.0, help="visits a second per churner, roughly")
    parser.add_argument("--same-credentials", dest="fresh_credentials", action="store_false",
                        help="churners reuse one token (default: a new one per visit, as clients that sign in again)")
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--drain", type=float, default=30.0, help="seconds to wait for the last deliveries")
    parser.add_argument("--sample-seconds", type=float, default=5.0)
    parser.add_argument("--synchronous", default="FULL", help="SQLite fsync policy of the server started here")
    parser.add_argument("--url", help="soak a running chatd instead (its admin password: --password)")
    parser.add_argument("--pid", type=int, help="the running chatd's pid, for its memory")
    parser.add_argument("--password", default="")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "soak.json")
    args = parser.parse_args()
    report = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    summary = {k: v for k, v in report.items() if k not in ("rss_samples", "config")}
    print(json.dumps(summary, indent=2))
    ok = report["delivered"] == report["expected_deliveries"] and not report["duplicates"] and report["posts_acknowledged"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

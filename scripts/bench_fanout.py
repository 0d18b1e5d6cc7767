"""Fan-out and connection memory: chatd against the storage-less baseline, in the same run.

1. Fan-out: R websocket receivers in one channel; ``SENDERS`` keep-alive connections post M messages over
   HTTP as fast as they can. Figure: deliveries per second (R*M over the time until the last receiver has
   the last message). The baseline broadcasts the same number of frames through ``POST /broadcast``.
2. Memory: the server's resident memory grows by how much per idle websocket (K connections)?

Run: ``.venv/bin/python scripts/bench_fanout.py [--receivers R] [--messages M] [--idle K]``; figures go to
``bench-results/fanout.json``. The machine is noisy: compare ratios within one run, not absolutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import orjson
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).parent))
import loadgen  # noqa: E402
from bench_send import ROOT, free_port, prepare_channel, start_chatd, wait_ready  # noqa: E402


SENDERS = 8  # concurrent senders: fan-out, not one sender's round trip, should be what is measured


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def fanout(url: str, headers: dict[str, str], receivers: int, messages: int, send: object) -> float:
    """Deliveries per second to ``receivers`` sockets for ``messages`` sends made by ``send(i)``."""
    sockets = [await connect(url, additional_headers=headers, max_size=None, compression=None) for _ in range(receivers)]
    for ws in sockets:
        await ws.recv()  # ready

    async def drain(ws: object) -> None:
        got = 0
        while got < messages:
            frame = orjson.loads(await ws.recv())  # type: ignore[attr-defined]
            if frame.get("type") == "message" or frame.get("bench"):
                got += 1

    started = time.perf_counter()
    readers = [asyncio.create_task(drain(ws)) for ws in sockets]
    await send(messages)  # type: ignore[operator]
    await asyncio.wait_for(asyncio.gather(*readers), 300)
    elapsed = time.perf_counter() - started
    for ws in sockets:
        await ws.close()
    return receivers * messages / elapsed


async def idle_memory(url: str, headers: dict[str, str], pid: int, count: int) -> float:
    before = rss_kib(pid)
    sockets = []
    for _ in range(count):
        ws = await connect(url, additional_headers=headers, compression=None)
        await ws.recv()
        sockets.append(ws)
    await asyncio.sleep(1)
    per = (rss_kib(pid) - before) / count
    for ws in sockets:
        await ws.close()
    return per


async def bench_baseline(port: int, pid: int, args: argparse.Namespace) -> dict[str, float]:
    url = f"ws://127.0.0.1:{port}/ws"

    async def send(n: int) -> None:
        def request(_conn: int, i: int) -> bytes:
            body = orjson.dumps({"type": "message", "event": "CREATED", "channel_id": "1", "seq": i, "data": {"contents": f"m{i}"}})
            return loadgen.post("/broadcast", body, {})

        await loadgen.run("127.0.0.1", port, request, SENDERS, n)

    return {
        "deliveries_per_second": round(await fanout(url, {}, args.receivers, args.messages, send), 1),
        "idle_kib_per_connection": round(await idle_memory(url, {}, pid, args.idle), 1),
    }


async def bench_chatd(port: int, pid: int, args: argparse.Namespace) -> dict[str, float]:
    secret, channel_id = prepare_channel(port)
    headers = {"X-Session-ID": secret}
    url = f"ws://127.0.0.1:{port}/websocket/client"

    async def send(n: int) -> None:
        def request(_conn: int, i: int) -> bytes:
            return loadgen.post("/message/edit", orjson.dumps({"channel_id": channel_id, "contents": f"m{i}"}), headers)

        await loadgen.run("127.0.0.1", port, request, SENDERS, n)

    return {
        "deliveries_per_second": round(await fanout(url, headers, args.receivers, args.messages, send), 1),
        "idle_kib_per_connection": round(await idle_memory(url, headers, pid, args.idle), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receivers", type=int, default=50)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--idle", type=int, default=500)
    parser.add_argument("--out", default=str(ROOT / "bench-results" / "fanout.json"))
    args = parser.parse_args()
    figures: dict[str, object] = {"receivers": args.receivers, "messages": args.messages, "idle": args.idle}
    import subprocess

    port = free_port()
    baseline = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "baseline_app.py"), str(port)])
    try:
        wait_ready(port, "/readyz")
        figures["baseline"] = asyncio.run(bench_baseline(port, baseline.pid, args))
    finally:
        baseline.terminate()
        baseline.wait()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        chatd = start_chatd(Path(tmp), port)
        try:
            figures["chatd"] = asyncio.run(bench_chatd(port, chatd.pid, args))
        finally:
            chatd.terminate()
            chatd.wait()
    base, ours = figures["baseline"], figures["chatd"]
    figures["fanout_ratio"] = round(ours["deliveries_per_second"] / base["deliveries_per_second"], 3)  # type: ignore[index]
    figures["memory_ratio"] = round(ours["idle_kib_per_connection"] / max(base["idle_kib_per_connection"], 0.1), 2)  # type: ignore[index]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

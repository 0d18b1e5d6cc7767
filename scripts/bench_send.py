"""Durable sends per second: chatd's ``POST /message/edit`` on SQLite (synchronous=FULL) against the
baseline (a storage-less Starlette echo) in the same run, with the same load generator.

Run: ``.venv/bin/python scripts/bench_send.py [--requests N] [--connections C]``; figures go to
``bench-results/send.json`` and are printed. The machine is noisy: compare the ratio, not the absolutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).parent))
import loadgen  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, path: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}").status_code < 500:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


def start_chatd(workdir: Path, port: int, synchronous: str = "FULL") -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CHATD_DATABASE__URL": f"sqlite+aiosqlite:///{workdir}/chatd.db",
        "CHATD_DATABASE__SQLITE_SYNCHRONOUS": synchronous,
        "CHATD_SERVER__DATA_DIR": str(workdir / "data"),
        "CHATD_ADMIN_PASSWORD": "bench-password",
        # The benchmarks post as one user as fast as they can: lift the per-user write allowance.
        "CHATD_LIMITS__WRITES_PER_SECOND": "1000000",
        "CHATD_LIMITS__WRITE_BURST": "1000000",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatd", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_ready(port, "/readyz")
    return proc


def prepare_channel(port: int) -> tuple[str, str]:
    base = f"http://127.0.0.1:{port}"
    session = httpx.post(f"{base}/user/login", json={"username": "admin", "password": "bench-password"}).json()
    headers = {"X-Session-ID": session["session_id"]}
    org = httpx.post(f"{base}/organisation/edit", json={"name": "Bench"}, headers=headers).json()
    channel = httpx.post(
        f"{base}/channel/edit", json={"name": "bench", "type": "public", "organisation_id": org["id"]}, headers=headers
    ).json()
    return session["session_id"], channel["id"]


async def measure(port: int, headers: dict[str, str], channel_id: str, connections: int, total: int) -> loadgen.Result:
    def request(conn: int, index: int) -> bytes:
        body = orjson.dumps({"channel_id": channel_id, "contents": f"message {index} from connection {conn}"})
        return loadgen.post("/message/edit", body, headers)

    await loadgen.run("127.0.0.1", port, request, connections, min(200, total))  # warm up
    return await loadgen.run("127.0.0.1", port, request, connections, total)


def summary(result: loadgen.Result) -> dict[str, object]:
    return {
        "requests": result.requests,
        "per_second": round(result.per_second, 1),
        "p50_ms": round(result.percentile(0.5) * 1000, 2),
        "p99_ms": round(result.percentile(0.99) * 1000, 2),
        "statuses": result.statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--connections", default="16,128", help="concurrent senders, comma-separated")
    parser.add_argument("--synchronous", default="FULL,NORMAL", help="SQLite synchronous levels to measure")
    parser.add_argument("--out", default=str(ROOT / "bench-results" / "send.json"))
    args = parser.parse_args()
    figures: dict[str, object] = {"requests": args.requests}
    for connections in [int(c) for c in args.connections.split(",")]:
        row: dict[str, object] = {}
        base_port = free_port()
        baseline = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "baseline_app.py"), str(base_port)])
        try:
            wait_ready(base_port, "/readyz")
            row["baseline"] = summary(asyncio.run(measure(base_port, {}, "1", connections, args.requests)))
        finally:
            baseline.terminate()
            baseline.wait()
        for synchronous in args.synchronous.split(","):
            with tempfile.TemporaryDirectory() as tmp:
                port = free_port()
                chatd = start_chatd(Path(tmp), port, synchronous)
                try:
                    secret, channel_id = prepare_channel(port)
                    result = asyncio.run(measure(port, {"X-Session-ID": secret}, channel_id, connections, args.requests))
                    row[f"chatd_sqlite_{synchronous.lower()}_sync"] = summary(result)
                finally:
                    chatd.terminate()
                    chatd.wait()
        base = row["baseline"]["per_second"]  # type: ignore[index]
        for key in [k for k in row if k.startswith("chatd_")]:
            row[key]["ratio_to_baseline"] = round(row[key]["per_second"] / base, 3) if base else None  # type: ignore[index]
        figures[f"{connections}_connections"] = row
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

"""Servers under test: chatd (SQLite or PostgreSQL) and the floor, each pinned to the server core.

Every process started here is stopped by the ``with`` block that started it; a crashed run leaves nothing
behind (PostgreSQL's cluster has its own watchdog in ``tests/servers.py``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import httpx

ROOT = Path(__file__).resolve().parents[2]
SERVER_CORE = 1  # the server (and its database) runs here
LOADGEN_CORE = 0  # the load generator and this script run here
ADMIN_PASSWORD = "bench-admin-password"


def cores() -> int:
    return len(os.sched_getaffinity(0))


def pin_self() -> None:
    """Pin this process (the load generator) to its core, when there are two to choose from."""
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {LOADGEN_CORE})


def taskset(command: list[str]) -> list[str]:
    return ["taskset", "-c", str(SERVER_CORE), *command] if (os.cpu_count() or 1) >= 2 else command


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], path: str = "/readyz", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} was not ready within {timeout:.0f} s")


@dataclass
class Server:
    """A running server: its port and process (for CPU time and memory)."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()


def chatd_env(database_url: str, workdir: Path, synchronous: str = "FULL") -> dict[str, str]:
    return {
        **os.environ,
        "CHATD_DATABASE__URL": database_url,
        "CHATD_DATABASE__SQLITE_SYNCHRONOUS": synchronous,
        "CHATD_SERVER__DATA_DIR": str(workdir / "data"),
        "CHATD_SERVER__SECRET_KEY": "bench-secret",
        "CHATD_ADMIN_PASSWORD": ADMIN_PASSWORD,
        # A cheap password hash: logins are setup here, not what is measured.
        "CHATD_AUTH__ARGON2_TIME_COST": "1",
        "CHATD_AUTH__ARGON2_MEMORY_KIB": "1024",
        # The load generator is one client sending far above a person's rate.
        "CHATD_WEBSOCKET__RATE_LIMIT_PER_SECOND": "100000",
        "CHATD_WEBSOCKET__RATE_LIMIT_BURST": "100000",
        "CHATD_WEBSOCKET__QUEUE_SIZE": "20000",
        # …and posts as one user: lift the per-user write allowance too.
        "CHATD_LIMITS__WRITES_PER_SECOND": "1000000",
        "CHATD_LIMITS__WRITE_BURST": "1000000",
    }


@contextlib.contextmanager
def chatd(database_url: str, workdir: Path, synchronous: str = "FULL", name: str = "chatd") -> Iterator[Server]:
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = open(workdir / "chatd.log", "ab")
    proc = subprocess.Popen(
        taskset([sys.executable, "-m", "chatd", "serve", "--port", str(port)]),
        env=chatd_env(database_url, workdir, synchronous),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        wait_ready(port, proc)
        yield Server(name, port, proc)
    finally:
        stop(proc)
        log.close()


@contextlib.contextmanager
def floor(name: str = "floor") -> Iterator[Server]:
    port = free_port()
    proc = subprocess.Popen(
        taskset([sys.executable, str(Path(__file__).parent / "floor.py"), str(port)]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        wait_ready(port, proc)
        yield Server(name, port, proc)
    finally:
        stop(proc)


def raise_open_files(want: int) -> int:
    """Lift the soft open-files limit (inherited by the servers started after this) toward ``want``."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        try:  # root may lift the hard limit too (up to fs.nr_open)
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            pass
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    found = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if found < want:
        print(f"bench: open files limited to {found} (wanted {want}): the largest K may fail", file=sys.stderr)
    return found


DURABLE_POSTGRES = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


@contextlib.contextmanager
def chatd_on(
    dialect: str, workdir: Path, name: str = "chatd", durable: bool = True
) -> Iterator[tuple[Server, int | None]]:
    """chatd on a fresh store: SQLite (``synchronous=FULL``) or a throwaway PostgreSQL cluster with its
    durable defaults (fsync at commit; ``durable=False``: the test servers' settings, for scenarios that
    measure reads), pinned to the server core like chatd. Yields (server, database pid)."""
    if dialect == "sqlite":
        with chatd(f"sqlite+aiosqlite:///{workdir}/chatd.db", workdir, name=name) as server:
            yield server, None
        return
    from servers import PostgresServer  # tests/servers.py: the one place that runs throwaway clusters

    cluster = PostgresServer(settings=DURABLE_POSTGRES if durable else None, prefix=taskset([]))
    cluster.start()
    try:
        with chatd(cluster.url, workdir, name=name) as server:
            yield server, cluster.pid
    finally:
        cluster.stop()


def median_record(records: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The record whose ``key`` is the median of the rounds (the lower middle for an even count)."""
    ordered = sorted(records, key=lambda r: float(r.get(key) or 0))
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    if len(records) > 1:
        chosen["rounds"] = [r.get(key) for r in records]
    return chosen

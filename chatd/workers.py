"""``chatd serve --workers N``: N server processes on one listening socket, for more than one core.

The parent binds the port and prepares the database, then starts N workers (spawned, so each is a fresh
interpreter) that serve the inherited socket; the kernel spreads connections among them. It prints
"serving" once every worker has started, restarts a worker that dies after having served, gives up if one
dies before serving (the same fault would repeat), and on SIGTERM or SIGINT stops them all gracefully.

What the workers share, they share through the store and the bus, like separate machines: the Redis bus is
required (an event committed by one worker must reach sockets on the others), and each worker leases its
own snowflake node id in the database (``core/node_ids.py``), also on SQLite, whose file the workers share
(each with its own group commit). ``/metrics`` uses prometheus-client's multiprocess mode: each worker
writes its values under a directory made here, and any worker answering a scrape sums them all.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event
from typing import Any

from prometheus_client import multiprocess

from . import logs
from .config import Settings
from .metrics import MULTIPROC_ENV
from .operator_errors import OperatorError

log = logging.getLogger("chatd.workers")
multiprocessing.allow_connection_pickling()  # the listening socket travels to spawned workers
_spawn = multiprocessing.get_context("spawn")
RESTART_DELAY = 1.0


def check(settings: Settings) -> None:
    if not settings.bus.url.startswith(("redis://", "rediss://")):
        raise OperatorError(
            f"--workers {settings.server.workers} needs the Redis bus (bus.url = redis://…): without it a message "
            "posted on one worker never reaches sockets on the others",
            exit_code=2,
        )
    if settings.server.node_id:
        raise OperatorError("with --workers each worker leases its own node id: leave server.node_id = 0", exit_code=2)


def _worker(settings: Settings, sock: socket.socket, log_config: dict[str, Any], started: Event) -> None:
    """A worker process: one uvicorn server on the shared socket."""
    from .server import run_one

    os.setpgrp()  # a Ctrl-C on the terminal reaches the parent only, which stops the workers once
    logs.configure()
    run_one(settings, sock, log_config, started.set)


class _Worker:
    def __init__(self, settings: Settings, sock: socket.socket, log_config: dict[str, Any]) -> None:
        self.started: Event = _spawn.Event()
        self.process: SpawnProcess = _spawn.Process(
            target=_worker, args=(settings, sock, log_config, self.started), name="chatd-worker"
        )
        self.process.start()


def run(settings: Settings, sock: socket.socket, log_config: dict[str, Any]) -> int:
    from .server import listen_url

    count = settings.server.workers
    metrics_dir = tempfile.mkdtemp(prefix="chatd-metrics-")
    os.environ[MULTIPROC_ENV] = metrics_dir
    stopping: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, _frame: stopping.append(number)) for sig in (signal.SIGTERM, signal.SIGINT)}
    workers = [_Worker(settings, sock, log_config) for _ in range(count)]
    announced = False
    failed = False
    try:
        while not stopping:
            if not announced and all(w.started.is_set() for w in workers):
                print(f"chatd serving on {listen_url(settings)} with {count} workers", flush=True)
                announced = True
            for index, worker in enumerate(workers):
                if worker.process.is_alive():
                    continue
                multiprocess.mark_process_dead(worker.process.pid, metrics_dir)  # type: ignore[no-untyped-call]
                if not worker.started.is_set():
                    log.error("worker %s exited (code %s) before serving; stopping", worker.process.pid, worker.process.exitcode)
                    failed = True
                    stopping.append(0)
                    break
                log.warning("worker %s exited (code %s); starting another", worker.process.pid, worker.process.exitcode)
                time.sleep(RESTART_DELAY)
                workers[index] = _Worker(settings, sock, log_config)
            time.sleep(0.1)
    finally:
        _stop(workers, settings.server.shutdown_grace_seconds + 10)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    if failed:
        raise OperatorError("a worker did not start; the log above says why", exit_code=2)
    return 0


def _stop(workers: list[_Worker], timeout: float) -> None:
    """SIGTERM each worker once (a graceful stop, websocket clients told to resume), SIGKILL stragglers."""
    for worker in workers:
        if worker.process.is_alive() and worker.process.pid is not None:
            os.kill(worker.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for worker in workers:
        worker.process.join(max(0.0, deadline - time.monotonic()))
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()

"""A fresh database per test, cheaply: every test starts from a copy of a database the schema was applied to
once, rather than applying it again (which costs about twenty copies).

SQLite: the template file is copied. PostgreSQL: ``CREATE DATABASE … TEMPLATE`` takes a few hundred
milliseconds of the server's time, so ``PostgresCopies`` makes the next copies in a background thread while
tests run, and drops used ones there too; a test only waits if it outruns the thread.
"""

from __future__ import annotations

import itertools
import queue
import shutil
import threading
from pathlib import Path

from servers import PostgresServer


def sqlite_copy(template: Path, directory: Path) -> str:
    """A copy of the SQLite ``template`` in ``directory``; its SQLAlchemy URL."""
    target = directory / "chatd.db"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


class PostgresCopies:
    """Copies of ``template`` on ``server``, ``ahead`` of them made in advance by one worker thread."""

    def __init__(self, server: PostgresServer, template: str, ahead: int = 2) -> None:
        self.server = server
        self.template = template
        self._names = (f"t{n}" for n in itertools.count())
        self._jobs: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="postgres-copies", daemon=True)
        self._worker.start()
        for _ in range(ahead):
            self._jobs.put(("create", next(self._names)))

    def take(self) -> str:
        """The name of a fresh copy, now yours; hand it back with ``drop`` when done."""
        self._jobs.put(("create", next(self._names)))
        made = self._ready.get(timeout=120)
        if isinstance(made, BaseException):
            raise made
        return made

    def drop(self, name: str) -> None:
        """Drop ``name`` (closing whatever is still connected to it), in the background."""
        self._jobs.put(("drop", name))

    def close(self) -> None:
        """Stop the thread once it has done what was asked (the server is about to go, copies and all)."""
        self._jobs.put(None)
        self._worker.join(timeout=60)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            action, name = job
            try:
                if action == "create":
                    self.server.execute(f"CREATE DATABASE {name} TEMPLATE {self.template}", database="postgres")
                    self._ready.put(name)
                else:
                    self.server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", database="postgres")
            except BaseException as exc:  # handed to the test waiting for a copy
                if action == "create":
                    self._ready.put(exc)

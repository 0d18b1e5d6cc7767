"""Throwaway PostgreSQL and Redis servers for tests, on free ports in temp dirs.

Plain classes, no pytest: conftest wraps them in fixtures. Each server process
gets a tiny watchdog process that kills it (and removes its temp dir) if the
test process dies without cleaning up, e.g. on SIGKILL or a CI timeout, where
``atexit`` never runs; so no orphan servers are left behind.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

__all__ = [
    "PostgresServer",
    "RedisServer",
    "ServerUnavailable",
    "find_free_port",
    "find_postgres_bin",
    "find_redis_server",
    "require_servers",
]


class ServerUnavailable(RuntimeError):
    """The server binaries are not installed: callers skip, or fail when ``require_servers()``."""


def require_servers() -> bool:
    """Whether a missing server must fail the run rather than skip: on CI nothing may be skipped silently."""
    return os.environ.get("CI", "").strip().lower() == "true"


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that was free just now (the OS picks it, so parallel runs don't collide)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _has_pg_binaries(directory: str) -> bool:
    return all(os.access(os.path.join(directory, name), os.X_OK) for name in ("postgres", "initdb", "psql", "pg_isready"))


def find_postgres_bin() -> str | None:
    """The directory holding ``initdb`` and ``postgres``: ``$CHATD_TEST_PG_BIN``, else the usual places."""
    env = os.environ.get("CHATD_TEST_PG_BIN")
    if env:
        return env if _has_pg_binaries(env) else None
    if _has_pg_binaries("/usr/local/bin"):
        # Usually symlinks into a full bin dir (with psql, pg_isready...): prefer that one.
        real = os.path.dirname(os.path.realpath("/usr/local/bin/postgres"))
        return real if _has_pg_binaries(real) else "/usr/local/bin"

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path))

    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if _has_pg_binaries(directory):
            return directory
    initdb = shutil.which("initdb")
    if initdb and _has_pg_binaries(os.path.dirname(initdb)):
        return os.path.dirname(initdb)
    return None


def find_redis_server() -> str | None:
    """The ``redis-server`` binary: ``$CHATD_TEST_REDIS_SERVER``, else the one on PATH."""
    env = os.environ.get("CHATD_TEST_REDIS_SERVER")
    if env:
        return env if os.access(env, os.X_OK) else None
    return shutil.which("redis-server")


# --- cleanup ---------------------------------------------------------------------------------


class _Stoppable(Protocol):
    def stop(self) -> None: ...


_live: dict[int, _Stoppable] = {}


@atexit.register
def _stop_all() -> None:
    """Fallback for tests that forget ``stop()``: runs on a normal interpreter exit."""
    for server in list(_live.values()):
        with contextlib.suppress(Exception):  # best effort: keep stopping the others
            server.stop()


_WATCHDOG = r"""
import os, shutil, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
pid, sig, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def started(p):
    try:
        with open(f"/proc/{p}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else fields[19]  # a zombie is as good as gone
mine = started(pid)
if sys.stdin.buffer.read().startswith(b"disarm"):
    sys.exit(0)
if mine is not None and started(pid) == mine:
    try:
        os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while started(pid) == mine and time.monotonic() < deadline:
            time.sleep(0.05)  # polling for the process to be gone, with a deadline
        if started(pid) == mine:
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)  # SIGKILL cannot be refused: a moment for the kernel to reap before rmtree
    except ProcessLookupError:
        pass
if path:
    shutil.rmtree(path, ignore_errors=True)
"""


class _Watchdog:
    """A sidecar process that kills ``pid`` once our end of its stdin pipe closes without a ``disarm``.

    The pipe closes when this process dies in any way, which ``atexit`` and
    PR_SET_PDEATHSIG (tied to the spawning *thread*) can't both cover.
    """

    def __init__(self, pid: int, sig: signal.Signals, cleanup_dir: str | None) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _WATCHDOG, str(pid), str(int(sig)), cleanup_dir or ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C to our process group must not reach it
        )

    def disarm(self) -> None:
        """We cleaned up ourselves: let the watchdog exit without touching anything."""
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(b"disarm")
            self._proc.stdin.close()
        except OSError:
            pass
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def _terminate(proc: subprocess.Popen[bytes], sig: signal.Signals, timeout: float) -> None:
    """Send ``sig`` for a graceful stop, then SIGKILL if it is still running after ``timeout``."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()


def _read_log(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no log)"


# --- PostgreSQL ------------------------------------------------------------------------------


class _PgError(Exception):
    """A statement or connection failed; the message is psql's."""


def _pg_simple_query(bin_dir: str, port: int, sql: str, *, database: str = "postgres", timeout: float = 30.0) -> None:
    """Run one statement as user postgres (trust auth) with the cluster's own ``psql``."""
    done = subprocess.run(
        [f"{bin_dir}/psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database,
         "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise _PgError(done.stderr.strip() or f"psql exited {done.returncode}")


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def _postgres_user() -> tuple[int, int] | None:
    """(uid, gid) to run postgres as: it refuses to run as root, so as root use the ``postgres`` OS user."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        raise ServerUnavailable("running as root, and postgres refuses root, but there is no 'postgres' OS user")
    return entry.pw_uid, entry.pw_gid


def _c_utf8_locale() -> str:
    """C.UTF-8 if the system has it (C ordering, but lower()/upper() work on non-ASCII), else C."""
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return "C"
    return "C.UTF-8" if any(line.lower() in ("c.utf8", "c.utf-8") for line in out.split()) else "C"


def _traversable_tmp() -> str:
    """A temp root the postgres user can reach (``$TMPDIR`` may sit under a private home)."""
    base = tempfile.gettempdir()
    path = Path(base).resolve()
    for part in [path, *path.parents]:
        if not part.stat().st_mode & 0o001:
            return "/tmp"
    return base


class PostgresServer:
    """A private PostgreSQL cluster: ``initdb`` into a temp dir, ``postgres`` on a free port, trust auth.

    ``url`` is the SQLAlchemy URL of database ``chatd_test``; ``dsn`` the same for asyncpg/libpq.
    Durability is switched off (fsync etc.): it is thrown away anyway, and it's much faster.
    """

    database = "chatd_test"

    def __init__(
        self,
        bin_dir: str | None = None,
        port: int | None = None,
        *,
        keep_dir: Path | None = None,
        settings: dict[str, str] | None = None,
        prefix: list[str] | None = None,
    ) -> None:
        """``keep_dir``: a cluster that outlives ``stop()`` (made there on first use, reused after: the
        benchmark caches its filled stores so); ``settings`` override the throwaway ones below (e.g.
        ``fsync``); ``prefix`` goes before the ``postgres`` command (e.g. ``taskset -c 1``)."""
        found = bin_dir or find_postgres_bin()
        if found is None:
            raise ServerUnavailable(
                "PostgreSQL server binaries (initdb, postgres) not found: install postgresql "
                f"or set CHATD_TEST_PG_BIN to their directory (now {os.environ.get('CHATD_TEST_PG_BIN')!r})"
            )
        self.bin_dir = found
        self._fixed_port = port is not None
        self.port = port if port is not None else find_free_port()
        self._user = _postgres_user()
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._watchdog: _Watchdog | None = None
        self._keep_dir = keep_dir
        self._settings = {
            "listen_addresses": "127.0.0.1",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            **(settings or {}),
        }
        self._prefix = prefix or []
        self.startup_seconds = 0.0

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def url_for(self, database: str) -> str:
        """The SQLAlchemy URL of another database on this server."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def log_path(self) -> Path | None:
        return self._dir / "postgres.log" if self._dir else None

    @property
    def pid(self) -> int | None:
        """The postmaster's process id (its backends are its children), while running."""
        return self._proc.pid if self._proc is not None else None

    def _as_user(self) -> tuple[int | None, int | None, list[int] | None]:
        """``user``, ``group``, ``extra_groups`` for subprocess: the postgres user when root, else unchanged."""
        return (self._user[0], self._user[1], []) if self._user else (None, None, None)

    def start(self) -> None:
        """initdb, start, wait until it accepts connections (30 s), create ``chatd_test``."""
        if self._proc is not None:
            return
        began = time.monotonic()
        if self._keep_dir is not None:
            self._dir = self._keep_dir
            self._dir.mkdir(parents=True, exist_ok=True)
        else:
            self._dir = Path(tempfile.mkdtemp(prefix="chatd-pg-", dir=_traversable_tmp() if self._user else None))
        _live[id(self)] = self
        data = self._dir / "data"
        made = not (data / "PG_VERSION").exists()
        if made:
            shutil.rmtree(data, ignore_errors=True)  # a cluster whose initdb never finished
            data.mkdir(mode=0o700)
        if self._user is not None:
            for path in (self._dir, data):
                os.chown(path, *self._user)
        if made:
            self._initdb(data)
        for attempt in range(3):
            if self._launch(timeout=30.0):
                break
            log = _read_log(self._dir / "postgres.log")
            if "already in use" in log and not self._fixed_port and attempt < 2:
                self.port = find_free_port()  # lost the race for the port: pick another
                continue
            self.stop()
            raise RuntimeError(f"postgres did not start on port {self.port}; log:\n{log}")
        if made:
            _pg_simple_query(self.bin_dir, self.port, f'CREATE DATABASE "{self.database}"')
        self.startup_seconds = time.monotonic() - began

    def _initdb(self, data: Path) -> None:
        assert self._dir is not None
        user, group, extra_groups = self._as_user()
        initdb = subprocess.run(
            [
                f"{self.bin_dir}/initdb",
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                f"--locale={_c_utf8_locale()}",
                "--no-sync",
            ],
            cwd=self._dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
            user=user,
            group=group,
            extra_groups=extra_groups,
        )
        if initdb.returncode != 0:
            self.stop()
            raise RuntimeError(f"initdb failed ({initdb.returncode}):\n{initdb.stdout.decode(errors='replace')}")

    def _launch(self, timeout: float) -> bool:
        """Start ``postgres`` and wait for it; False (and the process reaped) if it exited or timed out."""
        assert self._dir is not None
        user, group, extra_groups = self._as_user()
        with open(self._dir / "postgres.log", "ab") as log:
            options = [part for name, value in self._settings.items() for part in ("-c", f"{name}={value}")]
            self._proc = subprocess.Popen(
                [
                    *self._prefix,
                    f"{self.bin_dir}/postgres",
                    "-D",
                    str(self._dir / "data"),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self._dir),
                    *options,
                ],
                cwd=self._dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C to the test run must not shut it down mid-teardown
                user=user,
                group=group,
                extra_groups=extra_groups,
            )
        # SIGINT is postgres's "fast shutdown": roll back, disconnect clients, exit.
        self._watchdog = _Watchdog(self._proc.pid, signal.SIGINT, "" if self._keep_dir else str(self._dir))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            ready = subprocess.run(
                [f"{self.bin_dir}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)], check=False
            )
            if ready.returncode == 0:
                return True
            time.sleep(0.05)  # polling pg_isready (a condition) with a deadline
        self._kill_process()
        return False

    def halt(self) -> None:
        """Fast shutdown, keeping the cluster: clients are disconnected and new connections refused, as in
        an outage; ``resume()`` brings it back on the same port with its data."""
        self._kill_process()

    def resume(self) -> None:
        """Start the halted cluster again on the same port (30 s to accept connections)."""
        assert self._dir is not None, "resume() after halt(), not after stop()"
        if not self._launch(timeout=30.0):
            raise RuntimeError(f"postgres did not start again on port {self.port}; log:\n{_read_log(self._dir / 'postgres.log')}")

    def freeze(self) -> None:
        """SIGSTOP every process of the cluster: connections stay open and nothing answers, as with a server
        that hangs or a network partition (no refusal, no reset); ``thaw()`` lets it go on."""
        assert self.pid is not None, "freeze() a running cluster"
        os.kill(self.pid, signal.SIGSTOP)  # first, so it forks no backend the loop below would miss
        for child in _children(self.pid):
            os.kill(child, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.pid is not None, "thaw() a frozen cluster"
        for child in _children(self.pid):
            os.kill(child, signal.SIGCONT)
        os.kill(self.pid, signal.SIGCONT)

    def create_database(self, name: str) -> str:
        """Create another empty database (e.g. one per test module) and return its SQLAlchemy URL."""
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"not a plain identifier: {name!r}")
        _pg_simple_query(self.bin_dir, self.port, f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database made with ``create_database``, closing its remaining connections."""
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"not a plain identifier: {name!r}")
        _pg_simple_query(self.bin_dir, self.port, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def execute(self, sql: str, database: str | None = None) -> None:
        """Run one statement (no results) as superuser, e.g. to kill sessions or set parameters."""
        _pg_simple_query(self.bin_dir, self.port, sql, database=database or self.database)

    def _kill_process(self) -> None:
        if self._proc is not None:
            _terminate(self._proc, signal.SIGINT, timeout=15.0)
            self._proc = None
        if self._watchdog is not None:
            self._watchdog.disarm()
            self._watchdog = None

    def stop(self) -> None:
        """Fast shutdown (SIGINT, then SIGKILL after 15 s) and remove the cluster's temp dir."""
        self._kill_process()
        if self._dir is not None:
            if self._keep_dir is None:
                shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        _live.pop(id(self), None)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# --- Redis -----------------------------------------------------------------------------------


def _redis_ping(port: int, timeout: float = 1.0) -> bool:
    """PING over a raw socket, so the check needs no client library."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A private ``redis-server`` on a free port, no persistence.

    The port is kept across ``stop()``/``kill()`` and ``start()``/``restart()``, so
    clients can be tested reconnecting to "the same" Redis after it went away.
    """

    def __init__(self, binary: str | None = None, port: int | None = None) -> None:
        found = binary or find_redis_server()
        if found is None:
            raise ServerUnavailable(
                "redis-server not found: install redis-server or set CHATD_TEST_REDIS_SERVER to its path "
                f"(now {os.environ.get('CHATD_TEST_REDIS_SERVER')!r})"
            )
        self.binary = found
        self._fixed_port = port is not None
        self.port = port if port is not None else find_free_port()
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._watchdog: _Watchdog | None = None
        self._started_once = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start (or start again after stop/kill) and wait until it answers PING."""
        if self.running:
            return
        self._reap()
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="chatd-redis-"))
        _live[id(self)] = self
        for attempt in range(3):
            if self._launch(timeout):
                self._started_once = True
                return
            log = _read_log(self._dir / "redis.log")
            # Only a first start may move: a restart must come back on the same port.
            if "already in use" in log and not self._fixed_port and not self._started_once and attempt < 2:
                self.port = find_free_port()
                continue
            self.stop()
            raise RuntimeError(f"redis-server did not start on port {self.port}; log:\n{log}")

    def _launch(self, timeout: float) -> bool:
        assert self._dir is not None
        with open(self._dir / "redis.log", "ab") as log:
            self._proc = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    str(self._dir),
                ],
                cwd=self._dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._watchdog = _Watchdog(self._proc.pid, signal.SIGTERM, str(self._dir))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._proc.poll() is None:
            if _redis_ping(self.port):
                return True
            time.sleep(0.02)  # polling PING (a condition) with a deadline
        self._reap(signal.SIGKILL)
        return False

    def _reap(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self._proc is not None:
            _terminate(self._proc, sig, timeout=10.0)
            self._proc = None
        if self._watchdog is not None:
            self._watchdog.disarm()
            self._watchdog = None

    def kill(self) -> None:
        """SIGKILL it, as a crash would; ``start()`` brings it back on the same port."""
        self._reap(signal.SIGKILL)

    def freeze(self) -> None:
        """SIGSTOP it: connections stay open and nothing answers, as with a hung server or a partition."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT after ``freeze``: it answers what it was sent meanwhile, and goes on."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        """Stop gracefully and start again on the same port: connections drop, all data is lost."""
        self._reap()
        self.start()

    def stop(self) -> None:
        """Graceful stop (SIGTERM, then SIGKILL after 10 s) and remove its temp dir."""
        self._reap()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        _live.pop(id(self), None)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:  # it ended meanwhile
            continue
        if int(text.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(stat.split("/")[2]))
    return found

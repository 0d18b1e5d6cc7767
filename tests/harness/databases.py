"""A fresh database per test, cheaply: every test starts from an empty database whose schema was applied
once, rather than applying it again (which costs about twenty copies).

SQLite: the template file is copied. PostgreSQL: a new copy (``CREATE DATABASE … TEMPLATE``) costs 0.2–0.4 s
of the server's time, most of it in the kernel, so ``PostgresDatabases`` copies the template only when no
used database is free, and empties a used one (every row deleted, in milliseconds) for the next test. A
database whose schema a test changed is dropped instead, so the next test never inherits it.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Iterator, Protocol, TypeVar

import pytest

from chatd.store.tables import metadata
from servers import PostgresServer, ServerUnavailable, require_servers

BACKENDS = ["sqlite", "postgresql"]  # every API test runs on each (the ``backend`` fixture)


def unavailable(exc: Exception) -> None:
    """A server the test needs is not installed: skip it, or fail under CI, where everything must run."""
    if require_servers():
        pytest.fail(f"required server missing under CI: {exc}")
    pytest.skip(str(exc))


class _Server(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


S = TypeVar("S", bound=_Server)


def throwaway(make: Callable[[], S]) -> Iterator[S]:
    """A throwaway server for a fixture to ``yield from``: started (or ``unavailable``), stopped afterwards."""
    try:
        server = make()
        server.start()
    except ServerUnavailable as exc:
        unavailable(exc)
    yield server
    server.stop()


def fresh_database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """A new database with the schema applied, for this test only (from the session's templates, which the
    ``sqlite_template`` and ``pg_databases`` fixtures in ``conftest.py`` prepare)."""
    if backend == "sqlite":
        return sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path)
    server: PostgresServer = request.getfixturevalue("pg_server")
    databases: PostgresDatabases = request.getfixturevalue("pg_databases")
    name = databases.take()
    request.addfinalizer(lambda: databases.give_back(name))
    return server.url_for(name)


def sqlite_copy(template: Path, directory: Path) -> str:
    """A copy of the SQLite ``template`` in ``directory``; its SQLAlchemy URL."""
    target = directory / "chatd.db"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


# What a database's schema is: columns, indexes, triggers and the applied versions.
_SCHEMA = """SELECT md5(concat(
  (SELECT string_agg(concat_ws(' ', table_name, column_name, data_type, column_default, is_nullable), ','
                     ORDER BY table_name, column_name) FROM information_schema.columns WHERE table_schema = 'public'),
  (SELECT string_agg(indexdef, ',' ORDER BY indexdef) FROM pg_indexes WHERE schemaname = 'public'),
  (SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE NOT tgisinternal),
  (SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version)))"""

# Close whatever a test left connected, then delete every row but the schema's versions (foreign keys
# unchecked: every table is emptied anyway).
_EMPTY = "; ".join(
    [
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        "BEGIN",
        "SET LOCAL session_replication_role = replica",
        *(f"DELETE FROM {table.name}" for table in metadata.sorted_tables if table.name != "schema_version"),
        "COMMIT",
    ]
)


class PostgresDatabases:
    """Databases on ``server`` for one test at a time each: copies of ``template``, emptied between tests."""

    def __init__(self, server: PostgresServer, template: str) -> None:
        self.server = server
        self.template = template
        self._names = (f"t{n}" for n in itertools.count())
        self._free: list[str] = []
        self._schema = self._query(template, _SCHEMA)

    def take(self) -> str:
        """The name of an empty database with the template's schema, now yours; ``give_back`` it when done."""
        if self._free:
            return self._free.pop()
        name = next(self._names)
        self.server.execute(f"CREATE DATABASE {name} TEMPLATE {self.template}", database="postgres")
        return name

    def give_back(self, name: str) -> None:
        """Empty ``name`` for the next test; drop it if that fails or its schema is not the template's."""
        try:
            emptied = self._query(name, f"{_EMPTY}; {_SCHEMA}") == self._schema
        except subprocess.SubprocessError:
            emptied = False
        if emptied:
            self._free.append(name)
        else:
            self.server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", database="postgres")

    def _query(self, database: str, sql: str) -> str:
        """Run ``sql`` with the server's own psql as user postgres; the last line it prints."""
        done = subprocess.run(
            [f"{self.server.bin_dir}/psql", "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", str(self.server.port),
             "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60, check=True,
        )
        return done.stdout.strip().splitlines()[-1]

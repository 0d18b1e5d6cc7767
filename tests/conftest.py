"""Fixtures: real PostgreSQL and Redis servers for the session, and a fresh chatd per test on each backend.

``chat`` is parametrised over SQLite and PostgreSQL, so every API test runs on both. A test that needs a
server that is not installed is skipped, except under ``CI=true`` where that is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator, Iterator

import pytest

from harness import (
    BACKENDS,
    Harness,
    LiveServer,
    PostgresDatabases,
    PostgresServer,
    RedisServer,
    fresh_database_url,
    live,
    make_settings,
    migrate_template,
    node_settings,
    sqlite_copy,
    throwaway,
)



@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """In a module marked ``slow_on_postgresql`` the PostgreSQL leg is ``slow``: the everyday run covers it on
    SQLite, CI on both. The store-facing core suites are not marked, so every day they run on both databases."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and item.get_closest_marker("slow_on_postgresql") and "postgresql" in callspec.params.values():
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    yield from throwaway(PostgresServer)


@pytest.fixture(scope="session")
def pg_template(pg_server: PostgresServer) -> str:
    """A database with the schema applied, copied (``CREATE DATABASE … TEMPLATE``) for each test."""
    pg_server.create_database("chatd_template")
    migrate_template(pg_server.url_for("chatd_template"))
    return "chatd_template"


@pytest.fixture(scope="session")
def pg_databases(pg_server: PostgresServer, pg_template: str) -> PostgresDatabases:
    return PostgresDatabases(pg_server, pg_template)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database with the schema applied, copied for each test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "chatd.db"
    migrate_template(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    yield from throwaway(RedisServer)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    return fresh_database_url(request, backend, tmp_path)


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh SQLite database, for tests about SQLite itself (group commit) or run once, not per backend."""
    return sqlite_copy(sqlite_template, tmp_path)


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh PostgreSQL database, for tests that need PostgreSQL itself (several nodes on one database)."""
    return fresh_database_url(request, "postgresql", tmp_path)


@pytest.fixture
async def chat(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    """A running chatd app (lifespan entered) on a fresh database, with a client and a fake clock."""
    async with Harness.running(make_settings(database_url, tmp_path)) as harness:
        yield harness


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A real chatd on uvicorn, on a free port, on a fresh database of each backend (websocket tests)."""
    async with live(make_settings(database_url, tmp_path)) as running:
        yield running


@pytest.fixture
async def nodes(postgres_url: str, redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[tuple[LiveServer, LiveServer]]:
    """Two chatd nodes on one PostgreSQL database and one Redis (``harness/nodes.py``)."""
    one, two = (node_settings(postgres_url, redis_server, tmp_path, n) for n in (1, 2))
    async with live(one) as a, live(two) as b:
        yield a, b

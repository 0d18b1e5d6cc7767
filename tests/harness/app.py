"""chatd in-process: a running app behind an httpx client, a fake clock, the bus's events captured, and
signed-in users (``Actor``) whose calls assert their status, and for a refusal its error and that it left no
trace."""

from __future__ import annotations

import asyncio
import itertools
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable

import httpx

from chatd.app import create_app
from chatd.core.assembly import build_core
from chatd.config import Settings, load_settings
from chatd.core.clock import FakeClock
from chatd.core.users import do_create_user
from chatd.domain.events import Event
from chatd.domain.models import User
from chatd.store import migrations

from .trace import ApiError, Trace, caused, error_of, no_trace_between

PASSWORD = "correct horse battery"
_names = itertools.count(1)


def make_settings(database_url: str, tmp_path: Path, **sections: dict[str, Any]) -> Settings:
    """Test settings: a cheap password hash and no fsync per commit, else the defaults."""
    env = {
        "CHATD_DATABASE__URL": database_url,
        "CHATD_DATABASE__SQLITE_SYNCHRONOUS": "NORMAL",
        "CHATD_SERVER__DATA_DIR": str(tmp_path / "data"),
        "CHATD_SERVER__SECRET_KEY": "test-secret",
        "CHATD_AUTH__ARGON2_TIME_COST": "1",
        "CHATD_AUTH__ARGON2_MEMORY_KIB": "64",
    }
    settings = load_settings(environ=env)
    for section, values in sections.items():
        for key, value in values.items():
            setattr(getattr(settings, section), key, value)
    return settings


def migrate_template(url: str) -> None:
    """Apply the schema to a database (used once per session for the PostgreSQL template)."""

    async def run() -> None:
        settings = load_settings(environ={"CHATD_DATABASE__URL": url})
        core = build_core(settings)
        await migrations.upgrade(core.db, core.clock.now_ms())
        await core.close()

    asyncio.run(run())


@dataclass
class Actor:
    """A signed-in user calling the API; ``post``/``get``/… assert the status and return the JSON.

    With ``expect`` a refusal (400 and up), the call also asserts the house error body — its ``code`` when
    one is named — and that the refusal left no trace: no event published, nothing stored (``trace.py``).
    ``code`` is therefore never a body field.
    """

    harness: "Harness"
    user: User
    secret: str

    @property
    def id(self) -> str:
        return str(self.user.id)

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Session-ID": self.secret}

    async def call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """The raw response, nothing asserted."""
        merged = {**self.headers, **(headers or {})}
        return await self.harness.client.request(method, path, headers=merged, **kwargs)

    async def request(self, method: str, path: str, expect: int = 200, code: str | None = None, **kwargs: Any) -> Any:
        """``call``, asserting the answer: ``expect``, and for a refusal its ``code`` and no trace."""
        if expect >= 400:
            return await self.harness.refused(self.call(method, path, **kwargs), expect, code)
        response = await self.call(method, path, **kwargs)
        if response.status_code != expect:
            raise ApiError(f"{method} {path}: expected {expect}, got {response.status_code}: {response.text}")
        return response.json() if response.content else None

    async def get(self, path: str, expect: int = 200, *, code: str | None = None, **params: Any) -> Any:
        return await self.request("GET", path, expect, code, params=params)

    async def post(self, path: str, expect: int = 200, *, code: str | None = None, **body: Any) -> Any:
        return await self.request("POST", path, expect, code, json=body)

    async def put(self, path: str, expect: int = 200, *, code: str | None = None, **body: Any) -> Any:
        return await self.request("PUT", path, expect, code, json=body)

    async def patch(self, path: str, expect: int = 200, *, code: str | None = None, **body: Any) -> Any:
        return await self.request("PATCH", path, expect, code, json=body)

    async def delete(self, path: str, expect: int = 200, *, code: str | None = None, **params: Any) -> Any:
        return await self.request("DELETE", path, expect, code, params=params)


@dataclass
class Harness:
    """A running chatd app (lifespan entered) with a client, a fake clock, and every bus event in ``events``."""

    app: Any
    client: httpx.AsyncClient
    clock: FakeClock
    settings: Settings
    events: list[Event] = field(default_factory=list)

    @property
    def core(self) -> Any:
        return self.app.state.core

    @classmethod
    @asynccontextmanager
    async def running(cls, settings: Settings) -> AsyncIterator["Harness"]:
        clock = FakeClock()
        app = create_app(settings, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://chatd.test") as client:
                harness = cls(app=app, client=client, clock=clock, settings=settings)
                app.state.bus.subscribe(harness._capture)
                yield harness

    async def _capture(self, events: Any) -> None:
        self.events.extend(events)

    def events_of(self, type: str, event: str | None = None) -> list[Event]:
        return [e for e in self.events if e.type == type and (event is None or e.event == event)]

    @asynccontextmanager
    async def capture(
        self, expect: int | None = None, type: str | None = None, event: str | None = None
    ) -> AsyncIterator[list[Event]]:
        """The events the block causes (of ``type``/``event`` if given), filled in when it ends; with
        ``expect``, asserts there are exactly that many. Presence heartbeats are not caused by a block."""
        start = len(self.events)
        captured: list[Event] = []
        yield captured
        captured.extend(
            e for e in caused(self.events[start:]) if (type is None or e.type == type) and (event is None or e.event == event)
        )
        if expect is not None:
            assert len(captured) == expect, f"expected {expect} events, got {len(captured)}: {captured}"

    async def trace(self) -> Trace:
        """What a refusal must not change: the stored rows and the events published so far."""
        return await Trace.take(self.core, self.events)

    @asynccontextmanager
    async def no_trace(self, what: str = "the refused request") -> AsyncIterator[None]:
        """Assert the block stores nothing and publishes no event (around a request that is refused)."""
        before = await self.trace()
        yield
        no_trace_between(before, await self.trace(), what)

    async def refused(self, request: Awaitable[httpx.Response], status: int, code: str | None = None) -> dict[str, Any]:
        """Await ``request``, which must be refused with ``status`` (and ``code``) and leave no trace; returns
        the JSON body. For requests not made by an ``Actor``: ``await chat.refused(chat.anonymous(…), 401)``."""
        before = await self.trace()
        response = await request
        body = error_of(response, status, code)
        no_trace_between(before, await self.trace(), f"{response.request.method} {response.request.url.path}")
        return body

    async def user(self, name: str | None = None, *, admin: bool = False, email: str | None = None) -> Actor:
        """A new user, signed in through ``/user/login`` like a real client."""
        name = name or f"user{next(_names)}"
        user = await do_create_user(self.core, name, email or f"{name}@example.com", PASSWORD, is_admin=admin)
        response = await self.client.post("/user/login", json={"username": name, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return Actor(self, user, response.json()["session_id"])

    async def users(self, *names: str) -> list[Actor]:
        return [await self.user(name) for name in names]

    async def anonymous(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.request(method, path, **kwargs)

"""The web client in a real browser: Playwright driving Debian's chromium against a live chatd.

Playwright's own browser download cannot work here, so chromium is the system one (``scripts/test``
installs the ``chromium`` package; ``CHATD_TEST_CHROMIUM`` overrides the path). Without it the browser
tests skip, except under ``CI=true`` where that is an error. Screenshots go to ``test-screenshots/``
(git-ignored) and measured figures to ``bench-results/web-client.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

import pytest
from playwright.async_api import Browser, BrowserContext, Dialog, Page, async_playwright, expect

from servers import require_servers

from .app import PASSWORD, make_settings
from .live import LiveServer, Person, free_port, live, team
from .waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-screenshots"
FIGURES = ROOT / "bench-results" / "web-client.json"
# Known to work as root on this machine; without the background-networking flags chromium keeps trying
# to reach Google's services on a network that has none.
ARGS = [
    "--headless",
    "--use-fake-device-for-media-stream",  # a microphone that plays a tone (voice notes), granted without asking
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]
VIEWPORT = {"width": 1280, "height": 800}
# Conditions, not sleeps: a condition may take a while on a loaded 2-core machine, and is met at once otherwise.
expect.set_options(timeout=15_000)


def chromium_path() -> str | None:
    path = os.environ.get("CHATD_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if Path(path).exists() else None


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    path = chromium_path()
    if path is None:
        message = "chromium not found: install the chromium package or set CHATD_TEST_CHROMIUM"
        if require_servers():
            pytest.fail(message)
        pytest.skip(message)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=path, args=ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A live chatd on SQLite (the browser tests exercise the client, not the store)."""
    async with live(make_settings(f"sqlite+aiosqlite:///{tmp_path}/chatd.db", tmp_path)) as server:
        yield server


@dataclass
class Served:
    """``chatd serve`` as a user runs it (``scripts/serve`` execs it): its own process, its printed admin
    password, its URL."""

    http: str
    admin_password: str


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATD_")}
    with open(tmp_path / "stderr.log", "w") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chatd", "serve", "--port", str(port), cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=stderr,
        )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("chatd serving on"):
            line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
            assert line, f"chatd serve exited: {lines} {(tmp_path / 'stderr.log').read_text()}"
            lines.append(line.strip())
        password = re.search(r"username 'admin', password '([^']+)'", "\n".join(lines))
        assert password, lines
        yield Served(lines[-1].removeprefix("chatd serving on "), password.group(1))
    finally:
        process.terminate()
        await process.wait()


@dataclass
class Tab:
    """One person's browser: a context of its own (cookies, storage), one page, and what went wrong in it."""

    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert not self.dialogs, f"a dialog opened (script ran?): {self.dialogs}"
        assert not self.errors, f"errors in the page: {self.errors}"


async def open_tab(
    browser: Browser, server: LiveServer | Served, name: str | None = None, *, password: str = PASSWORD, path: str = "/",
    watch: Callable[[Tab], None] | None = None,
) -> Tab:
    """A new browser context; signed in through the API (cookie set in the context) when ``name`` is given,
    then at ``path``. ``watch`` sees the tab before the page loads (to listen to its requests)."""
    context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    page = await context.new_page()
    tab = Tab(context, page)
    page.on("pageerror", lambda exc: tab.errors.append(str(exc)))
    # The page's Content-Security-Policy must never have to block anything of ours (an inline style, a socket).
    page.on("console", lambda msg: tab.errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    async def refuse(dialog: Dialog) -> None:  # an alert() here means a message ran script
        tab.dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", refuse)
    if watch is not None:
        watch(tab)
    if name is not None:
        response = await context.request.post(f"{server.http}/user/login", data={"username": name, "password": password})
        assert response.ok, await response.text()
        await page.goto(server.http + path)
        await page.wait_for_selector("#connection[data-status=online]", state="attached")
    return tab


async def open_channel(tab: Tab, server: LiveServer, channel_id: str) -> None:
    await tab.page.goto(f"{server.http}/#/c/{channel_id}")  # a hash change: the client switches channel
    await tab.page.wait_for_selector("#connection[data-status=online]", state="attached")
    await tab.page.wait_for_selector(".channel .messages-inner .msg >> nth=0")


@asynccontextmanager
async def other_site(html: str, port: int | None = None) -> AsyncIterator[str]:
    """A page on another origin of the same host (another port): same site, so the browser sends chatd's
    cookie along with its requests. Served for real on loopback, since chromium refuses pages of other
    address spaces access to loopback. Yields the origin."""

    async def page(_request: Request) -> HTMLResponse:
        return HTMLResponse(html)

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/{path:path}", page)]), host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started or task.done(), what="the other site to start")
    if task.done():
        task.result()  # it failed to start: its error
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path))
    return path


def record(figures: dict[str, Any]) -> None:
    """Add measured figures to bench-results/web-client.json (a report, never an assertion) and print them."""
    FIGURES.parent.mkdir(exist_ok=True)
    known = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    known.update(figures)
    FIGURES.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")
    for key, value in figures.items():
        print(f"web-client figure: {key} = {value}")


# The messages of the open channel, system notices left out.
CHANNEL_MESSAGES = ".channel .messages-inner .msg:not(.system)"


async def general_channel(server: LiveServer, *names: str) -> tuple[list[Person], str, str]:
    """``team``'s people and organisation, and a channel ``general`` the first made with the others in it."""
    people, org = await team(server, *names)
    members = [p.id for p in people[1:]]
    channel = (await people[0].post("/channel/edit", organisation_id=org, name="general", topic="Company-wide chat", members=members))["id"]
    return people, org, channel


async def send_text(tab: Tab, text: str, composer: str = ".channel .composer-input") -> None:
    """Type ``text`` into a message box and press Enter."""
    await tab.page.fill(composer, text)
    await tab.page.press(composer, "Enter")

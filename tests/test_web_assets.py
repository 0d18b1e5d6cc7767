"""How chatd serves the web client (``chatd/web``): the page, versioned assets, caching and headers."""

from __future__ import annotations

import gzip
import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path
from typing import AsyncIterator

import pytest

from chatd.web import CSP, STATIC, Assets
from harness import Harness, make_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Harness]:
    async with Harness.running(make_settings(f"sqlite+aiosqlite:///{tmp_path}/chatd.db", tmp_path)) as harness:
        yield harness


def _prefix(page: str) -> str:
    found = re.search(r'src="(/static/[0-9a-f]{16})/app\.js"', page)
    assert found, page
    return found.group(1)


async def test_the_page_is_served_at_the_root_uncached_with_a_strict_policy(site: Harness) -> None:
    page = await site.anonymous("GET", "/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["content-security-policy"] == CSP
    for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in CSP
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    # The page itself may ask for the microphone (voice notes; the browser still asks the person), no frame may,
    # and nothing may ask for the camera, the location or payments.
    policy = dict(part.strip().split("=", 1) for part in page.headers["permissions-policy"].split(","))
    assert policy == {"camera": "()", "microphone": "(self)", "geolocation": "()", "payment": "()"}, policy
    assert "<script>" not in page.text and "<script type=\"module\" src=" in page.text  # no inline script
    assert "{{static}}" not in page.text and "{{preload}}" not in page.text
    modules = sorted(p.name for p in STATIC.glob("*.js"))
    assert re.findall(r'<link rel="modulepreload" href="/static/[0-9a-f]{16}/([a-z]+\.js)">', page.text) == modules


async def test_assets_are_long_cached_under_their_version(site: Harness) -> None:
    prefix = _prefix((await site.anonymous("GET", "/")).text)
    script = await site.anonymous("GET", f"{prefix}/app.js", headers={"Accept-Encoding": "identity"})
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert script.headers["x-content-type-options"] == "nosniff"
    assert script.content == (STATIC / "app.js").read_bytes()
    style = await site.anonymous("GET", f"{prefix}/style.css", headers={"Accept-Encoding": "gzip"})
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    assert style.headers["content-encoding"] == "gzip" and "Accept-Encoding" in style.headers["vary"]
    assert style.content == (STATIC / "style.css").read_bytes()  # httpx undid the gzip
    assert len(gzip.compress(style.content)) < len(style.content)


async def test_unknown_assets_and_other_versions_are_404(site: Harness) -> None:
    prefix = _prefix((await site.anonymous("GET", "/")).text)
    for path in (
        f"{prefix}/nope.js",
        "/static/0123456789abcdef/app.js",  # a version this server does not have (an old page after an upgrade)
        f"{prefix}/../__init__.py",
        f"{prefix}/%2e%2e/__init__.py",
        f"{prefix}/index.html",
        "/static/app.js",
    ):
        response = await site.anonymous("GET", path, follow_redirects=True)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"


def test_the_version_changes_with_any_file(tmp_path: Path) -> None:
    for name in ("index.html", "app.js"):
        (tmp_path / name).write_text("<script src=\"{{static}}/app.js\"></script>" if name == "index.html" else "1")
    before = Assets(tmp_path)
    (tmp_path / "app.js").write_text("2")
    after = Assets(tmp_path)
    assert before.version != after.version
    assert after.index.body.decode().count(after.prefix) == 1


def test_every_client_file_ships_in_the_package() -> None:
    """A non-editable install serves the client too: package data covers every file of ``static/``."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["chatd.web"]
    files = [p.relative_to(STATIC.parent).as_posix() for p in STATIC.rglob("*") if p.is_file()]
    assert files
    missing = [f for f in files if not any(fnmatch(f, pattern) for pattern in patterns)]
    assert not missing, missing

"""The ``chatd`` command, run as an operator would: a real process against a real database file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from chatd.store import migrations
from harness import Harness, find_free_port, make_settings

pytestmark = pytest.mark.slow  # every test starts chatd processes


def run(tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return python(tmp_path, "-m", "chatd", *args, stdin=stdin, env=env)


def python(tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "CHATD_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path}/chatd.db",
        "CHATD_SERVER__DATA_DIR": str(tmp_path / "data"),
        "CHATD_AUTH__ARGON2_TIME_COST": "1",
        "CHATD_AUTH__ARGON2_MEMORY_KIB": "64",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, *args], input=stdin, capture_output=True, text=True, env=environ, timeout=60
    )


async def _login(tmp_path: Path, username: str, password: str) -> int:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/chatd.db", tmp_path)
    async with Harness.running(settings) as chat:
        response = await chat.anonymous("POST", "/user/login", json={"username": username, "password": password})
        return response.status_code


def test_db_init_then_upgrade_is_a_no_op(tmp_path: Path) -> None:
    first = run(tmp_path, "db", "init")
    assert first.returncode == 0 and f"schema version {migrations.LATEST}" in first.stdout
    again = run(tmp_path, "db", "upgrade")
    assert again.returncode == 0 and "current" in again.stdout


async def test_user_add_with_password_on_stdin_can_log_in(tmp_path: Path) -> None:
    added = run(tmp_path, "user", "add", "bob", "--email", "bob@example.com", "--password-stdin", stdin="hunter2hunter2\n")
    assert added.returncode == 0, added.stderr
    assert "created user bob" in added.stdout and "password:" not in added.stdout
    assert await _login(tmp_path, "bob", "hunter2hunter2") == 200
    listed = run(tmp_path, "user", "list")
    assert "bob@example.com" in listed.stdout


def test_user_add_without_password_prints_a_generated_one(tmp_path: Path) -> None:
    added = run(tmp_path, "user", "add", "carol", "--email", "carol@example.com", "--admin")
    assert added.returncode == 0 and "password: " in added.stdout
    assert "yes" in run(tmp_path, "user", "list").stdout.splitlines()[1]


def test_refused_operations_exit_1_with_a_reason(tmp_path: Path) -> None:
    run(tmp_path, "user", "add", "bob", "--email", "bob@example.com")
    duplicate = run(tmp_path, "user", "add", "BOB", "--email", "other@example.com")
    assert duplicate.returncode == 1 and "username is already taken" in duplicate.stderr
    bad_email = run(tmp_path, "user", "add", "dave", "--email", "not-an-email")
    assert bad_email.returncode == 1 and "email" in bad_email.stderr
    unknown = run(tmp_path, "token", "create", "nobody")
    assert unknown.returncode == 1 and "nobody" in unknown.stderr
    no_org = run(tmp_path, "user", "add", "erin", "--email", "erin@example.com", "--org", "Nowhere")
    assert no_org.returncode == 1 and "Nowhere" in no_org.stderr


async def test_token_create_prints_a_working_token_once(tmp_path: Path) -> None:
    run(tmp_path, "user", "add", "bot", "--email", "bot@example.com")
    created = run(tmp_path, "token", "create", "bot", "--label", "deploys")
    assert created.returncode == 0
    token = created.stdout.strip()
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/chatd.db", tmp_path)
    async with Harness.running(settings) as chat:
        response = await chat.anonymous("GET", "/user/tokens", headers={"X-API-KEY": token})
    assert response.status_code == 200
    assert [t["label"] for t in response.json()["items"]] == ["deploys"]


async def test_user_passwd_changes_the_password(tmp_path: Path) -> None:
    run(tmp_path, "user", "add", "bob", "--email", "bob@example.com", "--password-stdin", stdin="first-password\n")
    changed = run(tmp_path, "user", "passwd", "bob", "--password-stdin", stdin="second-password\n")
    assert changed.returncode == 0, changed.stderr
    assert await _login(tmp_path, "bob", "first-password") == 401
    assert await _login(tmp_path, "bob", "second-password") == 200
    short = run(tmp_path, "user", "passwd", "bob", "--password-stdin", stdin="x\n")
    assert short.returncode == 1 and "at least" in short.stderr


def test_check_config_names_the_bad_key_and_exits_2(tmp_path: Path) -> None:
    assert run(tmp_path, "check-config").returncode == 0
    bad = run(tmp_path, "check-config", env={"CHATD_LIMITS__MESSAGE_MAX_CHARS": "lots"})
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "limits.message_max_chars" in bad.stderr
    config = tmp_path / "bad.toml"
    config.write_text("[database]\nurl = 'mysql://nope'\n")
    from_file = run(tmp_path, "--config", str(config), "check-config", env={"CHATD_DATABASE__URL": ""})
    assert from_file.returncode == 2 and "database.url" in from_file.stderr


def test_serve_creates_the_admin_once_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = find_free_port()
    environ = {
        **os.environ,
        "CHATD_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path}/chatd.db",
        "CHATD_SERVER__DATA_DIR": str(tmp_path / "data"),
        "CHATD_ADMIN_PASSWORD": "admin-password",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "chatd", "serve", "--port", str(port)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.1)  # polling a condition (ready) with a deadline; this test is synchronous
        login = httpx.post(f"http://127.0.0.1:{port}/user/login", json={"username": "admin", "password": "admin-password"})
        assert login.status_code == 200 and login.json()["user"]["is_admin"] is True
    finally:
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=30)
    # uvicorn re-raises SIGTERM after its graceful shutdown, as a service manager expects.
    assert server.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in stderr
    assert "password" not in stdout  # the operator chose it: it is not echoed


def test_a_command_starts_without_the_server_stack(tmp_path: Path) -> None:
    """``chatd user list`` and its kind load the core and the store, not the faces, the websocket, the HTTP
    server or the Redis client: those were most of a command's second and a half before it did anything."""
    assert run(tmp_path, "db", "init").returncode == 0
    probe = (
        "import atexit, runpy, sys\n"
        "server = ('starlette', 'uvicorn', 'redis', 'chatd.app', 'chatd.faces', 'chatd.realtime', 'chatd.edge')\n"
        "atexit.register(lambda: print('LOADED', sorted(m for m in server if m in sys.modules), file=sys.stderr))\n"
        "sys.argv = ['chatd', 'user', 'list']\n"
        "runpy.run_module('chatd', run_name='__main__')\n"
    )
    listed = python(tmp_path, "-c", probe)
    assert listed.returncode == 0 and "USERNAME" in listed.stdout, listed.stderr
    assert "LOADED []" in listed.stderr, listed.stderr

"""Operator mistakes with the ``chatd`` command: each ends with one line naming the thing and the fix, and a
nonzero exit status; never a traceback. Run as an operator would: real processes, real files and ports."""

from __future__ import annotations

import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness import PostgresServer, find_free_port

pytestmark = pytest.mark.slow  # every test runs chatd processes

FAST_HASH = {"CHATD_AUTH__ARGON2_TIME_COST": "1", "CHATD_AUTH__ARGON2_MEMORY_KIB": "64"}


def chatd(*args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``chatd`` with a clean environment (no CHATD_* of the test run) in ``cwd``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CHATD_")} | FAST_HASH | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "chatd", *args], cwd=cwd, input=stdin, capture_output=True, text=True, env=environ, timeout=60
    )


def one_line(result: subprocess.CompletedProcess[str], *words: str, code: int = 1) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("chatd: "), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A config file with a relative data directory, and a database created through it."""
    home = tmp_path / "site"
    home.mkdir()
    (home / "chatd.toml").write_text('[server]\ndata_dir = "state"\n')
    created = chatd("--config", str(home / "chatd.toml"), "db", "init", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    return home


def test_config_goes_before_or_after_any_command_and_its_paths_are_relative_to_it(site: Path, tmp_path: Path) -> None:
    config = str(site / "chatd.toml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    added = chatd("user", "add", "bob", "--email", "bob@example.com", "--password-stdin", "--config", config,
                  cwd=elsewhere, stdin="hunter2hunter2\n")
    assert added.returncode == 0, added.stderr
    for args in (["--config", config, "user", "list"], ["user", "--config", config, "list"], ["user", "list", "--config", config]):
        assert "bob@example.com" in chatd(*args, cwd=tmp_path).stdout
    shown = chatd("check-config", "--config", config, cwd=elsewhere)
    assert shown.returncode == 0 and f"data directory: {site / 'state'}" in shown.stdout
    assert (site / "state" / "chatd.db").exists() and not (elsewhere / "var").exists()


def test_a_command_run_elsewhere_creates_no_second_database(site: Path, tmp_path: Path) -> None:
    stray = tmp_path / "stray"
    stray.mkdir()
    one_line(chatd("user", "list", cwd=stray), str(stray / "var" / "chatd.db"), "--config", "db init")
    one_line(chatd("user", "add", "bob", "--email", "bob@example.com", cwd=stray), "no database")
    one_line(chatd("token", "list", cwd=stray), "no database")
    assert list(stray.iterdir()) == []


def test_unknown_chatd_variables_are_reported_with_the_right_spelling(tmp_path: Path) -> None:
    result = chatd("check-config", cwd=tmp_path, env={"CHATD_DATABASE_URL": "sqlite+aiosqlite:///x.db"})
    one_line(result, "CHATD_DATABASE_URL", "CHATD_DATABASE__URL", code=2)
    one_line(chatd("user", "list", cwd=tmp_path, env={"CHATD_SEVRER__PORT": "1"}), "CHATD_SEVRER__PORT", code=2)


def test_secrets_are_masked_when_printed(tmp_path: Path) -> None:
    env = {
        "CHATD_DATABASE__URL": "postgresql+asyncpg://chatd:dbpass-1234@db.example/chatd",
        "CHATD_BUS__URL": "redis://:buspass-5678@cache.example:6379/0",
        "CHATD_SERVER__SECRET_KEY": "signing-9abc",
    }
    shown = chatd("check-config", cwd=tmp_path, env=env)
    assert shown.returncode == 0, shown.stderr
    for secret in ("dbpass-1234", "buspass-5678", "signing-9abc"):
        assert secret not in shown.stdout + shown.stderr
    assert "chatd:***@db.example" in shown.stdout and ":***@cache.example" in shown.stdout
    backup = chatd("db", "backup", str(tmp_path / "b.db"), cwd=tmp_path, env=env)
    one_line(backup, "pg_dump", "chatd:***@db.example")
    assert "dbpass-1234" not in backup.stderr


def test_databases_that_cannot_serve_are_named_with_the_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    one_line(chatd("db", "init", cwd=tmp_path, env={"CHATD_SERVER__DATA_DIR": str(blocker / "data")}), str(blocker), "create it")
    empty = tmp_path / "empty" / "chatd.db"
    empty.parent.mkdir()
    empty.touch()
    env = {"CHATD_DATABASE__URL": f"sqlite+aiosqlite:///{empty}"}
    one_line(chatd("user", "list", cwd=tmp_path, env=env), str(empty), "db init")
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not an SQLite database, not even close" * 100)
    one_line(chatd("user", "list", cwd=tmp_path, env={"CHATD_DATABASE__URL": f"sqlite+aiosqlite:///{broken}"}), str(broken))
    one_line(chatd("serve", "--port", str(find_free_port()), cwd=tmp_path,
                   env={"CHATD_DATABASE__URL": f"sqlite+aiosqlite:///{broken}"}), str(broken))


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        one_line(chatd("serve", "--port", str(port), cwd=tmp_path), f"127.0.0.1:{port}", "in use", "--port")


def test_serving_is_announced_only_once_the_port_answers(tmp_path: Path) -> None:
    port = find_free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CHATD_")} | FAST_HASH
    server = subprocess.Popen([sys.executable, "-m", "chatd", "serve", "--port", str(port)], cwd=tmp_path, env=environ,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        lines = []
        for line in server.stdout:
            lines.append(line)
            if line.startswith("chatd serving on"):
                break
        assert lines[-1] == f"chatd serving on http://127.0.0.1:{port}\n", lines
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").json() == {"status": "ready"}  # no retry needed
        assert any(line.startswith("created the admin account") for line in lines)
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)


def _on_a_terminal(tmp_path: Path, args: list[str], keys: bytes) -> tuple[int, str]:
    """Run chatd on a pseudo-terminal, type ``keys`` at its first prompt; (exit status, everything it wrote)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CHATD_")} | FAST_HASH
    pid, fd = pty.fork()
    if pid == 0:  # the child: chatd, with the terminal as its controlling tty
        # As a shell starts it. A suite run as a background job (``scripts/test &`` from a script) has SIGINT
        # ignored, an ignored signal outlives the exec, and Python then never turns Ctrl-C into
        # KeyboardInterrupt: the prompt waited until the test killed it.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        os.chdir(tmp_path)
        os.execve(sys.executable, [sys.executable, "-m", "chatd", *args], environ)
    output = b""
    deadline = time.monotonic() + 30
    typed_at = 0.0
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        # Type once the prompt shows, and again if it is still there (a key typed while the terminal was being
        # switched to no-echo may be flushed away).
        if b"Password" in output and b"chatd:" not in output and time.monotonic() - typed_at > 2.0:
            os.write(fd, keys)
            typed_at = time.monotonic()
    # The terminal closes as chatd exits, a moment before the exit can be collected: a busy machine showed it
    # still running here (and the test killed it, an exit status of -9), so it is given a few seconds.
    done, status = os.waitpid(pid, os.WNOHANG)
    grace = time.monotonic() + 5
    while done == 0 and time.monotonic() < grace:
        time.sleep(0.05)
        done, status = os.waitpid(pid, os.WNOHANG)
    if done == 0:  # still waiting at its prompt: the test fails on its exit status, not by hanging
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


@pytest.mark.parametrize("keys", [b"\x03", b"\x04"], ids=["ctrl-c", "ctrl-d"])
def test_giving_up_at_a_password_prompt_is_one_line(tmp_path: Path, keys: bytes) -> None:
    assert chatd("db", "init", cwd=tmp_path).returncode == 0
    code, output = _on_a_terminal(tmp_path, ["user", "add", "bob", "--email", "bob@example.com"], keys)
    assert code == 130, output
    assert "Traceback" not in output and "chatd: cancelled; nothing was changed" in output
    assert "bob" not in chatd("user", "list", cwd=tmp_path).stdout


def test_a_postgresql_database_that_cannot_serve_is_one_line(tmp_path: Path, pg_server: PostgresServer) -> None:
    missing = chatd("user", "list", cwd=tmp_path, env={"CHATD_DATABASE__URL": pg_server.url_for("no_such_db")})
    one_line(missing, "no_such_db", "does not exist", "createdb")
    pg_server.execute("CREATE DATABASE frozen")
    pg_server.execute("ALTER DATABASE frozen SET default_transaction_read_only = on")
    frozen = chatd("db", "init", cwd=tmp_path, env={"CHATD_DATABASE__URL": pg_server.url_for("frozen")})
    one_line(frozen, "read-only", "primary")
    refused = chatd("user", "list", cwd=tmp_path, env={"CHATD_DATABASE__URL": "postgresql+asyncpg://chatd:pw-123@127.0.0.1:1/chatd"})
    one_line(refused, "chatd:***@127.0.0.1:1/chatd")
    assert "pw-123" not in refused.stderr


def test_on_a_read_only_database_commands_still_read_and_writes_are_one_line(tmp_path: Path) -> None:
    assert chatd("db", "init", cwd=tmp_path).returncode == 0
    assert chatd("user", "add", "bob", "--email", "bob@example.com", "--password-stdin", cwd=tmp_path,
                 stdin="hunter2hunter2\n").returncode == 0
    database = tmp_path / "var" / "chatd.db"
    if os.geteuid() != 0:
        database.chmod(0o444)
    elif subprocess.run(["chattr", "+i", str(database)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported on this filesystem: cannot make a file read-only for root")
    try:
        listed = chatd("user", "list", cwd=tmp_path)  # a command leases a node id only where it can write
        assert listed.returncode == 0 and "bob@example.com" in listed.stdout, listed.stderr
        one_line(chatd("token", "create", "bob", cwd=tmp_path), str(database), "read-only", "writable")
        one_line(chatd("user", "add", "carol", "--email", "carol@example.com", "--password-stdin", cwd=tmp_path,
                       stdin="hunter2hunter2\n"), str(database), "read-only")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(database)], check=False)
        database.chmod(0o644)

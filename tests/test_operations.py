"""Running chatd: a read-only database answers 503, backups taken while serving restore, the server refuses
connections near its open-files limit with a logged reason instead of failing accept()."""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from harness import Actor, Harness, make_settings
from live import free_port, live, team


@pytest.fixture
def freeze() -> Iterator[object]:
    """Make a file read-only even for root (``chattr +i``), and writable again afterwards."""
    frozen: list[Path] = []

    def make_read_only(path: Path) -> None:
        if os.geteuid() != 0:
            path.chmod(0o444)
        elif subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not supported on this filesystem: cannot make a file read-only for root")
        frozen.append(path)

    yield make_read_only
    for path in frozen:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=False)
        path.chmod(0o644)


async def test_a_read_only_database_is_not_ready_and_refuses_writes_with_503(tmp_path: Path, freeze: object) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/chatd.db", tmp_path)
    async with Harness.running(settings) as chat:
        alice = await chat.user("alice")
        await alice.post("/organisation/edit", name="Acme")
    freeze(tmp_path / "chatd.db")  # type: ignore[operator]
    async with Harness.running(settings) as chat:
        ready = await chat.anonymous("GET", "/readyz")
        assert ready.status_code == 503 and ready.json() == {"status": "unavailable", "reason": "database is read-only"}
        login = await chat.anonymous("POST", "/user/login", json={"username": "alice", "password": "correct horse battery"})
        assert login.status_code == 503 and login.json()["error"]["code"] == "unavailable"
        assert login.headers["retry-after"] == "5"
        assert str(tmp_path) not in login.text  # the operator's detail is logged, never shown to clients
        reader = Actor(chat, alice.user, alice.secret)
        assert (await reader.get("/organisation/search"))["items"][0]["name"] == "Acme"  # reads still work
        assert (await chat.anonymous("GET", "/healthz")).status_code == 200


async def test_a_backup_taken_while_serving_restores_to_a_working_database(tmp_path: Path) -> None:
    # One writer posts as fast as it can for the whole backup: above a person's write allowance, so lift it.
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path}/chatd.db", tmp_path, limits={"writes_per_second": 100_000.0, "write_burst": 100_000}
    )
    async with live(settings) as server:
        (alice, bob), org = await team(server, "alice", "bob")
        channel = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
        posted = 0
        stop = asyncio.Event()

        async def keep_posting() -> None:
            nonlocal posted
            async with httpx.AsyncClient(base_url=server.http, headers={"X-Session-ID": alice.secret}) as client:
                while not stop.is_set():
                    response = await client.post("/message/edit", json={"channel_id": channel, "contents": f"m{posted}"})
                    assert response.status_code == 200
                    posted += 1

        writer = asyncio.create_task(keep_posting())
        while posted < 20:
            await asyncio.sleep(0.01)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATD_")}
        env |= {"CHATD_DATABASE__URL": settings.database.url, "CHATD_SERVER__DATA_DIR": settings.server.data_dir}
        backup = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chatd", "db", "backup", str(tmp_path / "backup.db"), env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await backup.communicate()
        stop.set()
        await writer
    assert backup.returncode == 0, err.decode()
    assert "backed up" in out.decode() and "files" in err.decode()  # and a reminder that uploads are separate

    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy(tmp_path / "backup.db", restored / "chatd.db")
    with sqlite3.connect(restored / "chatd.db") as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (events, last_seq) = check.execute(
            "SELECT (SELECT count(*) FROM channel_events WHERE channel_id = ?), last_seq FROM channels WHERE id = ?",
            (int(channel), int(channel)),
        ).fetchone()
        kept = check.execute("SELECT count(*) FROM messages WHERE channel_id = ?", (int(channel),)).fetchone()[0]
    assert events == last_seq and 20 <= kept <= posted  # one consistent moment: the log and the messages agree
    async with Harness.running(make_settings(f"sqlite+aiosqlite:///{restored}/chatd.db", restored)) as chat:
        login = await chat.anonymous("POST", "/user/login", json={"username": "alice", "password": "correct horse battery"})
        assert login.status_code == 200
        chat.events.clear()
        response = await chat.anonymous(
            "POST", "/message/edit", json={"channel_id": channel, "contents": "after restore"},
            headers={"X-Session-ID": login.json()["session_id"]},
        )
        assert response.status_code == 200
        assert [e.seq for e in chat.events if e.channel_id == int(channel)] == [last_seq + 1]


def _limit_open_files(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


def test_near_its_open_files_limit_the_server_refuses_new_connections_and_says_why(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATD_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "chatd", "serve", "--port", str(port)], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=lambda: _limit_open_files(160),
    )
    held: list[socket.socket] = []
    try:
        assert server.stdout is not None
        assert server.stdout.readline().startswith("created the admin account")
        assert server.stdout.readline() == f"chatd serving on http://127.0.0.1:{port}\n"
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/user/search").status_code == 401  # below the limit: served
        for _ in range(70):  # the budget is 160 - 100 reserved = 60 connections
            held.append(socket.create_connection(("127.0.0.1", port)))
        refused = httpx.get(f"{base}/user/search")
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "unavailable"
        assert httpx.get(f"{base}/healthz").status_code == 200  # the operator endpoints still answer
    finally:
        for sock in held:
            sock.close()
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert "open files limit 160" in stderr
    assert "refusing new connections" in stderr and "LimitNOFILE" in stderr

"""``chatd export`` / ``chatd import``: a server moves from SQLite to PostgreSQL and back out unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from harness import Actor, Harness, PostgresServer, make_settings

pytestmark = pytest.mark.slow  # chatd export and import run as processes


def chatd(*args: str, database_url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATD_")}
    env |= {"CHATD_DATABASE__URL": database_url, "CHATD_SERVER__DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "chatd", *args], capture_output=True, text=True, env=env, timeout=120)


async def _upload(actor: Actor, name: str, data: bytes) -> dict[str, Any]:
    response = await actor.call("POST", "/file/upload", files={"file": (name, data, "text/plain")}, data={"module": "chat"})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _populate(chat: Harness, org_name: str = "Acme") -> dict[str, Any]:
    """An organisation with a team, a public and a private channel, and messages carrying every kind of
    state an export must keep: versions, a reply, a removal, reactions, a pin, a flag, read markers, a file."""
    alice, bob = await chat.user(), await chat.user()
    org = (await alice.post("/organisation/edit", name=org_name))["id"]
    await alice.post("/organisation/members/add", id=org, user_id=bob.id)
    team = (await alice.post("/team/edit", organisation_id=org, name="Core"))["id"]
    general = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
    secret = (await alice.post("/channel/edit", organisation_id=org, team_id=team, name="secret", type="private"))["id"]
    await bob.post("/channel/join", id=general)
    first = await alice.post("/message/edit", channel_id=general, contents="hello café")
    await alice.post("/message/edit", id=first["id"], contents="hello café, edited")
    reply = await bob.post("/message/edit", channel_id=general, contents="welcome", reply_to=first["id"])
    gone = await bob.post("/message/edit", channel_id=general, contents="oops")
    await bob.delete("/message/remove", id=gone["id"])
    stored = await _upload(alice, "notes.txt", b"file bytes \x00\x01 survive")
    with_file = await alice.post("/message/edit", channel_id=general, contents="see file", file_ids=[stored["id"]])
    await bob.post("/message/react", id=first["id"], emoji="👍")
    await alice.post("/message/react", id=first["id"], emoji="z")
    await alice.post("/message/pin", id=reply["id"])
    await bob.post("/message/flag", id=first["id"])
    await bob.post("/message/mark_read", channel_id=general, message_id=with_file["id"])
    await alice.post("/message/edit", channel_id=secret, contents="private words")
    return {"alice": alice, "bob": bob, "org": org, "general": general, "secret": secret, "file": stored, "first": first}


def _content(archive: Path) -> dict[str, bytes]:
    """Everything but the manifest's export time and source: each table file and each file's bytes."""
    found = {str(p.relative_to(archive)): p.read_bytes() for p in sorted(archive.rglob("*")) if p.is_file()}
    manifest = orjson.loads(found.pop("manifest.json"))
    for varying in ("exported_at", "source"):
        manifest.pop(varying)
    found["manifest.json"] = orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS)
    return found


def _rows(archive: Path, table: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (archive / "tables" / f"{table}.jsonl").read_bytes().splitlines()]


async def test_sqlite_to_postgresql_and_back_gives_identical_content(tmp_path: Path, pg_server: PostgresServer) -> None:
    sqlite_url = f"sqlite+aiosqlite:///{tmp_path}/source.db"
    async with Harness.running(make_settings(sqlite_url, tmp_path / "a")) as chat:
        made = await _populate(chat)
    first = tmp_path / "first.tar.gz"
    exported = chatd("export", str(first), database_url=sqlite_url, data_dir=tmp_path / "a" / "data")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == "" and exported.stderr == ""  # not a terminal: quiet

    pg_server.create_database("imported")
    pg_url = pg_server.url_for("imported")
    imported = chatd("import", str(first), database_url=pg_url, data_dir=tmp_path / "b" / "data")
    assert imported.returncode == 0, imported.stderr
    again = tmp_path / "again"
    exported = chatd("export", str(again), database_url=pg_url, data_dir=tmp_path / "b" / "data")
    assert exported.returncode == 0, exported.stderr

    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    subprocess.run(["tar", "-xzf", str(first), "-C", str(unpacked)], check=True)
    assert _content(unpacked) == _content(again)
    channels = {c["name"]: c for c in _rows(again, "channels")}
    assert all("member_count" not in c for c in channels.values())  # derived: counted again by the import
    assert [e["seq"] for e in _rows(again, "channel_events") if e["channel_id"] == int(made["general"])] == list(
        range(1, channels["general"]["last_seq"] + 1)
    )
    assert (again / "files" / made["file"]["id"] / "original").read_bytes() == b"file bytes \x00\x01 survive"

    # The imported server works: people log in with their passwords, search finds old words, files download,
    # and the next event of a channel takes the seq after the imported ones.
    async with Harness.running(make_settings(pg_url, tmp_path / "b")) as chat:
        alice = made["alice"]
        login = await chat.anonymous("POST", "/user/login", json={"username": alice.user.username, "password": "correct horse battery"})
        assert login.status_code == 200
        again_alice = Actor(chat, alice.user, login.json()["session_id"])
        hits = await again_alice.get("/message/search", query="cafe")
        counted = [(await again_alice.get("/channel/read", id=made[name]))["member_count"] for name in ("general", "secret")]
        assert counted == [2, 1]
        assert [h["id"] for h in hits["items"]] == [made["first"]["id"]]
        downloaded = await again_alice.call("GET", "/file/download", params={"id": made["file"]["id"]})
        assert downloaded.content == b"file bytes \x00\x01 survive"
        chat.events.clear()
        await again_alice.post("/message/edit", channel_id=made["general"], contents="after the move")
        assert [e.seq for e in chat.events if e.channel_id == int(made["general"])] == [channels["general"]["last_seq"] + 1]


async def test_import_refuses_a_database_that_is_not_empty(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/chatd.db"
    async with Harness.running(make_settings(url, tmp_path)) as chat:
        await _populate(chat)
    archive = tmp_path / "out"
    assert chatd("export", str(archive), database_url=url, data_dir=tmp_path / "data").returncode == 0
    refused = chatd("import", str(archive), database_url=url, data_dir=tmp_path / "data")
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "not empty" in refused.stderr and "chatd.db" in refused.stderr
    exists = chatd("export", str(archive), database_url=url, data_dir=tmp_path / "data")
    assert exists.returncode == 1 and "already exists" in exists.stderr and exists.stderr.count("\n") == 1
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"not a tar")
    bad = chatd("import", str(garbage), database_url=f"sqlite+aiosqlite:///{tmp_path}/new.db", data_dir=tmp_path / "new")
    assert bad.returncode == 1 and "neither a folder nor a tar" in bad.stderr and bad.stderr.count("\n") == 1


async def test_an_organisation_exports_alone_with_the_users_it_refers_to(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/chatd.db"
    async with Harness.running(make_settings(url, tmp_path)) as chat:
        acme = await _populate(chat, "Acme")
        other = await _populate(chat, "Other")
        loner = await chat.user()
    archive = tmp_path / "acme"
    done = chatd("export", "--org", "Acme", str(archive), database_url=url, data_dir=tmp_path / "data")
    assert done.returncode == 0, done.stderr
    assert [o["name"] for o in _rows(archive, "organisations")] == ["Acme"]
    assert {c["name"] for c in _rows(archive, "channels")} == {"general", "secret"}
    assert {str(u["id"]) for u in _rows(archive, "users")} == {acme["alice"].id, acme["bob"].id}
    assert loner.id not in {str(u["id"]) for u in _rows(archive, "users")} and other["alice"].id != acme["alice"].id
    assert not (archive / "tables" / "sessions.jsonl").exists()
    fresh = f"sqlite+aiosqlite:///{tmp_path}/fresh.db"
    loaded = chatd("import", str(archive), database_url=fresh, data_dir=tmp_path / "fresh")
    assert loaded.returncode == 0, loaded.stderr
    listed = orjson.loads(chatd("user", "list", "--json", database_url=fresh, data_dir=tmp_path / "fresh").stdout)
    assert sorted(u["id"] for u in listed) == sorted([acme["alice"].id, acme["bob"].id])


@pytest.mark.parametrize("archive_name", ["plain-folder", "packed.tar"])
async def test_export_and_import_take_a_folder_or_a_tar(tmp_path: Path, archive_name: str) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/chatd.db"
    async with Harness.running(make_settings(url, tmp_path)) as chat:
        await _populate(chat)
    archive = tmp_path / archive_name
    assert chatd("export", str(archive), database_url=url, data_dir=tmp_path / "data").returncode == 0
    assert archive.is_dir() == (archive_name == "plain-folder")
    fresh = f"sqlite+aiosqlite:///{tmp_path}/fresh.db"
    assert chatd("import", str(archive), database_url=fresh, data_dir=tmp_path / "fresh").returncode == 0
    assert len(orjson.loads(chatd("user", "list", "--json", database_url=fresh, data_dir=tmp_path / "fresh").stdout)) == 2

"""Benchmark: ``chatd export`` (and ``chatd import``) of a SQLite server holding 100,000 messages.

Builds the database directly (10 channels, 100,000 messages, their event log and search index), then times,
in the same run:
- the baseline: reading every exported row with the stdlib ``sqlite3`` module, no encoding, no writing;
- ``chatd export FILE.tar.gz`` and ``chatd export FOLDER`` as an operator runs them (a fresh process);
- ``chatd import`` of that folder into a new SQLite database.
Results go to bench-results/export.json; docs/scaling.md quotes them.

    .venv/bin/python scripts/bench_export.py [--messages 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatd.core.assembly import build_core  # noqa: E402
from chatd.config import load_settings  # noqa: E402
from chatd.store import dump, message_fts, migrations  # noqa: E402
from chatd.store.words import document  # noqa: E402

CHANNELS = 10
T0 = 1_750_000_000_000


def build(path: Path, messages: int) -> None:
    async def schema() -> None:
        core = build_core(load_settings(environ={"CHATD_DATABASE__URL": f"sqlite+aiosqlite:///{path}"}))
        await migrations.upgrade(core.db, T0)
        await core.close()

    asyncio.run(schema())
    db = sqlite3.connect(path)
    db.execute("INSERT INTO users (id, username, username_key, email, email_key, status, is_admin, profile, created_at, updated_at)"
               " VALUES (1, 'alice', 'alice', 'a@example.com', 'a@example.com', 'active', 0, '{}', ?, ?)", (T0, T0))
    db.execute("INSERT INTO organisations (id, name, created_by, created_at, updated_at, profile) VALUES (2, 'Acme', 1, ?, ?, '{}')", (T0, T0))
    per_channel = messages // CHANNELS
    for c in range(CHANNELS):
        channel_id = 100 + c
        db.execute("INSERT INTO channels (id, organisation_id, name, type, created_by, created_at, updated_at, last_seq)"
                   " VALUES (?, 2, ?, 'public', 1, ?, ?, ?)", (channel_id, f"channel-{c}", T0, T0, per_channel))
        rows, events, words = [], [], []
        for n in range(per_channel):
            message_id = 1_000_000 + c * per_channel + n
            text = f"message {n} in channel {c}: the quick brown fox jumps over the lazy dog"
            at = T0 + n
            rows.append((message_id, channel_id, 1, "MESSAGE", text, "{}", at, at))
            payload = json.dumps({"id": str(message_id), "channel_id": str(channel_id), "user_id": "1", "contents": text,
                                  "created_at": "2025-06-15T12:00:00.000Z", "files": [], "reactions": []})
            events.append((channel_id, n + 1, 10_000_000 + message_id, "message", "CREATED", 1, payload, at))
            words.append((message_id, document(text), 1))
        db.executemany("INSERT INTO messages (id, channel_id, user_id, type, contents, meta, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)", rows)
        db.executemany("INSERT INTO channel_events (channel_id, seq, id, type, event, actor_id, payload, created_at) VALUES (?,?,?,?,?,?,?,?)", events)
        db.executemany(message_fts.INSERT, words)
    db.commit()
    db.close()


def baseline(path: Path) -> tuple[float, int]:
    """Read every row chatd exports, in the same order, and do nothing with it."""
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    started = time.perf_counter()
    count = 0
    for table in dump.tables():
        keys = ", ".join(str(c.name) for c in table.primary_key.columns)
        for _ in db.execute(f"SELECT * FROM {table.name} ORDER BY {keys}"):
            count += 1
    db.close()
    return time.perf_counter() - started, count


def chatd(*args: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "chatd", *args], env=env, check=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "source.db"
        build(source, args.messages)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATD_")}
        source_env = env | {"CHATD_DATABASE__URL": f"sqlite+aiosqlite:///{source}", "CHATD_SERVER__DATA_DIR": str(work / "data")}
        read_seconds, rows = baseline(source)
        tar_seconds = chatd("export", str(work / "out.tar.gz"), env=source_env)
        folder_seconds = chatd("export", str(work / "out"), env=source_env)
        target_env = env | {"CHATD_DATABASE__URL": f"sqlite+aiosqlite:///{work}/target.db", "CHATD_SERVER__DATA_DIR": str(work / "t")}
        import_seconds = chatd("import", str(work / "out"), env=target_env)
        result = {
            "messages": args.messages,
            "rows": rows,
            "database_mb": round(source.stat().st_size / 1e6, 1),
            "baseline_read_seconds": round(read_seconds, 2),
            "export_folder_seconds": round(folder_seconds, 2),
            "export_tar_gz_seconds": round(tar_seconds, 2),
            "export_tar_gz_mb": round((work / "out.tar.gz").stat().st_size / 1e6, 1),
            "import_seconds": round(import_seconds, 2),
            "export_folder_vs_baseline": round(folder_seconds / read_seconds, 1),
        }
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "export.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""``chatd db backup``: a consistent copy of a SQLite database while it serves (SQLite's online backup API).

The copy is taken in one step inside one read transaction, so it is the database as of one commit; in WAL
mode writers go on meanwhile. It is written next to the target and renamed into place once checked
(``PRAGMA quick_check``), so a failed backup never leaves a half-written file under the chosen name.
PostgreSQL has pg_dump for this; ``chatd export`` is the portable form for either.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


class BackupError(Exception):
    """The backup could not be made; ``str()`` says why."""


def backup_sqlite(source: Path, target: Path) -> int:
    """Copy ``source`` to ``target`` (a file, not in use); returns the copy's size in bytes."""
    if not source.exists():
        raise BackupError(f"no database at {source}")
    if target.resolve() == source.resolve():
        raise BackupError(f"{target} is the database itself; choose another path")
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)  # all pages in one step: one consistent snapshot
                dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file, no -wal beside it
                problems = [row[0] for row in dst.execute("PRAGMA quick_check")]
            finally:
                dst.close()
        finally:
            src.close()
        if problems != ["ok"]:
            raise BackupError(f"the copy failed its integrity check: {problems[0]}")
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up {source} to {target}: {exc}") from None
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size

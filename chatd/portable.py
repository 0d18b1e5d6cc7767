"""``chatd export`` and ``chatd import``: a whole server (or one organisation) as JSON lines plus file bytes.

The archive is a folder, or the same folder in a tar (``.tar``, ``.tar.gz``, ``.tgz``)::

    manifest.json            format, versions, the organisation (or null), row counts
    tables/<table>.jsonl     one JSON object per row, columns as stored, primary key order
    files/<storage key>      the bytes of every exported file (and thumbnail)

Export reads one consistent snapshot, so it is safe while serving. Import loads an archive into an *empty*
database (SQLite or PostgreSQL; the schema is created if missing) in one transaction, rebuilds the search
index and writes the files; exporting the result again gives the same tables and files, byte for byte
(docs/operations.md, "Moving to PostgreSQL"). A progress bar is shown on a terminal only.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import orjson
from tqdm import tqdm

from . import __version__
from .core.clock import iso
from .core.context import Core
from .domain.errors import ChatdError, Conflict
from .store import channel_members as member_store
from .store import dump, migrations
from .store.db import is_outage
from .store.tables import files as files_table
from .store.tables import messages as messages_table
from .store.tables import organisations, users

FORMAT = "chatd-export"
FORMAT_VERSION = 1
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")


class ArchiveError(ChatdError):
    """The archive cannot be written or read as asked; the message names the file and the problem."""


@dataclass
class Summary:
    tables: dict[str, int] = field(default_factory=dict)
    files: int = 0
    missing_files: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def _is_tar(path: Path) -> bool:
    return path.name.endswith(TAR_SUFFIXES)


def _progress(total: int, what: str) -> tqdm:  # type: ignore[type-arg, unused-ignore]
    """A bar on a terminal (stderr), nothing otherwise."""
    return tqdm(total=total, unit=" rows", desc=what, disable=None, leave=False, dynamic_ncols=True)


# -- export ---------------------------------------------------------------------------------------


async def export(core: Core, target: Path, org_id: int | None = None) -> Summary:
    """Write the archive to ``target`` (which must not exist); returns what it holds."""
    if target.exists():
        raise ArchiveError(f"{target} already exists: choose a new name (an export never overwrites)")
    if not target.parent.is_dir():
        raise ArchiveError(f"{target.parent} is not a directory")
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        summary = await _export_into(core, work, org_id)
        if _is_tar(target):
            partial = target.with_name(f".{target.name}.part")
            compressed = target.name.endswith(("gz", ".tgz"))
            with tarfile.open(partial, "w:gz") if compressed else tarfile.open(partial, "w") as archive:
                for entry in sorted(work.iterdir()):
                    archive.add(entry, arcname=entry.name)
            os.replace(partial, target)
        else:
            os.replace(work, target)
        return summary
    except OSError as exc:
        raise ArchiveError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
        target.with_name(f".{target.name}.part").unlink(missing_ok=True)


async def _export_into(core: Core, work: Path, org_id: int | None) -> Summary:
    scope = dump.Scope(org_id)
    summary = Summary()
    (work / "tables").mkdir()
    try:
        async with core.db.engine.connect() as conn:
            async with conn.begin():
                await dump.snapshot(conn)
                if org_id is not None and not await dump.count(conn, organisations, organisations.c.id == org_id):
                    raise ArchiveError(f"no organisation {org_id}")
                chosen = [t for t in dump.tables() if scope.includes(t)]
                # One organisation: users and files last, once every row pointing at them was seen.
                ordered = [t for t in chosen if t not in (users, files_table)] + [files_table, users]
                dialect = conn.dialect.name
                totals = {}
                for table in ordered:
                    if table in (users, files_table) and org_id is not None:
                        continue
                    totals[table.name] = await dump.count(conn, table, scope.where(table, dialect))
                with _progress(sum(totals.values()), "export") as bar:
                    for table in ordered:
                        if table is files_table and org_id is not None:
                            await scope.close_over(conn)
                        written = 0
                        with open(work / "tables" / f"{table.name}.jsonl", "wb") as out:
                            async for row in dump.rows(conn, table, scope.where(table, dialect)):
                                if org_id is not None:
                                    scope.note(table, row)
                                out.write(orjson.dumps(row))
                                out.write(b"\n")
                                written += 1
                                if table is files_table:
                                    await _copy_blobs(core, row, work, summary)
                                if written % 1000 == 0:
                                    bar.update(1000)
                        bar.update(written % 1000)
                        summary.tables[str(table.name)] = written
    except Exception as exc:
        if is_outage(exc):
            raise core.db.unavailable(exc) from exc
        raise
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "chatd_version": __version__,
        "schema_version": migrations.LATEST,
        "exported_at": iso(core.clock.now_ms()),
        "source": core.db.dialect,
        "organisation": None if org_id is None else str(org_id),
        "tables": summary.tables,
        "files": summary.files,
    }
    (work / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return summary


async def _copy_blobs(core: Core, row: dict[str, Any], work: Path, summary: Summary) -> None:
    for key in (row["storage_key"], row.get("thumbnail_key")):
        if not key:
            continue
        try:
            data = await core.files.get(key)
        except (FileNotFoundError, ValueError):
            if row.get("status") == "ready" and row.get("deleted_at") is None:
                summary.missing_files.append(key)
            continue
        path = work / "files" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        summary.files += 1


# -- import ---------------------------------------------------------------------------------------


@contextmanager
def _opened(source: Path) -> Iterator[Path]:
    """The archive as a folder: the folder itself, or a tar unpacked into a temporary one."""
    if source.is_dir():
        yield source
        return
    if not source.exists():
        raise ArchiveError(f"{source}: no such file or folder")
    if not tarfile.is_tarfile(source):
        raise ArchiveError(f"{source} is neither a folder nor a tar archive made by `chatd export`")
    work = Path(tempfile.mkdtemp(prefix=".chatd-import."))
    try:
        with tarfile.open(source) as archive:
            for member in archive.getmembers():
                if member.name.startswith(("/", "..")) or ".." in Path(member.name).parts or not (member.isfile() or member.isdir()):
                    raise ArchiveError(f"{source}: unexpected entry {member.name!r}; not an archive made by `chatd export`")
            archive.extractall(work)  # names checked above: plain files and folders inside ``work`` only
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def read_manifest(folder: Path, source: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = orjson.loads((folder / "manifest.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        raise ArchiveError(f"{source} has no readable manifest.json; not an archive made by `chatd export`") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise ArchiveError(f"{source}: unknown archive format {manifest.get('format')!r} {manifest.get('format_version')!r}")
    if int(manifest.get("schema_version", 0)) > migrations.LATEST:
        raise ArchiveError(
            f"{source} was exported at schema version {manifest['schema_version']}, newer than this chatd "
            f"({migrations.LATEST}): import it with a newer chatd"
        )
    return manifest


async def import_archive(core: Core, source: Path) -> Summary:
    """Load the archive into this core's database, which must hold no users or organisations."""
    with _opened(source) as folder:
        manifest = read_manifest(folder, source)
        await migrations.upgrade(core.db, core.clock.now_ms())
        async with core.reading() as conn:
            present = {t.name: n for t in dump.tables() if (n := await dump.row_count(conn, t))}
        if present:
            held = ", ".join(f"{n} {name}" for name, n in sorted(present.items())[:3])
            raise Conflict(
                f"the database {core.db.where} is not empty ({held}): import needs a new, empty database "
                "(point database.url or the data directory at a new one)"
            )
        summary = Summary()
        total = sum(int(n) for n in manifest.get("tables", {}).values())
        with _progress(total, "import") as bar:
            async with core.db.write() as conn:
                for table in dump.tables():
                    summary.tables[str(table.name)] = await _load_table(conn, table, folder, source, bar)
                await member_store.recount(conn)  # derived, so not in the archive (``dump.DERIVED``)
        blobs = folder / "files"
        if blobs.is_dir():
            for path in sorted(p for p in blobs.rglob("*") if p.is_file()):
                await core.files.put(path.relative_to(blobs).as_posix(), path.read_bytes())
                summary.files += 1
    return summary


async def _load_table(conn: Any, table: Any, folder: Path, source: Path, bar: Any) -> int:
    path = folder / "tables" / f"{table.name}.jsonl"
    if not path.exists():
        return 0
    columns = set(table.columns.keys())
    loaded = 0
    batch: list[dict[str, Any]] = []
    with open(path, "rb") as rows:
        for number, line in enumerate(rows, 1):
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise ArchiveError(f"{source}: tables/{table.name}.jsonl line {number} is not JSON") from None
            unknown = set(row) - columns
            if unknown:
                raise ArchiveError(f"{source}: tables/{table.name}.jsonl line {number} has unknown columns {sorted(unknown)}")
            batch.append(row)
            if len(batch) == dump.BATCH:
                loaded += await _flush(conn, table, batch, bar)
    return loaded + await _flush(conn, table, batch, bar)


async def _flush(conn: Any, table: Any, batch: list[dict[str, Any]], bar: Any) -> int:
    count = len(batch)
    await dump.insert(conn, table, batch)
    if table is messages_table:
        await dump.reindex(conn, batch)
    bar.update(count)
    batch.clear()
    return count

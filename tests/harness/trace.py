"""What a refusal must leave behind: nothing. A ``Trace`` is every stored row, every stored file and the count
of events published; two traces around a refused request must be equal. A refused change commits nothing, so
nothing is published either (docs/design.md §3 errors, §4.1 events only after their commit).

Bookkeeping that any authenticated request may touch is left out: last-seen times of users, sessions and
tokens, and the node lease, which a background task renews. Presence events come from a background
heartbeat, so they are never "caused" by a request.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import httpx

from sqlalchemy import ColumnElement, Text, cast, func, literal, select, union_all

from chatd.domain.events import Event
from chatd.store.tables import metadata

IGNORED_TABLES = {"node_leases", "schema_version"}
IGNORED_COLUMNS = {("users", "last_seen_at"), ("sessions", "last_seen_at"), ("access_tokens", "last_used_at")}
BACKGROUND_EVENTS = {"presence"}


class ApiError(AssertionError):
    """A call answered something other than what the test expected."""


def caused(events: Sequence[Event]) -> list[Event]:
    """The events a request may have caused: all but the background presence heartbeats."""
    return [e for e in events if e.type not in BACKGROUND_EVENTS]


_ROW_END, _FIELD_END, _NULL = "\x1e", "\x1f", "\x01null"


def _every_row() -> Any:
    """One statement answering, per table, all its rows as one string (rows and fields joined by separators)."""
    selects = []
    for table in metadata.sorted_tables:
        if table.name in IGNORED_TABLES:
            continue
        fields = [
            func.coalesce(cast(c, Text), _NULL) for c in table.columns if (table.name, c.name) not in IGNORED_COLUMNS
        ]
        row: ColumnElement[str] = fields[0]
        for field in fields[1:]:
            row = row.concat(_FIELD_END).concat(field)
        selects.append(select(literal(table.name), func.aggregate_strings(row, _ROW_END)).select_from(table))
    return union_all(*selects)


_EVERY_ROW = _every_row()
_TABLES = [t.name for t in metadata.sorted_tables if t.name not in IGNORED_TABLES]


@dataclass(frozen=True)
class Trace:
    rows: dict[str, Counter[str]]  # each table's rows, one string per row
    files: frozenset[str]  # what is stored on disk under the data directory
    events: Sequence[Event]  # the harness's list, as it grows
    seen: int  # how many of them were published when the trace was taken

    @classmethod
    async def take(cls, core: Any, events: Sequence[Event]) -> "Trace":
        rows: dict[str, Counter[str]] = {table: Counter() for table in _TABLES}
        async with core.reading() as conn:
            for table, text in await conn.execute(_EVERY_ROW):  # one statement: a refusal is checked twice
                rows[table] = Counter(text.split(_ROW_END)) if text else Counter()
        data = Path(core.settings.data_path)
        files = frozenset(str(p.relative_to(data)) for p in data.rglob("*") if p.is_file()) if data.exists() else frozenset()
        return cls(rows, files, events, len(events))


def no_trace_between(before: Trace, after: Trace, what: str) -> None:
    """Assert nothing was stored or published between the two traces; the message lists what was."""
    emitted = caused(after.events[before.seen : after.seen])
    changed = []
    for table, rows in after.rows.items():
        added, removed = rows - before.rows[table], before.rows[table] - rows
        if added or removed:
            changed.append(f"{table}: +{_show(added)} -{_show(removed)}")
    if after.files != before.files:
        changed.append(f"files: +{sorted(after.files - before.files)} -{sorted(before.files - after.files)}")
    assert not emitted and not changed, f"{what} was refused but left a trace: events {emitted}, stored {changed}"


def _show(rows: Counter[str]) -> list[str]:
    return [row.replace(_FIELD_END, " | ").replace(_NULL, "null") for row in sorted(rows.elements())]


def error_of(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert ``response`` is the house error (docs/api.md "Errors") with ``status`` and ``code``; the body."""
    where = f"{response.request.method} {response.request.url.path}"
    if response.status_code != status:
        raise ApiError(f"{where}: expected {status}, got {response.status_code}: {response.text}")
    body = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str), (
        f"{where}: not an error body: {response.text}"
    )
    if code is not None and error["code"] != code:
        raise ApiError(f"{where}: expected error {code!r}, got {error['code']!r}: {response.text}")
    return body  # type: ignore[no-any-return]


def fields_of(body: dict[str, Any]) -> dict[str, str]:
    """The per-field messages of an error body (``{}`` when it names no field)."""
    return body["error"].get("fields", {})  # type: ignore[no-any-return]

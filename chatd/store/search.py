"""Full-text search over messages: SQLite FTS5 or PostgreSQL ``tsvector``, one API, the same results.

chatd decides what the words are, not the engines: ``terms`` folds case (``casefold``: ``Straße`` is
``strasse``), compatibility forms (``ｆｕｌｌ`` is ``full``) and accents (``café`` is ``cafe``) and splits on
everything that is not a letter or a digit. Both engines index only those words, space-separated
(``document``), and a query is those words too, each matched as a literal term, all required. So
``example.com`` is ``example`` and ``com`` on both backends (PostgreSQL's own parser would keep it as one
host name, SQLite's would split it), and quotes, ``AND``/``NEAR``, ``*``, ``:`` or ``&`` are just text,
never a syntax error.

The words (``words.py``) are indexed on PostgreSQL in the ``messages.search_vector`` column (GIN-indexed),
written in the same transaction as the change. SQLite's separate FTS5 table takes new and edited messages in
batches: their words are noted in the same transaction as the change (``search_backlog.py``) and indexed
before the next search at the latest (``core/indexing.py``); a removal takes its message out at once.

A search stays cheap however many messages are stored (docs/performance.md): the word index drives it
(FTS5 on SQLite, walked newest first; GIN or the primary key on PostgreSQL, whichever its planner finds
cheaper), only the newest ``window`` matching messages are taken, and only those are ranked and counted.
Access is one set membership test (``channel_id IN`` the readable channels, listed before the query), never
a check per row. Each query runs under a time budget (``budget``): past it the engine stops it and
``TooSlow`` is raised, so no query holds a connection for long.
"""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator, Literal

from sqlalchemy import ARRAY, BigInteger, Select, any_, bindparam, case, exists, func, literal_column, or_, select, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import BindParameter, ColumnClause

from ..domain.models import Message
from . import message_fts, search_backlog
from .messages import get_messages
from .tables import OTHER_KINDS, channels, messages
from .words import document

_fts = message_fts.TABLE
_SET_VECTOR = text("UPDATE messages SET search_vector = to_tsvector('simple', :words) WHERE id = :id")
_CLEAR_VECTOR = text("UPDATE messages SET search_vector = NULL WHERE id = :id")
_SET_BUDGET = text(
    "SELECT set_config('statement_timeout', :timeout, true), set_config('plan_cache_mode', 'force_custom_plan', true)"
)


def _sqlite(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "sqlite"


async def index_many(conn: AsyncConnection, items: list[tuple[int, int | None, str]]) -> None:
    """Index messages now, with one statement: a restore's. ``items``: (id, author, contents); a removed
    user's messages have no author."""
    if _sqlite(conn):
        values = [(message_id, words, author) for message_id, author, contents in items if (words := document(contents))]
        if values:
            await conn.exec_driver_sql(message_fts.INSERT, values)
    elif items:
        await _set_vectors(conn, [(message_id, contents) for message_id, _, contents in items])


async def _set_vectors(conn: AsyncConnection, items: list[tuple[int, str]]) -> None:
    """PostgreSQL: the words of messages, in their rows."""
    await conn.execute(_SET_VECTOR, [{"words": document(contents), "id": message_id} for message_id, contents in items])


async def unindex(conn: AsyncConnection, message_id: int) -> None:
    """A message was removed: its words leave the index now, and SQLite's backlog forgets them."""
    if _sqlite(conn):
        await conn.execute(_fts.delete().where(_fts.c.rowid == message_id))
        await search_backlog.note(conn, [(message_id, None)], changed=True)
    else:
        await conn.execute(_CLEAR_VECTOR, {"id": message_id})


async def reindex(conn: AsyncConnection, message_id: int, contents: str) -> None:
    """A message's text changed: its new words replace its old ones (on SQLite with the backlog)."""
    if _sqlite(conn):
        await search_backlog.note(conn, [(message_id, document(contents) or None)], changed=True)
    else:
        await _set_vectors(conn, [(message_id, contents)])


class TooSlow(Exception):
    """The engine stopped a search at its time budget."""


@asynccontextmanager
async def budget(conn: AsyncConnection, milliseconds: int) -> AsyncIterator[None]:
    """Stop the statements run inside after ``milliseconds`` (raising ``TooSlow``).

    SQLite: a progress handler, called every few thousand virtual machine steps, interrupts the statements
    once the engine has worked on them for ``milliseconds`` (``_Deadline``: CPU time, with a wall-clock
    backstop; removed when the block ends); PostgreSQL: ``statement_timeout`` for each statement of the rest
    of this read transaction. Both count from the moment the engine starts, not from when the event loop
    entered the block: a busy loop delays a statement's start, and that wait holds no connection's engine."""
    if _sqlite(conn):
        raw = (await conn.get_raw_connection()).driver_connection
        if raw is None:  # never on a live connection: the pool hands out open ones
            raise RuntimeError("search on a closed connection")
        await raw.set_progress_handler(_Deadline(milliseconds / 1000), _PROGRESS_STEPS)
        try:
            yield
        except OperationalError as exc:
            if "interrupted" in str(exc.orig):
                raise TooSlow() from None
            raise
        finally:
            await raw.set_progress_handler(None, _PROGRESS_STEPS)
        return
    # A custom plan for each search: a generic one cannot know how many rows a word or a channel list has.
    # Both settings are local to the read transaction: they end with it (one round trip, not two).
    await conn.execute(_SET_BUDGET, {"timeout": str(int(milliseconds))})
    try:
        yield
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == "57014":  # query_canceled
            raise TooSlow() from None
        raise


_PROGRESS_STEPS = 4000  # SQLite steps between two looks at the clocks: a few dozen microseconds of work
WALL_FACTOR = 5  # SQLite's wall-clock backstop, in budgets


class _Deadline:
    """SQLite's progress handler for ``budget``. Its first call (a few thousand steps into the first statement,
    on the engine's thread) starts the clocks; a later call stops the statement once the engine has spent the
    budget's CPU time on it, or ``WALL_FACTOR`` budgets have passed on the wall clock.

    CPU time, because that is the query's own cost: chatd's threads share a core (one, when pinned), and a
    search that needs 30 ms of work can take 100 ms and more of wall time when the core is busy elsewhere or
    its pages come from the disk; stopped at 100 ms of wall time, the first search of a common word after a
    benchmark's other scenarios failed with 503 (docs/performance.md, twelfth pass). The thread is the one
    aiosqlite runs this connection's statements on, so its CPU time is this search's. The wall-clock
    backstop still ends any search that holds its connection far longer than its budget, whatever the cause.
    Statement timeouts, not domain times: they measure this process's work, so no injected clock."""

    __slots__ = ("seconds", "cpu_ends", "wall_ends")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.cpu_ends: float | None = None
        self.wall_ends = 0.0

    def __call__(self) -> bool:
        cpu, wall = time.thread_time(), time.monotonic()
        if self.cpu_ends is None:
            self.cpu_ends, self.wall_ends = cpu + self.seconds, wall + WALL_FACTOR * self.seconds
            return False
        return cpu > self.cpu_ends or wall > self.wall_ends


def _term_frequency_score() -> Any:
    """SQLite's score: BM25's term-frequency part, how often the words occur for the row's length.

    ``bm25()`` itself also weighs each word by its rarity, which FTS5 finds by reading the word's whole
    posting list: 60-90 ms for a word in most of a million messages, whatever the ``LIMIT``. Every row of an
    answer contains every word, so that weight barely separates them; this costs a few microseconds per row
    kept. The instance count is what ``highlight`` adds (one mark per match)."""
    words: ColumnClause[str] = literal_column(f"{message_fts.NAME}.contents")
    found = func.length(func.highlight(literal_column(message_fts.NAME), 0, func.char(1), "")) - func.length(words)
    return _frequency_score(found, words)


def _frequency_score(found: Any, words: ColumnClause[str]) -> Any:
    """The score of ``found`` matches (at least one: every row kept holds every word) in the indexed text
    ``words``; its length counts the spaces of the indexed text (``document``: words one space apart).

    BM25's ``found * (k1 + 1) / (found + k1 * norm)``, written with ``found`` once: SQLite evaluates an
    expression each time it is named, and ``highlight`` (which gives ``found``) re-reads and re-splits the
    row's text, about 2 µs a row twice (2 ms of a common word's 1,001 rows)."""
    size = func.length(words) - func.length(func.replace(words, " ", "")) + 1
    k1, b, average = 1.2, 0.75, 12.0
    # No match would divide by zero, which SQLite answers with NULL: 0, as the product form gave.
    return func.coalesce((k1 + 1) / (1.0 + k1 * (1 - b + b * size / average) / found), 0.0)


def _spaced(words: Any) -> Any:
    """The indexed text with a space before and after each word, the spaces between them doubled: each word
    is `` word `` in it, and two of them never share a space, so every occurrence is found and counted."""
    return literal_column("' '").op("||")(func.replace(words, " ", "  ")).op("||")(literal_column("' '"))


def _text_score(query: list[str]) -> Any:
    """``_term_frequency_score`` without ``MATCH`` (``highlight`` needs one): the query's words counted in the
    indexed text, each distinct word's occurrences once, as ``highlight`` marks each matching word once."""
    words: ColumnClause[str] = literal_column(f"{message_fts.NAME}.contents")
    spaced = _spaced(words)
    counts = [
        (func.length(spaced) - func.length(func.replace(spaced, f" {word} ", ""))) / (len(word) + 2)
        for word in dict.fromkeys(query)
    ]
    found = counts[0]
    for count in counts[1:]:
        found = found + count
    return _frequency_score(found, words)


_SCORE = _term_frequency_score()  # built once: a few dozen operator lookups in SQLAlchemy per search otherwise

First = Literal["author", "kind"]  # which filter's few messages are read first (``candidates``)
NARROW_SHARE = 0.05  # SQLite: below this share of all messages, a reader's channels are checked by their index
AUTHOR_LISTED = 20_000  # an author of at most this many messages: their messages drive a search by author
SCANNED = 4_000  # SQLite: at most this many of an author's messages are each read from the word index's text
SAMPLED = 200  # SQLite, a narrow reader of one channel: its newest messages that tell whether the words are common
COMMON_SHARE = 0.25  # …and the share of them holding every word past which its newest messages' text is read
SCANNED_NEWEST = 8_000  # …at most this many of them (about 40 ms), before the word index is walked after all

PLAIN = "MESSAGE"  # the kind of nearly every message: the others are in ``ix_messages_kinds``
_NOT_PLAIN: ColumnClause[Any] = literal_column(f"messages.{OTHER_KINDS}")  # that index's condition, said so SQLite may use it
KINDS_LISTED = 20_000  # at most this many messages of a kind in the reader's channels: they drive a listing

_AUTHORED_COUNT = select(func.count()).select_from(
    select(literal_column("1")).where(messages.c.user_id == bindparam("user_id")).limit(bindparam("limit")).subquery()
)


async def authors_count(conn: AsyncConnection, user_id: int) -> int:
    """How many messages ``user_id`` wrote, counted up to ``AUTHOR_LISTED`` + 1, in the author's index (the
    unique ``(user_id, client_msg_id)``, which leads with the author) without reading a row.

    It decides how a search by author finds the messages: an author of few (at most ``AUTHOR_LISTED``) from
    their own, an author of more by a walk newest first that checks the author on each message, finding their
    newest soon. Both ways failed at 1,000,000 messages before: the walk for an author of few went through the
    whole store (past the budget: a 503 for "messages from Ann"), and SQLite, reading all the messages of an
    author of 50,000 by that index to sort them, did too (docs/performance.md, "Searches by author")."""
    limit = AUTHOR_LISTED + 1
    return int((await conn.execute(_AUTHORED_COUNT, {"user_id": user_id, "limit": limit})).scalar_one())


async def kinds_count(conn: AsyncConnection, kind: str, channel_ids: list[int]) -> int:
    """How many messages of ``kind`` (not a plain message) the channels hold, counted up to ``KINDS_LISTED`` + 1
    in ``ix_messages_kinds`` without reading a row. A listing of at most that many (a channel's files, say)
    reads them from there; walking every message newest first for them went through the whole store when they
    were few (1,000,000 messages: a 503 on SQLite, 90-98 ms on PostgreSQL)."""
    mine = (messages.c.channel_id == channel_ids[0] if len(channel_ids) == 1 else messages.c.channel_id.in_(
        bindparam("channel_ids", channel_ids, expanding=True)))
    kinds: Select[Any] = select(literal_column("1")).where(
        mine, messages.c.type == kind, _NOT_PLAIN).limit(KINDS_LISTED + 1)
    return int((await conn.execute(select(func.count()).select_from(kinds.subquery()))).scalar_one())


def _listed(channel_ids: list[int]) -> BindParameter[list[int]]:
    """The reader's channels for SQLite, written into the statement (``candidates`` says why)."""
    return bindparam("channel_ids", channel_ids, expanding=True, literal_execute=True)


async def authors_readable(
    conn: AsyncConnection, user_id: int, channel_ids: list[int], conditions: list[Any], limit: int
) -> list[int]:
    """The ids of ``user_id``'s live messages in ``channel_ids`` that meet ``conditions``, at most ``limit`` (an
    author of few: ``authors_count``). Found by the author's index, each row read for its channel: at most
    ``AUTHOR_LISTED`` rows, about 22 ms for 10,000 at a million messages (SQLite).

    They, not all the author's messages, decide how SQLite finds the author's messages with a word: the admin
    of the benchmark's store wrote 10,168, 95 of them where its reader can read, and reading the indexed text
    of all 10,168 would take about 50 ms, that of the 95 half a millisecond."""
    listed = _listed(channel_ids)
    mine = select(messages.c.id).where(
        messages.c.user_id == user_id, messages.c.deleted_at.is_(None), messages.c.channel_id.in_(listed), *conditions,
    ).limit(limit)
    return [int(row[0]) for row in await conn.execute(mine)]


async def few_messages(conn: AsyncConnection, channel_ids: list[int]) -> bool:
    """Whether the channels hold under ``NARROW_SHARE`` of the messages (by their logs' lengths, one cheap
    query): then most hits of a word are in other channels, and each is best rejected by a probe of the small
    ``(channel_id, id)`` index rather than by reading its row."""
    if not _sqlite(conn):
        return False
    mine = func.sum(case((channels.c.id.in_(bindparam("ids", channel_ids, expanding=True, literal_execute=True)),
                          channels.c.last_seq), else_=0))
    row = (await conn.execute(select(func.sum(channels.c.last_seq), mine))).one()
    total, readable = int(row[0] or 0), int(row[1] or 0)
    return total > 0 and readable < NARROW_SHARE * total


def _present(words: list[str]) -> list[Any]:
    """Every one of ``words`` in the text FTS5 holds for a message (chatd's words one space apart,
    ``words.document``): what a ``MATCH`` of them finds, read without the word index."""
    spaced = _spaced(literal_column(f"{message_fts.NAME}.contents"))
    return [func.instr(spaced, f" {word} ") > 0 for word in dict.fromkeys(words)]


async def common_in(conn: AsyncConnection, words: list[str], channel_id: int, conditions: list[Any]) -> bool:
    """Whether at least ``COMMON_SHARE`` of the channel's newest ``SAMPLED`` messages hold every word (their
    text read, about a millisecond). Then reading the channel's messages newest first finds a window of them
    sooner than FTS5's walk of the word's hits, nearly all in other channels (``scan_from``)."""
    newest = select(messages.c.id).where(
        messages.c.channel_id == channel_id, messages.c.deleted_at.is_(None), *conditions,
    ).order_by(messages.c.id.desc()).limit(SAMPLED).subquery("newest")
    hits = select(func.count()).select_from(newest.join(_fts, _fts.c.rowid == newest.c.id)).where(*_present(words))
    return int((await conn.execute(hits)).scalar_one()) >= COMMON_SHARE * SAMPLED


async def scan_from(conn: AsyncConnection, channel_id: int) -> int:
    """The id from which the channel's newest ``SCANNED_NEWEST`` messages are read (0: all of them), found in
    its ``(channel_id, id)`` index without reading a row."""
    nth = select(messages.c.id).where(messages.c.channel_id == channel_id).order_by(messages.c.id.desc()).offset(
        SCANNED_NEWEST - 1).limit(1)
    return int((await conn.execute(nth)).scalar() or 0)


def candidates(
    conn: AsyncConnection, words: list[str], channel_ids: list[int], conditions: list[Any], count: int,
    narrow: bool = False, authored: list[int] | None = None, ids: tuple[int | None, int | None] = (None, None),
    first: First | None = None, scanned_from: int | None = None, author: int | None = None,
) -> Any:
    """The newest ``count`` live messages of ``channel_ids`` matching ``words`` and ``conditions``: (id, score)
    rows. The planner sees which channels, not a subquery whose size it would guess: SQLite gets the ids written
    into the statement, PostgreSQL as one array planned for its values (``_postgres_candidates``).

    SQLite: FTS5 drives, newest first (``ORDER BY rowid DESC`` is its own order), and each hit is checked
    against ``messages`` by primary key in a correlated ``EXISTS``, so a word in a million messages costs
    what its first ``count`` hits cost. PostgreSQL: the planner picks the GIN index (rare words) or the
    primary key walked backwards (frequent ones); the rank is computed only for the rows kept. ``narrow``
    (SQLite): the channels hold few of the messages (``few_messages``), so hits are checked against the channel
    index first: a reader of 1 % of the messages searching a word in 25,000 went from 185 to 21 ms.

    ``first``: the filters select few messages (an ``"author"``'s: ``authors_count``; a ``"kind"``'s, without
    words: ``kinds_count``), which are read first, then sorted. PostgreSQL reads them in a CTE of their own; SQLite's
    planner finds them by their index when nothing makes it walk the primary key (a listing's unary ``+``),
    and for words reads the indexed text of each of ``authored`` (the author's messages the reader may read)
    when there are at most ``SCANNED``, or else looks each hit of the word up in a list of the author's. Otherwise
    a filter is checked on each message found.
    ``ids``: the range the ids of a time filter's span lie in (``Filters.ids``), where the walk starts.
    ``scanned_from`` (SQLite, one channel whose newest messages mostly hold the words: ``common_in``): its
    messages from that id on are read newest first and their text checked for the words, no word index used.
    ``author`` (SQLite, an author of many, with words): matched in the word index with the words
    (``message_fts.matching``), and left out of ``conditions``; a scan of a channel's text checks it per row."""
    if not _sqlite(conn):
        return _postgres_candidates(
            words, channel_ids, conditions + _within(messages.c.id, ids), count, first is not None)
    listed = _listed(channel_ids)
    readable = messages.c.channel_id.in_(listed)
    live = [messages.c.deleted_at.is_(None), readable, *conditions]
    if not words:
        if not narrow and first != "kind":
            # A listing for a reader of much of the store: walk the primary key newest first and stop at
            # ``count``; the unary ``+`` keeps SQLite from reading every message of the channels to sort them.
            # An author's few are found by the author's index then, a kind's by ``ix_messages_kinds``, which
            # leads with the channel.
            live[1] = literal_column("+messages.channel_id").in_(listed)
        return _listing([*live, *_within(messages.c.id, ids)], count)
    span = _within(_fts.c.rowid, ids)  # FTS5 seeks to a rowid range itself
    match = message_fts.matching(words, author)
    matched = text(f"{message_fts.NAME} MATCH :match").bindparams(match=match)
    score = _SCORE
    if authored is not None:
        # The author's few: the text FTS5 holds for each (read by rowid, with no MATCH) checked for the words,
        # about 5 µs a message (``_present``). Probing the word index for each message instead (``MATCH`` and
        # ``rowid = ?``) took 0.4-1.1 ms a probe for a word in most of a million messages, and a walk of that
        # word's 764,000 hits checking each row read them all to find none of the 95 an author had where the
        # reader could read (1.3 s).
        mine = _fts.c.rowid.in_(bindparam("authored", authored, expanding=True, literal_execute=True))
        return select(_fts.c.rowid.label("id"), _text_score(words).label("score")).where(
            mine, *_present(words), *span).order_by(_fts.c.rowid.desc()).limit(count)
    if scanned_from is not None:
        # One channel's messages newest first by its index, each one's text read by rowid and checked, until
        # ``count`` hold the words: for a word in three of four messages, about 1,300 of them (7 ms), where
        # FTS5's walk of its hits passed some 100,000 in other channels first (50 ms at a million messages).
        recent = [*live, *_written_by(author), messages.c.id >= scanned_from, *_within(messages.c.id, ids)]
        return select(_fts.c.rowid.label("id"), _text_score(words).label("score")).select_from(
            messages.join(_fts, _fts.c.rowid == messages.c.id)).where(*recent, *_present(words)).order_by(
            messages.c.id.desc()).limit(count)
    if first == "author":
        # More of the author's messages than reading their text pays for: their ids (by the author's index,
        # the reader's channels and the filters checked on each row) are listed once into a temporary b-tree,
        # and FTS5 walks the word's hits newest first, each looked up there. Checking each hit's own row
        # instead read a row for every hit of a word in most messages that someone else wrote: 0.2 s for the
        # benchmark's admin (10,168 messages) searching their own. The unary ``+`` keeps SQLite from turning
        # the list into one FTS5 query per id.
        mine = literal_column(f"+{message_fts.NAME}.rowid").in_(select(messages.c.id).where(*live))
        return select(_fts.c.rowid.label("id"), score.label("score")).where(matched, mine, *span).order_by(
            _fts.c.rowid.desc()).limit(count)
    if narrow:
        # The channels' ids, listed once from the covering (channel_id, id) index into a temporary
        # b-tree, and each hit looked up there: most hits are in other channels, and a lookup in a
        # few thousand ids costs a third of a probe of the whole index. The unary ``+`` keeps SQLite
        # from turning the list into one FTS5 query per id. The row is read only for hits that pass.
        mine = literal_column(f"+{message_fts.NAME}.rowid").in_(select(messages.c.id).where(readable))
        hit = exists().where(messages.c.id == _fts.c.rowid, messages.c.deleted_at.is_(None), *conditions)
        return select(_fts.c.rowid.label("id"), score.label("score")).where(matched, mine, hit, *span).order_by(
            _fts.c.rowid.desc()).limit(count)
    hit = exists().where(messages.c.id == _fts.c.rowid, *live)
    return select(_fts.c.rowid.label("id"), score.label("score")).where(matched, hit, *span).order_by(
        _fts.c.rowid.desc()).limit(count)


def _written_by(author: int | None) -> list[Any]:
    """The author checked on each message a walk or a scan finds (``Filters.conditions``' walked form), when
    the word index does not match it."""
    return [] if author is None else [literal_column("+messages.user_id") == author]


def _within(column: Any, ids: tuple[int | None, int | None]) -> list[Any]:
    """``column`` (a message id) within ``ids``: a range for an index to seek to, so a search of last January
    starts there rather than at the newest message; the times themselves are still checked on each row."""
    low, high = ids
    return [*([] if low is None else [column >= low]), *([] if high is None else [column <= high])]


def _listing(live: list[Any], count: int) -> Any:
    """No words: the newest ``count`` messages matching ``live``, all scored alike."""
    return select(messages.c.id, literal_column("0.0").label("score")).where(*live).order_by(
        messages.c.id.desc()).limit(count)


def _postgres_candidates(
    words: list[str], channel_ids: list[int], conditions: list[Any], count: int, first: bool
) -> Any:
    """The channels as one array parameter. Each search is planned for its values (``budget`` asks for a custom
    plan), so the planner sees them as in an ``IN`` list, which it turns into this ``= ANY`` anyway; and the
    statement's text is the same from search to search, so asyncpg prepares it once per connection, and
    SQLAlchemy renders no hundred literals each time. One channel is compared as one value: the planner walks
    that channel's index newest first for it, which it cannot do with ``= ANY`` (a reader of one small channel
    searching the most frequent word: 24 ms, against 65 ms by the primary key)."""
    if len(channel_ids) == 1:  # as ``IN`` with one value becomes: the channel's own index, newest first
        readable = messages.c.channel_id == bindparam("channel_id", channel_ids[0])
    else:
        readable = messages.c.channel_id == any_(bindparam("channel_ids", channel_ids, type_=ARRAY(BigInteger)))
    live = [messages.c.deleted_at.is_(None), readable, *conditions]
    vector: Any = literal_column("messages.search_vector")
    query = func.plainto_tsquery(literal_column("'simple'"), " ".join(words))
    if first:
        # Few messages (an author's, a kind's): all that match are read first, by their index (a materialised
        # CTE is planned apart from the order and the limit). Given the whole statement, the planner may walk
        # the primary key newest first instead, checking the filter on each row: for an author whose messages
        # are mostly where the reader cannot read, through the whole store (past the budget).
        matching = [vector.op("@@")(query)] if words else []
        mine = select(messages.c.id, vector.label("vector")).where(*live, *matching).cte("mine").prefix_with(
            "MATERIALIZED")
        score = func.ts_rank_cd(mine.c.vector, query) if words else literal_column("0.0")
        return select(mine.c.id, score.label("score")).order_by(mine.c.id.desc()).limit(count)
    if not words:
        return _listing(live, count)
    newest = (
        select(messages.c.id, vector.label("vector")).where(vector.op("@@")(query), *live)
        .order_by(messages.c.id.desc()).limit(count).subquery()
    )
    return select(newest.c.id, func.ts_rank_cd(newest.c.vector, query).label("score"))


@dataclass(frozen=True, slots=True)
class Filters:
    """What a search keeps besides its words; each ``None`` keeps every message. Times are epoch ms, inclusive."""

    message_type: str | None = None
    user_id: int | None = None
    since: int | None = None
    until: int | None = None
    ids: tuple[int | None, int | None] = (None, None)  # where ids of that span lie (``core.ids.ids_between``)

    def conditions(self, walked: bool = False, author: bool = True) -> list[Any]:
        """``walked``: the author is checked on each message a walk finds (SQLite, an author of many messages),
        not used to find them: the unary ``+`` keeps SQLite from reading all of the author's messages by their
        index and sorting them (tens of thousands: past the budget), where the newest few are near the top.
        ``author``: False when the word index matches the author instead (``candidates``)."""
        where: list[Any] = []
        if self.message_type is not None:
            where.append(messages.c.type == self.message_type)
            if self.message_type != PLAIN:  # implied, but said, so that SQLite may use ``ix_messages_kinds``
                where.append(_NOT_PLAIN)
        if self.user_id is not None and author:
            where.extend(_written_by(self.user_id) if walked else [messages.c.user_id == self.user_id])
        if self.since is not None:
            where.append(messages.c.created_at >= self.since)
        if self.until is not None:
            where.append(messages.c.created_at <= self.until)
        return where


async def search(
    conn: AsyncConnection, words: list[str], channel_ids: list[int], filters: Filters, offset: int, limit: int, *,
    window: int, budget_ms: int,
) -> tuple[list[tuple[Message, float]], int, bool]:
    """Live messages of ``channel_ids`` matching every word and ``filters``: a page of them, the total, and
    whether the total was capped at ``window``.

    Only the newest ``window`` matches are considered: ranked best first (newest first among equals), counted
    exactly up to ``window``; ``capped`` says there are more (narrow the query, or the filters, to reach
    them). No words: every message matching ``filters``, newest first (a filtered listing), with the same cap."""
    if not channel_ids:
        return [], 0, False
    async with budget(conn, budget_ms):
        authored: list[int] | None = None  # SQLite, an author of few readable messages: their ids, to read
        walked = author_first = False  # an author of many, checked on each message a walk finds; or of few
        if filters.user_id is not None:
            written = await authors_count(conn, filters.user_id)
            walked, author_first = written > AUTHOR_LISTED, written <= AUTHOR_LISTED
            if author_first and _sqlite(conn) and words:
                readable = await authors_readable(conn, filters.user_id, channel_ids, filters.conditions(), SCANNED + 1)
                authored = readable if len(readable) <= SCANNED else None  # more: listed in ``candidates``
        kind = filters.message_type
        kind_first = (not words and not author_first and kind is not None and kind != PLAIN
                      and await kinds_count(conn, kind, channel_ids) <= KINDS_LISTED)
        narrow = not (author_first or kind_first) and await few_messages(conn, channel_ids)
        # SQLite, an author of many with words: the word index matches the author with them (``message_fts``).
        author = filters.user_id if walked and words and _sqlite(conn) else None
        conditions = filters.conditions(walked and _sqlite(conn), author=author is None)
        first: First | None = "author" if author_first else "kind" if kind_first else None
        ways: list[int | None] = [None]  # the word index; first, for a common word in one small channel, its text
        if narrow and words and len(channel_ids) == 1 and await common_in(
                conn, words, channel_ids[0], conditions + _written_by(author)):
            ways.insert(0, await scan_from(conn, channel_ids[0]))
        for scanned_from in ways:
            newest = candidates(conn, words, channel_ids, conditions, window + 1, narrow, authored, filters.ids, first,
                                scanned_from, author)
            chosen = [(int(row.id), float(row.score), int(row.total)) for row in await conn.execute(
                ranked_page(newest, window, offset, limit))]
            if chosen:
                counted = chosen[0][2]
            elif offset > 0:  # a page past the last: its statement returned no row to carry the count
                counted = int((await conn.execute(select(func.count()).select_from(newest.subquery()))).scalar_one())
            else:
                counted = 0
            if not scanned_from or counted > window:  # the whole channel read, or a full window of its newest
                break
    found = await get_messages(conn, [message_id for message_id, _, _ in chosen])
    hits = [(found[message_id], score) for message_id, score, _ in chosen if message_id in found]
    return hits, min(counted, window), counted > window


def ranked_page(newest: Any, window: int, offset: int, limit: int) -> Any:
    """A page of ``newest`` (``candidates``' window and one more row, newest first) ranked best first, newest
    first among equals, each row with the count of ``newest``: only the page leaves the engine, not the
    thousand rows a common word fills the window with (their rows and their sort cost PostgreSQL's searches
    several milliseconds in Python). The extra row only says the window is full: it is counted, not ranked."""
    found = newest.subquery("found")
    counted = select(
        found.c.id, found.c.score, func.count().over().label("total"), func.min(found.c.id).over().label("oldest"),
    ).subquery("counted")
    # The extra row is the oldest (ids are unique): windows over the whole set find it with no sort of their
    # own, where numbering the rows by id would sort them twice.
    ranked = or_(counted.c.total <= window, counted.c.id > counted.c.oldest)
    return (
        select(counted.c.id, counted.c.score, counted.c.total)
        .where(ranked)
        .order_by(counted.c.score.desc(), counted.c.id.desc())
        .offset(offset).limit(limit)
    )

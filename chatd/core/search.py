"""Message search: full text over what the caller may read, with filters, ranking and a highlighted snippet.

The snippet is cut here, not by the engine, so both backends return the same text: a window of words around
the first match, with matches wrapped in ``<mark>`` and the rest HTML-escaped (safe to render as HTML).

A search considers the newest ``limits.search_window`` matches (ranked, and counted exactly up to there;
``SearchPage.capped`` says there were more) and runs within ``limits.search_budget_ms``, past which it
fails with 503 ``unavailable`` rather than hold a database connection (docs/api.md, docs/performance.md).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from ..domain.codes import Code
from ..domain.errors import BadRequest, ChatdError
from ..domain.models import MESSAGE_TYPES, MessageView, Principal
from ..store import search as search_index
from ..store.words import WORD, terms
from .access import access_channel, readable_accesses
from .clock import parse_iso
from .context import Core
from .ids import ids_between
from .message_views import views_across
from .paging import Page, PageRequest

SNIPPET_WORDS = 24
QUERY_MAX = 256


class SearchTimeout(ChatdError):
    status = 503
    code = Code.UNAVAILABLE


@dataclass(slots=True)
class SearchPage(Page["Hit"]):
    """A page whose ``total`` stops at the search window; ``capped``: more messages matched than that."""

    capped: bool = False


@dataclass(slots=True)
class Hit:
    view: MessageView
    snippet: str
    score: float


def snippet(contents: str, words: list[str]) -> str:
    """A window of about ``SNIPPET_WORDS`` words from the first match, matches marked, the rest escaped."""
    if not contents.isascii():
        return _folded_snippet(contents, words)
    # Most messages: one pattern finds the first match and marks the window (a third of the time of looking
    # at each token's words, for every hit of a page; a test holds the two to the same answers).
    pattern = _ascii_words(tuple(words))
    found = pattern.search(contents)
    first = found.start() if found else 0
    before = len(contents[:first].split())
    if first > 0 and not contents[first - 1].isspace():
        before -= 1  # the match begins inside a token (``(deploy``): that token is the one
    tokens = contents.split()
    start = max(0, before - SNIPPET_WORDS // 3)
    window = " ".join(tokens[start : start + SNIPPET_WORDS])
    out, done = [], 0
    for match in pattern.finditer(window):
        out.append(html.escape(window[done : match.start()]))
        out.append(f"<mark>{match.group()}</mark>")  # letters and digits: nothing to escape
        done = match.end()
    out.append(html.escape(window[done:]))
    return _ellipsized("".join(out), start, len(tokens))


@lru_cache(maxsize=256)
def _ascii_words(words: tuple[str, ...]) -> re.Pattern[str]:
    """The words as one pattern over ASCII text, where ``terms`` are runs of letters and digits in lower case:
    each word whole, in any case. A word with other characters cannot occur in ASCII text."""
    alternatives = "|".join(re.escape(word) for word in dict.fromkeys(words) if word.isascii())
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives or '(?!)'})(?![A-Za-z0-9])", re.IGNORECASE)


def _folded_snippet(contents: str, words: list[str]) -> str:
    """``snippet`` of a text with other characters than ASCII: each token's words folded as ``terms`` does
    (accents, compatibility forms), so a match is marked where the index found it."""
    wanted = set(words)
    tokens = contents.split()
    first = next((i for i, token in enumerate(tokens) if not wanted.isdisjoint(terms(token))), 0)
    start = max(0, first - SNIPPET_WORDS // 3)
    window = tokens[start : start + SNIPPET_WORDS]
    return _ellipsized(" ".join(_marked(token, wanted) for token in window), start, len(tokens))


def _ellipsized(text: str, start: int, tokens: int) -> str:
    if start > 0:
        text = "… " + text
    if start + SNIPPET_WORDS < tokens:
        text += " …"
    return text


def _marked(token: str, wanted: set[str]) -> str:
    """``token`` escaped, each of its words that matches marked: the word, not the punctuation around it
    (``(deploy),`` marks ``deploy``; ``example.com`` searched for ``example`` marks ``example``)."""
    if wanted.isdisjoint(terms(token)):
        return html.escape(token)
    out, done = [], 0
    for word in WORD.finditer(token):
        if not wanted.isdisjoint(terms(word.group())):
            out.append(html.escape(token[done : word.start()]))
            out.append(f"<mark>{html.escape(word.group())}</mark>")
            done = word.end()
    out.append(html.escape(token[done:]))
    return "".join(out)


def _when(value: str | None, field: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return parse_iso(value)
    except ValueError:
        try:
            return int(datetime.fromisoformat(value + "T00:00:00+00:00").timestamp() * 1000)
        except ValueError:
            raise BadRequest.field(field, "must be an ISO 8601 date or time") from None


async def search_messages(
    core: Core,
    principal: Principal,
    query: str,
    *,
    message_type: str | None = None,
    channel_id: int | None = None,
    user_id: int | None = None,
    since: str | None = None,
    until: str | None = None,
    page: PageRequest,
) -> SearchPage:
    if len(query) > QUERY_MAX:
        raise BadRequest.field("query", f"at most {QUERY_MAX} characters")
    words = terms(query)
    if query.strip() and not words:
        raise BadRequest.field("query", "give at least one word to search for (operators alone match nothing)")
    if message_type is not None and message_type not in MESSAGE_TYPES:
        raise BadRequest.field("message_type", "must be one of " + ", ".join(MESSAGE_TYPES))
    since_ms, until_ms = _when(since, "since"), _when(until, "until")
    filters = search_index.Filters(message_type, user_id, since_ms, until_ms, ids_between(since_ms, until_ms))
    await core.indexer.settle()  # every message acknowledged before this search is in the index
    async with core.reading() as conn:
        if channel_id is not None:
            accesses = {channel_id: await access_channel(conn, principal, channel_id)}
        else:
            accesses = await readable_accesses(conn, principal)
        limits = core.settings.limits
        try:
            found, total, capped = await search_index.search(
                conn, words, list(accesses), filters, page.offset, page.per_page, window=limits.search_window,
                budget_ms=limits.search_budget_ms,
            )
        except search_index.TooSlow:
            raise SearchTimeout(
                f"the search took longer than {limits.search_budget_ms} ms and was stopped: "
                "add words or filters (channel_id, user_id, since, until)"
            ) from None
        views = await views_across(conn, principal, [m for m, _ in found], accesses)
    hits = [Hit(views[m.id], snippet(m.contents, words), score) for m, score in found if m.id in views]
    return SearchPage(hits, total, page, capped)

"""Posting marks a channel read for its author, up to the post (docs/api.md, "Decision (read marks)").

Whoever says something in a channel has seen what came before it: their read marker moves to their own post,
as it does in the chat servers people know. Without it, a member who posts and never opens the newest page
(a bot over HTTP, a person on another device) kept every message before their posts unread, and every count
of their unread messages walked all of their own posts since the marker to find others' (the count stops at
100 matches, and one's own never match): a connect of the benchmark's sender cost 10 ms with 20,000 of its
own posts in the channel, against 2.6 ms with none (docs/performance.md, seventeenth pass).

Only what counts as unread for others moves it (``UNREAD_TYPES``: what people say, not system notices), and
only a post in the channel itself: a reply in a thread says nothing of the channel. The marker moves with the
post, in its transaction (``store/new_messages.py``), never back. No ``read UPDATED`` event goes out for it:
every connection of the author gets the post's own ``message CREATED``, which says as much (the web client
clears the channel's counts on it, ``chatd/web/static/events.js``).
"""

from __future__ import annotations

from typing import Iterable

from ..domain.models import UNREAD_TYPES, Message


def read_through(posts: Iterable[Message]) -> list[tuple[int, int, int]]:
    """(channel, author, message) for each author's newest post of each channel among ``posts`` that moves
    the author's marker there."""
    newest: dict[tuple[int, int], int] = {}
    for post in posts:
        author = post.user_id
        if author is None or post.reply_to is not None or post.type not in UNREAD_TYPES:
            continue
        key = (post.channel_id, author)
        if post.id > newest.get(key, 0):
            newest[key] = post.id
    return [(channel_id, author, message_id) for (channel_id, author), message_id in newest.items()]

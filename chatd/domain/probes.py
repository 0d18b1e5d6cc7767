"""What the core, the store and the realtime side report about themselves, for ``/metrics``.

A ``Probe`` is a set of hooks that do nothing: each instrumented component holds one and calls it at one
clear point (a commit, a publish, a socket opened). ``chatd/metrics.py`` implements it with
prometheus-client; the CLI and most tests keep the silent default. Nothing here imports a metrics library,
so the core stays free of it.
"""

from __future__ import annotations


class Probe:
    def websocket_opened(self) -> None:
        """An authenticated websocket connection started."""

    def websocket_closed(self, code: int | None) -> None:
        """A websocket connection ended; ``code`` is the close code the server sent (None: the client left)."""

    def events_published(self, count: int) -> None:
        """This process published a batch of ``count`` events on the bus."""

    def events_delivered(self, count: int = 1) -> None:
        """Events handed to a connection's queue."""

    def events_shed(self, count: int) -> None:
        """Ephemeral events (typing, presence) dropped from a full connection queue."""

    def slow_consumer_closed(self) -> None:
        """A connection was closed because it could not keep up (it resumes)."""

    def resumed(self, replayed: int) -> None:
        """A client resumed, and ``replayed`` stored events were sent to it."""

    def bus_published(self, seconds: float) -> None:
        """One PUBLISH to Redis took ``seconds``."""

    def bus_reconnected(self) -> None:
        """The Redis subscription came back after a gap."""

    def transaction(self, kind: str, seconds: float) -> None:
        """A database transaction of ``kind`` (``read`` or ``write``) took ``seconds``, waiting included."""

    def batch_committed(self, size: int) -> None:
        """Group commit ran ``size`` write actions in one transaction."""

    def search_indexed(self, messages: int) -> None:
        """SQLite's word index took ``messages`` messages from its backlog in one transaction."""

    def search_index_failed(self) -> None:
        """Indexing the backlog failed (it is tried again; a search answers from the index as it is)."""

    def login_failed(self) -> None:
        """A login was refused (wrong name or password, inactive account)."""

    def loop_lag(self, seconds: float) -> None:
        """The event loop ran a timer ``seconds`` late: something held it that long (``app.watch_loop``)."""


SILENT = Probe()

"""``/metrics`` with prometheus-client: one registry per app, fed by the ``Probe`` hooks.

Each app gets its own ``CollectorRegistry`` (tests build many apps in one process, and a module-level
registry would mix them). Under ``chatd serve --workers N`` every worker writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode, set up by ``chatd/workers.py``) and
whichever worker answers a scrape sums them all, so one scrape of the shared port sees the whole node.
The standard process metrics describe one process, so they are exported only with a single worker.
Metric names and what each means: docs/operations.md, "Monitoring".
"""

from __future__ import annotations

import asyncio
import os
from bisect import bisect_left
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from .domain.probes import Probe

if TYPE_CHECKING:
    from .core.context import Core

disable_created_metrics()  # type: ignore[no-untyped-call]  # the ``*_created`` series double every counter and no dashboard reads them
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
BATCH = (1, 2, 4, 8, 16, 32, 64, 128, 256)
FLUSH_SECONDS = 1.0  # how stale another worker's answer to a scrape may be about this one's requests


class Tally:
    """A histogram's observations counted in plain numbers, written to it by ``flush``: ``labels`` takes a
    lock, ``observe`` two more after a loop over the bounds in Python, and the hot paths (every request,
    every transaction) should not pay that for what a scrape reads every few seconds (docs/performance.md,
    ninth and twelfth passes). Used on the event loop only, as ``Metrics.flush`` is.

    ``counter``: a counter of the same observations, whose labels are those given to ``observe`` (the
    histogram takes the first of them: HTTP requests are counted by status, timed by route)."""

    __slots__ = ("histogram", "counter", "bounds", "named", "pending")

    def __init__(self, histogram: Histogram, counter: Counter | None = None) -> None:
        self.histogram = histogram
        self.counter = counter
        self.bounds: tuple[float, ...] = tuple(histogram._upper_bounds)  # the last is +Inf
        self.named = len(histogram._labelnames)
        self.pending: dict[tuple[object, ...], list[Any]] = {}  # labels → [count, sum, count per bucket]

    def observe(self, labels: tuple[object, ...], value: float) -> None:
        tally = self.pending.get(labels)
        if tally is None:
            tally = self.pending[labels] = [0, 0.0, [0] * len(self.bounds)]
        tally[0] += 1
        tally[1] += value
        tally[2][bisect_left(self.bounds, value)] += 1  # the first bound ≥ value, as ``observe`` does

    def flush(self) -> None:
        """A histogram's sum and buckets take several observations at once only through its value objects."""
        counted, self.pending = self.pending, {}
        for labels, (count, total, buckets) in counted.items():
            if self.counter is not None:
                self.counter.labels(*map(str, labels)).inc(count)
            child = self.histogram.labels(*map(str, labels[: self.named])) if self.named else self.histogram
            child._sum.inc(total)
            for index, observed in enumerate(buckets):
                if observed:
                    child._buckets[index].inc(observed)


class Metrics(Probe):
    def __init__(self) -> None:
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) or None
        self.registry = registry = CollectorRegistry()
        if self.multiprocess_dir is None:
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
            GCCollector(registry=registry)
        self.http_requests = Counter(
            "chatd_http_requests", "HTTP requests answered, by route template, method and status.",
            ["method", "route", "status"], registry=registry,
        )
        self.http_seconds = Histogram(
            "chatd_http_request_duration_seconds", "Time to answer an HTTP request, by route template.",
            ["method", "route"], registry=registry,
        )
        self._http_tally = Tally(self.http_seconds, self.http_requests)  # by (method, route, status)
        # Plain counts since the last ``flush``, for counters bumped on the hot paths (per transaction,
        # per routed event).
        self._published = 0
        self._delivered = 0
        self.loop_lag_seconds = Histogram(
            "chatd_event_loop_lag_seconds",
            "How late the event loop ran a timer due every 10 ms: the longest stall, to its bucket.",
            buckets=LAG, registry=registry,
        )
        self.websockets = Gauge(
            "chatd_websocket_connections", "Websocket connections open now.", registry=registry,
            multiprocess_mode="livesum",
        )
        self.websocket_connects = Counter(
            "chatd_websocket_connects", "Authenticated websocket connections started.", registry=registry
        )
        self.websocket_disconnects = Counter(
            "chatd_websocket_disconnects",
            "Websocket connections ended, by the close code the server sent ('client': the client left).",
            ["code"], registry=registry,
        )
        self.published = Counter("chatd_events_published", "Events this process published on the bus.", registry=registry)
        self.delivered = Counter("chatd_events_delivered", "Events queued to websocket connections.", registry=registry)
        self.shed = Counter(
            "chatd_events_shed", "Typing and presence events dropped from full connection queues.", registry=registry
        )
        self.slow_closes = Counter(
            "chatd_slow_consumer_closes", "Connections closed (4408) because they could not keep up.", registry=registry
        )
        self.resumes = Counter("chatd_resumes", "Resume requests answered.", registry=registry)
        self.replayed = Counter("chatd_replayed_events", "Stored events replayed to resuming clients.", registry=registry)
        self.bus_seconds = Histogram(
            "chatd_bus_publish_duration_seconds", "Time of one PUBLISH to Redis.", buckets=FAST, registry=registry
        )
        self.bus_reconnects = Counter(
            "chatd_bus_reconnects", "Times the Redis subscription came back after a gap.", registry=registry
        )
        self.db_seconds = Histogram(
            "chatd_db_transaction_duration_seconds", "Database transactions, by kind, waiting for the writer included.",
            ["kind"], buckets=FAST, registry=registry,
        )
        self.batch_size = Histogram(
            "chatd_group_commit_batch_size", "Write actions sharing one commit (SQLite group commit).",
            buckets=BATCH, registry=registry,
        )
        self._db_tally = Tally(self.db_seconds)
        self._batch_tally = Tally(self.batch_size)
        self.login_failures = Counter("chatd_login_failures", "Refused logins.", registry=registry)
        self.search_indexed_messages = Counter(
            "chatd_search_indexed_messages", "Messages SQLite's word index took from its backlog.", registry=registry
        )
        self.search_index_failures = Counter(
            "chatd_search_index_failures", "Failed attempts to index SQLite's search backlog.", registry=registry
        )

    # -- the Probe hooks ---------------------------------------------------------------------------

    def websocket_opened(self) -> None:
        self.websockets.inc()
        self.websocket_connects.inc()

    def websocket_closed(self, code: int | None) -> None:
        self.websockets.dec()
        self.websocket_disconnects.labels("client" if code is None else str(code)).inc()

    def events_published(self, count: int) -> None:
        self._published += count  # written by ``flush``

    def events_delivered(self, count: int = 1) -> None:
        self._delivered += count  # written by ``flush``

    def events_shed(self, count: int) -> None:
        self.shed.inc(count)

    def slow_consumer_closed(self) -> None:
        self.slow_closes.inc()

    def resumed(self, replayed: int) -> None:
        self.resumes.inc()
        self.replayed.inc(replayed)

    def bus_published(self, seconds: float) -> None:
        self.bus_seconds.observe(seconds)

    def bus_reconnected(self) -> None:
        self.bus_reconnects.inc()

    def transaction(self, kind: str, seconds: float) -> None:
        self._db_tally.observe((kind,), seconds)

    def batch_committed(self, size: int) -> None:
        self._batch_tally.observe((), size)

    def search_indexed(self, messages: int) -> None:
        self.search_indexed_messages.inc(messages)

    def search_index_failed(self) -> None:
        self.search_index_failures.inc()

    def login_failed(self) -> None:
        self.login_failures.inc()

    def loop_lag(self, seconds: float) -> None:
        self.loop_lag_seconds.observe(seconds)

    def watch(self, core: "Core", bus: object) -> None:
        """Point the hooks of a core (its store, group commit) and of the bus at these metrics."""
        core.probe = core.db.probe = core.writes.probe = core.indexer.probe = self
        setattr(bus, "probe", self)

    # -- HTTP and exposition -----------------------------------------------------------------------

    def http_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Counted in plain numbers (``Tally``), written to the registry by ``flush``: with ``labels``, a
        counter's ``inc`` and a histogram's ``observe`` were 3 % of a send's instructions (docs/performance.md,
        ninth pass). Called on the event loop only, as ``flush`` is."""
        self._http_tally.observe((method, route, status), seconds)

    def flush(self) -> None:
        """What was counted since the last flush (requests, transactions, batches, events), into the registry
        (so into this worker's files under ``--workers``): before every scrape this process answers, and
        every ``FLUSH_SECONDS`` (``flushing``). A histogram's sum and buckets take several observations at
        once only through its value objects."""
        self._http_tally.flush()
        self._db_tally.flush()
        self._batch_tally.flush()
        published, delivered, self._published, self._delivered = self._published, self._delivered, 0, 0
        if published:
            self.published.inc(published)
        if delivered:
            self.delivered.inc(delivered)

    async def flushing(self) -> None:
        """``flush`` every ``FLUSH_SECONDS``, for the scrapes another worker answers (and at the end)."""
        try:
            while True:
                await asyncio.sleep(FLUSH_SECONDS)
                self.flush()
        finally:
            self.flush()

    def render(self) -> tuple[bytes, str]:
        """The exposition (body, content type): this app's registry, or every worker's files summed."""
        self.flush()
        if self.multiprocess_dir is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST

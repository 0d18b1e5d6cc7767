"""``/metrics`` and the logs, as an operator watching a live server sees them."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from chatd.logs import JsonFormatter
from harness import LiveServer, live, make_settings, team


async def scrape(server: LiveServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics``: (name, sorted labels) → value."""
    async with httpx.AsyncClient(base_url=server.http) as client:
        text = (await client.get("/metrics")).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def log_lines() -> Iterator[list[dict[str, object]]]:
    """chatd's log lines, as the JSON the server writes."""
    lines: list[dict[str, object]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(orjson.loads(self.format(record)))

    handler = Collect()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("chatd")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(previous)


async def test_metrics_move_when_a_websocket_connects_and_a_message_is_delivered(tmp_path: Path) -> None:
    async with live(make_settings(f"sqlite+aiosqlite:///{tmp_path}/chatd.db", tmp_path)) as server:
        (alice, bob), org = await team(server, "alice", "bob")
        channel = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
        before = await scrape(server)
        assert value(before, "chatd_websocket_connections") == 0
        async with bob.socket() as sock:
            connected = await scrape(server)
            assert value(connected, "chatd_websocket_connections") == 1
            assert value(connected, "chatd_websocket_connects_total") == value(before, "chatd_websocket_connects_total") + 1
            await alice.post("/message/edit", channel_id=channel, contents="hello")
            await sock.expect("message", event="CREATED")
            seq = sock.ready["data"]["channels"][0]["seq"]
            delivered = await scrape(server)
        after = await scrape(server)
        assert value(delivered, "chatd_events_published_total") > value(before, "chatd_events_published_total")
        assert value(delivered, "chatd_events_delivered_total") > value(before, "chatd_events_delivered_total")
        assert value(after, "chatd_websocket_connections") == 0
        assert value(after, "chatd_websocket_disconnects_total", code="client") == 1
        posted = value(delivered, "chatd_http_request_duration_seconds_count", method="POST", route="/message/edit")
        assert posted == 1
        assert value(delivered, "chatd_http_requests_total", method="POST", route="/message/edit", status="200") == 1
        assert value(delivered, "chatd_db_transaction_duration_seconds_count", kind="write") > 0
        assert value(delivered, "chatd_group_commit_batch_size_count") > 0
        assert value(delivered, "process_open_fds") > 0

        await alice.post("/message/edit", channel_id=channel, contents="while away")
        async with bob.socket("resume=1") as sock:
            replay = await sock.call("resume", channels={channel: seq})
            assert replay["data"]["replayed"] == {channel: 2}
        resumed = await scrape(server)
        assert value(resumed, "chatd_resumes_total") == 1 and value(resumed, "chatd_replayed_events_total") == 2


async def test_refused_logins_are_counted_and_logged_with_the_request_id_and_no_secret(
    tmp_path: Path, log_lines: list[dict[str, object]]
) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/chatd.db", tmp_path, server={"access_log": True})
    async with live(settings) as server:
        alice = await server.user("alice")
        async with httpx.AsyncClient(base_url=server.http) as client:
            refused = await client.post("/user/login?username=alice&password=not-her-password-42")
            chosen = await client.get("/healthz", headers={"X-Request-ID": "trace-me-1"})
        assert refused.status_code == 401 and chosen.headers["x-request-id"] == "trace-me-1"
        samples = await scrape(server)
    assert value(samples, "chatd_login_failures_total") == 1
    rid = refused.headers["x-request-id"]
    refusal = [line for line in log_lines if line["message"] == "login refused"]
    assert refusal == [refusal[0]] and refusal[0]["request_id"] == rid and refusal[0]["user_id"] == int(alice.id)
    access = [line for line in log_lines if line["logger"] == "chatd.access" and line.get("request_id") == rid]
    assert access and access[0]["status"] == 401 and access[0]["route"] == "/user/login"
    assert any(line.get("request_id") == "trace-me-1" for line in log_lines)
    everything = orjson.dumps(log_lines).decode()
    assert "not-her-password-42" not in everything and "password=" not in everything


async def test_the_grafana_dashboard_charts_only_metrics_and_labels_chatd_exports(tmp_path: Path) -> None:
    """Every metric a panel queries is in ``/metrics``, and every label it groups or filters by is on one of
    that query's metrics (once a request, a login and a websocket have happened, so the labelled series exist)."""
    import re

    dashboard = orjson.loads((Path(__file__).resolve().parent.parent / "deploy" / "grafana-dashboard.json").read_bytes())
    queries: list[str] = []

    def collect(node: object) -> None:
        if isinstance(node, dict):
            for key, inner in node.items():
                if key in ("expr", "query") and isinstance(inner, str) and "(" in inner:
                    queries.append(inner)
                else:
                    collect(inner)
        elif isinstance(node, list):
            for inner in node:
                collect(inner)

    collect(dashboard)
    async with live(make_settings(f"sqlite+aiosqlite:///{tmp_path}/chatd.db", tmp_path)) as server:
        (alice,), _ = await team(server, "alice")
        async with alice.socket():
            pass
        async with httpx.AsyncClient(base_url=server.http) as client:
            text = (await client.get("/metrics")).text
    exported: dict[str, set[str]] = {}  # sample name → its label names
    for family in text_string_to_metric_families(text):
        kind_suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(family.type, [""])
        for suffix in kind_suffixes:
            exported.setdefault(family.name + suffix, set())
        for sample in family.samples:
            exported.setdefault(sample.name, set()).update(sample.labels)
    scrape_labels = {"instance", "job", "le"}  # added by Prometheus, or the histogram's own
    assert queries
    for query in queries:
        named = set(re.findall(r"\b((?:chatd|process)_[a-z_]+)", query))
        assert named and named <= set(exported), (query, named - set(exported))
        grouped = {label.strip() for group in re.findall(r"\bby \(([^)]*)\)", query) for label in group.split(",")}
        filtered = set(re.findall(r"[{,]\s*([a-z_]+)\s*=~?", query))
        offered = set().union(*(exported[name] for name in named)) | scrape_labels
        assert grouped | filtered <= offered, (query, (grouped | filtered) - offered)


def test_requests_counted_between_scrapes_show_as_each_observed_alone() -> None:
    """HTTP requests are counted in plain numbers and written to the registry at a scrape (``Metrics.flush``);
    the exposition is the one ``Counter.inc`` and ``Histogram.observe`` per request would give, on every
    bucket's edge too."""
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    from chatd.metrics import Metrics

    durations = [0.0, 0.004, 0.005, 0.0051, 0.1, 0.75, 9.9, 10.0, 12.5, 0.005]
    reference = CollectorRegistry()
    requests = Counter("chatd_http_requests", "HTTP requests answered, by route template, method and status.",
                       ["method", "route", "status"], registry=reference)
    seconds = Histogram("chatd_http_request_duration_seconds", "Time to answer an HTTP request, by route template.",
                        ["method", "route"], registry=reference)
    metrics = Metrics()
    for n, duration in enumerate(durations):
        status = 200 if n % 3 else 404
        requests.labels("POST", "/message/edit", str(status)).inc()
        seconds.labels("POST", "/message/edit").observe(duration)
        metrics.http_request("POST", "/message/edit", status, duration)
        if n == 4:
            metrics.render()  # a scrape between requests: what was counted so far is written once

    def http_lines(text: bytes) -> list[str]:
        return sorted(line for line in text.decode().splitlines() if line.startswith("chatd_http_request"))

    assert http_lines(metrics.render()[0]) == http_lines(generate_latest(reference))
    assert 'chatd_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/message/edit"} 4.0' in (
        http_lines(generate_latest(reference))
    )  # two of them on the bucket's edge


def test_transactions_batches_and_events_counted_between_scrapes_show_as_each_observed_alone() -> None:
    """Transactions, group commit batches and published and delivered events are counted in plain numbers
    too (``metrics.Tally``), and a scrape shows exactly what ``observe`` and ``inc`` at each would have."""
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    from chatd.metrics import BATCH, FAST, Metrics

    reference = CollectorRegistry()
    seconds = Histogram("chatd_db_transaction_duration_seconds", "Database transactions, by kind, waiting for the writer included.",
                        ["kind"], buckets=FAST, registry=reference)
    batches = Histogram("chatd_group_commit_batch_size", "Write actions sharing one commit (SQLite group commit).",
                        buckets=BATCH, registry=reference)
    published = Counter("chatd_events_published", "Events this process published on the bus.", registry=reference)
    delivered = Counter("chatd_events_delivered", "Events queued to websocket connections.", registry=reference)
    metrics = Metrics()
    for n, duration in enumerate([0.0, 0.0005, 0.0007, 0.1, 0.25, 3.0, 11.0, 0.0005]):
        kind = "write" if n % 2 else "read"
        seconds.labels(kind).observe(duration)
        metrics.transaction(kind, duration)
        batches.observe(n * 40 + 1)
        metrics.batch_committed(n * 40 + 1)
        published.inc(n)
        metrics.events_published(n)
        delivered.inc(3 * n)
        metrics.events_delivered(3 * n)
        if n == 3:
            metrics.render()  # a scrape in between: what was counted so far is written once

    names = ("chatd_db_transaction", "chatd_group_commit", "chatd_events_published", "chatd_events_delivered")

    def lines(text: bytes) -> list[str]:
        return sorted(line for line in text.decode().splitlines() if line.startswith(names))

    ours = lines(metrics.render()[0])
    assert ours == lines(generate_latest(reference))
    assert "chatd_events_delivered_total 84.0" in ours
    assert 'chatd_db_transaction_duration_seconds_bucket{kind="write",le="0.0005"} 2.0' in ours  # both on its edge

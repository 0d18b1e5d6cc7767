"""Operator endpoints: health, readiness and Prometheus metrics."""

from __future__ import annotations

from harness import Harness


async def test_health_and_readiness(chat: Harness) -> None:
    assert (await chat.anonymous("GET", "/healthz")).json() == {"status": "ok"}
    assert (await chat.anonymous("GET", "/readyz")).json() == {"status": "ready"}


async def test_metrics_count_requests_by_route_template(chat: Harness) -> None:
    alice = await chat.user("alice")
    await alice.get("/organisation/read", id="123", expect=404, code="not_found")
    await alice.get("/organisation/read", id="456", expect=404, code="not_found")
    body = (await chat.anonymous("GET", "/metrics")).text
    assert 'chatd_http_requests_total{method="GET",route="/organisation/read",status="404"} 2' in body
    assert "# TYPE chatd_http_requests_total counter" in body

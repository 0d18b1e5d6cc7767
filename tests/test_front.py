"""The one layer in front of the routes (``chatd/edge/front.py``): whatever answers a request (its route, an
error, the browser rules, the body limit, a 404 or 405), the answer carries the request id and the safe
headers, and ``/metrics`` counts it under its route."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from harness import Harness, make_settings


@pytest.fixture
async def front(tmp_path: Path) -> AsyncIterator[Harness]:
    async with Harness.running(make_settings(f"sqlite+aiosqlite:///{tmp_path}/chatd.db", tmp_path)) as harness:
        yield harness


def assert_fronted(response: httpx.Response) -> None:
    """The headers every answer gets, whoever made it."""
    assert response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"] == "frame-ancestors 'none'"


async def counted(chat: Harness, method: str, route: str, status: int) -> float:
    text = (await chat.client.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "chatd_http_requests_total" and sample.labels == {
                "method": method, "route": route, "status": str(status)
            }:
                return sample.value
    return 0.0


async def test_an_unexpected_error_is_a_json_500_with_the_request_id_logged_and_counted(
    front: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(_request: Request) -> Response:
        raise ValueError("a bug")

    front.app.router.routes.append(Route("/boom", boom))
    transport = httpx.ASGITransport(app=front.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://chatd.test") as client:
        with caplog.at_level(logging.ERROR, logger="chatd"):
            response = await client.get("/boom", headers={"X-Request-ID": "trace-boom"})
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal", "message": "internal server error"}}
    assert response.headers["x-request-id"] == "trace-boom"
    assert_fronted(response)
    assert any("unhandled error on GET /boom" in r.getMessage() and "a bug" in (r.exc_text or "") for r in caplog.records)
    assert await counted(front, "GET", "/boom", 500) == 1


async def test_domain_errors_routing_errors_and_refusals_all_carry_the_request_id(front: Harness) -> None:
    alice = await front.user("alice")
    front.client.cookies.clear()  # the login's cookie: without it, a write is not a browser's
    unauthenticated = await front.client.post("/message/edit", json={"channel_id": "1", "contents": "hi"})
    assert unauthenticated.status_code == 401 and unauthenticated.json()["error"]["code"] == "unauthenticated"
    assert unauthenticated.headers["www-authenticate"].startswith("Bearer")
    missing = await front.client.get("/no/such/path")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    cross_site = await front.client.post(
        "/channel/edit", json={"name": "x"},
        headers={"Origin": "https://evil.example", "Cookie": f"chatd_session={alice.secret}"},
    )
    assert cross_site.status_code == 403 and cross_site.json()["error"]["code"] == "cross_site"
    too_large = await front.client.post(
        "/message/edit", content=b"{}", headers={**alice.headers, "Content-Length": str(1 << 40)}
    )
    assert too_large.status_code == 413 and too_large.json()["error"]["code"] == "too_large"
    for response in (unauthenticated, missing, cross_site, too_large):
        assert_fronted(response)
    assert len({r.headers["x-request-id"] for r in (unauthenticated, missing, cross_site, too_large)}) == 4
    assert await counted(front, "POST", "/message/edit", 401) == 1
    assert await counted(front, "GET", "unmatched", 404) == 1


async def test_a_path_served_once_still_answers_other_methods_as_before(front: Harness) -> None:
    """A literal path's route is kept per method after its first request (``IndexedRouter.dispatch``)."""
    alice = await front.user("alice")
    org = await alice.post("/organisation/edit", name="Acme")
    channel = await alice.post("/channel/edit", organisation_id=org["id"], name="general")
    for n in range(3):
        await alice.post("/message/edit", channel_id=channel["id"], contents=f"hello {n}")
    wrong = await front.client.get("/message/edit", headers=alice.headers)
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
    assert "POST" in wrong.headers["allow"]
    assert_fronted(wrong)
    assert await counted(front, "POST", "/message/edit", 200) == 3

"""No credential reaches a log line: the websocket's ``?jwt=`` is redacted from uvicorn's access log and
from its websocket accept lines, with chatd's own logging set up as ``chatd serve`` sets it up."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Iterator

import httpx
import orjson
import pytest
import uvicorn
from websockets.asyncio.client import connect

from chatd import logs
from chatd.app import create_app
from chatd.core.users import do_create_user
from harness import PASSWORD, free_port, make_settings, wait_until


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """``logs.configure`` replaces the root handlers; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    uvicorn_loggers = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.error", "uvicorn.access")]
    levels = [logger.level for logger in uvicorn_loggers]
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for logger, logger_level in zip(uvicorn_loggers, levels):
        logger.filters.clear()
        logger.setLevel(logger_level)


async def test_the_jwt_in_a_websocket_url_never_reaches_the_log(
    database_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str], restored_logging: None
) -> None:
    settings = make_settings(database_url, tmp_path, compat={"crust_envelope": True})
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, ws="websockets-sansio", log_config=logs.configure("INFO"),
        access_log=True, lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await wait_until(lambda: server.started or task.done(), what="uvicorn to start")
        assert not task.done(), "uvicorn did not start"
        await do_create_user(app.state.core, "alice", "alice@example.com", PASSWORD)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            login = await http.post(
                "/user/login", json={"username": "alice", "password": PASSWORD}, headers={"X-Chatd-Envelope": "crust"}
            )
            jwt = login.json()["response"]["JWT"]
            assert (await http.get("/healthz", params={"jwt": jwt})).status_code == 200
        async with connect(f"ws://127.0.0.1:{port}/websocket/client?resume=0&jwt={jwt}") as socket:
            assert orjson.loads(await socket.recv())["type"] == "ready"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
    printed = capfd.readouterr().err
    lines = [orjson.loads(line)["message"] for line in printed.splitlines() if "jwt=" in line]
    assert any('"WebSocket /websocket/client?resume=0&jwt=[redacted]" [accepted]' in line for line in lines), printed
    assert any("GET /healthz?jwt=[redacted]" in line for line in lines), printed
    assert jwt not in printed and jwt.split(".")[2] not in printed

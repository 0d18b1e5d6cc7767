"""``chatd user deactivate|reactivate``, ``chatd token list|revoke``, ``chatd user list --json`` against a live
server: the CLI is another process, and the server still ends sessions and sockets at once."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chatd.config import Settings
from harness import PASSWORD, LiveServer, RedisServer, live, make_settings

pytestmark = pytest.mark.slow  # every test runs chatd CLI processes


async def chatd(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATD_")}
    env |= {"CHATD_DATABASE__URL": settings.database.url, "CHATD_SERVER__DATA_DIR": settings.server.data_dir}
    if settings.bus.url:
        env["CHATD_BUS__URL"] = settings.bus.url
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatd", *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def closed_with(ws: object, within: float) -> int:
    """The close code the server sends, reading (and dropping) frames until then."""
    try:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()  # type: ignore[attr-defined]
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return closed.rcvd.code
    raise AssertionError("still open")


async def login_status(server: LiveServer, name: str) -> int:
    import httpx

    async with httpx.AsyncClient(base_url=server.http) as client:
        return (await client.post("/user/login", json={"username": name, "password": PASSWORD})).status_code


async def test_deactivating_a_user_ends_their_sockets_and_sessions_reactivating_lets_them_back(tmp_path: Path) -> None:
    # No shared bus: the server learns of the CLI's change from the database, in its credential sweep.
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/chatd.db", tmp_path, auth={"credential_cache_seconds": 0.5})
    async with live(settings) as server:
        bob = await server.user("bob")
        async with bob.socket() as sock:
            code, out, err = await chatd(settings, "user", "deactivate", "bob")
            assert code == 0 and "deactivated bob" in out, err
            assert await closed_with(sock.ws, 15) == 4401
        await bob.get("/user/sessions", expect=401)
        assert await login_status(server, "bob") == 401
        listed = orjson.loads((await chatd(settings, "user", "list", "--json"))[1])
        assert {u["username"]: u["status"] for u in listed}["bob"] == "blocked"
        code, _, err = await chatd(settings, "user", "deactivate", "bob")
        assert code == 1 and err.count("\n") == 1 and "already" in err
        code, out, _ = await chatd(settings, "user", "reactivate", "bob")
        assert code == 0 and "reactivated bob" in out
        assert await login_status(server, "bob") == 200
        code, _, err = await chatd(settings, "user", "deactivate", "nobody")
        assert code == 1 and err == "chatd: no user 'nobody'\n"


async def test_revoking_a_token_closes_the_sockets_opened_with_it(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/chatd.db", tmp_path, auth={"credential_cache_seconds": 0.5})
    async with live(settings) as server:
        await server.user("bot")
        code, token, err = await chatd(settings, "token", "create", "bot", "--label", "deploys")
        assert code == 0, err
        listed = orjson.loads((await chatd(settings, "token", "list", "bot", "--json"))[1])
        assert [(t["username"], t["label"], t["revoked_at"]) for t in listed] == [("bot", "deploys", None)]
        assert token.strip() not in orjson.dumps(listed).decode()  # secrets are shown once, never listed
        async with connect(server.ws, additional_headers={"Authorization": f"Bearer {token.strip()}"}) as ws:
            assert orjson.loads(await ws.recv())["type"] == "ready"
            code, out, err = await chatd(settings, "token", "revoke", listed[0]["id"])
            assert code == 0 and f"revoked access token {listed[0]['id']} of bot" in out, err
            assert await closed_with(ws, 15) == 4401
        listed = orjson.loads((await chatd(settings, "token", "list", "--json"))[1])
        assert listed[0]["revoked_at"] is not None
        code, _, err = await chatd(settings, "token", "revoke", "12345")
        assert code == 1 and err == "chatd: no access token 12345\n"


async def test_with_a_redis_bus_the_server_hears_of_a_deactivation_at_once(tmp_path: Path, redis_server: RedisServer) -> None:
    # The sweep is a minute away: only the revocation event on the bus can close the socket this soon.
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/chatd.db", tmp_path, auth={"credential_cache_seconds": 60.0})
    settings.bus.url = redis_server.url
    async with live(settings) as server:
        bob = await server.user("bob")
        async with bob.socket() as sock:
            code, _, err = await chatd(settings, "user", "deactivate", "bob")
            assert code == 0, err
            assert await closed_with(sock.ws, 10) == 4401


@pytest.mark.parametrize("args", [["user", "reactivate"], ["token", "revoke"]])
async def test_admin_commands_name_their_missing_argument(tmp_path: Path, args: list[str]) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/chatd.db", tmp_path)
    code, _, err = await chatd(settings, *args)
    assert code == 2 and "Missing argument" in err

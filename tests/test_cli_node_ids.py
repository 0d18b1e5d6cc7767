"""A ``chatd`` command run while a server runs is a process of its own: it leases a node id like a node does
(chatd/core/node_ids.py), so the ids it mints never collide with the server's or another command's."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from harness import WAIT, LiveServer, live, make_settings
from sqlalchemy import select

from chatd.config import Settings
from chatd.store.tables import node_leases

pytestmark = pytest.mark.slow  # every test runs chatd commands as processes


def _node_of(minted: int) -> int:
    return (minted >> 12) & 0x3FF


async def _start(settings: Settings, *args: str) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATD_")}
    env |= {"CHATD_DATABASE__URL": settings.database.url, "CHATD_SERVER__DATA_DIR": settings.server.data_dir}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatd", *args, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def _finish(process: asyncio.subprocess.Process, stdin: bytes = b"") -> tuple[str, str]:
    out, err = await asyncio.wait_for(process.communicate(stdin), 60)
    assert process.returncode == 0, err.decode()
    return out.decode(), err.decode()


async def _leases(server: LiveServer) -> dict[int, str]:
    async with server.core.reading() as conn:
        return {int(row[0]): str(row[1]) for row in await conn.execute(select(node_leases.c.node_id, node_leases.c.holder))}


async def _new_leases(server: LiveServer, before: dict[int, str]) -> set[int]:
    """The node ids leased since ``before``, once there is one (within harness.waiting.WAIT seconds)."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while not (new := set(await _leases(server)) - set(before)):
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting for the command's lease"
        await asyncio.sleep(0.05)  # polling a condition (a new lease) with the deadline above
    return new


async def test_ids_minted_by_commands_beside_a_running_server_never_share_its_node_id(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path)
    async with live(settings) as server:
        await server.user("alice")
        server_node = server.core.ids.node_id
        server_leases = await _leases(server)  # PostgreSQL: the server's own; SQLite: none (it mints as node 0)

        # A command that holds its lease while it waits for a password on standard input...
        waiting = await _start(settings, "user", "passwd", "alice", "--password-stdin")
        held = await _new_leases(server, server_leases)
        # ...and, meanwhile, commands that mint ids: an access token, a user.
        token = await _start(settings, "token", "create", "alice", "--label", "beside the server")
        user = await _start(settings, "user", "add", "carol", "--email", "carol@example.com", "--password-stdin")
        (_, token_err), (user_out, _) = await asyncio.gather(_finish(token), _finish(user, b"a long enough password\n"))
        token_id = int(token_err.split("access token ")[1].split()[0])
        user_id = int(user_out.split("(id ")[1].split(")")[0])
        await _finish(waiting, b"another long password\n")

        for minted in (token_id, user_id):
            assert _node_of(minted) not in {server_node, *held}, (minted, server_node, held)
            assert _node_of(minted) != 0  # node 0 is the unleased single SQLite server's
        # The server's own ids still come from its node id, and every command gave its lease back.
        bob = await server.user("bob")
        assert _node_of(int(bob.id)) == server_node
        assert await _leases(server) == server_leases

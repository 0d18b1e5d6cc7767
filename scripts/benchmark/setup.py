"""What a scenario needs before it measures: a signed-in admin, an organisation and a channel (chatd), or
nothing (the floor). Setup is plain HTTP with httpx: it is not measured."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from . import procs


@dataclass
class Room:
    """Where a scenario posts and listens: the channel, the credential and the websocket URL; ``senders``:
    one credential per sending connection, each a user of its own, when the room has them."""

    channel_id: str
    headers: dict[str, str]
    ws_url: str
    send_path: str
    senders: list[dict[str, str]] = field(default_factory=list)

    def headers_for(self, connection: int) -> dict[str, str]:
        """The credential connection number ``connection`` sends with."""
        return self.senders[connection % len(self.senders)] if self.senders else self.headers


def login(server: procs.Server, username: str, password: str) -> dict[str, str]:
    response = httpx.post(f"{server.base}/user/login", json={"username": username, "password": password}, timeout=60)
    response.raise_for_status()
    return {"X-Session-ID": response.json()["session_id"]}


def call(server: procs.Server, path: str, headers: dict[str, str], **body: Any) -> Any:
    response = httpx.post(f"{server.base}{path}", json=body, headers=headers, timeout=60)
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
    return response.json()


SENDER_PASSWORD = "bench-sender-password"


def chatd_room(server: procs.Server, name: str = "bench", *, users: int = 0) -> Room:
    """The admin's channel; ``users``: that many users made for it, members, each signed in (``Room.senders``)."""
    headers = login(server, "admin", procs.ADMIN_PASSWORD)
    org = call(server, "/organisation/edit", headers, name=f"Bench {name}")["id"]
    names = [f"{name}-sender{n:03d}" for n in range(users)]
    ids = [
        str(call(server, "/api/users/add", headers, email=f"{who}@bench.example", userName=who,
                 password=SENDER_PASSWORD, organizationId=org)["id"])
        for who in names
    ]
    channel = call(server, "/channel/edit", headers, organisation_id=org, name=name, members=ids)["id"]
    senders = [login(server, who, SENDER_PASSWORD) for who in names]
    return Room(channel, headers, f"ws://127.0.0.1:{server.port}/websocket/client", "/message/edit", senders)


def floor_room(server: procs.Server) -> Room:
    return Room("1", {}, f"ws://127.0.0.1:{server.port}/ws", "/message/edit")

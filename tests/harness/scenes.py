"""Common starting points for Crust API tests: an organisation with members, a channel in it, posting and
reading history. Each is a few calls any client could make."""

from __future__ import annotations

from typing import Any

from .app import Actor


async def org_with(owner: Actor, *members: Actor, name: str = "Acme") -> str:
    """A new organisation ``owner`` owns, with ``members`` added; its id."""
    org = (await owner.post("/organisation/edit", name=name))["id"]
    for member in members:
        await owner.post("/organisation/members/add", id=org, user_id=member.id)
    return str(org)


async def channel_with(
    owner: Actor, *members: Actor, readers: tuple[Actor, ...] = (), type: str = "public", name: str = "general"
) -> str:
    """A channel of a new organisation: ``members`` join it; ``readers`` only join the organisation."""
    org = await org_with(owner, *members, *readers)
    created = await owner.post(
        "/channel/edit", organisation_id=org, name=name, type=type, members=[m.id for m in members]
    )
    return str(created["id"])


async def send(actor: Actor, channel: str, contents: str, **extra: Any) -> Any:
    """Post a message (``extra``: more fields, or ``expect``/``code`` for a refusal)."""
    return await actor.post("/message/edit", channel_id=channel, contents=contents, **extra)


async def history(actor: Actor, channel: str, **params: Any) -> list[dict[str, Any]]:
    """The channel's history page as ``actor`` reads it (``/message/read``)."""
    return (await actor.get("/message/read", channel_id=channel, **params))["items"]  # type: ignore[no-any-return]


def texts(items: list[dict[str, Any]]) -> list[str]:
    """The contents of the user messages among ``items`` (system messages left out)."""
    return [m["contents"] for m in items if m["type"] == "MESSAGE"]

"""Presence across nodes: each node says which of its users are online or away; a node that stops saying so
(it crashed, or lost the bus) is forgotten after ``HEARTBEATS_TO_EXPIRY`` heartbeats, and its users go
offline.

Every hub keeps one book, fed by the presence events all nodes publish: ``UPDATED`` when a user's status on a
node changes, and ``HEARTBEAT`` every ``websocket.presence_heartbeat_seconds`` with all of a node's users.
The overall status is ``online`` if any node has the user online, ``away`` if all that have them say away,
else ``offline``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.clock import Clock

HEARTBEATS_TO_EXPIRY = 3


@dataclass
class PresenceBook:
    clock: Clock  # when a node was last heard is domain time: tests move it instead of waiting
    ttl: float = 60.0
    statuses: dict[int, dict[str, str]] = field(default_factory=dict)  # user → node → online|away
    orgs: dict[int, set[int]] = field(default_factory=dict)  # user → organisations (who to tell)
    seen: dict[str, float] = field(default_factory=dict)  # node → when last heard

    def overall(self, user_id: int) -> str:
        nodes = self.statuses.get(user_id)
        if not nodes:
            return "offline"
        return "online" if "online" in nodes.values() else "away"

    def record(self, node: str, user_id: int, status: str, orgs: set[int]) -> bool:
        """Record one user's status on one node; True if the overall status changed."""
        before = self.overall(user_id)
        self.seen[node] = self.clock.monotonic()
        self.orgs[user_id] = orgs or self.orgs.get(user_id, set())
        nodes = self.statuses.setdefault(user_id, {})
        if status == "offline":
            nodes.pop(node, None)
        else:
            nodes[node] = status
        if not nodes:
            del self.statuses[user_id]
        return self.overall(user_id) != before

    def heartbeat(self, node: str, users: dict[int, tuple[str, set[int]]]) -> list[int]:
        """A node's full list of users; returns users whose overall status changed."""
        changed = [uid for uid, (status, orgs) in users.items() if self.record(node, uid, status, orgs)]
        for user_id in [u for u, nodes in self.statuses.items() if node in nodes and u not in users]:
            if self.record(node, user_id, "offline", set()):
                changed.append(user_id)
        self.seen[node] = self.clock.monotonic()
        return changed

    def expire(self) -> list[int]:
        """Forget nodes not heard from within ``ttl``; returns users whose overall status changed."""
        now = self.clock.monotonic()
        changed: list[int] = []
        for node in [n for n, at in self.seen.items() if now - at > self.ttl]:
            del self.seen[node]
            for user_id in [u for u, nodes in self.statuses.items() if node in nodes]:
                if self.record(node, user_id, "offline", set()):
                    changed.append(user_id)
            self.seen.pop(node, None)
        return changed

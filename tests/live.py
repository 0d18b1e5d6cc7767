"""Deprecated: the live-server helpers moved to ``harness`` (``harness/live.py``); import them from there.

Kept so test files written against ``from live import …`` still work.
"""

from harness.live import LiveServer, Person, Socket, free_port, live, team

__all__ = ["LiveServer", "Person", "Socket", "free_port", "live", "team"]

"""The client's address, for login throttling: the peer, or behind a trusted proxy the address it forwarded.

Only a peer listed in ``server.trusted_proxies`` is believed, and only its ``X-Forwarded-For``: walking the
hops from the right (the nearest first), the first one that is not a trusted proxy is the client. Anything
left of it was written by the client and could say anything. A hop that is not an address ends the walk at
the proxy that wrote it. ``Forwarded``, ``X-Real-IP`` and every other forwarded header are ignored.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.requests import HTTPConnection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _parse(text: str) -> IPAddress | None:
    """An address as proxies write it: bare, ``[v6]:port`` or ``v4:port``; IPv4-mapped IPv6 as IPv4."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def forwarded_client(peer: str, forwarded_for: list[str], trusted: list[str]) -> str:
    """The client address given the peer, every ``X-Forwarded-For`` value, and the trusted proxies."""
    address = _parse(peer)
    if address is None:
        return peer or "unknown"  # a unix socket: the proxy in front is all we know
    networks = _networks(tuple(trusted))
    if not _trusted(address, networks):
        return str(address)
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        parsed = _parse(hop)
        if parsed is None:
            break
        address = parsed
        if not _trusted(parsed, networks):
            break
    return str(address)


def client_address(conn: HTTPConnection) -> str:
    peer = conn.client.host if conn.client else ""
    trusted: list[str] = conn.app.state.settings.server.trusted_proxies
    if not trusted:
        return str(_parse(peer) or peer or "unknown")
    return forwarded_client(peer, conn.headers.getlist("x-forwarded-for"), trusted)

"""A small HTTP/1.1 keep-alive load generator for the benchmarks: N connections, each sending requests
back to back, counting answers by status. Written for this because the Python HTTP clients in our stack
spend more CPU per request than the servers they would be measuring.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Result:
    requests: int = 0
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def run(
    host: str, port: int, make_request: Callable[[int, int], bytes], connections: int, total: int
) -> Result:
    """Send ``total`` requests over ``connections`` keep-alive connections; ``make_request(conn, i)``."""
    result = Result()
    counter = iter(range(total))

    async def worker(number: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for index in counter:
                sent = time.perf_counter()
                writer.write(make_request(number, index))
                status = await _read_response(reader)
                result.latencies.append(time.perf_counter() - sent)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                result.requests += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(connections)))
    result.seconds = time.perf_counter() - started
    return result


def post(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: bench", "Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

"""Who used the CPU during a measurement: the machine's busy time (``/proc/stat``) against the CPU time of
the processes taking part (servers, their database, this load generator). What is left is someone else's:
when it is more than ``OTHERS_MAX`` of a core, the run is rejected and measured again (a bounded number of
times; the last is kept with its reason when the machine never goes quiet).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
OTHERS_MAX = 0.10  # cores used by other processes, on average over the run, before the run is rejected


def _busy_ticks() -> tuple[int, int]:
    """The machine's busy ticks, and of them the hypervisor's ``steal``: time a virtual machine's cores were
    taken from it, which slows a measurement as another process would, but which no quiet guest can avoid."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return user + nice + system + irq + softirq + steal, steal


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def process_ticks(pid: int) -> int:
    """utime + stime of one process (all its threads), and of its children it has waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])


def run_ns(pid: int) -> int:
    """The CPU time of one process's live threads in nanoseconds (``/proc/PID/task/*/schedstat``): ticks are
    10 ms, and a send round of the floor's is only about 20 of them, so one tick moved a ratio by 5 %."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for task in tasks:
        try:
            total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total


def tree_ticks(roots: list[int]) -> dict[int, int]:
    """CPU ticks of every process in the trees under ``roots`` (a PostgreSQL server and its backends)."""
    tree = _children()
    seen: dict[int, int] = {}
    stack = list(roots)
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen[pid] = process_ticks(pid)
        stack.extend(tree.get(pid, []))
    return seen


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@dataclass
class Window:
    """CPU use over one measurement: ``server`` (the server process), ``database`` (its PostgreSQL, if any),
    ``loadgen`` (this process) and ``others`` (everything else on the machine), in core-seconds."""

    seconds: float = 0.0
    server: float = 0.0
    database: float = 0.0
    loadgen: float = 0.0
    others: float = 0.0
    steal: float = 0.0  # of ``others``: what the hypervisor took (``_busy_ticks``)
    started: dict[str, object] = field(default_factory=dict)

    @property
    def others_share(self) -> float:
        return self.others / self.seconds if self.seconds else 0.0

    @property
    def clean(self) -> bool:
        return self.others_share <= OTHERS_MAX

    def reason(self) -> str:
        said = f"other processes used {self.others_share:.0%} of a core during the run (at most {OTHERS_MAX:.0%})"
        if self.seconds and self.steal / self.seconds >= 0.01:
            # Steal is not always someone else's load: on a shared host a core that sleeps and wakes as often as a
            # server between requests waits to be given back each time (docs/performance.md, "This host").
            said += (f"; the hypervisor took {self.steal / self.seconds:.0%} of it (steal: the host kept this"
                     " machine's cores waiting; it grows with how often the run sleeps and wakes)")
        return said

    def summary(self) -> dict[str, float]:
        return {
            "seconds": round(self.seconds, 3),
            "server_cpu_s": round(self.server, 3),
            "database_cpu_s": round(self.database, 3),
            "loadgen_cpu_s": round(self.loadgen, 3),
            "others_cpu_s": round(self.others, 3),
            "others_share": round(self.others_share, 3),
            "steal_cpu_s": round(self.steal, 3),
        }


class Meter:
    """``with Meter(server_pid, db_pid) as window:`` fills ``window`` when the block ends."""

    def __init__(self, server_pid: int, database_pid: int | None = None) -> None:
        self.server_pid = server_pid
        self.database_pid = database_pid
        self.window = Window()

    def _read(self) -> tuple[float, tuple[int, int], dict[int, int], dict[int, int], int, dict[int, int]]:
        """The time, the machine's busy ticks, the server's and the database's process trees (ticks per
        process), this process's ticks, and every tree process's nanoseconds."""
        database = tree_ticks([self.database_pid]) if self.database_pid else {}
        server = tree_ticks([self.server_pid])
        precise = {pid: run_ns(pid) for pid in (*server, *database)}
        return time.monotonic(), _busy_ticks(), server, database, process_ticks(os.getpid()), precise

    @staticmethod
    def _seconds(start: dict[int, int], end: dict[int, int], ns0: dict[int, int], ns1: dict[int, int]) -> float:
        """CPU seconds of one process tree over the window (its ticks per process at the start and the end):
        from its threads' nanosecond counters, unless the tick counters say more by over a tick and a half (a
        thread or process that ended meanwhile took its nanoseconds with it; the ticks keep them)."""
        precise = sum(ns1[pid] - ns0[pid] for pid in end if pid in ns0 and pid in ns1) / 1e9
        coarse = (sum(end.values()) - sum(start.values())) / TICK
        return coarse if coarse - precise > 1.5 / TICK else precise

    def __enter__(self) -> Window:
        self._start = self._read()
        return self.window

    def __exit__(self, *exc: object) -> None:
        end = self._read()
        t0, busy0, server0, db0, me0, ns0 = self._start
        t1, busy1, server1, db1, me1, ns1 = end
        window = self.window
        window.seconds = t1 - t0
        window.server = self._seconds(server0, server1, ns0, ns1)
        window.database = self._seconds(db0, db1, ns0, ns1)
        window.loadgen = (me1 - me0) / TICK
        window.others = max(0.0, (busy1[0] - busy0[0]) / TICK - window.server - window.database - window.loadgen)
        window.steal = min(window.others, (busy1[1] - busy0[1]) / TICK)

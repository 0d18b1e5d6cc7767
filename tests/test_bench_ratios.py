"""How ``scripts/bench`` reads the send scenario's ratios (``scripts/benchmark/trial.py``, ``send.py``).

The machine's speed drifts between rounds, chatd's and the floor's alike. A ratio is read round by round, each
chatd round against the floor round just before it, and the median of those is the figure: a slow minute
then moves both sides of one ratio, not one side of the figure. A measurement that another process disturbed
is tried again, and a quick run stops retrying once its retries have taken their budget.
"""

from __future__ import annotations

import asyncio
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from benchmark import trial  # noqa: E402  (scripts/ is not on the path by default; trial.py needs no load generator)


def _round(cpu_us: float) -> dict[str, float]:
    """A CPU-bound round: its rate is what its CPU per request allows."""
    return {"server_cpu_us_per_request": cpu_us, "per_second": round(1e6 / cpu_us, 1)}


def test_a_drifting_machine_moves_both_sides_of_each_ratio_not_the_figure() -> None:
    speed = [1.0, 1.9, 1.05, 2.0, 0.95]  # how slow the machine was during each pair of rounds
    floor = [_round(45 * s) for s in speed]
    chatd = [_round(130 * s) for s in speed]  # 2.89 × the floor's CPU in every round

    assert trial.paired(chatd, floor, "server_cpu_us_per_request") == 2.889
    assert trial.paired(chatd, floor, "per_second") == 0.346
    shifted = chatd[1:] + chatd[:1]  # each chatd round read against another round's floor
    assert trial.paired(shifted, floor, "server_cpu_us_per_request") != 2.889


def test_one_disturbed_round_does_not_move_the_figure() -> None:
    floor = [_round(45), _round(45), _round(90), _round(45), _round(45)]  # the floor alone slowed once
    chatd = [_round(130), _round(128), _round(132), _round(131), _round(129)]

    assert trial.paired(chatd, floor, "server_cpu_us_per_request") == 2.867  # 129 / 45: the disturbed pair is an end


def test_a_round_without_a_figure_is_left_out_and_an_even_count_takes_the_middle_two() -> None:
    floor = [_round(50), _round(50), {"per_second": 0.0}, _round(50)]
    chatd = [_round(140), _round(160), _round(150), _round(155)]

    assert trial.paired(chatd, floor, "server_cpu_us_per_request") == 3.1  # of 2.8, 3.2 and 3.1
    assert trial.paired(chatd, [_round(50)] * 4, "server_cpu_us_per_request") == 3.05  # (3.0 + 3.1) / 2
    assert trial.paired(chatd, [{"per_second": 0.0}] * 4, "per_second") is None


async def _busy_elsewhere() -> dict[str, int]:
    """A measurement during which another process keeps a core busy: always rejected. The spinner is left to
    init (``&`` in a shell that ends at once), since a child this process reaps counts as the load generator."""
    spin = "import time\nend = time.monotonic() + 0.4\nwhile time.monotonic() < end: pass"
    shell = await asyncio.create_subprocess_exec("sh", "-c", f"{shlex.quote(sys.executable)} -c {shlex.quote(spin)} &")
    await shell.wait()
    await asyncio.sleep(0.5)
    return {"requests": 1}


async def test_a_quick_run_stops_retrying_once_its_retry_budget_is_spent() -> None:
    idle = subprocess.Popen(["sleep", "30"])  # the "server": it uses no CPU, so the spinner is someone else's
    try:
        target = trial.Target("idle", idle.pid)
        bounded = trial.Attempts(3, budget=0.1)
        first = await trial.measured(target, _busy_elsewhere, bounded, "bounded")
        assert (first["clean"], first["attempts"], len(first["rejected"])) == (False, 2, 2)  # the 2nd spends it
        second = await trial.measured(target, _busy_elsewhere, bounded, "bounded, spent")
        assert (second["clean"], second["attempts"], len(second["rejected"])) == (False, 1, 1)  # no retry left
        unbounded = await trial.measured(target, _busy_elsewhere, trial.Attempts(3), "full run")
        assert (unbounded["clean"], unbounded["attempts"], len(unbounded["rejected"])) == (False, 3, 3)
    finally:
        idle.kill()
        idle.wait()

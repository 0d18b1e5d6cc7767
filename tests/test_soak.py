"""The soak in CI (docs/reliability.md): a half-minute ``scripts/soak`` against a chatd of its own, with
receivers, posters and reconnect churn; every acknowledged message reaches every receiver exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_half_minute_soak_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    finished = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "soak.py"), "--minutes", "0.5", "--sockets", "20", "--posters", "2",
         "--rate", "4", "--churners", "4", "--synchronous", "NORMAL", "--sample-seconds", "2", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    report = json.loads(out.read_text())
    assert report["posts_acknowledged"] > 100
    assert report["delivered"] == report["expected_deliveries"] == report["posts_acknowledged"] * 24
    assert report["duplicates"] == 0 and report["connect_disconnect_cycles"] > 20
    assert len(report["rss_samples"]) > 10 and report["delivery_latency"]["count"] == report["posts_acknowledged"] * 20

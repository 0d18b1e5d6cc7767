"""``scripts/bench [--quick] [--only send,fanout,resume,store] …``: see docs/performance.md."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import uvloop

from . import fanout, machine, procs, report, resume, send, store
from .trial import Attempts

SCENARIOS = ("send", "fanout", "resume", "store")
QUICK_RETRY_SECONDS = 30.0


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer and shorter runs (under 3 minutes)")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="scenarios to run, comma-separated")
    parser.add_argument("--attempts", type=int, default=None, help="tries per measurement while the machine is busy")
    parser.add_argument("--rounds", type=int, default=None, help="alternating chatd/floor rounds per send case")
    parser.add_argument("--dialects", default="sqlite,postgresql")
    parser.add_argument("--fill-messages", type=int, default=None, help="messages in the history/search store")
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("CHATD_BENCH_CACHE", "/var/tmp/chatd-bench")),
                        help="where filled stores are kept between runs")
    parser.add_argument("--out", type=Path, default=procs.ROOT / "bench" / "results.json")
    parser.add_argument("--charts", type=Path, default=procs.ROOT / "docs" / "performance",
                        help="where the charts (and --profile's flame graphs) go")
    parser.add_argument("--profile", action="store_true", help="record py-spy flame graphs instead of measuring")
    parser.add_argument("--report", action="store_true", help="only rewrite the table and charts from --out")
    parser.add_argument("--instructions", action="store_true",
                        help="chatd's and the floor's instructions per send, counted by callgrind (instructions.py)")
    parser.add_argument("--chatd", type=Path, default=None,
                        help="with --instructions: the checkout whose chatd is counted (a baseline's worktree)")
    parser.add_argument("--inprocess", action="store_true",
                        help="chatd's and the floor's CPU per send without the HTTP server (inprocess.py)")
    opts = parser.parse_args(argv)
    opts.only = [s for s in opts.only.split(",") if s]
    unknown = set(opts.only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    opts.dialects = [d for d in opts.dialects.split(",") if d]
    # A quick run's retries may add at most QUICK_RETRY_SECONDS to it, so it stays under its 3 minutes on a
    # busy host; a full run retries every rejected measurement.
    opts.attempts = Attempts(opts.attempts or (2 if opts.quick else 3), QUICK_RETRY_SECONDS if opts.quick else None)
    opts.rounds = opts.rounds or (1 if opts.quick else 9)  # the median of nine pairs: one round moves by up to a third
    opts.senders = [1, 16, 128]
    opts.fanout_k = [100, 1000] if opts.quick else [100, 1000, 5000, 10000]
    opts.resume_dialects = ["sqlite"] if opts.quick else opts.dialects
    opts.fill_messages = opts.fill_messages or (50_000 if opts.quick else 1_000_000)
    return opts


def _commit(root: Path = procs.ROOT) -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "chatd"], cwd=root, capture_output=True, text=True)
    return done.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


async def main(opts: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"meta": {
        "started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(), "quick": opts.quick, "cores": os.cpu_count(), "attempts": opts.attempts.count, "retry_budget_s": opts.attempts.budget,
        "others_max": machine.OTHERS_MAX, "load_before": round(os.getloadavg()[0], 2),
        "server_core": procs.SERVER_CORE, "loadgen_core": procs.LOADGEN_CORE, "fill_messages": opts.fill_messages,
        "scenarios": opts.only,
    }}
    if set(opts.only) != set(SCENARIOS) and opts.out.exists():
        # A partial run updates its scenarios and keeps the others' figures, each with when and where it ran.
        earlier = json.loads(opts.out.read_text())
        for name in SCENARIOS:
            if name not in opts.only and name in earlier:
                results[name] = earlier[name]
                run = earlier.get("meta", {}).get("runs", {}).get(name)
                if run:
                    results["meta"].setdefault("runs", {})[name] = run
    began = time.monotonic()
    runners = {"send": send.run, "fanout": fanout.run, "resume": resume.run, "store": store.run}
    for name in opts.only:
        started = time.monotonic()
        print(f"bench: {name} …", flush=True)
        results[name] = await runners[name](opts)
        results["meta"].setdefault("runs", {})[name] = {
            "started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": results["meta"]["commit"], "quick": opts.quick, "seconds": round(time.monotonic() - started, 1),
        }
        results["meta"][f"{name}_seconds"] = round(time.monotonic() - started, 1)
        report.write(results, opts.out, None)  # keep what is done if a later scenario fails
    results["meta"]["seconds"] = round(time.monotonic() - began, 1)
    return results


if __name__ == "__main__":
    opts = options()
    if (os.cpu_count() or 1) < 2:
        print("bench: one core only: server and load generator share it; ratios still hold, absolutes do not",
              file=sys.stderr)
    if opts.report:
        results = json.loads(opts.out.read_text())
        report.write(results, opts.out, opts.charts)
        print(report.table(results))
        sys.exit(0)
    procs.pin_self()
    if opts.inprocess:
        from . import inprocess

        rows = uvloop.run(inprocess.run(opts))
        target = opts.out.with_name("inprocess.json")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"meta": {"commit": _commit(), "load_before": round(os.getloadavg()[0], 2)},
                                      "rows": rows}, indent=1) + "\n")
        target.with_suffix(".md").write_text(inprocess.table(rows) + "\n")
        print(inprocess.table(rows))
        print(f"bench: in-process figures in {target} and {target.with_suffix('.md')}")
        sys.exit(0)
    if opts.instructions:
        from . import instructions

        rows = instructions.run(opts)
        target = opts.out.with_name("instructions.json")
        target.parent.mkdir(parents=True, exist_ok=True)
        chatd_commit = _commit(opts.chatd) if opts.chatd else _commit()
        target.write_text(json.dumps({"meta": {"commit": chatd_commit, "bench_commit": _commit()}, "rows": rows},
                                     indent=1) + "\n")
        target.with_suffix(".md").write_text(instructions.table(rows) + "\n")
        print(instructions.table(rows))
        print(f"bench: instruction counts in {target} and {target.with_suffix('.md')}")
        sys.exit(0)
    if opts.profile:
        from . import profile

        print("\n".join(uvloop.run(profile.run(opts))))
        sys.exit(0)
    results = uvloop.run(main(opts))
    report.write(results, opts.out, opts.charts)
    print(report.table(results))
    print(f"bench: done in {results['meta']['seconds']} s: {opts.out}, {opts.out.with_suffix('.md')}, charts in {opts.charts}")
    wrong = [f"{row['case']}: {plan['words']} (user {plan['user_id']})" for row in results.get("store", [])
             for plan in row.get("plans", []) if not plan["index_drives"]]
    if wrong:
        print("bench: FAILED: the word index does not drive these searches:\n  " + "\n  ".join(wrong), file=sys.stderr)
        sys.exit(1)

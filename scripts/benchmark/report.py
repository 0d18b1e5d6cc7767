"""The results of a run: ``bench/results.json`` (everything measured), ``bench/results.md`` (the table, each
figure beside the floor's from the same run and their ratio, against the targets of docs/performance.md),
and one PNG chart per scenario in ``docs/performance/`` (chatd and the floor side by side)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from . import stall


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _check(value: float | None, test: Callable[[float], bool]) -> str:
    if value is None:
        return "—"
    return "met" if test(value) else "**not met**"


def _noisy(*records: dict[str, Any]) -> str:
    return "" if all(r.get("clean", True) for r in records) else " ⚠"


def table(results: dict[str, Any]) -> str:
    """One Markdown table: figure | chatd | floor | ratio | target | verdict."""
    lines = ["| scenario | case | figure | chatd | floor | ratio | target | |", "|---|---|---|---|---|---|---|---|"]

    def row(scenario: str, case: str, figure: str, ours: Any, theirs: Any, ratio: Any, target: str, verdict: str,
            *records: dict[str, Any]) -> None:
        lines.append(f"| {scenario} | {case} | {figure} | {_fmt(ours)} | {_fmt(theirs)} | {_fmt(ratio, 2)} | "
                     f"{target} | {verdict}{_noisy(*records)} |")

    for r in results.get("send", []):
        c, f = r["chatd"], r["floor"]
        sixteen = r["senders"] == 16
        share = 0.3 if r["dialect"] == "sqlite" else 0.2
        p99 = 30 if r["dialect"] == "sqlite" else 50
        row("send", r["case"], "sends/s", c["per_second"], f["per_second"], r["ratio"]["per_second"],
            f"≥ {share} × floor" if sixteen else "", _check(r["ratio"]["per_second"], lambda v: v >= share) if sixteen else "",
            c, f)
        row("send", r["case"], "p50 / p99 ms", f"{c['p50_ms']} / {c['p99_ms']}", f"{f['p50_ms']} / {f['p99_ms']}",
            r["ratio"]["p99_ms"], f"p99 ≤ {p99} ms" if sixteen else "",
            _check(c["p99_ms"], lambda v: v <= p99) if sixteen else "", c, f)
        row("send", r["case"], "server CPU µs per send", c.get("server_cpu_us_per_request"),
            f.get("server_cpu_us_per_request"), r["ratio"]["server_cpu_per_request"], "≤ 3 × floor",
            _check(r["ratio"]["server_cpu_per_request"], lambda v: v <= 3), c, f)
        if c.get("database_cpu_us_per_request") is not None:
            row("send", r["case"], "PostgreSQL CPU µs per send", c["database_cpu_us_per_request"], None, None, "", "", c)
    fanout = results.get("fanout", {})
    for r in fanout.get("rows", []):
        m = r["max"]
        row("fan-out", r["case"], "max deliveries/s", m["chatd"]["deliveries_per_second"],
            m["floor"]["deliveries_per_second"], r["ratio"]["max_deliveries"], "≥ 0.8 × floor",
            _check(r["ratio"]["max_deliveries"], lambda v: v >= 0.8), m["chatd"], m["floor"])
        for key, label in (("at_50", "50 %"), ("at_10", "10 %")):
            c, f = r[key]["chatd"], r[key]["floor"]
            judged = key == "at_50" and r["k"] in (1000, 5000)
            row("fan-out", r["case"], f"p50 / p99 / max ms at {label} ({_fmt(c['deliveries_per_second'], 0)}/s)",
                f"{c['p50_ms']} / {c['p99_ms']} / {c['max_ms']}", f"{f['p50_ms']} / {f['p99_ms']} / {f['max_ms']}",
                r["ratio"][f"p99_{key}"], "p99 ≤ 2 × floor" if judged else "",
                _check(r["ratio"][f"p99_{key}"], lambda v: v <= 2) if judged else "", c, f)
        stalls = [r["max"]["chatd"].get("loop_stall_ms"), r["at_50"]["chatd"].get("loop_stall_ms")]
        if any(s is not None for s in stalls):
            row("fan-out", r["case"], "longest event-loop stall ms (max load / 50 %)",
                " / ".join(stall.shown(s) for s in stalls), None, None, "measured", "")
    memory = fanout.get("memory", {})
    if "chatd" in memory:
        row("memory", f"{memory['chatd']['sockets']:,} idle sockets", "KiB per socket", memory["chatd"]["kib_per_socket"],
            memory["floor"]["kib_per_socket"], memory.get("ratio"), "≤ 1.3 × floor",
            _check(memory.get("ratio"), lambda v: v <= 1.3))
    connects = fanout.get("connects", {})
    if "chatd" in connects and "floor" in connects:
        row("connect", f"{connects['chatd']['sockets']:,} websockets opened", "server CPU ms per connect",
            connects["chatd"]["cpu_ms"], connects["floor"]["cpu_ms"], connects.get("ratio"), "none (noticed)", "")
    for r in results.get("resume", []):
        row("resume", r["case"], "seconds (median)", f"{r['chatd']['median_s']:.3f}", f"{r['floor']['median_s']:.3f}",
            r["ratio"]["median_s"], "≤ 0.15 s", _check(r["chatd"]["median_s"], lambda v: v <= 0.15), r["chatd"], r["floor"])
    for r in results.get("store", []):
        if "plans" in r:
            drives = all(p["index_drives"] for p in r["plans"])
            row("search", r["case"], "word index drives the plan", "yes" if drives else "**no**", None, None,
                "index first", "met" if drives else "**not met**")
            continue
        c, f = r["chatd"], r["floor"]
        history = r["query"].startswith("history")
        limit = 10 if history else 50
        judged = history or r["query"] in ("search, rare word", "search, common word")
        extra = f" (total {c['total']}{'+' if c.get('total_capped') else ''})" if "total" in c else ""
        scenario = ("history" if history or r["query"].startswith("numbered") else "channels" if r["query"].startswith(
            "channel") else "search")
        row(scenario, r["case"] + extra, "p50 / p99 / max ms",
            f"{c['p50_ms']} / {c['p99_ms']} / {c['max_ms']}", f"{f['p50_ms']} / {f['p99_ms']}", r["ratio"]["p99_ms"],
            f"p99 ≤ {limit} ms" if judged else "", _check(c["p99_ms"], lambda v: v <= limit) if judged else "", c)
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    runs = meta.get("runs", {})
    when = "; ".join(f"{name} {run['started']} on {run['commit']} ({'quick' if run['quick'] else 'full'}, {run['seconds']:.0f} s)"
                     for name, run in runs.items() if run) or f"{meta['started']} on {meta['commit']}"
    head = [
        "# Benchmark results",
        "",
        f"Runs: {when}. {meta['cores']} cores; load average before the last run {meta['load_before']}. "
        "Ratios are chatd ÷ the floor in the same run; a send's rate and CPU ratios are the median of its rounds' "
        "own ratios (each chatd round against the floor round just before it), its figures the medians of the rounds. "
        "⚠ marks a figure measured while other processes used more than "
        f"{int(meta['others_max'] * 100)} % of a core (kept after up to {meta['attempts']} attempts"
        + ("; a quick run stops retrying once its retries have taken "
           f"{meta['retry_budget_s']:.0f} s" if meta.get("retry_budget_s") else "")
        + "): re-run it on a quiet machine before trusting it.",
        "",
        "",
    ]
    return "\n".join(head) + table(results) + "\n"


def charts(results: dict[str, Any], folder: Path) -> list[Path]:
    """One PNG per scenario. Needs matplotlib (the ``bench`` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []

    def bars(name: str, title: str, labels: list[str], ours: list[float], theirs: list[float], unit: str,
             log: bool = False) -> None:
        fig, ax = plt.subplots(figsize=(min(16, max(6, len(labels) * 1.1)), 4.5))
        xs = range(len(labels))
        ax.bar([x - 0.2 for x in xs], ours, 0.4, label="chatd")
        ax.bar([x + 0.2 for x in xs], theirs, 0.4, label="floor (same run)")
        ax.set_xticks(list(xs), labels, rotation=20, ha="right", fontsize=8)
        ax.set_ylabel(unit)
        ax.set_title(title)
        if log:
            ax.set_yscale("log")
        ax.legend()
        fig.tight_layout()
        path = folder / f"{name}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        made.append(path)

    send = results.get("send", [])
    if send:
        bars("send", "Durable sends per second", [r["case"] for r in send], [r["chatd"]["per_second"] for r in send],
             [r["floor"]["per_second"] for r in send], "sends/s (floor: echoes/s)", log=True)
    rows = results.get("fanout", {}).get("rows", [])
    if rows:
        bars("fanout", "Fan-out: max deliveries per second", [r["case"] for r in rows],
             [r["max"]["chatd"]["deliveries_per_second"] for r in rows],
             [r["max"]["floor"]["deliveries_per_second"] for r in rows], "deliveries/s")
        bars("fanout-latency", "Post → delivery p99 at 50 % of max load", [r["case"] for r in rows],
             [r["at_50"]["chatd"]["p99_ms"] for r in rows], [r["at_50"]["floor"]["p99_ms"] for r in rows], "ms", log=True)
    memory = results.get("fanout", {}).get("memory", {})
    if "chatd" in memory:
        bars("memory", "Memory per idle socket", [f"{memory['chatd']['sockets']:,} sockets"],
             [memory["chatd"]["kib_per_socket"]], [memory["floor"]["kib_per_socket"]], "KiB")
    resume = results.get("resume", [])
    if resume:
        bars("resume", "Resume of 10,000 missed events", [r["case"] for r in resume],
             [r["chatd"]["median_s"] for r in resume], [r["floor"]["median_s"] for r in resume], "seconds")
    store = [r for r in results.get("store", []) if "plans" not in r]
    if store:
        stored = results["meta"].get("fill_messages", 1_000_000)
        bars("history-search", f"History and search at {stored:,} messages: p99", [r["case"] for r in store],
             [r["chatd"]["p99_ms"] for r in store], [r["floor"]["p99_ms"] for r in store], "ms (floor: a page GET)",
             log=True)
    return made


def write(results: dict[str, Any], out: Path, chart_folder: Path | None) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    out.with_suffix(".md").write_text(markdown(results))
    if chart_folder is not None:
        charts(results, chart_folder)

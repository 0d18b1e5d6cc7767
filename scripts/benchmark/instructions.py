"""``scripts/bench --instructions``: the instructions a send costs, counted by valgrind's callgrind.

Every other figure of the benchmark is a CPU time, and on this machine two runs of the same code differ by a
tenth or more (the floor's own CPU per request moved between 44 and 89 µs in one afternoon). An instruction
count does not move with the machine: the same code and input give the same count within about half a
percent (the senders' batches differ a little between runs). So a change to the request path is measured
here first, alone, and only then in the timed scenarios.

What is counted: chatd's ASGI app and the floor's, driven in-process as ``--inprocess`` drives them (no HTTP
server, no sockets: what both pay alike), every thread of the process, user-space instructions only (a
system call counts for its few instructions on our side, not for the kernel's work). The counters are zeroed
after the warm-up and dumped after the measured sends (``callgrind_control``), so start-up is left out.
``--chatd PATH`` counts another checkout's chatd with this benchmark (a baseline commit, in a worktree).

Then the whole server: ``chatd serve`` on SQLite and the floor's server, each under callgrind, driven over
loopback by the send scenario's load generator at 16 senders (``_count_server``). uvicorn's protocol,
httptools and uvloop are in that count. It is less steady (a few percent between runs: the word indexer
keeps its own clock, which valgrind slows), so it says where a send goes rather than settling a small change.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

SENDS = {1: 300, 16: 1000}
QUICK_SENDS = {1: 100, 16: 300}
SERVER_SENDS = 2000  # the whole server's count: it moves by a few percent between runs (the word indexer runs
# on its own clock, slowed by valgrind, so how many of its batches are counted varies): a guide to where a
# send's instructions go, uvicorn included; the in-process count is the steady one
WARM_UP = 300
# Under callgrind the server runs some fifty times slower, so a cache that forgets after a few seconds forgets
# fifty times as often per send as at speed: a signed-in caller's credential (5 s by default) was checked
# against the store again every few dozen sends of each sender, a cost that at speed falls on one send in
# ten thousand. The counts keep it for an hour instead, as the word indexer's delay is lifted below.
SLOWED_ENV = {"CHATD_AUTH__CREDENTIAL_CACHE_SECONDS": "3600"}


def _control(flag: str) -> None:
    subprocess.run(["callgrind_control", flag, str(os.getpid())], stdout=subprocess.DEVNULL, check=True)


async def _child(target: str, senders: int, sends: int, users: int = 0) -> None:
    """In the process valgrind runs: warm up, then count ``sends`` posts from ``senders`` callers (who are
    ``users`` users of their own, when given)."""
    from . import inprocess

    os.environ.update(SLOWED_ENV)  # read by ``inprocess._chatd`` through ``procs.chatd_env``
    with tempfile.TemporaryDirectory(prefix="chatd-bench-") as tmp:
        indexer = None
        if target == "chatd":
            try:
                from chatd.core import indexing

                # SQLite's word index takes what was sent DELAY before in one batch; under callgrind time runs
                # tens of times slower, and that batch would hold a send or two. So the indexer waits here, and
                # indexes the round's sends in one catch-up, counted with them.
                indexing.DELAY = 3600.0
            except ImportError:  # a baseline checkout (``--chatd``) from before the index was written in batches
                pass
            app, lifespan, scope, body = await inprocess._chatd(
                f"sqlite+aiosqlite:///{tmp}/chatd.db", Path(tmp), users)
            indexer = getattr(app.state.core, "indexer", None)
        else:
            from .floor import app  # the floor's ASGI app, as its server runs it

            lifespan = None
            body = orjson.dumps({"channel_id": "1", "contents": inprocess.CONTENTS})
            scope = inprocess._scope("/message/edit", body, [])
        try:
            await inprocess._round(app, scope, body, senders, WARM_UP, collect=False)
            if indexer is not None:
                await indexer.catch_up()
            _control("-z")
            await inprocess._round(app, scope, body, senders, sends, collect=False)
            if indexer is not None:
                await indexer.catch_up()
            _control("-d")
        finally:
            if lifespan is not None:
                await lifespan.__aexit__(None, None, None)


def _per_send(directory: Path, sends: int, what: str) -> int:
    """Instructions per send from the counts callgrind dumped (``callgrind_control -d``) into ``directory``."""
    dumps = sorted(directory.glob("callgrind.out.*"))
    if not dumps:
        raise RuntimeError(f"callgrind run of {what} wrote no counts")
    summary = next(line for line in dumps[0].read_text().splitlines() if line.startswith("summary:"))
    return round(int(summary.split()[1]) / sends)


def _count(target: str, senders: int, sends: int, chatd_root: Path | None, users: int = 0) -> int:
    """Instructions per send of one valgrind run (``users``: the senders are that many users of their own)."""
    with tempfile.TemporaryDirectory(prefix="chatd-callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict layouts in every run
        if chatd_root is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(chatd_root), env.get("PYTHONPATH")]))
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m",
                   "benchmark.instructions", target, str(senders), str(sends), str(users)]
        done = subprocess.run(command, cwd=Path(__file__).parents[1], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"callgrind run of {target} failed:\n{done.stderr[-3000:]}")
        return _per_send(Path(tmp), sends, target)


async def _count_server(target: str, senders: int, sends: int, chatd_root: Path | None, users: int = 0) -> int:
    """Instructions per send of a whole server run by valgrind (``chatd serve`` on SQLite, or the floor's
    server) and driven over loopback by the send scenario's load generator: what the in-process count leaves
    out, uvicorn's protocol, httptools and uvloop, is in it. User space only, every thread. ``users``: the
    senders are that many users of their own (``setup.chatd_room``), not the admin alone."""
    from . import procs
    from .send import _send
    from .setup import chatd_room, floor_room

    with tempfile.TemporaryDirectory(prefix="chatd-callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        port = procs.free_port()
        if target == "chatd":
            env = {**procs.chatd_env(f"sqlite+aiosqlite:///{tmp}/chatd.db", Path(tmp)), **SLOWED_ENV}
            server = [sys.executable, "-m", "chatd", "serve", "--port", str(port)]
        else:
            env = dict(os.environ)
            server = [sys.executable, str(Path(__file__).parent / "floor.py"), str(port)]
        env["PYTHONHASHSEED"] = "0"
        if chatd_root is not None and target == "chatd":
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(chatd_root), env.get("PYTHONPATH")]))
        proc = subprocess.Popen(
            procs.taskset(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *server]),
            env=env, cwd=chatd_root or procs.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        try:
            procs.wait_ready(port, proc, timeout=300)
            running = procs.Server(target, port, proc)
            room = chatd_room(running, users=users) if target == "chatd" else floor_room(running)
            await _send(running, room, senders, WARM_UP * 2, 600)
            subprocess.run(["callgrind_control", "-z", str(proc.pid)], capture_output=True, check=True)
            done = await _send(running, room, senders, sends, 600)
            subprocess.run(["callgrind_control", "-d", str(proc.pid)], capture_output=True, check=True)
            if done["errors"] or done["requests"] != sends:
                raise RuntimeError(f"callgrind run of {target} serve: {done}")
        finally:
            procs.stop(proc, timeout=120)
        return _per_send(Path(tmp), sends, f"{target} serve")


def run(opts: Any) -> list[dict[str, Any]]:
    if shutil.which("valgrind") is None:
        raise SystemExit("bench: --instructions needs valgrind (apt-get install valgrind)")
    sends = QUICK_SENDS if opts.quick else SENDS
    rows = []
    for senders in (1, 16):
        chatd = _count("chatd", senders, sends[senders], opts.chatd)
        floor = _count("floor", senders, sends[senders], None)
        rows.append({"case": f"sqlite, {senders} senders", "senders": senders, "sends": sends[senders],
                     "chatd": chatd, "floor": floor, "ratio": round(chatd / floor, 2)})
        print(f"bench: instructions per send, {senders} senders: chatd {chatd:,}, floor {floor:,}", flush=True)
    people = _count("chatd", 16, sends[16], opts.chatd, users=16)
    rows.append({"case": "sqlite, 16 senders who are 16 users", "senders": 16, "sends": sends[16],
                 "chatd": people, "floor": floor, "ratio": round(people / floor, 2)})
    print(f"bench: instructions per send, 16 senders who are 16 users: chatd {people:,}", flush=True)
    import uvloop

    senders = 16
    served = SERVER_SENDS // (3 if opts.quick else 1)
    chatd = uvloop.run(_count_server("chatd", senders, served, opts.chatd))
    floor = uvloop.run(_count_server("floor", senders, served, None))
    rows.append({"case": f"sqlite, {senders} senders, the whole server (uvicorn too)", "senders": senders,
                 "sends": served, "chatd": chatd, "floor": floor, "ratio": round(chatd / floor, 2)})
    print(f"bench: instructions per send, {senders} senders, whole server: chatd {chatd:,}, floor {floor:,}", flush=True)
    people = uvloop.run(_count_server("chatd", senders, served, opts.chatd, users=senders))
    rows.append({"case": f"sqlite, {senders} senders who are {senders} users, the whole server", "senders": senders,
                 "sends": served, "chatd": people, "floor": floor, "ratio": round(people / floor, 2)})
    print(f"bench: instructions per send, {senders} senders who are {senders} users, whole server: chatd {people:,}",
          flush=True)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| case | chatd instructions per send | floor | ratio |", "|---|---|---|---|"]
    lines += [f"| {r['case']} | {r['chatd']:,} | {r['floor']:,} | {r['ratio']} |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    import uvloop

    uvloop.run(_child(sys.argv[1], *map(int, sys.argv[2:5])))

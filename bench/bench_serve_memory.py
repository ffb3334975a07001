"""Race control's memory without the HTTP layer: the field of ``bench_serve.py`` pushed into a Field.

The same route and runners as ``bench/bench_serve.py`` (``--runners``, ``--minutes`` of race time,
one fix every ``--every-s``), every fix pushed in time order into one
:class:`~offcourse.serve.field.Field` over a :class:`~offcourse.serve.store.Store` in this process,
``--group`` requests a transaction (as the server's group commits), the write-ahead log checkpointed
every ``--checkpoint-every`` fixes (the server does every 2 s), as fast as it goes. At each
minute of race time: this process's RSS, the monitors in memory, the fixes their engines keep
(``ring``, at most ``RING_SIZE`` a runner), the route intervals they keep (``covered``) and
SQLite's own heap. ``--trace-from M`` starts tracemalloc at race minute M and prints, at the end,
where the Python heap grew between the first traced minute, the middle and the last.

Run: ``.venv/bin/python bench/bench_serve_memory.py --runners 2000 --minutes 30`` (720,000 fixes,
about 5 minutes): the RSS grows while the engines' rings fill (240 fixes a runner: 20 minutes at
one fix every 5 s) and is flat after.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import math
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import bench_serve  # noqa: E402

import offcourse  # noqa: E402
from offcourse.detect.state import route_fingerprint  # noqa: E402
from offcourse.serve.auth import Runner  # noqa: E402
from offcourse.serve.field import Field  # noqa: E402
from offcourse.serve.ingest import Position  # noqa: E402
from offcourse.serve.store import Store  # noqa: E402


def rss_mib() -> float:
    """This process's resident memory."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def sqlite_heap() -> ctypes.CDLL | None:
    """The SQLite library Python's sqlite3 uses (for ``sqlite3_memory_used``), when it is shared."""
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        return None
    lib = ctypes.CDLL(name)
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return lib


def sizes(field: Field, lib: ctypes.CDLL | None) -> str:
    """What the field holds, summed over its monitors (the engine's structures, read from outside)."""
    lives = list(field._live.values())
    ring = sum(len(live.monitor._st.ring) for live in lives)
    covered = sum(len(live.monitor._st.covered) for live in lives)
    heap = f"{lib.sqlite3_memory_used() / 2**20:.1f}" if lib is not None else "?"
    wal = field.store.wal_bytes() / 2**20
    return (
        f"monitors {len(lives)}, ring {ring:,} fixes, covered {covered} intervals, SQLite heap {heap} MiB, "
        f"WAL {wal:.0f} MiB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runners", type=int, default=2000)
    ap.add_argument("--minutes", type=float, default=30.0, help="race time (default 30)")
    ap.add_argument("--every-s", type=float, default=5.0)
    ap.add_argument("--group", type=int, default=8, help="requests (one fix each) a transaction")
    ap.add_argument("--checkpoint-every", type=int, default=800, help="fixes between two checkpoints")
    ap.add_argument("--trace-from", type=int, default=0, help="start tracemalloc at this race minute (0: never)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    race = argparse.Namespace(
        runners=args.runners, minutes=args.minutes, every_s=args.every_s, wrong_share=0.05, seed=args.seed
    )
    work = Path(tempfile.mkdtemp(prefix="bench-serve-memory-"))
    try:
        x, y = bench_serve.make_route(100.0, args.seed)
        bench_serve.write_route(work / "route.gpx", x, y)
        route = offcourse.read_route(work / "route.gpx")
        t0 = math.floor(time.time() - 86_400)
        runners = bench_serve.make_field(x, y, race, t0)
        registered = {r.device: Runner(r.device, str(k + 1), f"Runner {k + 1}") for k, r in enumerate(runners)}
        schedule = sorted(
            (float(t), r.device, float(lat), float(lon))
            for r in runners
            for t, lat, lon in zip(r.t, r.lat, r.lon, strict=True)
        )
        del runners
        field = Field(route, Store(work / "race.sqlite", route_fingerprint(route)), registered)
        lib = sqlite_heap()
        gc.collect()
        print(f"{len(schedule):,} fixes of {args.runners} runners; RSS at the start {rss_mib():.1f} MiB", flush=True)
        snaps: list[tracemalloc.Snapshot] = []
        minute, wall0 = 1, time.perf_counter()
        for i in range(0, len(schedule), args.group):
            group = schedule[i : i + args.group]
            requests = [[Position(d, t, lat, lon, 5.0)] for t, d, lat, lon in group]
            field.ingest_many(requests, group[-1][0])
            if (i // args.group + 1) % max(1, args.checkpoint_every // args.group) == 0:
                field.store.checkpoint()
            last = i + args.group >= len(schedule)
            if group[-1][0] - t0 < minute * 60 and not last:
                continue
            gc.collect()
            if args.trace_from and minute == args.trace_from:
                tracemalloc.start(8)
            if tracemalloc.is_tracing():
                snaps.append(tracemalloc.take_snapshot())
            print(
                f"race minute {minute:3d}: RSS {rss_mib():6.1f} MiB; {sizes(field, lib)} "
                f"({time.perf_counter() - wall0:.0f} s)",
                flush=True,
            )
            minute += 1
        for label, a, b in (("first -> middle", 0, len(snaps) // 2), ("middle -> last", len(snaps) // 2, -1)):
            if len(snaps) < 3:
                break
            print(f"Python heap, traced minutes {label}:")
            for stat in snaps[b].compare_to(snaps[a], "traceback")[:5]:
                print(f"  {stat.size_diff / 2**20:+.2f} MiB ({stat.count_diff:+d} blocks) at")
                for frame in stat.traceback.format()[-4:]:
                    print("    " + frame)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

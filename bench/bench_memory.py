"""Engine memory: 10 million fixes pushed one at a time into one :class:`~offcourse.detect.Monitor`.

The monitor keeps memory independent of the track's length (a ring of recent fixes, a list of
covered stretches that merge): its resident memory must stay flat. A synthetic 30 km wandering route;
a runner along it with white GPS error (sigma 2 m per axis) and a 150 m detour out and back every
million fixes; fixes a millisecond apart so that 10 million of them cover the route once (no finish
before the end). Prints the resident set size (``VmRSS``, or ``ru_maxrss`` where there is no
``/proc``) every ``--every`` fixes, the growth from the first report to the last, and the events raised.

Run: ``.venv/bin/python bench/bench_memory.py [--fixes 10000000] [--every 1000000]`` (about 15 µs a
fix: some three minutes for the default).
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's offcourse, not an installed one

from offcourse.detect import Fix, Monitor
from offcourse.model import Route
from offcourse.project import LocalProjection

__all__ = ["main", "rss_mb"]


def rss_mb() -> float:
    """Resident memory of this process now, MB (peak so far where ``/proc`` is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fixes", type=int, default=10_000_000)
    ap.add_argument("--every", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    n, every = args.fixes, args.every
    rng = np.random.default_rng(1)
    proj = LocalProjection(7.0, 46.0)
    heading = np.cumsum(rng.normal(0, 0.15, 1500))
    x = np.concatenate(([0.0], np.cumsum(20.0 * np.cos(heading))))
    y = np.concatenate(([0.0], np.cumsum(20.0 * np.sin(heading))))
    lon, lat = proj.inverse(x, y)
    route = Route.from_arrays(lon=lon, lat=lat, projection=proj)
    length = route.length_m
    m = Monitor(route)
    kinds: Counter[str] = Counter()
    chunk = 100_000  # positions made a chunk at a time: the benchmark's own arrays stay small
    t0 = 1.7e9
    dt = 0.001
    speed = 0.95 * length / (n * dt)  # covers 95 % of the route: no finish
    print(f"offcourse engine memory: {n:,} fixes pushed one at a time; route {length / 1000:.1f} km; "
          f"{platform.machine()} Python {platform.python_version()}")
    print(f"{'fixes':>12} {'RSS MB':>8} {'µs/fix':>8}")
    first = None
    wall = time.perf_counter()
    last_wall, last_i = wall, 0
    for a in range(0, n, chunk):
        i = np.arange(a, min(a + chunk, n))
        s = speed * dt * i
        px, py = route.point_at(s)
        # a detour 150 m out and back (perpendicular-ish: north) over the first 20,000 fixes of each million
        k = i % 1_000_000
        px = px + rng.normal(0.0, 2.0, len(i))
        py = py + rng.normal(0.0, 2.0, len(i)) + np.where(k < 20_000, 150.0 * np.sin(np.pi * k / 20_000), 0.0)
        plon, plat = proj.inverse(px, py)
        for j, lo, la in zip(i.tolist(), plon.tolist(), plat.tolist(), strict=True):
            for e in m.push(Fix(t0 + j * dt, lo, la)):
                kinds[e.kind.value] += 1
            if (j + 1) % every == 0:
                now = time.perf_counter()
                mb = rss_mb()
                first = mb if first is None else first
                print(f"{j + 1:>12,} {mb:>8.1f} {1e6 * (now - last_wall) / (j + 1 - last_i):>8.1f}", flush=True)
                last_wall, last_i = now, j + 1
    for e in m.close():
        kinds[e.kind.value] += 1
    last = rss_mb()
    print(f"resident memory: {first or last:.1f} MB at the first report, {last:.1f} MB at the end "
          f"({last - (first or last):+.1f} MB); {time.perf_counter() - wall:.0f} s")
    print("events:", dict(kinds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Engine speed: ``check`` throughput and ``push()`` latency beside the naive shapely detector.

A synthetic 100 km wandering route and a 100,000-fix run along it (1 s fixes, Gauss-Markov
GPS error sigma 5 m, one 400 m detour). Prints fixes/s for the whole check (matching and
detection, after reading), push() latency percentiles, and the naive detector (global
distance to the route with shapely, vectorised) on the same fixes.

``--off-share 0.5`` replaces the detour with excursions 500 m off the route (perpendicular to it)
covering about that share of the fixes: the compiled path must stay fast off course too.

Run: ``.venv/bin/python bench/bench_engine.py [--fixes N] [--off-share S]`` (the checkout's own
``offcourse`` is measured, not an installed one).
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's offcourse, not an installed one

from offcourse.detect import Fix, Monitor
from offcourse.match import RouteIndex
from offcourse.model import Route, Track
from offcourse.project import LocalProjection
from offcourse.report import check


def make(n_fix: int, seed: int = 1, off_share: float = 0.0) -> tuple[Route, Track]:
    rng = np.random.default_rng(seed)
    proj = LocalProjection(7.0, 46.0)
    # wandering route: vertices every ~20 m, heading random walk
    n_v = 5000
    heading = np.cumsum(rng.normal(0, 0.15, n_v))
    step = 20.0
    x = np.concatenate(([0.0], np.cumsum(step * np.cos(heading))))
    y = np.concatenate(([0.0], np.cumsum(step * np.sin(heading))))
    lon, lat = proj.inverse(x, y)
    route = Route.from_arrays(lon=lon, lat=lat, projection=proj)
    if off_share <= 0:
        s = np.linspace(0, route.length_m, n_fix)
        px, py = route.point_at(s)
        # a 400 m detour at 30 % of the way
        k0 = int(0.3 * n_fix)
        k = np.arange(300)
        px[k0 : k0 + 300] += 200.0 * np.sin(np.pi * k / 300)
    else:
        # wrong turns of 1000 fixes: out 500 m from the route (perpendicular to it) and back to where the
        # runner left it, evenly spaced; about 90 % of their fixes are more than 50 m off
        span = 1000
        count = max(1, round(off_share * n_fix / (0.9 * span)))
        starts = np.linspace(0.05 * n_fix, 0.95 * n_fix - span, count).astype(int)
        off = np.zeros(n_fix, dtype=bool)
        for k0 in starts:
            off[k0 : k0 + span] = True
        s = np.empty(n_fix)
        s[~off] = np.linspace(0, route.length_m, int((~off).sum()))
        for k0 in starts:
            s[k0 : k0 + span] = s[k0 - 1]
        px, py = route.point_at(s)
        ex, ey = route.point_at(s + 1.0)
        nx, ny = -(ey - py), ex - px
        norm = np.hypot(nx, ny)
        norm[norm == 0] = 1.0
        bump = np.zeros(n_fix)
        k = np.arange(span)
        for k0 in starts:
            bump[k0 : k0 + span] = 500.0 * np.sin(np.pi * k / span)
        px, py = px + bump * nx / norm, py + bump * ny / norm
    a = np.exp(-1 / 30)
    e = np.zeros((n_fix, 2))
    noise = rng.normal(0, 5.0 * np.sqrt(1 - a * a), (n_fix, 2))
    for i in range(1, n_fix):
        e[i] = a * e[i - 1] + noise[i]
    lon, lat = proj.inverse(px + e[:, 0], py + e[:, 1])
    track = Track.from_arrays(lon=lon, lat=lat, epoch_s=1.7e9 + np.arange(n_fix, dtype=float))
    return route, track


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fixes", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5, help="best of N runs for the compiled path")
    ap.add_argument("--off-share", type=float, default=0.0, help="share of fixes off course (excursions 500 m out)")
    args = ap.parse_args()
    route, track = make(args.fixes, off_share=args.off_share)
    print(f"machine: {platform.machine()} {platform.processor() or ''}, python {platform.python_version()}")
    print(f"route {route.length_m / 1000:.1f} km, {len(route)} vertices; track {len(track)} fixes")
    t0 = time.perf_counter()
    index = RouteIndex(route)
    t_index = time.perf_counter() - t0
    from offcourse.detect import _kernel

    compiled = _kernel.available()
    if compiled:  # compile (or load numba's cache) outside the timing
        check(
            route,
            Track.from_arrays(lon=track.lon[:10], lat=track.lat[:10], epoch_s=track.epoch_s[:10]),
            index=index,
            compiled=True,
        )
    print(f"route index build        {t_index * 1000:8.1f} ms")
    x, y = route.projection.forward(track.lon, track.lat)
    t0 = time.perf_counter()
    route.projection.forward(track.lon, track.lat)
    t_proj = time.perf_counter() - t0
    print(f"projection (pyproj)      {len(track) / t_proj:10,.0f} fixes/s")
    for label, use in (("compiled", True), ("python", False)):
        if use and not compiled:
            print("compiled path            numba not installed: skipped")
            continue
        best = math.inf
        for _ in range(args.repeat if use else 1):
            m = Monitor(route, index=index)
            t0 = time.perf_counter()
            m.push_arrays(track.epoch_s, x, y, track.ele_m, track.hacc_m, compiled=use)
            m.close()
            best = min(best, time.perf_counter() - t0)
        print(f"match+detect ({label:8s}) {len(track) / best:10,.0f} fixes/s  ({best:.3f} s)")
        t0 = time.perf_counter()
        rep = check(route, track, index=index, compiled=use)
        t_check = time.perf_counter() - t0
        print(
            f"check, whole ({label:8s}) {len(track) / t_check:10,.0f} fixes/s  ({t_check:.3f} s incl. projection, "
            f"{len(rep.excursions)} excursion(s))"
        )
    # push() latency
    m = Monitor(route, index=index)
    fixes = [Fix(float(t), float(lo), float(la)) for t, lo, la in zip(track.epoch_s, track.lon, track.lat, strict=True)]
    lat_ns = np.empty(len(fixes))
    for i, f in enumerate(fixes):
        a = time.perf_counter_ns()
        m.push(f)
        lat_ns[i] = time.perf_counter_ns() - a
    p50, p99, pmax = np.percentile(lat_ns, [50, 99, 100]) / 1000
    print(f"push() latency           median {p50:6.1f} µs   p99 {p99:6.1f} µs   max {pmax:8.1f} µs")
    # naive shapely detector: global distance to the route, vectorised
    t0 = time.perf_counter()
    line = shapely.LineString(np.column_stack([route.x, route.y]))
    x, y = route.projection.forward(track.lon, track.lat)
    d = shapely.distance(line, shapely.points(x, y))
    off = d > 50.0
    t_naive = time.perf_counter() - t0
    print(f"naive shapely distance   {len(track) / t_naive:10,.0f} fixes/s  ({int(off.sum())} fixes > 50 m)")
    extra = f" --off-share {args.off_share}" if args.off_share else ""
    print(f"reproduce: .venv/bin/python bench/bench_engine.py --fixes {args.fixes}{extra}")


if __name__ == "__main__":
    main()

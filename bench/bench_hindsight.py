"""Hindsight speed: ``offcourse.check`` on a 20,000- and a 100,000-fix recording, and hindsight alone.

The recordings are ``bench_engine.make(n_fix)`` (a 100 km wandering route, a run along it with
Gauss-Markov GPS error; ``--off-share`` sends that share of the fixes 500 m off course). Prints
wall and CPU time (``time.process_time``: the machine may be shared) of the whole check, of the
search for the passes near each fix (``passes.candidates``, beside shapely's STRtree ``dwithin``
query it replaced, alone) and of :func:`offcourse.coverage.hindsight` (best of ``--repeat``; its
Viterbi search in Python and compiled), then the top functions of a cProfile of hindsight (as the process chooses).

Run: ``.venv/bin/python bench/bench_hindsight.py [--fixes 20000 100000] [--off-share S]``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's offcourse, not an installed one
sys.path.insert(0, str(REPO / "bench"))

import numpy as np  # noqa: E402
import shapely  # noqa: E402
from bench_engine import make  # noqa: E402

from offcourse import passes, rematch  # noqa: E402
from offcourse.coverage import hindsight  # noqa: E402
from offcourse.match import RouteIndex  # noqa: E402
from offcourse.report import check  # noqa: E402


def _timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    best_w = best_c = float("inf")
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        best_w = min(best_w, time.perf_counter() - w)
        best_c = min(best_c, time.process_time() - c)
    return best_w, best_c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fixes", type=int, nargs="+", default=[20_000, 100_000])
    ap.add_argument("--off-share", type=float, default=0.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--top", type=int, default=12, help="cProfile: this many functions")
    args = ap.parse_args()
    for n in args.fixes:
        route, track = make(n, off_share=args.off_share)
        index = RouteIndex(route)
        check(route, track, index=index)  # warm: numba, the route's trees
        x, y = route.projection.forward(track.lon, track.lat)
        t = track.epoch_s
        cw, cc = _timed(partial(check, route, track, index=index), args.repeat)
        print(f"{n:>7,} fixes  check                wall {cw:7.3f} s  cpu {cc:7.3f} s")
        if hasattr(passes, "candidates"):
            ok = np.isfinite(x) & np.isfinite(y)
            gw, gc = _timed(partial(passes.candidates, index, x[ok], y[ok]), args.repeat)
            print(f"{n:>7,} fixes  candidate passes     wall {gw:7.3f} s  cpu {gc:7.3f} s")
            tree = passes._tree(index)
            pts = shapely.points(x[ok], y[ok])
            query = partial(tree.query, pts, predicate="dwithin", distance=passes.CANDIDATE_RADIUS_M)
            sw, sc = _timed(query, args.repeat)
            print(f"{n:>7,} fixes  (shapely dwithin)    wall {sw:7.3f} s  cpu {sc:7.3f} s  its query alone (reference)")
        has_compiled = hasattr(rematch, "COMPILED_MIN_FIXES")  # not in a checkout before the compiled form
        for label, lo in (("python", 10**12), ("compiled", 1))[: 2 if has_compiled else 1]:
            saved = getattr(rematch, "COMPILED_MIN_FIXES", None), getattr(rematch, "COMPILED_LOADED_MIN_FIXES", None)
            rematch.COMPILED_MIN_FIXES = rematch.COMPILED_LOADED_MIN_FIXES = lo
            hindsight(index, x[:5000], y[:5000], t[:5000])  # load the kernel outside the timing
            hw, hc = _timed(partial(hindsight, index, x, y, t), args.repeat)
            rematch.COMPILED_MIN_FIXES, rematch.COMPILED_LOADED_MIN_FIXES = saved
            print(f"{n:>7,} fixes  hindsight {label:9s}  wall {hw:7.3f} s  cpu {hc:7.3f} s")
        prof = cProfile.Profile()
        prof.enable()
        hindsight(index, x, y, t)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(args.top)
        print("\n".join(line for line in buf.getvalue().splitlines()[4:] if line.strip()))
    extra = f" --off-share {args.off_share}" if args.off_share else ""
    print(f"reproduce: .venv/bin/python bench/bench_hindsight.py --fixes {' '.join(map(str, args.fixes))}{extra}")


if __name__ == "__main__":
    main()

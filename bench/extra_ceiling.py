"""The extra distance an error-free receiver would measure at a recording's own fix times.

For each required excursion of families B and C that came back, the straight steps between the
*true* positions at the fixes from the last one before the runner left to the first one after they
came back, against the path the runner really ran between those two fixes: what any measurement
made of straight steps between fixes leaves out, however good the receiver (a fix every 60 s cuts
every bend and the tip of every out-and-back). An excursion whose shortfall is beyond the
benchmark's tolerance, max(75 m, 10 % of the extra distance), cannot be measured within it from
the fixes alone: that share is the ceiling of "extra within" for such measurements (offcourse
completes the corners at the exit and rejoin at the runner's pace, so it may pass it).

It builds the scenarios in memory with the families' own generators (:mod:`family_b`,
:mod:`family_c`) and does not import offcourse.

Run: ``.venv/bin/python bench/extra_ceiling.py [--family B C]``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import family_b
import family_c
from scenarios import parse_seeds

FAMILIES = {"B": ("2001-2112", family_b.build), "C": ("3001-3112", family_c.build)}


def shortfalls(sc: family_b.Scenario) -> list[tuple[int, float, float]]:
    """(excursion id, metres the straight steps leave out, tolerance) of each required excursion that came back."""
    t0 = float(sc.truth["t0"])
    xy = sc.true_xy  # the true position every second from t0
    fs = np.asarray(sc.fix_s)
    run_m = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))))
    out = []
    for e in sc.truth["excursions"]:
        if e["class"] != "required" or e.get("extra_distance_m") is None or e.get("end_epoch") is None:
            continue
        before, after = fs[fs <= e["start_epoch"] - t0], fs[fs >= e["end_epoch"] - t0]
        if not len(before) or not len(after):
            continue
        a, b = int(before.max()), int(after.min())
        k = fs[(fs >= a) & (fs <= b)].astype(int)
        steps = float(np.hypot(*np.diff(xy[k], axis=0).T).sum())
        out.append((int(e["id"]), (run_m[b] - run_m[a]) - steps, max(75.0, 0.1 * abs(float(e["extra_distance_m"])))))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", nargs="+", default=["B", "C"], choices=sorted(FAMILIES))
    args = ap.parse_args(argv)
    print(f"command: .venv/bin/python bench/extra_ceiling.py --family {' '.join(args.family)}")
    for fam in args.family:
        if fam == "C" and (why := family_c.available()) is not None:
            print(f"family C: not built ({why})")
            continue
        seeds, build = FAMILIES[fam]
        n = within = 0
        beyond = []
        for seed in parse_seeds(seeds):
            sc = build(seed)
            for k, short_m, tol_m in shortfalls(sc):
                n += 1
                if short_m <= tol_m:
                    within += 1
                else:
                    beyond.append(f"{sc.sid}#{k} ({short_m:.0f} m short, tolerance {tol_m:.0f} m, "
                                  f"fixes {sc.params.interval})")
        share = f"{within / n:.2f}" if n else "-"
        print(f"family {fam}: {n} excursions; an error-free receiver at the same fix times measures {within} within "
              f"the tolerance ({share}); beyond it: {', '.join(beyond) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Tune offcourse's detector options on the tuning set (seeds 1-40), in process.

Prints the aggregate metrics for the given option overrides and, with ``-v``, one line per
scenario with its misses and false reports. The report set (seeds 1001-1040) is never used here, and
the held-out families B and C (``bench/family_b.py``, ``bench/family_c.py``) are refused.

Run: ``.venv/bin/python bench/tune.py [-v] [--set off_threshold_m=50 ...]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # this checkout's offcourse, not an installed one

from run import ensure_scenarios
from scenarios import parse_seeds
from score import Detector, aggregate, format_metrics, load_scenarios, run_detector

from offcourse import Options, check, read_route, read_track
from offcourse.report import report_to_dict


def detector(options: Options) -> Detector:
    def fn(route: Path, track: Path) -> dict[str, Any]:
        return report_to_dict(check(read_route(route), read_track(track), options))

    return Detector("offcourse", fn)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", default="1-40")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "scenarios" / "tune")
    ap.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="option overrides")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    overrides = {k: float(v) for k, v in (s.split("=", 1) for s in args.set)}
    options = Options(**{k: int(v) if k.endswith("fixes") else v for k, v in overrides.items()})
    held_out = sorted({str(t.get("family")) for _, t in load_scenarios(args.out) if t.get("family") in ("B", "C")})
    if held_out:
        ap.error(f"{args.out} holds family {'/'.join(held_out)} scenarios: those are held out, never tuned on")
    ensure_scenarios(args.out, parse_seeds(args.seeds))
    scenarios = load_scenarios(args.out)
    log = (lambda m: print(m, file=sys.stderr)) if args.verbose else None
    scores = run_detector(detector(options), scenarios, log)
    print(format_metrics("offcourse", aggregate(scores)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

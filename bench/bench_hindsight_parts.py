"""CPU per file of a batch worker, stage by stage, on the race field's recordings (no profiler).

Checks the first ``--files`` recordings of a race field (``bench/field.py``'s cache, e.g.
``bench/field/r1000-f20000-s1``) the way a batch worker does (``offcourse.batch.worker._check_path``,
after the worker's warm-up), once to warm up and then ``--repeat`` times, and prints the CPU
(``time.process_time``: the machine may be shared) per file of the whole check and of each stage,
inclusive (a stage's figure contains those of the stages it calls, indented under it). The stages
are timed by wrapping the functions where their callers look them up (a few calls per file: the
wrappers cost microseconds).

Run: ``.venv/bin/python bench/bench_hindsight_parts.py [FIELD] [--files 60] [--repeat 2]`` (copied into
another checkout, it measures that one).
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's offcourse, not an installed one

from offcourse import coverage, model, report  # noqa: E402
from offcourse.batch import worker  # noqa: E402

SPENT: dict[str, float] = {}
CALLS: dict[str, int] = {}

# (label, namespace, attribute, depth): where each stage's caller looks it up
STAGES: list[tuple[str, Any, str, int]] = [
    ("read (parse_bytes)", worker, "parse_bytes", 0),
    ("check", worker, "check", 0),
    ("project_track", report, "project_track", 1),
    ("engine (push_arrays)", report.Monitor, "push_arrays", 1),
    ("hindsight", report, "hindsight", 1),
    ("candidates", coverage, "candidates", 2),
    ("nearest_to_route", coverage, "nearest_to_route", 2),
    ("moving_fixes", coverage, "moving_fixes", 2),
    ("match (Viterbi)", coverage, "match", 2),
    ("near_m", coverage, "near_m", 2),
    ("read_path", coverage, "read_path", 2),
    ("read_path_compiled", coverage, "read_path_compiled", 2),
    ("skipped_sections", coverage, "skipped_sections", 2),
    ("find_pauses", report, "find_pauses", 1),
    ("final_excursions", report, "final_excursions", 1),
    ("more_warnings", report, "more_warnings", 1),
    ("report_row", worker, "report_row", 0),
    ("Track.step_m", model.Track, "step_m", 1),
]


def _timer(label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*a: Any, **k: Any) -> Any:
        c = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            SPENT[label] = SPENT.get(label, 0.0) + time.process_time() - c
            CALLS[label] = CALLS.get(label, 0) + 1

    return timed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("field", nargs="?", default=str(REPO / "bench" / "field" / "r1000-f20000-s1"))
    ap.add_argument("--files", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    spec, _ = worker.job_spec(os.path.join(args.field, "route.gpx"))
    prep = worker._prepare(spec)
    files = sorted(glob.glob(os.path.join(args.field, "runs", "*")))[: args.files]

    def run() -> None:
        for f in files:
            worker._check_path(os.fsencode(f), os.fsencode(f), prep.route, prep.options, prep.index)

    run()  # warm: the route's grids, the compiled kernels
    best = float("inf")
    for _ in range(args.repeat):
        c = time.process_time()
        run()
        best = min(best, time.process_time() - c)
    n = len(files)
    print(f"{n} files of {args.field}: cpu per file {1000 * best / n:.1f} ms (best of {args.repeat}, no wrappers)")
    for label, ns, attr, _depth in STAGES:
        if hasattr(ns, attr):  # an older checkout lacks the newer stages
            setattr(ns, attr, _timer(label, getattr(ns, attr)))
    c = time.process_time()
    run()
    total = time.process_time() - c
    print(f"with stage timers: {1000 * total / n:.1f} ms per file; per stage, inclusive, ms per file (calls per file):")
    for label, _ns, _attr, depth in STAGES:
        if label in SPENT:
            print(f"  {'  ' * depth}{label:<24s}{1000 * SPENT[label] / n:7.1f}  ({CALLS[label] / n:.2f})")
    print(f"command: {sys.executable} bench/bench_hindsight_parts.py {args.field} --files {n} --repeat {args.repeat}")


if __name__ == "__main__":
    main()

"""Score a detector's JSON reports against scenario ground truth.

A detector is either a command template such as ``offcourse check {route} {track} --format json``
(it must print the engine issue's JSON on stdout; its exit code is ignored when stdout is JSON) or an
in-process Python callable ``f(route_path, track_path) -> dict``.

Matching rules
--------------
* **Off course.** A reported ``off_course`` excursion matches a *required* truth excursion (true max
  offset >= 75 m) when their time intervals overlap, the truth interval widened by ``TOL_S`` (30 s)
  each side; an open end (never came back) runs to the end of time. Pairs are matched one to one,
  largest overlap first.
  - precision = matched reports / (reports - unmatched reports that overlap an ambiguous interval);
  - recall = matched truth / required truth; F1 their harmonic mean;
  - false alarms = unmatched reports that overlap no truth excursion of any class and no ambiguous
    interval, per 100 hours of recording;
  - latency = ``alert_time`` - the instant the true position first passes 50 m off the route;
    where the truth has ``t50_fix_epoch`` (families B and C), also the latency after the first
    *recorded* fix taken while the runner was over 50 m off (what a detector could know at the earliest);
  - exit and rejoin error = |reported - true| route metres of the place left and the place come back to,
    over matched excursions (where both sides give it);
  - extra-distance error = |reported - true| over matched excursions that came back; "within" when
    <= max(75 m, 10 % of |true|) (a missing reported value is never within).
  A ``shortcut`` report (the verdict API's kind for leaving and rejoining further on having run less)
  counts as an off-course report.
* **Live alerts.** A detector's report may carry ``_live``: every alert it raised while the run went on,
  ``{"exit_epoch", "alert_epoch", "withdrawn"}`` (``withdrawn``: the excursion it opened is not in the
  final report). Without it, its off-course reports are its live alerts (a causal detector). A live
  false alarm is an alert whose interval (exit to alert) overlaps no truth excursion of any class and
  no ambiguous interval; withdrawn alerts count like any other.
* **Skipped sections.** A ``skipped_section`` report matches a truth skipped section when their route
  spans overlap by at least half of the shorter one. An unmatched report is false unless its span
  overlaps the route span of a truth off-course excursion (a shortcut skips route too) or a span in
  the truth's ``skip_ambiguous`` (the route before a mid-route join).
* **Verdict.** A report's ``_verdict`` (the verdict kind, or ``None`` when the detector has none) is
  right when it is in the truth's ``verdict_ok`` (families B and C); for scenarios without one
  (family A) the accepted verdicts are derived by :func:`expected_verdicts`.
* **Wrong direction.** A ``wrong_direction`` report matches a truth wrong-way interval by time overlap
  (``TOL_S``). An unmatched report is false unless it overlaps a truth off-course excursion or an
  ambiguous interval.

Command line::

    python bench/score.py bench/scenarios/report --command "offcourse check {route} {track} --format json"
    python bench/score.py bench/scenarios/report --peer naive-shapely
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "OFF_KINDS",
    "TOL_S",
    "Detector",
    "ScenarioScore",
    "aggregate",
    "command_detector",
    "expected_verdicts",
    "load_scenarios",
    "main",
    "run_detector",
    "score_scenario",
]

TOL_S = 30.0
INF = math.inf
OFF_KINDS = ("off_course", "shortcut")
"""Report kinds scored as off-course excursions."""

DetectFn = Callable[[Path, Path], dict[str, Any]]


@dataclass
class Detector:
    """A named detector: ``fn(route, track)`` returns the engine JSON."""

    name: str
    fn: DetectFn


def command_detector(name: str, template: str) -> Detector:
    """A detector that runs ``template`` with ``{route}`` and ``{track}`` filled in and parses stdout."""

    def fn(route: Path, track: Path) -> dict[str, Any]:
        argv = [a.format(route=str(route), track=str(track)) for a in shlex.split(template)]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        try:
            out: dict[str, Any] = json.loads(proc.stdout)
        except json.JSONDecodeError as exc:
            raise RuntimeError(f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}") from exc
        return out

    return Detector(name, fn)


def _epoch(v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, int | float):
        return float(v)
    return datetime.fromisoformat(str(v).replace("Z", "+00:00")).timestamp()


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    """Length of the intersection of two closed intervals; 0-length touching intervals give a tiny positive."""
    lo, hi = max(a0, b0), min(a1, b1)
    if hi < lo:
        return -1.0
    return hi - lo if math.isfinite(hi - lo) else 1e12


@dataclass
class ScenarioScore:
    """Raw counts and samples for one scenario and one detector."""

    scenario: str
    hours: float
    fixes: int
    wall_s: float
    error: str | None = None
    truth_required: int = 0
    matched: int = 0
    reports: int = 0
    reports_ambiguous: int = 0
    false_alarms: int = 0
    latencies: list[float] = field(default_factory=list)
    fix_latencies: list[float] = field(default_factory=list)
    extra_errors: list[float] = field(default_factory=list)
    extra_within: list[bool] = field(default_factory=list)
    exit_errors: list[float] = field(default_factory=list)
    rejoin_errors: list[float] = field(default_factory=list)
    skip_truth: int = 0
    skip_matched: int = 0
    skip_false: int = 0
    wrong_truth: int = 0
    wrong_matched: int = 0
    wrong_false: int = 0
    missed: list[int] = field(default_factory=list)
    live_alerts: int = 0
    live_false: int = 0
    withdrawn: int = 0
    verdict: str | None = None
    verdict_ok: bool | None = None


def expected_verdicts(truth: dict[str, Any]) -> list[str]:
    """Verdicts accepted for a scenario: its ``verdict_ok``, or derived from family A's truth.

    Family A (no ``verdict_ok``): a skipped section or a required shortcut (negative extra distance)
    is ``cut``; a wrong-way loop ``wrong_way`` (or ``cut``); a required excursion ``lost``; only
    ambiguous excursions ``on_course`` or ``lost``; else ``on_course``.

    Examples
    --------
    >>> expected_verdicts({"excursions": [], "skipped": [], "wrong_way": []})
    ['on_course']
    >>> expected_verdicts({"excursions": [{"class": "required", "extra_distance_m": -300.0}]})
    ['cut']
    """
    if "verdict_ok" in truth:
        return list(truth["verdict_ok"])
    ex = truth.get("excursions", [])
    req = [e for e in ex if e["class"] == "required"]
    if truth.get("skipped") or any((e.get("extra_distance_m") or 0.0) < 0 for e in req):
        return ["cut"]
    if truth.get("wrong_way"):
        return ["wrong_way", "cut"]
    if req:
        return ["lost"]
    if any(e["class"] == "ambiguous" for e in ex):
        return ["on_course", "lost"]
    return ["on_course"]


def score_scenario(truth: dict[str, Any], report: dict[str, Any] | None, wall_s: float = 0.0,
                   error: str | None = None) -> ScenarioScore:
    """Compare one detector report with one scenario's truth (see the module docstring for the rules)."""
    sc = ScenarioScore(str(truth.get("id", "?")), float(truth.get("duration_s", 0.0)) / 3600.0,
                       int(truth.get("fixes", 0)), wall_s, error)
    reps = (report or {}).get("excursions") or []
    amb = [(float(a["start_epoch"]) - TOL_S, float(a["end_epoch"]) + TOL_S) for a in truth.get("ambiguous", [])]
    tex = truth.get("excursions", [])
    t_int = [(float(e["start_epoch"]) - TOL_S, (INF if e["end_epoch"] is None else float(e["end_epoch"])) + TOL_S)
             for e in tex]
    required = [i for i, e in enumerate(tex) if e["class"] == "required"]
    sc.truth_required = len(required)

    def interval(r: dict[str, Any]) -> tuple[float, float]:
        s = _epoch(r.get("start_time")) or _epoch(r.get("alert_time"))
        e = _epoch(r.get("end_time"))
        s = -INF if s is None else s
        return s, INF if e is None else e

    # ---- off course
    off = [r for r in reps if r.get("kind") in OFF_KINDS]
    r_int = [interval(r) for r in off]
    sc.reports = len(off)
    pairs = sorted(
        ((_overlap(*r_int[j], *t_int[i]), i, j) for i in required for j in range(len(off))),
        key=lambda p: -p[0],
    )
    used_t: set[int] = set()
    used_r: set[int] = set()
    for ov, i, j in pairs:
        if ov < 0 or i in used_t or j in used_r:
            continue
        used_t.add(i)
        used_r.add(j)
        e, r = tex[i], off[j]
        alert = _epoch(r.get("alert_time"))
        if alert is not None and e.get("t50_epoch") is not None:
            sc.latencies.append(alert - float(e["t50_epoch"]))
        if alert is not None and e.get("t50_fix_epoch") is not None:
            sc.fix_latencies.append(alert - float(e["t50_fix_epoch"]))
        for key, errs in (("exit_route_m", sc.exit_errors), ("rejoin_route_m", sc.rejoin_errors)):
            if e.get(key) is not None and r.get(key) is not None:
                errs.append(abs(float(r[key]) - float(e[key])))
        if e.get("extra_distance_m") is not None:
            true_x = float(e["extra_distance_m"])
            rep_x = r.get("extra_distance_m")
            if rep_x is None and r.get("distance_saved_m") is not None:
                rep_x = -float(r["distance_saved_m"])  # a shortcut: the distance it saved, as negative extra
            err = INF if rep_x is None else abs(float(rep_x) - true_x)
            sc.extra_errors.append(err)
            sc.extra_within.append(err <= max(75.0, 0.1 * abs(true_x)))
    sc.matched = len(used_t)
    sc.missed = [int(tex[i]["id"]) for i in required if i not in used_t]
    for j in range(len(off)):
        if j in used_r:
            continue
        in_amb = any(_overlap(*r_int[j], *a) >= 0 for a in amb)
        if in_amb:
            sc.reports_ambiguous += 1
        elif not any(_overlap(*r_int[j], *ti) >= 0 for ti in t_int):
            sc.false_alarms += 1

    # ---- live alerts
    live = (report or {}).get("_live")
    if live is None:
        live = [{"exit_epoch": r_int[j][0], "alert_epoch": _epoch(r.get("alert_time")), "withdrawn": False}
                for j, r in enumerate(off)]
    for a in live:
        t_al = a.get("alert_epoch")
        t_ex = a.get("exit_epoch")
        lo = t_ex if t_ex is not None else t_al
        hi = t_al if t_al is not None else lo
        if lo is None or hi is None:
            continue
        sc.live_alerts += 1
        sc.withdrawn += bool(a.get("withdrawn"))
        if not any(_overlap(lo, hi, *x) >= 0 for x in t_int + amb):
            sc.live_false += 1

    # ---- verdict
    if report is not None and report.get("_verdict") is not None:
        sc.verdict = str(report["_verdict"])
        sc.verdict_ok = sc.verdict in expected_verdicts(truth)

    # ---- skipped sections
    skips = [r for r in reps if r.get("kind") == "skipped_section"]
    tsk = truth.get("skipped", [])
    sc.skip_truth = len(tsk)
    used: set[int] = set()
    off_spans = [(e["exit_route_m"], e["rejoin_route_m"]) for e in tex if e.get("rejoin_route_m") is not None]
    off_spans += [(float(a), float(b)) for a, b in truth.get("skip_ambiguous", [])]
    for r in skips:
        a, b = sorted((float(r.get("exit_route_m") or 0.0), float(r.get("rejoin_route_m") or 0.0)))
        hit = None
        for k, s in enumerate(tsk):
            if k in used:
                continue
            lo, hi = s["exit_route_m"], s["rejoin_route_m"]
            if _overlap(a, b, lo, hi) >= 0.5 * max(1.0, min(b - a, hi - lo)):
                hit = k
                break
        if hit is not None:
            used.add(hit)
        elif not any(_overlap(a, b, min(x, y), max(x, y)) > 0 for x, y in off_spans):
            sc.skip_false += 1
    sc.skip_matched = len(used)

    # ---- wrong direction
    wrongs = [r for r in reps if r.get("kind") == "wrong_direction"]
    tww = truth.get("wrong_way", [])
    sc.wrong_truth = len(tww)
    used = set()
    for r in wrongs:
        ri = interval(r)
        hit = next((k for k, w in enumerate(tww) if k not in used and
                    _overlap(*ri, w["start_epoch"] - TOL_S, w["end_epoch"] + TOL_S) >= 0), None)
        if hit is not None:
            used.add(hit)
        elif not any(_overlap(*ri, *x) >= 0 for x in t_int + amb):
            sc.wrong_false += 1
    sc.wrong_matched = len(used)
    return sc


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def aggregate(scores: Iterable[ScenarioScore]) -> dict[str, Any]:
    """Sum per-scenario scores into the benchmark's metrics."""
    s = list(scores)
    hours = sum(x.hours for x in s)
    reports = sum(x.reports - x.reports_ambiguous for x in s)
    matched = sum(x.matched for x in s)
    truth = sum(x.truth_required for x in s)
    precision = _ratio(matched, reports)
    recall = _ratio(matched, truth)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else math.nan
    lat = np.array([v for x in s for v in x.latencies])
    flat = np.array([v for x in s for v in x.fix_latencies])
    xerr = np.array([v for x in s for v in x.extra_errors])
    within = [v for x in s for v in x.extra_within]
    wall = sum(x.wall_s for x in s)
    return {
        "scenarios": len(s),
        "errors": sum(x.error is not None for x in s),
        "hours": round(hours, 2),
        "truth_off_course": truth,
        "reports": reports,
        "matched": matched,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "false_alarms": sum(x.false_alarms for x in s),
        "false_alarms_per_100h": _ratio(100 * sum(x.false_alarms for x in s), hours),
        "latency_median_s": float(np.median(lat)) if len(lat) else math.nan,
        "latency_p90_s": float(np.percentile(lat, 90)) if len(lat) else math.nan,
        "fix_latency_median_s": float(np.median(flat)) if len(flat) else math.nan,
        "fix_latency_p90_s": float(np.percentile(flat, 90)) if len(flat) else math.nan,
        "extra_error_median_m": float(np.median(xerr)) if len(xerr) else math.nan,
        **{f"{k}_error_{q}_m": float(np.percentile(v, p)) if len(v) else math.nan
           for k, v in (("exit", [v for x in s for v in x.exit_errors]),
                        ("rejoin", [v for x in s for v in x.rejoin_errors]))
           for q, p in (("median", 50), ("p90", 90))},
        "extra_within_share": _ratio(sum(within), len(within)),
        "skip_truth": sum(x.skip_truth for x in s),
        "skip_recall": _ratio(sum(x.skip_matched for x in s), sum(x.skip_truth for x in s)),
        "skip_false": sum(x.skip_false for x in s),
        "wrong_truth": sum(x.wrong_truth for x in s),
        "wrong_recall": _ratio(sum(x.wrong_matched for x in s), sum(x.wrong_truth for x in s)),
        "wrong_false": sum(x.wrong_false for x in s),
        "live_alerts": sum(x.live_alerts for x in s),
        "live_false_alarms_per_100h": _ratio(100 * sum(x.live_false for x in s), hours),
        "withdrawn": sum(x.withdrawn for x in s),
        "verdicts": sum(x.verdict_ok is not None for x in s),
        "verdict_accuracy": _ratio(sum(bool(x.verdict_ok) for x in s), sum(x.verdict_ok is not None for x in s)),
        "fixes_per_s": _ratio(sum(x.fixes for x in s), wall),
        "wall_s": round(wall, 2),
    }


def load_scenarios(root: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Scenario folders under ``root`` (those holding a ``truth.json``), sorted by name."""
    out = []
    for f in sorted(Path(root).glob("*/truth.json")):
        out.append((f.parent, json.loads(f.read_text(encoding="utf-8"))))
    return out


def run_detector(det: Detector, scenarios: Sequence[tuple[Path, dict[str, Any]]],
                 log: Callable[[str], None] | None = None) -> list[ScenarioScore]:
    """Run a detector on every scenario and score each report; a crash scores as an empty report."""
    scores = []
    for folder, truth in scenarios:
        route, track = folder / truth["route_file"], folder / truth["track_file"]
        t0 = time.perf_counter()
        err = None
        try:
            rep: dict[str, Any] | None = det.fn(route, track)
        except Exception as exc:
            rep, err = None, f"{type(exc).__name__}: {exc}"
        wall = time.perf_counter() - t0
        sc = score_scenario(truth, rep, wall, err)
        scores.append(sc)
        if log is not None:
            msg = f"{det.name} {sc.scenario}: {sc.matched}/{sc.truth_required} matched, {sc.false_alarms} false"
            log(msg + (f" ERROR {err}" if err else ""))
    return scores


def format_metrics(name: str, m: dict[str, Any]) -> str:
    """One detector's metrics as indented text."""
    lines = [f"{name}: {m['scenarios']} scenarios, {m['hours']} h, {m['errors']} errors"]
    for k, v in m.items():
        if k in ("scenarios", "hours", "errors"):
            continue
        lines.append(f"  {k:24s} {v:.3f}" if isinstance(v, float) else f"  {k:24s} {v}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: score one detector on a scenario set."""
    ap = argparse.ArgumentParser(description="Score a detector on benchmark scenarios.")
    ap.add_argument("scenarios", type=Path, help="folder of scenario folders (written by scenarios.py)")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--command", help="command template with {route} and {track}")
    g.add_argument("--peer", help="name of an in-process peer detector (see peers.PEERS)")
    ap.add_argument("--json", action="store_true", help="print the metrics as JSON")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per scenario on stderr")
    args = ap.parse_args(argv)
    if args.peer:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from peers import PEERS

        det = Detector(args.peer, PEERS[args.peer])
    else:
        det = command_detector("command", args.command)
    scen = load_scenarios(args.scenarios)
    if not scen:
        ap.error(f"no scenarios under {args.scenarios}")
    log = (lambda m: print(m, file=sys.stderr)) if args.verbose else None
    metrics = aggregate(run_detector(det, scen, log))
    print(json.dumps(metrics, indent=1) if args.json else format_metrics(det.name, metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

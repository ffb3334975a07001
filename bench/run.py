"""Side-by-side benchmark: offcourse and its peers on one scenario set, in one run, one table.

``make bench`` runs this with the report seeds. Scenario folders are generated when missing.

Command line::

    python bench/run.py                          # report set: seeds 1001-1040
    python bench/run.py --seeds 1-40               # tuning set, in bench/scenarios/tune
    python bench/run.py --detectors naive-shapely,polyline-ruler --markdown bench/out/table.md
    python bench/run.py --family all             # held-out families B and C first, then A; one table each

With ``--family``, offcourse runs in process (``offcourse.check``; its live alerts are its
``off_course`` events, withdrawn when the excursion an alert opened is not in the final report; its
verdict is ``report.verdict.kind`` when the library has one) beside the debounced distance check.
Families: **A** the report set of :mod:`scenarios` (seeds 1001-1040, the generator the defaults were
tuned on), **B** :mod:`family_b` (seeds 2001-2112, another generator and error model), **C**
:mod:`family_c` (seeds 3001-3112, family B's runs with the residuals of real recordings as noise;
skipped with a message when ``../shared/data`` is absent). Families B and C are never used for tuning.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import platform
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # this checkout's offcourse, not an installed one

import family_b
import family_c
from peers import PEERS
from scenarios import generate, parse_seeds
from score import OFF_KINDS, Detector, aggregate, command_detector, load_scenarios, run_detector

__all__ = ["COLUMNS", "FAMILY_COLUMNS", "INTERVAL_BINS", "REPORT_SEEDS", "TUNE_SEEDS", "main", "markdown_table",
           "offcourse_detector", "offcourse_inprocess", "run_families"]

REPORT_SEEDS = "1001-1040"
"""Seeds of the set whose numbers are reported (never used for tuning)."""
TUNE_SEEDS = "1-40"
"""Seeds of the set used for tuning thresholds."""

COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("precision", "P", "{:.2f}"),
    ("recall", "R", "{:.2f}"),
    ("f1", "F1", "{:.2f}"),
    ("false_alarms_per_100h", "FA/100h", "{:.1f}"),
    ("latency_median_s", "lat. med s", "{:.0f}"),
    ("latency_p90_s", "lat. p90 s", "{:.0f}"),
    ("extra_error_median_m", "extra err med m", "{:.0f}"),
    ("extra_within_share", "extra within", "{:.2f}"),
    ("skip_recall", "skip R", "{:.2f}"),
    ("skip_false", "skip false", "{}"),
    ("wrong_recall", "wrong-way R", "{:.2f}"),
    ("wrong_false", "wrong-way false", "{}"),
    ("fixes_per_s", "fixes/s", "{:,.0f}"),
    ("errors", "errors", "{}"),
)


def offcourse_detector(template: str | None = None) -> Detector | None:
    """The offcourse CLI as a command detector, or ``None`` while ``offcourse.cli`` does not exist."""
    if template is None:
        if importlib.util.find_spec("offcourse") is None or importlib.util.find_spec("offcourse.cli") is None:
            return None
        exe = shutil.which("offcourse") or str(Path(sys.executable).with_name("offcourse"))
        template = f"{exe} check {{route}} {{track}} --format json"
    return command_detector("offcourse", template)


FAMILY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("precision", "P", "{:.2f}"),
    ("recall", "R", "{:.2f}"),
    ("f1", "F1", "{:.2f}"),
    ("false_alarms_per_100h", "FA/100h", "{:.1f}"),
    ("live_false_alarms_per_100h", "live FA/100h", "{:.1f}"),
    ("withdrawn", "withdrawn", "{}"),
    ("latency_median_s", "lat. med s", "{:.0f}"),
    ("latency_p90_s", "lat. p90 s", "{:.0f}"),
    ("fix_latency_median_s", "lat. after fix med s", "{:.0f}"),
    ("fix_latency_p90_s", "lat. after fix p90 s", "{:.0f}"),
    ("extra_within_share", "extra within", "{:.2f}"),
    ("skips", "skips found", "{}"),
    ("skip_false", "skip false", "{}"),
    ("wrongs", "wrong-way found", "{}"),
    ("wrong_false", "wrong-way false", "{}"),
    ("verdict", "verdict", "{}"),
    ("fixes_per_s", "fixes/s", "{:,.0f}"),
    ("errors", "errors", "{}"),
)
"""Columns of the per-family tables."""
FAMILIES: dict[str, tuple[str, str]] = {
    "B": (family_b.SEEDS, "family-b"),
    "C": (family_c.SEEDS, "family-c"),
    "A": (REPORT_SEEDS, "report"),
}
"""Seeds and scenario folder of each family, in the order they are reported (held-out first)."""


def offcourse_inprocess() -> Detector:
    """``offcourse.check`` in process; adds its live alerts (``_live``) and verdict (``_verdict``) to the JSON."""
    import offcourse
    from offcourse.report import report_to_dict

    def fn(route: Path, track: Path) -> dict[str, Any]:
        rep = offcourse.check(offcourse.read_route(route), offcourse.read_track(track))
        out: dict[str, Any] = report_to_dict(rep)
        final = {round(e.alert_epoch_s, 3) for e in rep.excursions
                 if e.kind in OFF_KINDS and e.alert_epoch_s is not None}
        out["_live"] = [{"exit_epoch": getattr(ev, "exit_epoch_s", None), "alert_epoch": ev.epoch_s,
                         "withdrawn": round(ev.epoch_s, 3) not in final}
                        for ev in rep.events if getattr(ev, "kind", "") == "off_course"]
        out["_verdict"] = getattr(getattr(rep, "verdict", None), "kind", None)
        return out

    return Detector("offcourse", fn)


def _family_scenarios(fam: str, root: Path) -> tuple[list[tuple[Path, dict[str, Any]]], str | None]:
    seeds_text, folder = FAMILIES[fam]
    if fam == "C" and (why := family_c.available()) is not None:
        return [], why
    out = root / folder
    out.mkdir(parents=True, exist_ok=True)
    seeds = parse_seeds(seeds_text)
    prefix = {"A": "s", "B": "b", "C": "c"}[fam]
    have = {p.parent.name[:6] for p in out.glob(f"{prefix}*/truth.json")}
    gen = {"A": generate, "B": family_b.generate, "C": family_c.generate}[fam]
    for seed in seeds:
        if f"{prefix}{seed:05d}" not in have:
            gen(seed, out)
    wanted = {f"{prefix}{seed:05d}" for seed in seeds}
    return [(p, t) for p, t in load_scenarios(out) if p.name[:6] in wanted], None


def _family_row(m: dict[str, Any], has_verdicts: bool) -> dict[str, Any]:
    m = dict(m)
    m["skips"] = f"{m['skip_matched']}/{m['skip_truth']}"
    m["wrongs"] = f"{m['wrong_matched']}/{m['wrong_truth']}"
    if m["verdicts"]:
        m["verdict"] = f"{m['verdict_accuracy']:.2f} ({m['verdict_right']}/{m['verdicts']})"
    else:
        m["verdict"] = "n/a (no verdict API)" if has_verdicts else "n/a"
    return m


INTERVAL_BINS = ("fixes <= 5 s apart", "5-20 s", "> 20 s")
"""Bins of the mean fix interval (the recording's duration over its fixes) for the latency breakdown: what
the sampling allows (no detector alerts before the first fix taken over 50 m off)."""


def _interval_bin(truth: dict[str, Any]) -> str:
    """The :data:`INTERVAL_BINS` bin of a scenario's mean fix interval.

    >>> _interval_bin({"fixes": 3601, "duration_s": 3600.0}), _interval_bin({"fixes": 61, "duration_s": 3600.0})
    ('fixes <= 5 s apart', '> 20 s')
    """
    n = int(truth.get("fixes", 0))
    mean_s = float(truth.get("duration_s", 0.0)) / (n - 1) if n > 1 else math.inf
    return INTERVAL_BINS[0] if mean_s <= 5.0 else INTERVAL_BINS[1] if mean_s <= 20.0 else INTERVAL_BINS[2]


def run_families(families: Sequence[str], dets: Sequence[Detector], root: Path,
                 log: Any = None) -> list[tuple[str, str, list[tuple[str, dict[str, Any]]], list[str]]]:
    """Run every detector on every family; per family its header, rows and per-scenario verdict misses."""
    out = []
    for fam in families:
        scen, why = _family_scenarios(fam, root)
        if why is not None:
            out.append((fam, why, [], []))
            continue
        rows = []
        misses: list[str] = []
        by_interval: dict[str, list[str]] = {}
        interval = {str(t.get("id")): _interval_bin(t) for _, t in scen}
        placed: list[str] = []
        for d in dets:
            scores = run_detector(d, scen, log)
            for iv in INTERVAL_BINS:
                lat = np.array([v for x in scores if interval.get(x.scenario) == iv for v in x.latencies])
                flat = np.array([v for x in scores if interval.get(x.scenario) == iv for v in x.fix_latencies])
                txt = f"{np.median(lat):.0f}/{np.percentile(lat, 90):.0f} s" if len(lat) else "-"
                if len(flat):
                    txt += f" (after the fix {np.median(flat):.0f}/{np.percentile(flat, 90):.0f} s)"
                by_interval.setdefault(iv, []).append(txt + f" [{len(lat)}]")
            m = aggregate(scores)
            n_exit, n_rejoin = (sum(len(x.exit_errors) for x in scores), sum(len(x.rejoin_errors) for x in scores))
            placed.append(f"exit {m['exit_error_median_m']:.0f}/{m['exit_error_p90_m']:.0f} m [{n_exit}], rejoin "
                          f"{m['rejoin_error_median_m']:.0f}/{m['rejoin_error_p90_m']:.0f} m [{n_rejoin}]"
                          if n_exit or n_rejoin else "-")
            m["verdict_right"] = sum(bool(x.verdict_ok) for x in scores)
            m["skip_matched"] = sum(x.skip_matched for x in scores)
            m["wrong_matched"] = sum(x.wrong_matched for x in scores)
            rows.append((d.name, _family_row(m, d.name == "offcourse")))
            if d.name == "offcourse":
                misses = [f"{x.scenario}: {x.verdict}" for x in scores if x.verdict_ok is False]
        m0 = rows[0][1]
        head = (f"Family {fam} ({'held out' if fam != 'A' else 'tuning generator, report seeds'}): {len(scen)} "
                f"scenarios (seeds {FAMILIES[fam][0]}), {m0['hours']} h of recording, {m0['truth_off_course']} "
                f"required excursions, {m0['skip_truth']} skipped sections, {m0['wrong_truth']} wrong-way loops")
        if sum(v != "-" for v in interval.values()) and len(set(interval.values())) > 1:
            misses.insert(0, "latency median/p90 after 50 m by mean fix interval (" + " | ".join(d.name for d in dets)
                          + ", [excursions]): " + "; ".join(f"{k}: " + " | ".join(v) for k, v in by_interval.items()
                                                              if any(not x.endswith("[0]") for x in v)))
        floor = np.array([float(e["t50_fix_epoch"]) - float(e["t50_epoch"])
                          for _, t in scen for e in t.get("excursions", [])
                          if e.get("class") == "required" and e.get("t50_epoch") is not None
                          and e.get("t50_fix_epoch") is not None])
        if len(floor):
            misses.insert(0, f"latency floor: the first fix past 50 m comes {np.median(floor):.0f}/"
                             f"{np.percentile(floor, 90):.0f} s (median/p90) after the runner passes 50 m "
                             f"[{len(floor)}]: no detector that reads the fixes alerts sooner")
        misses.insert(0, "exit and rejoin placement, route metres from the truth's, median/p90 ("
                      + " | ".join(d.name for d in dets) + ", [excursions]): " + " | ".join(placed))
        out.append((fam, head, rows, misses))
    return out


def family_table(rows: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """One family's metrics as a Markdown table."""
    head = "| detector | " + " | ".join(c[1] for c in FAMILY_COLUMNS) + " |"
    sep = "|---|" + "---:|" * len(FAMILY_COLUMNS)
    body = [f"| {name} | " + " | ".join(_fmt(m.get(k), f) for k, _, f in FAMILY_COLUMNS) + " |" for name, m in rows]
    return "\n".join([head, sep, *body])


def _fmt(v: Any, f: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f.format(v)


def markdown_table(rows: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """Metrics of several detectors as one Markdown table."""
    head = "| detector | " + " | ".join(c[1] for c in COLUMNS) + " |"
    sep = "|---|" + "---:|" * len(COLUMNS)
    body = [f"| {name} | " + " | ".join(_fmt(m.get(k), f) for k, _, f in COLUMNS) + " |" for name, m in rows]
    return "\n".join([head, sep, *body])


def ensure_scenarios(out: Path, seeds: list[int]) -> None:
    """Generate the scenario folders of ``seeds`` under ``out`` that are not there yet."""
    have = {p.parent.name.split("-", 1)[0] for p in out.glob("*/truth.json")}
    for seed in seeds:
        if f"s{seed:05d}" not in have:
            generate(seed, out)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: generate (if needed), run every detector, print the table."""
    ap = argparse.ArgumentParser(description="Run offcourse and its peers on one scenario set and print one table.")
    ap.add_argument("--seeds", default=REPORT_SEEDS)
    ap.add_argument("--out", type=Path, default=None, help="scenario folder (default bench/scenarios/seeds-<seeds>)")
    ap.add_argument("--detectors", default=None, help="comma-separated subset: offcourse," + ",".join(PEERS))
    ap.add_argument("--offcourse-command", default=None, help="command template for offcourse")
    ap.add_argument("--command", action="append", default=[], metavar="NAME=TEMPLATE", help="extra command detector")
    ap.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    ap.add_argument("--json", type=Path, default=None, help="also write all metrics here")
    ap.add_argument("--family", default=None, choices=["A", "B", "C", "all"],
                    help="per-family tables (B and C held out, A the tuning generator's report set)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.family:
        return _main_families(args)

    seeds = parse_seeds(args.seeds)
    default_name = {REPORT_SEEDS: "report", TUNE_SEEDS: "tune"}.get(args.seeds, f"seeds-{args.seeds.replace(',', '_')}")
    out = args.out or Path(__file__).resolve().parent / "scenarios" / default_name
    out.mkdir(parents=True, exist_ok=True)
    ensure_scenarios(out, seeds)
    wanted = {f"s{s:05d}" for s in seeds}
    scen = [(p, t) for p, t in load_scenarios(out) if p.name.split("-", 1)[0] in wanted]

    dets: list[Detector] = []
    notes: list[str] = []
    oc = offcourse_detector(args.offcourse_command)
    if oc is None:
        notes.append("offcourse: not run (offcourse.cli does not exist yet)")
    else:
        dets.append(oc)
    dets += [Detector(n, f) for n, f in PEERS.items()]
    for spec in args.command:
        name, _, tmpl = spec.partition("=")
        dets.append(command_detector(name, tmpl))
    if args.detectors:
        keep = set(args.detectors.split(","))
        dets = [d for d in dets if d.name in keep]
    if "polyline-ruler" in [d.name for d in dets] and importlib.util.find_spec("polyline_ruler") is None:
        dets = [d for d in dets if d.name != "polyline-ruler"]
        notes.append("polyline-ruler: not run (pip install polyline-ruler)")
    if "gpsbabel-arc" in [d.name for d in dets] and shutil.which("gpsbabel") is None:
        dets = [d for d in dets if d.name != "gpsbabel-arc"]
        notes.append("gpsbabel-arc: not run (gpsbabel is not installed; apt-get install gpsbabel)")

    log = (lambda m: print(m, file=sys.stderr)) if args.verbose else None
    rows = [(d.name, aggregate(run_detector(d, scen, log))) for d in dets]
    hours = rows[0][1]["hours"] if rows else 0.0
    truth_n = rows[0][1]["truth_off_course"] if rows else 0
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (f"{len(scen)} scenarios (seeds {args.seeds}), {hours} h of recording, {truth_n} required excursions; "
              f"{when}; {platform.machine()} {platform.python_version()}")
    table = markdown_table(rows)
    print(header)
    print(table)
    for n in notes:
        print(n)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(header + "\n\n" + table + "\n" + "".join(n + "\n" for n in notes), encoding="utf-8")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"seeds": args.seeds, "date": when, "metrics": dict(rows)}, indent=1))
    return 0


def _main_families(args: argparse.Namespace) -> int:
    fams = ["B", "C", "A"] if args.family == "all" else [args.family]
    dets = [offcourse_inprocess(), Detector("debounced-distance", PEERS["debounced-distance"])]
    for spec in args.command:
        name, _, tmpl = spec.partition("=")
        dets.append(command_detector(name, tmpl))
    if args.detectors:
        keep = set(args.detectors.split(","))
        dets = [d for d in dets if d.name in keep] + [Detector(n, PEERS[n]) for n in PEERS
                                                       if n in keep and n != "debounced-distance"]
    root = args.out or Path(__file__).resolve().parent / "scenarios"
    log = (lambda m: print(m, file=sys.stderr)) if args.verbose else None
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = [f"offcourse {_version()}, {when}; {platform.machine()} Python {platform.python_version()}", ""]
    results = run_families(fams, dets, root, log)
    for _fam, head, rows, misses in results:
        text.append(head)
        if rows:
            text += ["", family_table(rows)]
            for line in misses:
                said = line.startswith(("latency", "exit and rejoin"))
                text.append(line if said else "offcourse verdict not accepted: " + line)
        text.append("")
    print("\n".join(text))
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text("\n".join(text), encoding="utf-8")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"date": when, "families": {f: {"header": h, "metrics": dict(r)}
                                                                    for f, h, r, _ in results}}, indent=1))
    return 0


def _version() -> str:
    try:
        import offcourse

        return str(offcourse.__version__)
    except ImportError:
        return "?"


if __name__ == "__main__":
    raise SystemExit(main())

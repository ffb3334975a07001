"""Side-by-side benchmark: offcourse and its peers on one scenario set, in one run, one table.

``make bench`` runs this with the report seeds. Scenario folders are generated when missing.

Command line::

    python bench/run.py                          # report set: seeds 1001-1040
    python bench/run.py --seeds 1-40               # tuning set, in bench/scenarios/tune
    python bench/run.py --detectors naive-shapely,polyline-ruler --markdown bench/out/table.md
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import PEERS
from scenarios import generate, parse_seeds
from score import Detector, aggregate, command_detector, load_scenarios, run_detector

__all__ = ["COLUMNS", "REPORT_SEEDS", "TUNE_SEEDS", "main", "markdown_table", "offcourse_detector"]

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
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)

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


if __name__ == "__main__":
    raise SystemExit(main())

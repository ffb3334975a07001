"""Compare offcourse with the independent labels of the real pairs (bench/real_labels.json).

Prints a markdown table: pair, label verdict, offcourse verdict (``n/a`` before the verdict API
exists), coverage label vs offcourse (``report.coverage.fraction`` when it exists, else
``report.covered_m / route.length_m``), and the off_course/shortcut excursions of both, as
``kind@exit_km(max_offset_m)``. A pair offcourse cannot check shows the error's class.

Run: ``python bench/compare_real.py [--only NAME]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import offcourse  # noqa: E402

LABELS = REPO / "bench" / "real_labels.json"
SHORT = {"off_course": "off", "shortcut": "cut", "wrong_direction": "ww", "skipped_section": "skip"}


def _exc_label(entry: dict[str, Any]) -> str:
    return (
        " ".join(f"{SHORT[e['kind']]}@{e['exit_km']:.1f}({e['max_offset_m']:.0f})" for e in entry["excursions"]) or "-"
    )


def _exc_report(report: Any) -> str:
    out = []
    for e in report.excursions:
        if e.kind not in ("off_course", "shortcut"):
            continue
        off = "?" if e.max_offset_m is None else f"{e.max_offset_m:.0f}"
        out.append(f"{SHORT.get(e.kind, e.kind)}@{e.exit_route_m / 1000:.1f}({off})")
    return " ".join(out) or "-"


def row(entry: dict[str, Any]) -> list[str]:
    """One table row for a labelled pair."""
    lab_cov = f"{entry['coverage']['fraction']:.2f}"
    try:
        route = offcourse.read_route(REPO / entry["route"], track=0)  # the labeller joins every track
        track = offcourse.read_track(REPO / entry["track"])
        report = offcourse.check(route, track)
    except Exception as exc:  # the table shows what went wrong
        return [
            entry["name"],
            entry["verdict"],
            f"error: {type(exc).__name__}",
            f"{lab_cov} / -",
            _exc_label(entry),
            "-",
        ]
    verdict = getattr(getattr(report, "verdict", None), "kind", "n/a")
    cov = getattr(report, "coverage", None)
    frac = cov.fraction if cov is not None else report.covered_m / route.length_m
    agree = "" if verdict == "n/a" else (" ✓" if verdict == entry["verdict"] else " ✗")
    return [
        entry["name"],
        entry["verdict"],
        verdict + agree,
        f"{lab_cov} / {frac:.2f}",
        _exc_label(entry),
        _exc_report(report),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="only the pairs whose name contains this")
    args = ap.parse_args(argv)
    labels = json.loads(LABELS.read_text(encoding="utf-8"))
    head = ["pair", "label", "offcourse", "coverage label / offcourse", "excursions label", "excursions offcourse"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    n = same = 0
    for entry in labels:
        if args.only and args.only not in entry["name"]:
            continue
        r = row(entry)
        n += 1
        same += r[2].endswith("✓")
        print("| " + " | ".join(r) + " |", flush=True)
    print(f"\n{same} of {n} verdicts agree with the labels")
    return 0


if __name__ == "__main__":
    sys.exit(main())

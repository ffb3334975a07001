"""Findings of the review of the field report (issue 15): miles everywhere, ZIP members refused one
by one, no absolute path published, duplicates and course files not counted as runners, memory limits."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from offcourse.cli import main
from offcourse.present import Style, Units
from offcourse.verdict import Verdict, render_facts
from tests.conftest import REPO

ROUTE = REPO / "routes" / "allermuir-hill-race.gpx"
WRONG_TURN = REPO / "samples" / "allermuir-wrong-turn.gpx"


def test_verdict_reason_in_miles_from_facts() -> None:
    v = Verdict.of("lost", ("1 wrong turn(s), the first at ", ("at", 2990.0), ", ", ("dist", 596.0), " extra"))
    assert v.reason == "1 wrong turn(s), the first at km 3.0, 596 m extra"
    assert v.reason_text(Style(units=Units.MI)) == "1 wrong turn(s), the first at mile 1.9, 0.37 mi extra"
    assert v.reason_text(Style()) == v.reason
    assert render_facts(("every gap under ", ("m", 1200.0))) == "every gap under 1200 m"


def test_units_mi_reach_csv_html_and_check_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "batch",
            str(ROUTE),
            str(WRONG_TURN),
            "--no-cache",
            "-q",
            "--units",
            "mi",
            "--csv",
            str(tmp_path / "r.csv"),
            "--html",
            str(tmp_path / "r.html"),
            "--json",
            str(tmp_path / "r.json"),
        ]
    )
    assert code == 0
    with open(tmp_path / "r.csv", encoding="utf-8-sig", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["verdict_reason"] == "1 wrong turn(s), the first at mile 1.9, 0.37 mi extra"
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'title="1 wrong turn(s), the first at mile 1.9, 0.37 mi extra"' in page
    assert "1 · mile 1.86 · +0.37 mi" in page
    assert not re.search(
        r"\bkm \d|\d m\b|\d km\b", re.sub(r"<style>.*?</style>|<script>.*?</script>", "", page, flags=re.S)
    )
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert doc["rows"][0]["verdict_reason"] == "1 wrong turn(s), the first at km 3.0, 596 m extra"
    capsys.readouterr()
    main(["check", str(ROUTE), str(WRONG_TURN), "--units", "mi"])
    text = capsys.readouterr().out
    assert "Verdict LOST: 1 wrong turn(s), the first at mile 1.9, 0.37 mi extra" in text

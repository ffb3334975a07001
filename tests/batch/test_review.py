"""Findings of the review of the field report (issue 15): miles everywhere, ZIP members refused one
by one, no absolute path published, duplicates and course files not counted as runners, memory limits."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from offcourse.cli import main
from offcourse.errors import ArchiveError
from offcourse.present import Style, Units
from offcourse.read.archive import zip_members
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
    assert row["verdict_reason"] == "1 wrong turn(s), the first at mile 1.9, 0.38 mi extra"
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'title="1 wrong turn(s), the first at mile 1.9, 0.38 mi extra"' in page
    assert "1 · mile 1.86 · +0.38 mi" in page
    assert not re.search(
        r"\bkm \d|\d m\b|\d km\b", re.sub(r"<style>.*?</style>|<script>.*?</script>", "", page, flags=re.S)
    )
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert doc["rows"][0]["verdict_reason"] == "1 wrong turn(s), the first at km 3.0, 608 m extra"
    capsys.readouterr()
    main(["check", str(ROUTE), str(WRONG_TURN), "--units", "mi"])
    text = capsys.readouterr().out
    assert "Verdict LOST: 1 wrong turn(s), the first at mile 1.9, 0.38 mi extra" in text


def test_one_hostile_zip_member_is_refused_alone(tmp_path: Path) -> None:
    pack = tmp_path / "pack.zip"
    with zipfile.ZipFile(pack, "w") as z:
        z.writestr("ann.gpx", WRONG_TURN.read_bytes())
        z.writestr("../evil.gpx", WRONG_TURN.read_bytes())
        z.writestr("runs/bob.gpx", WRONG_TURN.read_bytes())
    code = main(["batch", str(ROUTE), str(pack), "--no-cache", "-q", "--no-table", "--json", str(tmp_path / "r.json")])
    assert code == 1
    rows = {r["file"].split("pack.zip/")[1]: r for r in json.loads((tmp_path / "r.json").read_text())["rows"]}
    assert sorted(rows) == ["../evil.gpx", "ann.gpx", "runs/bob.gpx"]
    assert rows["ann.gpx"]["status"] == rows["runs/bob.gpx"]["status"] == "ok"
    assert rows["../evil.gpx"]["status"] == "error"
    assert "named outside the archive" in rows["../evil.gpx"]["error"]


def test_zip_members_without_refused_list_still_refuse_the_archive(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.gpx", b"<gpx/>")
        z.writestr("../evil.gpx", b"<gpx/>")
    with pytest.raises(ArchiveError, match="outside the archive"):
        zip_members(buf.getvalue(), name="pack.zip")
    refused: list[tuple[str, str]] = []
    got = zip_members(buf.getvalue(), name="pack.zip", refused=refused)
    assert [m.name for m in got] == ["a.gpx"]
    assert [n for n, _ in refused] == ["../evil.gpx"]


def test_no_output_publishes_an_absolute_path(tmp_path: Path) -> None:
    up = tmp_path / "uploads"
    (up / "late").mkdir(parents=True)
    shutil.copy(WRONG_TURN, up / "ann.gpx")
    shutil.copy(WRONG_TURN, up / "late" / "copy.gpx")
    (up / "junk.gpx").write_bytes(b"<gpx><trk><trkseg><trkpt lat='x'")
    with zipfile.ZipFile(up / "more.zip", "w") as z:
        z.writestr("bob.gpx", WRONG_TURN.read_bytes())
    out = tmp_path / "out"
    out.mkdir()
    names = ("r.csv", "e.csv", "r.json", "r.geojson", "r.html")
    argv = ["batch", str(ROUTE.resolve()), str(up.resolve()), "-q", "--no-table", "--cache", str(out / "c.jsonl")]
    for opt, name in zip(("--csv", "--excursions-csv", "--json", "--geojson", "--html"), names, strict=True):
        argv += [opt, str(out / name)]
    assert main(argv) == 1
    for name in names:
        text = (out / name).read_text(encoding="utf-8-sig")
        for prefix in (str(tmp_path.resolve()), str(REPO.resolve())):
            assert prefix not in text, name
    doc = json.loads((out / "r.json").read_text(encoding="utf-8"))
    files = sorted(r["file"] for r in doc["rows"])
    assert files == ["ann.gpx", "junk.gpx", "late/copy.gpx", "more.zip/bob.gpx"]
    dup = [f["text"] for r in doc["rows"] for f in r["flags"] if f["kind"] == "duplicate"]
    assert dup == ["duplicate of ann.gpx (the same bytes)"] * 2
    assert doc["route"]["path"] == "allermuir-hill-race.gpx"


def test_duplicates_count_once_and_a_course_file_is_not_judged(tmp_path: Path) -> None:
    from offcourse import read_route

    sys.path.insert(0, str(REPO / "bench"))
    import writers

    up = tmp_path / "up"
    up.mkdir()
    for name in ("a.gpx", "b.gpx", "c.gpx", "d.gpx"):  # one real excursion uploaded four times
        shutil.copy(WRONG_TURN, up / name)
    route = read_route(ROUTE)
    writers.write_fit_course(up / "planned.fit", route.lon, route.lat, route.ele_m, "Allermuir")
    out = tmp_path / "out"
    out.mkdir()
    argv = ["batch", str(ROUTE), str(up), "-q", "--no-table", "--no-cache", "--json", str(out / "r.json")]
    assert main([*argv, "--html", str(out / "r.html")]) == 0
    rows = {r["file"]: r for r in json.loads((out / "r.json").read_text())["rows"]}
    planned = rows["planned.fit"]
    assert (planned["verdict"], planned["verdict_reason"]) == (
        "unjudged",
        "a course file (a planned route), not a recording",
    )
    assert planned["completed"] is False
    assert rows["a.gpx"]["verdict"] == "lost"
    page = (out / "r.html").read_text(encoding="utf-8")
    stats = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page))
    assert stats["Runners"] == "1" and stats["Checked"] == "1"
    assert stats["Duplicates"] == "3" and stats["Excursions"] == "1"
    assert stats["Not recordings"] == "1"  # the course file
    assert page.count('class="spot"') == 1  # one dot on the map for the one excursion


def test_limit_memory_never_limits_the_total_where_the_size_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    from offcourse.batch import worker

    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(resource, "setrlimit", lambda what, lim: calls.append(lim))
    monkeypatch.setattr(worker, "_address_space_bytes", lambda: 0)  # no /proc
    assert worker.limit_memory(100) is False and calls == []
    monkeypatch.setattr(worker, "_address_space_bytes", lambda: 3 << 30)
    monkeypatch.setattr(worker, "_MEMORY_LIMIT_MB", [None])
    assert worker.limit_memory(100) is True
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    want = (3 << 30) + 100 * 1024 * 1024  # what it uses now plus the limit, not the limit alone
    assert calls == [(want if hard == resource.RLIM_INFINITY else min(want, hard), hard)]

"""The race director's field, end to end: real files from ``../shared/data`` and synthetic runners.

A route with named checkpoints (the bundled Allermuir hill race), a folder of uploads as a
director gets them (a cutter, a lost runner, a runner who stopped, a duplicate upload, a course
file, a run of the day before, a damaged FIT, junk, a KML, a ZIP, recordings of other races),
a list of bibs, miles and local time: every output checked row by row.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from offcourse import batch, read_route
from offcourse.cli import main
from offcourse.model import Route
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import writers

ROUTE = REPO / "routes" / "allermuir-hill-race.gpx"
WRONG_TURN = REPO / "samples" / "allermuir-wrong-turn.gpx"
SHARED = REPO.parent / "shared" / "data"
MANSFIELD = SHARED / "calekochenour+mansfield-double-up-gpx-analysis" / "02-raw-data__mansfield-double-up-course.gpx"
BAD_CRC = SHARED / "dtcooper+python-fitparse" / "tests__files__activity-filecrc.fit"
T0 = 1_747_472_400.0  # 2025-05-17T09:00:00Z, 10:00 in Edinburgh

pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data (the real-file corpus) is absent")


def along(route: Route, pieces: list[tuple[float, float]], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixes every 3 m along the route's stretches ``(from_m, to_m)``, joined by straight lines, 2 m noise."""
    rng = np.random.default_rng(seed)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for a, b in pieces:
        x, y = route.point_at(np.arange(a, b, 3.0))
        if xs:
            x0, y0 = xs[-1][-1], ys[-1][-1]
            n = int(np.hypot(x[0] - x0, y[0] - y0) / 3.0)
            xs.append(np.linspace(x0, x[0], n + 2)[1:-1])
            ys.append(np.linspace(y0, y[0], n + 2)[1:-1])
        xs.append(x)
        ys.append(y)
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    lon, lat = route.projection.inverse(x + rng.normal(0, 2, len(x)), y + rng.normal(0, 2, len(y)))
    return lon, lat


@pytest.fixture(scope="module")
def uploads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("race")
    up = d / "uploads"
    up.mkdir()
    route = read_route(ROUTE)
    full = route.length_m

    def gpx(name: str, pieces: list[tuple[float, float]], title: str, seed: int, t0: float = T0) -> None:
        lon, lat = along(route, pieces, seed)
        t = t0 + np.arange(len(lon), dtype=float)
        writers.write_gpx_track(up / name, lon, lat, np.full(len(lon), np.nan), title, epoch_s=t)

    gpx("bib-101_ann.gpx", [(0, full)], "Morning Run", 0)
    shutil.copy(up / "bib-101_ann.gpx", up / "zz-ann-again.gpx")  # the same bytes uploaded twice
    gpx("bib-102.gpx", [(0, 2000), (4500, full)], "Move", 1)  # cuts from km 2 to km 4.5
    shutil.copy(WRONG_TURN, up / "bib-103.gpx")  # a 300 m spur at km 3
    gpx("bib-104.gpx", [(0, 3500)], "120' moderate and hard", 3)  # stops at km 3.5
    gpx("bib-105.gpx", [(0, full)], "Recce", 5, t0=T0 - 86_400)  # the day before
    lon, lat = along(route, [(0, full)], 6)
    writers.write_fit_activity(
        up / "bib-106.fit", T0 + np.arange(len(lon), dtype=float), lon, lat, np.full(len(lon), 1.0)
    )
    fit = bytearray((up / "bib-106.fit").read_bytes())
    fit[-1] ^= 0xFF  # its file CRC no longer matches: edited or corrupted
    (up / "bib-106.fit").write_bytes(bytes(fit))
    writers.write_fit_course(up / "planned.fit", route.lon, route.lat, route.ele_m, "Allermuir")
    (up / "notes.txt").write_text("bring a jacket\n")
    kml = '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><LineString>'
    (up / "route.kml").write_text(
        kml + "<coordinates>-3.2,55.89 -3.21,55.88</coordinates></LineString></Placemark></Document></kml>"
    )
    with zipfile.ZipFile(up / "more.zip", "w") as z:
        z.write(up / "bib-101_ann.gpx", "ann.gpx")
    shutil.copy(MANSFIELD, up / "mansfield.gpx")  # a real race in Vermont
    shutil.copy(BAD_CRC, up / "filecrc.fit")  # a real FIT with a bad CRC, recorded elsewhere
    (d / "bibs.csv").write_text(
        "\ufeffbib;name\n101;Ann Lee\n102;Bob Cutter\n103;Cat Lost\n104;Dan Stop\n105;Eve Early\n106;Fay Fit\n",
        encoding="utf-8",
    )  # as a spreadsheet saves it: BOM, semicolons
    return d


# (file, runner, bib, verdict or error kind, flag kinds), most severe first
EXPECTED = [
    ("bib-102.gpx", "Bob Cutter", "102", "cut", []),
    ("bib-103.gpx", "Cat Lost", "103", "lost", []),
    ("bib-104.gpx", "Dan Stop", "104", "did_not_finish", []),
    ("bib-101_ann.gpx", "Ann Lee", "101", "on_course", []),
    ("bib-105.gpx", "Eve Early", "105", "on_course", ["other_day"]),
    ("bib-106.fit", "Fay Fit", "106", "on_course", ["damaged"]),
    ("more.zip/ann.gpx", "ann", None, "on_course", ["duplicate"]),  # a file of a ZIP upload
    ("zz-ann-again.gpx", "zz-ann-again", None, "on_course", ["duplicate"]),
    ("route.kml", "route", None, "not_this_route", ["course_file", "not_this_route"]),  # a KML route, elsewhere
    ("planned.fit", "planned", None, "unjudged", ["course_file"]),  # a plan, not a run: never ON COURSE
    ("filecrc.fit", "filecrc", None, "elsewhere", []),
    ("mansfield.gpx", "mansfield", None, "elsewhere", []),
    ("notes.txt", "notes", None, "not_gps", []),
]


@pytest.fixture(scope="module")
def run(uploads: Path) -> dict[str, Any]:
    out = uploads / "out"
    out.mkdir()
    argv = ["batch", str(ROUTE), str(uploads / "uploads"), "-j", "2", "--quiet", "--no-cache"]
    argv += ["--names", str(uploads / "bibs.csv"), "--date", "2025-05-17", "--units", "mi"]
    argv += ["--csv", str(out / "runners.csv"), "--excursions-csv", str(out / "excursions.csv")]
    argv += ["--json", str(out / "field.json"), "--geojson", str(out / "field.geojson")]
    argv += ["--html", str(out / "field.html"), "--title", "Allermuir Hill Race 2025"]
    capture = _Capture()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "stdout", capture)
        status = main(argv)
    return {"status": status, "table": capture.text, "out": out}


class _Capture:
    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def test_every_upload_is_a_row_most_severe_first(run: dict[str, Any]) -> None:
    assert run["status"] == 1  # some uploads are no recording of this race
    doc = json.loads((run["out"] / "field.json").read_text(encoding="utf-8"))
    got = [
        (
            r["file"],
            r["name"],
            r["bib"],
            r["verdict"] if r["status"] == "ok" else r["error_kind"],
            [f["kind"] for f in r["flags"]],
        )
        for r in doc["rows"]
    ]
    assert got == EXPECTED
    by = {r["file"]: r for r in doc["rows"]}
    assert (
        by["zz-ann-again.gpx"]["flags"][0]["text"].startswith("duplicate of ")
        and "bib-101_ann.gpx" in (by["zz-ann-again.gpx"]["flags"][0]["text"])
    )
    assert by["bib-105.gpx"]["flags"][0]["text"] == "recorded on 2025-05-16, not on the race day 2025-05-17"
    assert by["bib-106.fit"]["flags"][0]["text"].startswith("damaged: file CRC does not match")
    assert by["planned.fit"]["flags"][0]["text"] == "a course file (a planned route), not a recording"
    assert by["notes.txt"]["error"] == "not a GPS file"
    assert by["route.kml"]["flags"][0]["text"] == "a route file (a planned route), not a recording"
    assert by["more.zip/ann.gpx"]["flags"][0]["text"].endswith("bib-101_ann.gpx (the same bytes)")
    assert "never comes within 50 km" in by["mansfield.gpx"]["error"]
    # titles kept for what they are, never as names
    assert (by["bib-102.gpx"]["title"], by["bib-104.gpx"]["title"]) == ("Move", "120' moderate and hard")
    # JSON stays SI and UTC
    assert by["bib-102.gpx"]["start_time"] == "2025-05-17T09:00:00+00:00"
    assert doc["summary"]["files"] == 13 and doc["summary"]["errors"] == 3


def test_findings_are_located_between_checkpoints(run: dict[str, Any]) -> None:
    doc = json.loads((run["out"] / "field.json").read_text(encoding="utf-8"))
    by = {Path(r["file"]).name: r for r in doc["rows"]}
    (cut,) = by["bib-102.gpx"]["excursion_list"]
    assert cut["kind"] == "shortcut" and 1900 < cut["exit_route_m"] < 2100
    assert cut["between"] == {
        "before": {"name": "Mandatory Route", "route_m": pytest.approx(1561.0, abs=5)},
        "after": {"name": "Mandatory Route", "route_m": pytest.approx(5858.0, abs=5)},
    }
    (lost,) = by["bib-103.gpx"]["excursion_list"]
    assert lost["between"]["before"]["name"] == "The subsidiary summit of Caerketton Hill"
    assert lost["between"]["after"]["name"] == "Caerketton Hill"
    assert by["bib-103.gpx"]["worst"] == 1


def test_table_in_miles_with_a_verdict_column(run: dict[str, Any]) -> None:
    lines = run["table"].splitlines()
    assert len(lines) == 1 + len(EXPECTED)
    assert lines[0].split()[:3] == ["#", "runner", "verdict"]
    assert lines[1].split()[1:4] == ["Bob", "Cutter", "CUT"]
    assert "mile 1.2" in lines[1] and "between Mandatory Route (mile 1.0) and Mandatory Route (mile 3.6)" in lines[1]
    assert "between The subsidiary summit of Caerketton Hill (mile 1.5) and Caerketton Hill (mile 1.9)" in lines[2]
    assert "DID NOT FINISH" in lines[3]
    assert "NO RECORDING" in lines[13] and "error: not a GPS file" in lines[13]
    assert "NOT THIS ROUTE" in lines[9] and lines[7].endswith("more.zip/ann.gpx")
    assert "NOT JUDGED" in lines[10] and lines[10].endswith("planned.fit")
    narrow = batch.rows_to_table(json.loads((run["out"] / "field.json").read_text())["rows"], width=80)
    assert max(len(line) for line in narrow.splitlines()) <= 80


def test_runners_sheet(run: dict[str, Any]) -> None:
    raw = (run["out"] / "runners.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert [r["name"] for r in rows] == [e[1] for e in EXPECTED]
    assert "sha256" not in rows[0] and "extra_ft" in rows[0] and "distance_mi" in rows[0]
    cut, lost, dnf = rows[0], rows[1], rows[2]
    assert (cut["verdict"], cut["bib"], cut["start_time"]) == ("CUT", "102", "2025-05-17T10:00:00+01:00")
    assert cut["worst_finding"].startswith("shortcut 1.5") and "of route at mile 1.2" in cut["worst_finding"]
    assert lost["verdict"] == "LOST" and lost["time_off_course"] == "0:02:56"
    assert abs(float(lost["extra_ft"]) - 608 / 0.3048) < 40 and lost["duration"] == "0:38:21"
    assert dnf["verdict"] == "DID NOT FINISH" and dnf["completed"] == "false"
    assert rows[4]["flags"] == "recorded on 2025-05-16, not on the race day 2025-05-17"
    assert rows[12]["verdict"] == "ERROR" and rows[12]["error"] == "not a GPS file"


def test_excursions_sheet(run: dict[str, Any]) -> None:
    text = (run["out"] / "excursions.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(text.splitlines()))
    assert [(r["rank"], r["name"], r["number"], r["kind"]) for r in rows] == [
        ("1", "Bob Cutter", "1", "shortcut"),
        ("2", "Cat Lost", "1", "off course"),
    ]
    assert rows[1]["checkpoint_before"] == "The subsidiary summit of Caerketton Hill (mile 1.5)"
    assert rows[1]["checkpoint_after"] == "Caerketton Hill (mile 1.9)"
    assert rows[1]["exit"] == "mile 1.86" and rows[1]["time_lost"] == "0:03:03"
    assert rows[1]["start_time"].endswith("+01:00")


def test_geojson_route_and_styled_excursions(run: dict[str, Any]) -> None:
    doc = json.loads((run["out"] / "field.geojson").read_text(encoding="utf-8"))
    roles = [f["properties"]["role"] for f in doc["features"]]
    route = read_route(ROUTE)
    assert roles == ["route"] + ["checkpoint"] * len(route.checkpoints) + ["excursion"] * 2
    exc = doc["features"][-2:]
    assert [f["properties"]["stroke"] for f in exc] == ["#c0392b", "#d62728"]  # shortcut, off course
    assert all(f["properties"]["stroke-width"] == 3 for f in exc)


def test_page_for_publishing(run: dict[str, Any], uploads: Path) -> None:
    page = (run["out"] / "field.html").read_text(encoding="utf-8")
    assert "<title>Allermuir Hill Race 2025</title>" in page
    assert str(uploads) not in page and "/tmp" not in page  # no local path leaks
    assert ">bib-102.gpx<" in page and "mile 1.2" in page
    stats = dict(__import__("re").findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", page))
    # duplicates and course files are no runners: 6 recordings checked, 2 errors; a route and a plan
    assert (stats["Runners"], stats["Checked"], stats["Errors"], stats["Not recordings"]) == ("8", "6", "2", "3")
    assert stats["Duplicates"] == "2"
    assert ">more.zip/ann.gpx<" in page

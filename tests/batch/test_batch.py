"""``offcourse batch``: one row per input whatever happens, severity order, outputs, cache and resume."""

from __future__ import annotations

import csv
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from offcourse import batch
from offcourse.cli import main
from tests import synth
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import writers

T0 = 1_700_000_000.0
STRAIGHT = [(0.0, 0.0), (3000.0, 0.0)]
DETOUR_600 = [(0.0, 0.0), (900.0, 0.0), (900.0, 300.0), (1500.0, 300.0), (1500.0, 0.0), (3000.0, 0.0)]
DETOUR_300 = [(0.0, 0.0), (900.0, 0.0), (900.0, 150.0), (1500.0, 150.0), (1500.0, 0.0), (3000.0, 0.0)]
WRONG_WAY = [(0.0, 0.0), (1500.0, 0.0), (1000.0, 0.0), (3000.0, 0.0)]
ALLERMUIR = REPO / "routes" / "allermuir-hill-race.gpx"
WRONG_TURN = REPO / "samples" / "allermuir-wrong-turn.gpx"


def lonlat(xy: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    a = np.array(xy, dtype=float)
    return synth.PROJ.inverse(a[:, 0], a[:, 1])


def write_route(path: Path, xy: list[tuple[float, float]]) -> Path:
    lon, lat = lonlat(xy)
    writers.write_gpx_route(path, lon, lat, np.full(len(lon), np.nan), "test route")
    return path


def write_run(path: Path, legs: list[tuple[float, float]], name: str = "", speed: float = 3.0) -> Path:
    """A run along ``legs`` (metres in synth.PROJ), one fix a second; GPX (named) or FIT by suffix, maybe .gz."""
    rows = synth.walk(legs, speed_mps=speed)
    lon, lat = synth.PROJ.inverse(rows[:, 1], rows[:, 2])
    t = T0 + rows[:, 0]
    ele = np.full(len(t), 100.0)
    plain = path.with_suffix("") if path.suffix == ".gz" else path
    if plain.suffix == ".fit":
        writers.write_fit_activity(plain, t, lon, lat, ele)
    else:
        writers.write_gpx_track(plain, lon, lat, ele, name, epoch_s=t)
    if plain != path:
        path.write_bytes(gzip.compress(plain.read_bytes()))
        plain.unlink()
    return path


def write_field(d: Path, n_runners: int) -> Path:
    """A 3 km route and ``n_runners`` runs (clean, detours, wrong way; GPX, FIT, gzip; each a little
    apart, so that no two files hold the same content) in ``d``; returns ``d / "runs"``."""
    write_route(d / "route.gpx", STRAIGHT)
    runs = d / "runs"
    runs.mkdir()
    shapes = [STRAIGHT, DETOUR_600, DETOUR_300, WRONG_WAY]
    for k in range(n_runners):
        legs = [(x, y + k * 0.5) for x, y in shapes[k % 4]]
        suffix = (".gpx", ".fit", ".gpx.gz", ".fit.gz")[k // 4 % 4]
        write_run(runs / f"runner{k:02d}{suffix}", legs, name=f"Runner {k}" if suffix.startswith(".gpx") else "")
    return runs


@pytest.fixture(scope="module")
def field(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small race: a straight 3 km route and runners in GPX, FIT and gzip, plus broken files."""
    d = tmp_path_factory.mktemp("field")
    write_route(d / "route.gpx", STRAIGHT)
    runs = d / "runs"
    (runs / "late").mkdir(parents=True)
    write_run(runs / "clean.gpx", STRAIGHT, name="Clara Clean")
    write_run(runs / "detour600.fit", DETOUR_600)
    write_run(runs / "late" / "detour300.gpx.gz", DETOUR_300, name="Dan Detour")
    write_run(runs / "wrongway.gpx", WRONG_WAY, name="Wanda Wrongway")
    fit = (runs / "detour600.fit").read_bytes()
    (runs / "truncated.fit").write_bytes(fit[:100])
    (runs / "garbage.gpx").write_bytes(b"\x00\x01 this is no GPS file " * 10)
    (runs / "empty.tcx").write_bytes(b"")
    (runs / "README.txt").write_text("not a recording: a row saying so\n")
    (runs / ".hidden.gpx").write_text("skipped: hidden\n")
    return d


def rows_by_file(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {Path(r["file"]).name: r for r in rows}
    assert len(out) == len(rows), "a file appears twice"
    return out


# --------------------------------------------------------------------------- inputs


def test_expand_inputs_folders_globs_missing_and_duplicates(field: Path, tmp_path: Path) -> None:
    runs = field / "runs"
    (tmp_path / "empty").mkdir()
    items = batch.expand_inputs(
        [
            runs,  # recursive, every file (README.txt too: it gets a row); .hidden.gpx skipped
            str(runs / "*.gpx"),  # clean, garbage and wrongway again: listed once
            str(runs / "README.txt"),  # named again: listed once
            str(tmp_path / "missing.gpx"),
            str(tmp_path / "*.fit"),  # matches nothing
            str(tmp_path / "empty"),  # a folder without recordings
        ]
    )
    names = [Path(i.display).name for i in items]
    assert names == [
        "README.txt",
        "clean.gpx",
        "detour600.fit",
        "empty.tcx",
        "garbage.gpx",
        "truncated.fit",
        "wrongway.gpx",
        "detour300.gpx.gz",  # files of a folder, then its sub-folders
        "missing.gpx",
        "*.fit",
        "empty",
    ]
    errors = {Path(i.display).name: i.error for i in items if i.error}
    assert errors == {
        "*.fit": "no file matches this pattern",
        "empty": "no file in this folder",
    }


# --------------------------------------------------------------------------- rows


def test_one_row_per_input_sorted_by_severity(field: Path, tmp_path: Path) -> None:
    inputs = batch.expand_inputs([field / "runs", tmp_path / "missing.fit", str(tmp_path / "nothing-*.gpx")])
    result = batch.run_batch(field / "route.gpx", inputs, jobs=2, cache_path=None)
    assert len(result.rows) == len(inputs) == 10
    assert (result.checked, result.cached) == (10, 0)
    rows = batch.sort_rows(result.rows)
    # by verdict (issue 11): cuts, then wrong way, then lost (most extra distance first), then clean
    assert [Path(r["file"]).name for r in rows] == [
        "wrongway.gpx",
        "detour600.fit",
        "detour300.gpx.gz",
        "clean.gpx",
        # errors last, in file order, then the files that are no recording
        "truncated.fit",
        "missing.fit",
        "nothing-*.gpx",
        "README.txt",
        "empty.tcx",
        "garbage.gpx",
    ]
    for r in rows:
        assert list(r) == list(batch.ROW_KEYS)
    by = rows_by_file(rows)
    assert [r["status"] for r in rows] == ["ok"] * 4 + ["error"] * 6

    d600, d300, wrong, clean = (by[n] for n in ("detour600.fit", "detour300.gpx.gz", "wrongway.gpx", "clean.gpx"))
    assert [r["verdict"] for r in (wrong, d600, d300, clean)] == ["wrong_way", "lost", "lost", "on_course"]
    assert clean["coverage"] == pytest.approx(1.0, abs=0.01) and "start to finish" in clean["verdict_reason"]
    assert d600["excursions"] == 1 and abs(d600["extra_distance_m"] - 600.0) < 60.0
    assert abs(d300["extra_distance_m"] - 300.0) < 40.0
    assert d600["completed"] and d300["completed"] and clean["completed"]
    assert wrong["excursion_list"][0]["kind"] == "wrong_direction"
    assert abs(wrong["wrong_way_m"] - 500.0) < 50.0 and wrong["extra_distance_m"] == 0.0
    assert clean["excursions"] == 0 and clean["excursion_list"] == []
    assert clean["fixes"] == 1001 and clean["duration_s"] == 1000.0
    assert abs(clean["distance_m"] - 3000.0) < 30.0
    assert clean["start_time"] == "2023-11-14T22:13:20+00:00"
    assert len(clean["sha256"]) == 64

    # names: the file's author where it has one, else the file name; an activity's title is its title
    assert (clean["name"], d300["name"], d600["name"]) == ("clean", "detour300", "detour600")
    assert (clean["title"], d300["title"], d600["title"]) == ("Clara Clean", "Dan Detour", None)
    assert all(r["flags"] == [] for r in (clean, d300, d600, wrong))

    # error rows: a one-line reason, no figures
    assert by["missing.fit"]["error"] == "no such file" and by["missing.fit"]["sha256"] is None
    assert by["nothing-*.gpx"]["error"] == "no file matches this pattern"
    assert by["empty.tcx"]["error"] == "not a GPS file (empty)"
    assert by["garbage.gpx"]["error"] == by["README.txt"]["error"] == "not a GPS file"
    assert by["truncated.fit"]["error"] == "file ends inside a data message (at byte 92)"
    kinds = {n: by[n]["error_kind"] for n in ("README.txt", "empty.tcx", "truncated.fit", "missing.fit")}
    assert kinds == {"README.txt": "not_gps", "empty.tcx": "not_gps", "truncated.fit": "unreadable",
                     "missing.fit": "unreadable"}  # fmt: skip
    for name in ("empty.tcx", "garbage.gpx", "truncated.fit", "missing.fit", "nothing-*.gpx", "README.txt"):
        r = by[name]
        assert "\n" not in r["error"] and not r["error"].startswith(str(field))
        assert all(r[k] is None for k in batch.SUMMARY_KEYS) and r["excursion_list"] == []


def test_excursion_dicts_are_the_report_dicts_plus_geometry(field: Path) -> None:
    import offcourse
    from offcourse.report import report_to_dict

    path = field / "runs" / "detour600.fit"
    route = offcourse.read_route(field / "route.gpx")
    row = batch.check_file(os.fsencode(path), route)
    expected = report_to_dict(offcourse.check(route, offcourse.read_track(path)))["excursions"]
    (exc,) = row["excursion_list"]
    coords = exc.pop("coordinates")
    assert exc.pop("between") == {"before": None, "after": None}  # the route has no named checkpoints
    assert exc == expected[0]
    # the runner's fixes from leaving to rejoining the route: on the detour, 300 m off
    x, y = route.projection.forward(*np.array(coords).T)
    x0, y0 = route.projection.forward(*lonlat([(0.0, 0.0)]))
    assert 200 < len(coords) <= batch.MAX_EXCURSION_POINTS
    assert abs((y - y0[0]).max() - 300.0) < 5.0
    assert (x - x0[0]).min() > 850 and (x - x0[0]).max() < 1550


def test_long_excursion_geometry_is_decimated(tmp_path: Path) -> None:
    route = write_route(tmp_path / "route.gpx", STRAIGHT)
    slow = write_run(tmp_path / "slow.gpx", DETOUR_600, speed=0.5)  # ~2,400 fixes off the route
    result = batch.run_batch(route, batch.expand_inputs([slow]), jobs=1, cache_path=None)
    (exc,) = result.rows[0]["excursion_list"]
    assert len(exc["coordinates"]) == batch.MAX_EXCURSION_POINTS


def test_skipped_section_geometry_is_the_route_not_run(tmp_path: Path) -> None:
    lap = [(0.0, 0.0), (1000.0, 0.0), (1000.0, 500.0), (0.0, 500.0), (0.0, 0.0)]
    route = write_route(tmp_path / "two-laps.gpx", lap + lap[1:])
    one_lap = write_run(tmp_path / "one-lap.gpx", lap)
    (row,) = batch.run_batch(route, batch.expand_inputs([one_lap]), jobs=1, cache_path=None).rows
    assert row["completed"] is False and abs(row["skipped_m"] - 3000.0) < 30.0
    (exc,) = [e for e in row["excursion_list"] if e["kind"] == "skipped_section"]
    x, y = synth.PROJ.forward(*np.array(exc["coordinates"]).T)
    assert len(x) >= 5  # the corners of the second lap
    assert abs(x.max() - 1000.0) < 5 and abs(y.max() - 500.0) < 5
    assert np.hypot(x[0], y[0]) < 30 and np.hypot(x[-1], y[-1]) < 30


def test_real_sample_with_one_wrong_turn(tmp_path: Path) -> None:
    result = batch.run_batch(ALLERMUIR, batch.expand_inputs([WRONG_TURN]), jobs=1, cache_path=None)
    (row,) = result.rows
    assert row["status"] == "ok" and row["excursions"] == 1 and row["completed"] is True
    assert 450 < row["extra_distance_m"] < 750  # a 300 m spur out and back
    assert row["name"] == "allermuir-wrong-turn"
    assert row["title"] == "Allermuir hill race, synthetic run with a wrong turn at km 3.0"
    assert row["excursion_list"][0]["kind"] == "off_course"
    assert 2800 < row["excursion_list"][0]["exit_route_m"] < 3100


def test_odd_files_become_error_rows_the_others_are_checked(field: Path, tmp_path: Path) -> None:
    shutil.copy(field / "runs" / "clean.gpx", tmp_path / "ok.gpx")
    latin1 = os.path.join(os.fsencode(tmp_path), b"caf\xe9.gpx")  # a name that is not UTF-8
    shutil.copy(field / "runs" / "clean.gpx", latin1)
    os.mkfifo(tmp_path / "pipe.gpx")  # would block a reader
    (tmp_path / "folder.gpx").mkdir()  # matched by the pattern: searched, holds nothing
    os.symlink(tmp_path / "gone.gpx", tmp_path / "dangling.gpx")
    inputs = batch.expand_inputs([str(tmp_path / "*.gpx")])
    result = batch.run_batch(field / "route.gpx", inputs, jobs=1, cache_path=None)
    by = rows_by_file(result.rows)
    assert len(result.rows) == 5
    assert by["ok.gpx"]["status"] == "ok"
    assert by["caf\\xe9.gpx"]["status"] == "ok" and by["caf\\xe9.gpx"]["name"] == "caf\\xe9"
    assert by["pipe.gpx"]["error"] == "not a regular file"
    assert by["dangling.gpx"]["error"] == "no such file"
    assert by["folder.gpx"]["error"] == "no file in this folder"
    json.dumps(result.rows)  # every row is JSON, whatever the file names


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_permission_denied_is_a_row(field: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked.gpx"
    shutil.copy(field / "runs" / "clean.gpx", locked)
    locked.chmod(0)
    (row,) = batch.run_batch(field / "route.gpx", batch.expand_inputs([locked]), jobs=1, cache_path=None).rows
    assert row["error"] == "permission denied"


def test_sort_rows_ties_and_secondary_keys() -> None:
    def ok(file: str, verdict: str, extra: float, skipped: float, wrong: float) -> dict[str, Any]:
        row = batch.error_row(file.encode(), "")
        row.update(status="ok", error=None, verdict=verdict, extra_distance_m=extra, skipped_m=skipped)
        row.update(wrong_way_m=wrong, excursions=1)
        return row

    rows = [
        batch.error_row(b"a-error.gpx", "no such file"),
        ok("b.gpx", "on_course", 0.0, 0.0, 0.0),
        ok("c.gpx", "lost", 100.0, 0.0, 0.0),
        ok("d.gpx", "cut", 0.0, 500.0, 0.0),
        ok("e.gpx", "cut", 0.0, 500.0, 80.0),
        ok("f.gpx", "lost", 100.0, 0.0, 0.0),
        ok("g.gpx", "wrong_way", 0.0, 0.0, 90.0),
        ok("h.gpx", "lost", 900.0, 0.0, 0.0),
        ok("i.gpx", "not_this_route", 0.0, 0.0, 0.0),
        ok("j.gpx", "did_not_finish", 0.0, 0.0, 0.0),
    ]
    # cuts first (most route bypassed first), then wrong way, then lost (most extra distance first,
    # ties in file order), did not finish, clean, not this route; error rows last
    assert [r["file"] for r in batch.sort_rows(rows)] == [
        "e.gpx", "d.gpx", "g.gpx", "h.gpx", "c.gpx", "f.gpx", "j.gpx", "b.gpx", "i.gpx", "a-error.gpx",
    ]  # fmt: skip


# --------------------------------------------------------------------------- cache


def test_cache_reuses_results_by_content(field: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache.jsonl"
    route = field / "route.gpx"
    first = batch.run_batch(route, batch.expand_inputs([field / "runs"]), jobs=2, cache_path=cache)
    assert (first.checked, first.cached) == (8, 0)
    # 4 ok rows, 3 corrupt files and a text file: all depend only on content, all cached
    assert len(cache.read_text().splitlines()) == 8

    # the same content under another name (and a duplicate within the run): not checked again
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(field / "runs" / "clean.gpx", copy / "renamed.gpx")
    shutil.copy(field / "runs" / "wrongway.gpx", copy / "new-a.gpx")
    shutil.copy(field / "runs" / "wrongway.gpx", copy / "new-b.gpx")
    second = batch.run_batch(route, batch.expand_inputs([field / "runs", copy]), jobs=2, cache_path=cache)
    assert len(second.rows) == 11
    assert (second.checked, second.cached) == (0, 11)  # the wrongway content is in the cache already
    by = rows_by_file(second.rows)
    assert by["renamed.gpx"]["file"].endswith("copy/renamed.gpx")
    assert by["renamed.gpx"]["name"] == "renamed" and by["renamed.gpx"]["title"] == "Clara Clean"
    # the same bytes uploaded again: flagged as the duplicate of the first (in input order)
    assert [f["kind"] for f in by["renamed.gpx"]["flags"]] == ["duplicate"] and by["clean.gpx"]["flags"] == []
    assert by["renamed.gpx"]["flags"][0]["text"] == f"duplicate of {by['clean.gpx']['file']} (the same bytes)"
    assert by["new-b.gpx"]["flags"][0]["text"].startswith(f"duplicate of {by['wrongway.gpx']['file']}")
    skip = ("file", "name", "flags")
    strip = {k: v for k, v in by["renamed.gpx"].items() if k not in skip}
    assert strip == {k: v for k, v in by["clean.gpx"].items() if k not in skip}
    assert len(cache.read_text().splitlines()) == 8

    # other options: another job key, nothing reused
    from offcourse.detect import Options

    third = batch.run_batch(route, batch.expand_inputs([copy]), Options(off_threshold_m=80.0), cache_path=cache, jobs=1)
    assert (third.checked, third.cached) == (2, 1)  # new-a and renamed checked; new-b is new-a's twin
    assert [Path(r["file"]).name for r in third.rows] == ["new-a.gpx", "new-b.gpx", "renamed.gpx"]
    assert third.rows[0]["excursion_list"] == third.rows[1]["excursion_list"] != []
    assert len(cache.read_text().splitlines()) == 10


def test_cache_survives_a_cut_last_line(field: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache.jsonl"
    route = field / "route.gpx"
    inputs = batch.expand_inputs([field / "runs" / "clean.gpx", field / "runs" / "wrongway.gpx"])
    batch.run_batch(route, inputs, jobs=1, cache_path=cache)
    text = cache.read_bytes()
    cache.write_bytes(text[: len(text) - 40])  # killed in the middle of writing the second line
    again = batch.run_batch(route, inputs, jobs=1, cache_path=cache)
    assert (again.cached, again.checked) == (1, 1)
    lines = cache.read_bytes().split(b"\n")
    assert [json.loads(x)["row"]["title"] for x in lines if x.startswith(b"{") and x.endswith(b"}")] == [
        "Clara Clean",
        "Wanda Wrongway",
    ]


# --------------------------------------------------------------------------- command line


def test_cli_outputs_and_exit_status(field: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    argv = ["batch", str(field / "route.gpx"), str(field / "runs"), "--jobs", "2", "--quiet"]
    argv += ["--csv", str(out / "r.csv"), "--json", str(out / "r.json"), "--geojson", str(out / "r.geojson")]
    assert main(argv) == 1  # some rows are errors
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 1 + 8 and table[0].split()[:3] == ["#", "runner", "verdict"]
    assert table[1].split()[:4] == ["1", "wrongway", "WRONG", "WAY"]  # wrong way before lost
    assert table[1].endswith(" wrongway.gpx")  # the file as published: no absolute path
    assert table[2].split()[1:3] == ["detour600", "LOST"] and table[2].endswith(" detour600.fit")
    assert "error: file ends inside a data message" in table[5] and "ERROR" in table[5]
    assert "NO RECORDING" in table[8] and "error: not a GPS file" in table[8]
    assert (out / batch.CACHE_NAME).exists()  # the cache sits beside the outputs

    raw = (out / "r.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark, for spreadsheets
    with open(out / "r.csv", newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [Path(r["file"]).name for r in rows][:4] == [
        "wrongway.gpx",
        "detour600.fit",
        "detour300.gpx.gz",
        "clean.gpx",
    ]
    assert len(rows) == 8 and list(rows[0]) == [c.format(s="m", l="km") for c in batch.outputs.RUNNER_COLUMNS]
    assert "sha256" not in rows[0]
    assert rows[0]["verdict"] == "WRONG WAY" and rows[1]["verdict"] == "LOST"
    assert abs(float(rows[1]["extra_m"]) - 600) < 60 and rows[1]["completed"] == "true"
    assert rows[1]["worst_finding"].startswith("off course +") and " at km 0.9" in rows[1]["worst_finding"]
    assert rows[3]["duration"] == "0:16:40" and abs(float(rows[3]["distance_km"]) - 3.0) < 0.03
    assert rows[4]["status"] == "error" and rows[4]["fixes"] == "" and rows[4]["verdict"] == "ERROR"

    doc = json.loads((out / "r.json").read_text())
    assert doc["summary"]["files"] == 8 and doc["summary"]["errors"] == 4
    assert [r["file"] for r in doc["rows"]] == [r["file"] for r in rows]
    assert doc["route"]["sha256"] == batch.file_sha256(os.fsencode(field / "route.gpx"))

    geo = json.loads((out / "r.geojson").read_text())
    assert geo["type"] == "FeatureCollection"
    route_feat, *feats = geo["features"]
    assert route_feat["properties"]["role"] == "route" and route_feat["geometry"]["type"] == "LineString"
    assert [(Path(f["properties"]["file"]).name, f["properties"]["kind"]) for f in feats] == [
        ("wrongway.gpx", "wrong_direction"),
        ("detour600.fit", "off_course"),
        ("detour300.gpx.gz", "off_course"),
    ]
    assert all(f["geometry"]["type"] == "LineString" and len(f["geometry"]["coordinates"]) >= 2 for f in feats)
    assert feats[2]["properties"]["name"] == "detour300"
    assert [f["properties"]["stroke"] for f in feats] == ["#8e44ad", "#d62728", "#d62728"]  # present.KIND_COLOUR
    assert abs(feats[1]["properties"]["extra_distance_m"] - 600) < 60

    # everything ok: exit 0; run again from the cache
    assert main(["batch", str(field / "route.gpx"), str(field / "runs" / "clean.gpx"), "-q", "--no-table",
                 "--cache", str(out / batch.CACHE_NAME)]) == 0  # fmt: skip


def test_cli_bad_route_is_one_line_exit_2(field: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", str(field / "runs" / "garbage.gpx"), str(field / "runs"), "--no-cache"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("offcourse: error: ") and "garbage.gpx" in err
    assert main(["batch", str(field / "route.gpx"), str(field / "runs"), "--csv", "/no/such/dir/x.csv"]) == 2


# --------------------------------------------------------------------------- interrupted and resumed


def _cache_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().split(b"\n"):
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


KILL_RUNNERS = 20
KILL_ROUTE = [(0.0, 0.0), (6000.0, 0.0)]


@pytest.fixture(scope="module")
def kill_field(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6 km route and 20 runners of 2,001 fixes each, FIT and GPX: long enough to be interrupted."""
    d = tmp_path_factory.mktemp("kill")
    write_route(d / "route.gpx", KILL_ROUTE)
    (d / "runs").mkdir()
    for k in range(KILL_RUNNERS):  # distinct content: a small offset each
        legs = [(0.0, float(k)), (6000.0, float(k))]
        write_run(d / "runs" / f"r{k:02d}.{'fit' if k % 2 else 'gpx'}", legs, name="" if k % 2 else f"Runner {k}")
    return d


@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_killed_then_rerun_loses_nothing_and_checks_nothing_twice(kill_field: Path, tmp_path: Path, how: str) -> None:
    route = kill_field / "route.gpx"
    runs = tmp_path / "runs"
    shutil.copytree(kill_field / "runs", runs)
    n = KILL_RUNNERS
    cache = tmp_path / "cache.jsonl"
    cmd = [sys.executable, "-m", "offcourse", "batch", str(route), str(runs), "--jobs", "2", "--cache", str(cache)]
    cmd += ["--quiet", "--no-table", "--summary-json"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    while len(_cache_lines(cache)) < 3 and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the batch ended before it could be interrupted"
    if how == "SIGKILL":
        os.kill(proc.pid, signal.SIGKILL)  # the parent only, the worst case: workers must notice and exit
    else:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C on a terminal: the whole process group
    # the pipes close only when the batch, the fork server and every worker are gone: none outlives a kill -9
    _, err = proc.communicate(timeout=60)
    if how == "SIGINT":
        assert proc.returncode == 130
        assert b"run the same command again to continue" in err
    done_before = {e["sha256"] for e in _cache_lines(cache)}
    assert 3 <= len(done_before) < n

    rerun = subprocess.run(cmd, cwd=REPO, capture_output=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stderr.decode().splitlines()[0])
    assert summary["files"] == n and summary["ok"] == n
    assert summary["cached"] == len(done_before)  # nothing lost
    assert summary["checked"] == n - len(done_before)  # nothing checked twice
    entries = _cache_lines(cache)
    assert len(entries) == n and len({e["sha256"] for e in entries}) == n
    assert {e["row"]["fixes"] for e in entries} == {2001}

    again = subprocess.run([*cmd, "--json", str(tmp_path / "all.json")], cwd=REPO, capture_output=True, timeout=60)
    doc = json.loads((tmp_path / "all.json").read_text())
    assert json.loads(again.stderr.decode().splitlines()[0])["cached"] == n
    assert sorted(Path(r["file"]).name for r in doc["rows"]) == sorted(p.name for p in runs.iterdir())
    assert {r["name"] for r in doc["rows"]} >= {"r00", "r01"} and {r["title"] for r in doc["rows"]} >= {"Runner 0"}


def test_pool_worker_killed_mid_run_loses_no_file(kill_field: Path) -> None:
    import multiprocessing

    inputs = batch.expand_inputs([kill_field / "runs"])
    killed: list[int] = []

    def kill_a_worker(row: dict[str, Any], from_cache: bool) -> None:
        workers = multiprocessing.active_children()
        if not killed and workers:
            killed.append(workers[0].pid or 0)
            os.kill(workers[0].pid or 0, signal.SIGKILL)

    result = batch.run_batch(kill_field / "route.gpx", inputs, jobs=2, cache_path=None, on_row=kill_a_worker)
    assert killed
    assert result.checked == len(result.rows) == KILL_RUNNERS
    assert all(r["status"] == "ok" and r["fixes"] == 2001 for r in result.rows)
    # a file that kills its worker every time ends as an error row after MAX_ATTEMPTS, alone
    assert "died" not in json.dumps(result.rows)


def test_no_dask_or_tqdm_at_import_and_progress_on_request(field: Path) -> None:
    code = (
        "import sys, offcourse.batch, offcourse.cli.batch; "
        "print(sorted({'tqdm', 'dask', 'distributed'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    cmd = [sys.executable, "-m", "offcourse", "batch", str(field / "route.gpx"), str(field / "runs" / "clean.gpx")]
    piped = subprocess.run([*cmd, "--no-cache", "--no-table"], cwd=REPO, capture_output=True, text=True)
    assert piped.returncode == 0 and "fixes/s" in piped.stderr and "|" not in piped.stderr  # summary, no bar
    bar = subprocess.run([*cmd, "--no-cache", "--no-table", "--progress"], cwd=REPO, capture_output=True, text=True)
    assert "1/1" in bar.stderr and "file/s" in bar.stderr and "fixes/s" in bar.stderr
    quiet = subprocess.run([*cmd, "--no-cache", "--quiet"], cwd=REPO, capture_output=True, text=True)
    assert quiet.stderr == "" and quiet.stdout.count("\n") == 2  # the table: header and one row


def test_cli_html_page_has_one_row_per_file(field: Path, tmp_path: Path) -> None:
    from html.parser import HTMLParser

    page = tmp_path / "field.html"
    argv = ["batch", str(field / "route.gpx"), str(field / "runs"), "--jobs", "1", "-q", "--no-table", "--no-cache"]
    assert main([*argv, "--html", str(page), "--names", "title"]) == 1

    class Rows(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.depth, self.rows, self.svgs = 0, 0, 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.depth += tag == "tbody"
            self.rows += tag == "tr" and self.depth > 0
            self.svgs += tag == "svg"

        def handle_endtag(self, tag: str) -> None:
            self.depth -= tag == "tbody"

    p = Rows()
    p.feed(page.read_text(encoding="utf-8"))
    assert p.rows == 8  # every input, errors and the text file included
    assert p.svgs >= 3  # a picture for each of the three runners with an excursion
    assert "Dan Detour" in page.read_text(encoding="utf-8")


def test_the_cli_names_the_engines_cache_file() -> None:
    from offcourse.cli import batch as cli_batch

    assert cli_batch.CACHE_NAME == batch.CACHE_NAME


def test_a_file_name_with_a_nul_byte_is_an_error_row_not_an_exception() -> None:
    result = batch.run_batch(ALLERMUIR, batch.expand_inputs([b"samples/a\0b.gpx", WRONG_TURN]), jobs=1, cache_path=None)
    rows = {Path(os.fsdecode(r["file"].encode(errors="surrogateescape"))).name: r for r in result.rows}
    assert [r["status"] for r in result.rows].count("error") == 1
    assert rows["allermuir-wrong-turn.gpx"]["status"] == "ok"


def test_gzip_inside_gzip_is_read_as_check_reads_it(tmp_path: Path) -> None:
    from offcourse import read_route, read_track

    twice = tmp_path / "run.gpx.gz.gz"
    twice.write_bytes(gzip.compress(gzip.compress(WRONG_TURN.read_bytes())))
    assert len(read_track(twice)) == 2302
    route = read_route(ALLERMUIR)
    row = batch.check_file(os.fsencode(twice), route)
    assert row["status"] == "ok" and row["fixes"] == 2302 and row["excursions"] == 1


def test_receiver_null_island_fixes_stay_out_of_the_excursion_line(tmp_path: Path) -> None:
    from offcourse import read_route, read_track
    from offcourse.report import check

    track = read_track(WRONG_TURN)
    route = read_route(ALLERMUIR)
    e = check(route, track).excursions[0]
    inside = np.flatnonzero((track.epoch_s > e.start_epoch_s + 20) & (track.epoch_s < e.end_epoch_s - 20))
    lon, lat = track.lon.copy(), track.lat.copy()
    lon[inside[::10]] = 0.0  # a watch's "no position yet" fixes in the middle of the wrong turn
    lat[inside[::10]] = 0.0
    spoilt = type(track).from_arrays(lon=lon, lat=lat, epoch_s=track.epoch_s, meta=track.meta)
    row = batch.report_row(check(route, spoilt), b"x.gpx", None)
    (exc,) = row["excursion_list"]
    assert exc["coordinates"] and all(abs(x) > 1 and abs(y) > 1 for x, y in exc["coordinates"])

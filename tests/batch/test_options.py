"""The director's options: names, race day, units and zone, the route refused, BOM, memory limit."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

from offcourse import batch
from offcourse.cli import main
from offcourse.errors import OffcourseError
from tests.batch.test_batch import DETOUR_600, STRAIGHT, write_route, write_run


@pytest.fixture(scope="module")
def race(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("names")
    write_route(d / "route.gpx", STRAIGHT)
    up = d / "up"
    up.mkdir()
    write_run(up / "0042_morning.gpx", STRAIGHT, name="Morning Run")
    write_run(up / "jo.gpx", DETOUR_600, name="Lunch Run")
    return d


def names_of(result: batch.BatchResult) -> dict[str, tuple[str, str | None]]:
    return {Path(r["file"]).name: (r["name"], r["bib"]) for r in result.rows}


def test_names_from_the_file_the_title_or_a_list(race: Path, tmp_path: Path) -> None:
    inputs = batch.expand_inputs([race / "up"])
    run = lambda names: batch.run_batch(race / "route.gpx", inputs, jobs=1, cache_path=None, names=names)  # noqa: E731
    assert names_of(run(None)) == {"0042_morning.gpx": ("0042_morning", None), "jo.gpx": ("jo", None)}
    assert names_of(run(batch.Names("title"))) == {
        "0042_morning.gpx": ("Morning Run", None),
        "jo.gpx": ("Lunch Run", None),
    }
    (tmp_path / "list.csv").write_text("file,name,bib\nJO.GPX,Jo Bloggs,7\n", encoding="utf-8")
    (tmp_path / "bibs.csv").write_text("Bib,Name\n42,Ann Lee\n", encoding="utf-8")
    assert names_of(run(batch.read_names(tmp_path / "list.csv")))["jo.gpx"] == ("Jo Bloggs", "7")
    by_bib = names_of(run(batch.read_names(tmp_path / "bibs.csv")))  # the bib found in the file name, 0042 = 42
    assert by_bib == {"0042_morning.gpx": ("Ann Lee", "42"), "jo.gpx": ("jo", None)}


def test_a_names_list_without_the_columns_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.csv").write_text("runner,number\nAnn,1\n", encoding="utf-8")
    with pytest.raises(OffcourseError, match="needs a header with name, and file or bib"):
        batch.read_names(tmp_path / "bad.csv")
    assert main(["batch", "r.gpx", "x.gpx", "--names", str(tmp_path / "bad.csv")]) == 2
    assert main(["batch", "r.gpx", "x.gpx", "--names", str(tmp_path / "missing.csv")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "cannot read the names list" in err[1]


def test_the_route_among_the_tracks_is_refused_with_a_hint(race: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # `offcourse batch uploads/*.gpx`: the first upload would be taken for the route
    up = sorted(str(p) for p in (race / "up").iterdir())
    assert main(["batch", *up, "--no-cache", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "the route has times on its points, as a recording has" in err
    # the route given again inside the folder of uploads
    assert main(["batch", up[0], str(race / "up"), "--no-cache", "-q", "--route-is-recording"]) == 2
    err = capsys.readouterr().err.strip()
    assert "the route is also one of the tracks" in err and "offcourse batch ROUTE TRACKS" in err
    assert main(["batch", up[0], up[1], "--no-cache", "-q", "--route-is-recording", "--no-table"]) == 0


def test_units_zone_bom_and_plural(race: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["batch", str(race / "route.gpx"), str(race / "up" / "jo.gpx"), "--no-cache", "-j", "1"]
    argv += ["--units", "mi", "--tz", "America/Denver", "--csv", str(tmp_path / "r.csv"), "--no-bom"]
    assert main(argv) == 0
    cap = capsys.readouterr()
    assert "1 file: 1 ok, 0 errors" in cap.err  # one file, not "1 files"
    raw = (tmp_path / "r.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    (row,) = csv.DictReader(raw.decode().splitlines())
    assert row["start_time"] == "2023-11-14T15:13:20-07:00" and "distance_mi" in row and "extra_ft" in row
    assert abs(float(row["extra_ft"]) - 600 / 0.3048) < 200
    assert main([*argv[:-3], "--tz", "Mars/Olympus"]) == 2
    assert "unknown time zone 'Mars/Olympus'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*argv, "--date", "17/05/2025"])
    assert "expected a date as YYYY-MM-DD" in capsys.readouterr().err


@pytest.mark.parametrize("jobs", [2, 1])  # with --jobs 1 too: a limit always runs in a worker process
def test_worker_memory_limit_gives_an_error_row_and_the_others_go_on(tmp_path: Path, jobs: int) -> None:
    import numpy as np

    from tests.batch.test_batch import writers

    route = write_route(tmp_path / "route.gpx", STRAIGHT)
    small = write_run(tmp_path / "small.gpx", DETOUR_600)
    n = 400_000  # a 38 MB GPX: more than 30 MB before it is parsed
    lon, lat = np.linspace(0, 0.05, n), np.full(n, 0.0001)
    writers.write_gpx_track(
        tmp_path / "big.gpx", lon, lat, np.full(n, 1.0), "big", epoch_s=1.7e9 + np.arange(n, dtype=float)
    )
    shutil.copy(small, tmp_path / "small2.gpx")
    inputs = batch.expand_inputs([small, tmp_path / "big.gpx", tmp_path / "small2.gpx"])
    cache = tmp_path / "cache.jsonl"
    result = batch.run_batch(route, inputs, jobs=jobs, cache_path=cache, worker_memory_mb=30)
    by = {Path(r["file"]).name: r for r in result.rows}
    assert by["small.gpx"]["status"] == by["small2.gpx"]["status"] == "ok"
    assert (
        by["big.gpx"]["error"]
        == "out of memory: needs more than the worker memory limit of 30 MB (--worker-memory-mb)"
    )
    assert len(batch.ResultCache(cache, result.spec.key)) == 1  # the limit's verdict is not remembered
    with pytest.raises(OffcourseError, match="at least 1 MB"):
        batch.run_batch(route, inputs, jobs=2, cache_path=None, worker_memory_mb=0)
    assert os.path.exists(tmp_path / "big.gpx")


def test_zip_uploads_give_a_row_per_file_and_a_bad_archive_one_error_row(race: Path, tmp_path: Path) -> None:
    import zipfile

    good = tmp_path / "uploads.zip"
    with zipfile.ZipFile(good, "w") as z:
        z.write(race / "up" / "jo.gpx", "club/jo.gpx")
        z.writestr("club/readme.txt", "hello")
        z.writestr("__MACOSX/club/._jo.gpx", "resource fork")
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../../etc/cron.d/x.gpx", "<gpx/>")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w"):
        pass
    inputs = batch.expand_inputs([good, evil, empty])
    rows = batch.run_batch(race / "route.gpx", inputs, jobs=1, cache_path=None).rows
    got = [(r["file"].removeprefix(str(tmp_path) + "/"), r["status"], r["error_kind"]) for r in rows]
    assert got == [
        ("uploads.zip/club/jo.gpx", "ok", None),
        ("uploads.zip/club/readme.txt", "error", "not_gps"),
        ("evil.zip/../../etc/cron.d/x.gpx", "error", "unreadable"),  # the member refused alone
        ("empty.zip", "error", "unreadable"),
    ]
    assert rows[0]["name"] == "jo" and rows[0]["excursions"] == 1
    assert "outside" in rows[2]["error"] or ".." in rows[2]["error"]
    assert rows[3]["error"] == "no file in this archive"


class _Terminal:
    """A stream that says it is a terminal, as stdout is in a shell."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_table_on_a_terminal_uses_rich_and_escapes_names(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("rich")
    monkeypatch.setenv("COLUMNS", "100")
    rows = [
        {"file": "a.gpx", "name": "Ann\x1b]0;pwned\x07", "status": "ok", "verdict": "cut", "excursions": 1,
         "extra_distance_m": 0.0, "skipped_m": 2500.0, "duration_s": 3725.0, "distance_m": 10450.0, "flags": []},
        {"file": "notes.txt", "name": "notes", "status": "error", "error": "not a GPS file", "error_kind": "not_gps"},
    ]  # fmt: skip
    out = _Terminal()
    batch.print_table(rows, stream=out)
    assert "Ann\\x1b]0;pwned\\x07" in out.text and "\x07" not in out.text  # shown, never sent to the terminal
    assert "CUT" in out.text and "NO RECORDING" in out.text and "2.50 km" in out.text
    lines = [line for line in out.text.splitlines() if line.strip()]
    assert max(len(__import__("re").sub(r"\x1b\[[0-9;]*m", "", line)) for line in lines) <= 100  # fits the window

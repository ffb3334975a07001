"""``offcourse serve`` and ``offcourse serve-report`` from the command line: errors in one line, the report."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import offcourse
from offcourse.cli import main
from offcourse.detect.state import route_fingerprint
from offcourse.serve.auth import load_runners
from offcourse.serve.field import Field
from offcourse.serve.ingest import Position
from offcourse.serve.store import Store

REPO = Path(__file__).resolve().parents[2]
ALLERMUIR = REPO / "routes" / "allermuir-hill-race.gpx"
WRONG_TURN = REPO / "samples" / "allermuir-wrong-turn.gpx"


def serve(tmp_path: Path, *extra: str) -> tuple[int, str]:
    cmd = [sys.executable, "-m", "offcourse", "serve", str(ALLERMUIR), "--db", str(tmp_path / "race.sqlite"), *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO, check=False)
    return done.returncode, done.stderr


def test_a_bad_runners_list_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "runners.csv").write_text("bib,name\n1,Ann\n")
    status, err = serve(tmp_path, "--runners", str(tmp_path / "runners.csv"))
    assert (status, err) == (2, f"offcourse: error: {tmp_path / 'runners.csv'}: no 'device' column in the header row\n")
    (tmp_path / "runners.csv").write_text("device,bib,name\nw1,1,Ann\nw1,2,Bob\n")
    status, err = serve(tmp_path, "--runners", str(tmp_path / "runners.csv"))
    assert (status, err) == (2, f"offcourse: error: {tmp_path / 'runners.csv'}: line 3: device w1 is listed twice\n")


def test_a_database_of_another_route_a_short_token_or_a_busy_port_is_one_error_line(tmp_path: Path) -> None:
    Store(tmp_path / "race.sqlite", "another route").close()
    status, err = serve(tmp_path)
    assert (status, err) == (
        2,
        f"offcourse: error: {tmp_path / 'race.sqlite'}: this database was made for another route\n",
    )
    (tmp_path / "race.sqlite").unlink()
    status, err = serve(tmp_path, "--token", "short")
    assert (status, err) == (2, "offcourse: error: the token must have at least 12 characters\n")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        status, err = serve(tmp_path, "--port", str(port))
    assert status == 2 and err.startswith(f"offcourse: error: cannot listen on 127.0.0.1:{port}: ")
    assert "Traceback" not in err


def test_the_engine_and_the_cli_work_without_the_serve_extra() -> None:
    code = (
        "import sys\n"
        "for name in ('starlette', 'uvicorn', 'httpx'): sys.modules[name] = None\n"
        "import offcourse, offcourse.cli, offcourse.serve.app, offcourse.serve.demo\n"
        "offcourse.cli._parser()\n"
        "sys.exit(offcourse.cli.main(['serve', 'routes/allermuir-hill-race.gpx']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO, check=False
    )
    assert (done.returncode, done.stderr) == (
        2,
        "offcourse: error: offcourse serve needs the serve extra: pip install 'offcourse[serve]'\n",
    )


def test_the_report_from_the_stored_positions_is_the_batch_report_of_the_recording(tmp_path: Path) -> None:
    route = offcourse.read_route(ALLERMUIR)
    track = offcourse.read_track(WRONG_TURN)
    (tmp_path / "runners.csv").write_text("device,bib,name\nwatch-1,7,Sample Runner\n")
    runners = load_runners(tmp_path / "runners.csv")
    store = Store(tmp_path / "race.sqlite", route_fingerprint(route))
    field = Field(route, store, runners)
    fs = [
        Position("watch-1", t, la, lo, ele_m=e)
        for t, la, lo, e in zip(
            track.epoch_s.tolist(), track.lat.tolist(), track.lon.tolist(), track.ele_m.tolist(), strict=True
        )
    ]
    late = fs[100]
    for i in range(0, len(fs), 10):
        field.ingest([p for p in fs[i : i + 10] if p is not late], 0.0)
    field.ingest([late], 0.0)  # arrives last: ignored live, in its place in the report
    store.close()
    out = tmp_path / "report"
    status = main(
        [
            "serve-report",
            str(ALLERMUIR),
            "--db",
            str(tmp_path / "race.sqlite"),
            "--out",
            str(out),
            "--runners",
            str(tmp_path / "runners.csv"),
            "--jobs",
            "1",
        ]
    )
    assert status == 0
    [row] = json.loads((out / "report.json").read_text())["rows"]
    assert (row["name"], row["bib"], row["status"], row["fixes"], row["excursions"]) == (
        "Sample Runner",
        "7",
        "ok",
        len(fs),
        1,
    )
    batch_dir = tmp_path / "batch"
    batch_dir.mkdir()
    assert (
        main(
            [
                "batch",
                str(ALLERMUIR),
                str(WRONG_TURN),
                "--json",
                str(batch_dir / "b.json"),
                "--no-cache",
                "--jobs",
                "1",
                "--no-table",
                "-q",
            ]
        )
        == 0
    )
    [direct] = json.loads((batch_dir / "b.json").read_text())["rows"]
    for key in ("fixes", "duration_s", "distance_m", "excursions", "extra_distance_m", "time_off_course_s", "verdict"):
        assert row[key] == pytest.approx(direct[key]), key
    assert (out / "report.html").read_text().count("Sample Runner") >= 1
    header = (out / "report.csv").read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert {"name", "bib", "status", "file"} <= set(header)
    assert "Sample Runner,7," in (out / "report.csv").read_text(encoding="utf-8-sig")


def test_serve_report_with_a_mistyped_db_is_one_line_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "rcae.sqlite"
    status = main(["serve-report", str(ALLERMUIR), "--db", str(typo), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and not typo.exists() and not (tmp_path / "out").exists()
    assert err.count("\n") == 1 and "rcae.sqlite" in err and "no such database" in err
    (tmp_path / "other.sqlite").write_bytes(b"")  # an empty file is no server's database either
    assert main(["serve-report", str(ALLERMUIR), "--db", str(tmp_path / "other.sqlite"), "--out", str(tmp_path)]) == 2
    assert "not a" in capsys.readouterr().err and (tmp_path / "other.sqlite").stat().st_size == 0


@pytest.mark.parametrize(("required", "outcome"), [("1", "Failed"), ("", "Skipped")])
def test_the_server_tests_fail_without_the_extra_when_ci_requires_it(
    monkeypatch: pytest.MonkeyPatch, required: str, outcome: str
) -> None:
    import importlib

    monkeypatch.setenv("OFFCOURSE_REQUIRE_SERVE", required)
    monkeypatch.setitem(sys.modules, "starlette", None)  # as if the serve extra were not installed
    monkeypatch.delitem(sys.modules, "tests.serve.helpers", raising=False)
    with pytest.raises(BaseException) as caught:
        importlib.import_module("tests.serve.helpers")
    assert type(caught.value).__name__ == outcome and "starlette is not installed" in str(caught.value)

"""``offcourse info``: output for routes and recordings, one-line errors with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from offcourse.cli import main
from tests.conftest import REPO


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "offcourse", *args], capture_output=True, text=True, cwd=REPO)


def test_info_json_on_bundled_route_and_sample(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["info", "--format", "json", "routes/allermuir-hill-race.gpx", "samples/mansfield-double-up-2017.gpx"]
    )
    assert status == 0
    route, track = json.loads(capsys.readouterr().out)
    assert route["format"] == "gpx" and route["points"] == 826
    assert 6_000 < route["length_m"] < 7_500
    assert len(route["checkpoints"]) == 9
    assert all(c["route_m"] is not None for c in route["checkpoints"])
    assert [c["route_m"] for c in route["checkpoints"]] == sorted(c["route_m"] for c in route["checkpoints"])
    assert track["points"] == 5720
    assert track["start_time"].startswith("2017-07-30")
    assert 3.3 * 3600 < track["duration_s"] < 3.45 * 3600
    assert 17_000 < track["length_m"] < 18_000
    assert 500 < track["elevation_m"][0] < track["elevation_m"][1] < 1310
    w, s, e, n = track["bbox"]
    assert -73 < w < e < -72 and 44 < s < n < 45


def test_info_text_names_format_points_and_duration() -> None:
    out = run_cli("info", "samples/fenix2-run.fit")
    assert out.returncode == 0, out.stderr
    assert "FIT activity" in out.stdout
    assert "points       2809" in out.stdout
    assert "time         20" in out.stdout


@pytest.mark.parametrize("cmd", [["--help"], ["info", "--help"]])
def test_help(cmd: list[str]) -> None:
    out = run_cli(*cmd)
    assert out.returncode == 0 and "usage: offcourse" in out.stdout


def test_missing_file_is_one_line_error_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gpx"
    out = run_cli("info", str(missing))
    assert out.returncode == 2
    assert out.stderr == f"offcourse: error: {missing}: no such file\n"


def test_folder_and_garbage_are_one_line_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.fit"
    junk.write_bytes(b"hello, not a watch file")
    out = run_cli("info", str(tmp_path), str(junk), "routes/allermuir-hill-race.gpx")
    assert out.returncode == 2
    lines = out.stderr.splitlines()
    assert lines == [
        f"offcourse: error: {tmp_path}: is a folder, not a file",
        f"offcourse: error: {junk}: not a FIT, GPX, TCX or GeoJSON file",
    ]
    assert "Traceback" not in out.stderr
    assert "allermuir" in out.stdout  # the good file is still described


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied(tmp_path: Path) -> None:
    f = tmp_path / "locked.gpx"
    f.write_text("<gpx/>")
    f.chmod(0)
    out = run_cli("info", str(f))
    assert out.returncode == 2 and out.stderr.strip().endswith("permission denied")

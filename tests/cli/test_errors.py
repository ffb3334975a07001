"""The command line on bad files: exactly one line ``offcourse: error: FILE: ...`` on stderr, exit status 2.

For ``info``, ``check`` and ``replay``, with the bad file as the route or as the recording: a missing
file, a folder, a file that cannot be read (permission denied), a name that is not UTF-8, a broken
file, a route with one point, a recording from another continent. In-process through
:func:`offcourse.cli.main` and, once per command, as a real ``python -m offcourse`` process.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from offcourse.cli import main
from tests.conftest import REPO

D = REPO / "tests" / "data" / "defects"
ROUTE = str(D / "base-route.gpx")
TRACK = str(D / "base-track.gpx")

# where the bad file goes on each command line
COMMANDS: dict[str, Callable[[str], list[str]]] = {
    "info": lambda bad: ["info", bad],
    "info-json": lambda bad: ["info", "--format", "json", bad],
    "check-route": lambda bad: ["check", bad, TRACK],
    "check-track": lambda bad: ["check", ROUTE, bad],
    "check-json": lambda bad: ["check", "--format", "json", ROUTE, bad],
    "replay-route": lambda bad: ["replay", bad, TRACK],
    "replay-track": lambda bad: ["replay", "--format", "jsonl", ROUTE, bad],
}


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def assert_one_error_line(status: int, err: str, path: str, what: str) -> None:
    assert status == 2, err
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, f"not exactly one line: {err!r}"
    assert err == f"offcourse: error: {path}: {what}\n"


# -- the bad files ----------------------------------------------------------------------------------------


def missing(tmp: Path) -> tuple[str, str]:
    return str(tmp / "nope.gpx"), "no such file"


def folder(tmp: Path) -> tuple[str, str]:
    (tmp / "a-folder.gpx").mkdir()
    return str(tmp / "a-folder.gpx"), "is a folder, not a file"


def broken_fit(tmp: Path) -> tuple[str, str]:
    path = tmp / "broken.fit"
    shutil.copy(D / "fit-bad-header-crc.fit", path)
    return str(path), "FIT header CRC does not match (at byte 0)"


def garbage(tmp: Path) -> tuple[str, str]:
    path = tmp / "notes.gpx"
    path.write_bytes(b"\x00\x01 not a watch file")
    return str(path), "not a FIT, GPX, TCX or GeoJSON file"


def non_utf8_missing(tmp: Path) -> tuple[str, str]:
    return os.fsdecode(os.fsencode(tmp) + b"/\xff\xfe-nope.gpx"), "no such file"


def non_utf8_broken(tmp: Path) -> tuple[str, str]:
    path = os.fsencode(tmp) + b"/caf\xe9-latin1.gpx"
    shutil.copy(D / "lat-out-of-range.gpx", path)
    return os.fsdecode(path), "trkpt has latitude -90.5 outside [-90, 90]"


BAD_FILES = [missing, folder, broken_fit, garbage, non_utf8_missing, non_utf8_broken]


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("bad", BAD_FILES, ids=lambda f: f.__name__)
def test_bad_file_is_one_line_error_exit_2(
    command: str, bad: Callable[[Path], tuple[str, str]], tmp_path: Path
) -> None:
    path, what = bad(tmp_path)
    status, out, err = run_main(COMMANDS[command](path))
    assert_one_error_line(status, err, path, what)
    if command == "info-json":
        assert '"error"' in out  # the JSON document still lists the file, with its error
    else:
        assert out == ""


def test_permission_denied_even_when_running_as_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import offcourse.read

    locked = tmp_path / "locked.gpx"
    shutil.copy(D / "base-track.gpx", locked)

    def denied(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.fsdecode(file) == str(locked):
            raise PermissionError(13, "Permission denied", str(file))
        return open(file, *args, **kwargs)

    monkeypatch.setattr(offcourse.read, "open", denied, raising=False)
    for command in sorted(COMMANDS):
        status, _, err = run_main(COMMANDS[command](str(locked)))
        assert_one_error_line(status, err, str(locked), "permission denied")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode (see the test above)")
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_permission_denied(command: str, tmp_path: Path) -> None:
    locked = tmp_path / "locked.gpx"
    shutil.copy(D / "base-track.gpx", locked)
    locked.chmod(0)
    status, _, err = run_main(COMMANDS[command](str(locked)))
    assert_one_error_line(status, err, str(locked), "permission denied")


@pytest.mark.parametrize("command", ["check-route", "replay-route"])
@pytest.mark.parametrize("name", ["one-point-route.gpx", "one-point-route-repeated.gpx"])
def test_one_point_route(command: str, name: str) -> None:
    path = str(D / name)
    status, out, err = run_main(COMMANDS[command](path))
    assert_one_error_line(status, err, path, "route has fewer than two distinct points")
    assert out == ""


def test_recording_from_another_continent() -> None:
    path = str(D / "other-continent.gpx")
    status, out, err = run_main(COMMANDS["check-track"](path))
    assert_one_error_line(
        status, err, path, "the recording never comes within 50 km of the route: is it the right route?"
    )
    assert out == ""


def test_replaying_a_recording_from_another_continent_is_an_error_too() -> None:
    path = str(D / "other-continent.gpx")
    status, _, err = run_main(COMMANDS["replay-track"](path))
    assert_one_error_line(
        status, err, path, "the recording never comes within 50 km of the route: is it the right route?"
    )


# -- real processes ----------------------------------------------------------------------------------------


def run_process(args: list[str | bytes], **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "offcourse", *args],
        capture_output=True,
        cwd=REPO,
        env={**os.environ, **env},
        timeout=120,
    )


@pytest.mark.parametrize("command", ["info", "check-track", "replay-route"])
def test_real_process_missing_file_with_a_non_utf8_name(command: str, tmp_path: Path) -> None:
    bad = os.fsencode(tmp_path) + b"/\xff-nope.gpx"
    args = [os.fsencode(a) for a in COMMANDS[command](os.fsdecode(bad))]
    out = run_process(args)  # type: ignore[arg-type]
    assert out.returncode == 2 and out.stdout == b""
    assert b"Traceback" not in out.stderr
    (line,) = out.stderr.splitlines()
    # stderr escapes what it cannot encode: the name shows as \udcff (or the raw byte, as a terminal would)
    shown = line.replace(b"\\udcff", b"\xff")
    assert shown == b"offcourse: error: " + bad + b": no such file"


@pytest.mark.parametrize("command", ["check-route"])
def test_real_process_broken_file(command: str, tmp_path: Path) -> None:
    path, what = broken_fit(tmp_path)
    out = run_process(COMMANDS[command](path))  # type: ignore[arg-type]
    assert out.returncode == 2 and out.stdout == b""
    assert out.stderr.decode() == f"offcourse: error: {path}: {what}\n"


@pytest.mark.parametrize("command", ["replay-track"])
def test_real_process_folder(command: str, tmp_path: Path) -> None:
    path, what = folder(tmp_path)
    out = run_process(COMMANDS[command](path))  # type: ignore[arg-type]
    assert out.returncode == 2
    assert out.stderr.decode() == f"offcourse: error: {path}: {what}\n"


@pytest.mark.parametrize("command", ["info"])
def test_real_process_good_file_with_a_non_utf8_name(command: str, tmp_path: Path) -> None:
    good = os.fsencode(tmp_path) + b"/caf\xe9.gpx"
    shutil.copy(D / "base-track.gpx", good)
    args = [os.fsencode(a) for a in COMMANDS[command](os.fsdecode(good))]
    out = run_process(args, PYTHONIOENCODING="utf-8:strict")  # type: ignore[arg-type]
    assert b"Traceback" not in out.stderr, out.stderr.decode(errors="replace")
    assert out.returncode == 0 and b"caf" in out.stdout


def test_check_tells_of_what_the_reader_kept_despite_a_problem(capsys: pytest.CaptureFixture[str]) -> None:
    """A FIT file whose CRC is wrong is used (the verified records), and the user is told on stderr."""
    track = str(D / "fit-bad-file-crc.fit")
    assert main(["check", str(D / "base-route.gpx"), track]) == 0
    out, err = capsys.readouterr()
    assert err == f"offcourse: warning: {track}: file CRC does not match (at byte 128)\n"
    assert out.startswith("Route ")

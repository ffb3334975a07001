"""The adversarial campaign of issue 13, one test per defect: hostile names, times, links, disks and sizes.

Each test is named after the attack it replays and asserts the outcome the fix promises: a typed
one-line error or a warning, one row per file, outputs that parse, never a traceback or a hang.
"""

from __future__ import annotations

import csv
import errno
import gzip
import io
import json
import math
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import offcourse.read._xml as xml_mod
from offcourse import batch, read_file, read_route, read_track
from offcourse.cli import main
from offcourse.errors import FileTooLargeError, OffcourseError
from offcourse.read import MAX_JSON_BYTES, parse_bytes
from offcourse.read._limits import MAX_TIME_S, clean_parsed, terminal_text
from offcourse.read.fit import parse_fit
from tests import synth

from .fitbuild import FitBuilder
from .hang import time_limit

T0 = 1_700_000_000.0
STRAIGHT = [(0.0, 0.0), (3000.0, 0.0)]
DETOUR = [(0.0, 0.0), (900.0, 0.0), (900.0, 300.0), (1500.0, 300.0), (1500.0, 0.0), (3000.0, 0.0)]
SURROGATE = "Jo\ud800e"


def lonlat(xy: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    a = np.array(xy, dtype=float)
    return synth.PROJ.inverse(a[:, 0], a[:, 1])


def geojson_doc(legs: list[tuple[float, float]], name: str, times: list[Any] | None = None) -> dict[str, Any]:
    """A run along ``legs`` (metres) as a GeoJSON Feature with coordTimes, one fix a second."""
    rows = synth.walk(legs)
    lon, lat = synth.PROJ.inverse(rows[:, 1], rows[:, 2])
    coords = [[round(float(x), 7), round(float(y), 7)] for x, y in zip(lon, lat, strict=True)]
    t = times if times is not None else [T0 + float(s) for s in rows[:, 0]]
    if len(t) < len(coords):
        t = [*t, *(T0 + float(s) for s in rows[len(t) :, 0])]
    return {
        "type": "Feature",
        "properties": {"name": name, "coordTimes": t},
        "geometry": {"type": "LineString", "coordinates": coords},
    }


def write_json(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc), encoding="ascii")  # "\ud800" is written as its \u escape: valid JSON
    return path


def gpx_text(legs: list[tuple[float, float]], name: str, times: list[str] | None = None) -> str:
    rows = synth.walk(legs)
    lon, lat = synth.PROJ.inverse(rows[:, 1], rows[:, 2])
    pts = []
    for i, (x, y) in enumerate(zip(lon, lat, strict=True)):
        t = times[i] if times is not None and i < len(times) else _iso(T0 + float(rows[i, 0]))
        pts.append(f'<trkpt lat="{y:.7f}" lon="{x:.7f}"><time>{t}</time></trkpt>')
    body = "".join(pts)
    return f'<?xml version="1.0"?><gpx version="1.1"><trk><name>{name}</name><trkseg>{body}</trkseg></trk></gpx>'


def _iso(epoch_s: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def route_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("route")
    lon, lat = lonlat(STRAIGHT)
    coords = [[float(x), float(y)] for x, y in zip(lon, lat, strict=True)]
    doc = {
        "type": "Feature",
        "properties": {"name": "Straight"},
        "geometry": {"type": "LineString", "coordinates": coords},
    }
    return write_json(d / "route.geojson", doc)


def run_batch_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(["batch", *args, "-j", "1", "--quiet", "--names", "title"])  # hostile titles name the runners
    out = capsys.readouterr()
    return status, out.out, out.err


def all_outputs(d: Path) -> list[str]:
    return [
        "--csv",
        str(d / "f.csv"),
        "--json",
        str(d / "f.json"),
        "--geojson",
        str(d / "f.geojson"),
        "--html",
        str(d / "f.html"),
    ]


def assert_outputs_parse(d: Path, n_rows: int) -> dict[str, Any]:
    with open(d / "f.csv", newline="", encoding="utf-8-sig") as fh:
        assert len(list(csv.DictReader(fh))) == n_rows
    doc: dict[str, Any] = json.loads((d / "f.json").read_text(encoding="utf-8"))
    assert len(doc["rows"]) == n_rows
    json.loads((d / "f.geojson").read_text(encoding="utf-8"))
    assert "</html>" in (d / "f.html").read_text(encoding="utf-8")
    assert not [p.name for p in d.iterdir() if p.name.endswith(".tmp")]  # no temporary file left
    return doc


# --------------------------------------------------------------------------- High 1: lone surrogates


def test_lone_surrogate_in_geojson_name_every_batch_output(
    route_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_json(tmp_path / "run.geojson", geojson_doc(DETOUR, SURROGATE))
    out = tmp_path / "out"
    out.mkdir()
    status, table, err = run_batch_cli([str(route_path), str(run), *all_outputs(out)], capsys)
    assert status == 0, err
    doc = assert_outputs_parse(out, 1)
    assert doc["rows"][0]["name"] == "Jo\ufffde"
    assert "Jo\ufffde" in table
    # the rerun takes the row from the cache: same outputs, no crash
    status, table2, err = run_batch_cli([str(route_path), str(run), *all_outputs(out)], capsys)
    assert status == 0, err
    assert table2 == table


def test_lone_surrogate_cached_row_does_not_crash_reruns(
    route_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_json(tmp_path / "run.geojson", geojson_doc(DETOUR, "Plain"))
    out = tmp_path / "out"
    out.mkdir()
    assert run_batch_cli([str(route_path), str(run), *all_outputs(out)], capsys)[0] == 0
    cache = out / batch.CACHE_NAME
    # a cache written by an older version: the runner's name holds a lone surrogate
    cache.write_text(cache.read_text().replace('"Plain"', '"Pl\\ud800in"'))
    status, _, err = run_batch_cli([str(route_path), str(run), *all_outputs(out)], capsys)
    assert status == 0, err
    doc = assert_outputs_parse(out, 1)
    assert doc["summary"]["cached"] == 1
    assert doc["rows"][0]["name"] == "Pl\ufffdin"


def test_lone_surrogate_route_name_check_and_info(
    route_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(route_path.read_text())
    doc["properties"]["name"] = "Route \udfff"
    route = write_json(tmp_path / "route.geojson", doc)
    run = write_json(tmp_path / "run.geojson", geojson_doc(DETOUR, SURROGATE))
    for fmt in ("text", "json"):
        assert main(["check", str(route), str(run), "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert "Route \ufffd" in (out if fmt == "text" else json.loads(out)["route"]["name"])
    assert main(["info", str(route), str(run)]) == 0
    assert capsys.readouterr().out.count("\ufffd") == 2
    assert main(["info", "--format", "json", str(run)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "Jo\ufffde"


def test_lone_surrogate_in_livetrail_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lon, lat = lonlat(STRAIGHT)
    pts = [[0, 100, [float(lon[0]), float(lat[0])]], [3000, 100, [float(lon[1]), float(lat[1])]]]
    doc = {
        "segments": [{"name": "Leg \ud800", "segment": pts}],
        "checkpoints": [{"name": "CP \udc00", "lat": float(lat[1]), "lon": float(lon[1])}],
    }
    path = write_json(tmp_path / "lt.json", doc)
    route = read_route(path)
    assert route.meta.extra["segment_names"] == ["Leg \ufffd"]
    assert [c.name for c in route.checkpoints] == ["CP \ufffd"]
    assert main(["info", "--format", "json", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["checkpoints"][0]["name"] == "CP \ufffd"


def test_every_text_field_is_cleaned_whatever_the_format() -> None:
    # GPX and TCX cannot carry a lone surrogate (expat refuses it), but whatever a reader gives goes
    # through the same cleaning: every text field of the metadata and the named points
    from offcourse.model import Metadata, ParsedFile, Track, Waypoint

    meta = Metadata(
        "gpx", name="a\ud800", device="d\udbff", sport="s\udc00", creator="c\udfff", extra={"k": ["x\ud800"]}
    )
    track = Track.from_arrays(lon=[0.1, 0.2], lat=[0.1, 0.2], meta=meta)
    pf = clean_parsed(ParsedFile(track, (Waypoint(0.1, 0.1, "w\ud800", kind="k\ud800"),)))
    m = pf.track.meta
    assert (m.name, m.device, m.sport, m.creator, m.extra["k"]) == (
        "a\ufffd",
        "d\ufffd",
        "s\ufffd",
        "c\ufffd",
        ["x\ufffd"],
    )
    assert (pf.waypoints[0].name, pf.waypoints[0].kind) == ("w\ufffd", "k\ufffd")


def test_temp_file_removed_when_an_output_write_fails(tmp_path: Path) -> None:
    def boom(fh: io.TextIOBase) -> None:
        fh.write("half")
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    with pytest.raises(UnicodeEncodeError):
        batch.outputs._atomic_write(tmp_path / "x.csv", boom)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- Medium 3: times datetime cannot show


def test_time_year_10000_gpx_is_no_time_in_check_info_replay(
    route_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # one fix at 9999-12-31T23:00:00-01:00 (year 10000 in UTC): that fix has no time, with a warning
    gpx = tmp_path / "y10000.gpx"
    gpx.write_text(gpx_text(DETOUR, "Runner", times=["2023-11-14T22:13:20Z", "9999-12-31T23:00:00-01:00"]))
    track = read_track(gpx)
    assert math.isnan(track.epoch_s[1]) and track.epoch_s[0] == T0
    assert track.meta.extra["warnings"] == ["1 time(s) outside the years 1 to 9999 treated as no time"]
    for cmd in (["check"], ["check", "--format", "json"], ["replay"], ["replay", "--format", "jsonl"]):
        status = main([*cmd, str(route_path), str(gpx)])
        err = capsys.readouterr().err
        assert status in (0, 2), err
        assert "outside the years 1 to 9999" in err
        assert "Traceback" not in err
    assert main(["info", str(gpx)]) == 0
    assert "warning      1 time(s) outside the years 1 to 9999" in capsys.readouterr().out
    # every time out of range: check judges by distance in recorded order and says so; the live
    # replay needs times: the typed "no timestamps" error, exit 2
    gpx.write_text(gpx_text(DETOUR, "Runner", times=["9999-12-31T23:00:00-01:00"] * 2000))
    assert main(["check", str(route_path), str(gpx)]) == 0
    assert "checked by distance in recorded order" in capsys.readouterr().out
    assert main(["replay", str(route_path), str(gpx)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("offcourse: error: ") and "timestamps" in err[-1]


@pytest.mark.parametrize("bad", [1e15, -7e10, 1e300])
def test_time_coordtimes_out_of_datetime_range_check_info(
    bad: float, route_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = geojson_doc(DETOUR, "Runner")
    doc["properties"]["coordTimes"][5] = bad
    run = write_json(tmp_path / "run.geojson", doc)
    track = read_track(run)
    assert int(np.isnan(track.epoch_s).sum()) == 1
    assert main(["check", "--format", "json", str(route_path), str(run)]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["summary"]["excursions"] == 1
    assert "outside the years 1 to 9999" in out.err
    assert main(["info", "--format", "json", str(run)]) == 0
    info = json.loads(capsys.readouterr().out)[0]
    assert info["start_time"] == "2023-11-14T22:13:20+00:00"  # the one ISO format of every command


def test_time_bounds_are_what_datetime_shows() -> None:
    from datetime import UTC, datetime

    assert datetime.fromtimestamp(MAX_TIME_S - 1, tz=UTC).year == 9999
    with pytest.raises((ValueError, OverflowError, OSError)):
        datetime.fromtimestamp(MAX_TIME_S, tz=UTC)


# --------------------------------------------------------------------------- Medium 4: symlink loops


def _loop_tree(tmp_path: Path, links: int) -> Path:
    root = tmp_path / "field"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "r1.gpx").write_text(gpx_text(STRAIGHT, "One"))
    (root / "a" / "b" / "r2.gpx").write_text(gpx_text(STRAIGHT, "Two"))
    os.symlink("..", root / "a" / "b" / "up")
    if links > 1:
        os.symlink("../..", root / "a" / "b" / "up2")
    return root


@pytest.mark.parametrize("links", [1, 2])
def test_symlink_loop_glob_gives_one_row_per_file(
    links: int, route_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _loop_tree(tmp_path, links)
    with time_limit(30):
        inputs = batch.expand_inputs([str(root / "**" / "*.gpx")])
        assert sorted(os.path.basename(i.path) for i in inputs) == [b"r1.gpx", b"r2.gpx"]
        assert len(batch.expand_inputs([str(root)])) == 2  # folder search does not follow links either
        # the same file through a link is still one file
        assert len(batch.expand_inputs([str(root / "a" / "r1.gpx"), str(root / "a" / "b" / "up" / "r1.gpx")])) == 1
        status, table, err = run_batch_cli([str(route_path), str(root / "**" / "*.gpx"), "--no-cache"], capsys)
    assert status == 0, err
    assert len(table.splitlines()) == 3  # header and one row per file


def test_glob_matches_like_glob_without_links(tmp_path: Path) -> None:
    (tmp_path / "x" / "y").mkdir(parents=True)
    for rel in ("a.gpx", "x/b.gpx", "x/y/c.GPX", "x/.hidden.gpx", "x/y/d.fit"):
        (tmp_path / rel).write_text("")
    import glob

    for pat in ("**/*.gpx", "*/*.gpx", "x/**/*", "**/*.fit", "x/y/[cd].*", "*/y"):
        want = sorted(os.fsencode(p) for p in glob.glob(str(tmp_path / pat), recursive=True))
        assert batch.inputs._glob(os.fsencode(tmp_path / pat)) == want, pat


# --------------------------------------------------------------------------- Medium 8: full disk


class _FullDisk:
    """A file whose writes stop after ``room`` bytes: short write, then ENOSPC."""

    def __init__(self, fh: Any, room: int) -> None:
        self.fh, self.room = fh, room

    def write(self, data: Any) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = min(len(data), self.room)
        self.room -= n
        return int(self.fh.write(bytes(data[:n])))

    def close(self) -> None:
        self.fh.close()


def test_cache_on_full_disk_warns_once_and_outputs_are_written(
    route_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = [write_json(tmp_path / f"r{i}.geojson", geojson_doc(DETOUR if i else STRAIGHT, f"R{i}")) for i in range(3)]
    out = tmp_path / "out"
    out.mkdir()
    real_open = open

    def full_open(file: Any, mode: str = "r", *a: Any, **k: Any) -> Any:
        fh = real_open(file, mode, *a, **k)
        return _FullDisk(fh, 100) if mode == "ab" else fh  # room for part of the first line only

    monkeypatch.setattr(batch.cache, "open", full_open, raising=False)
    status, table, err = run_batch_cli([str(route_path), *map(str, runs), *all_outputs(out)], capsys)
    assert status == 0
    assert err.count("offcourse: warning:") == 1 and "No space left on device" in err
    assert_outputs_parse(out, 3)
    monkeypatch.undo()
    # the short-written line is skipped: every file is checked again, nothing read from the broken line
    status, table2, err = run_batch_cli([str(route_path), *map(str, runs), *all_outputs(out)], capsys)
    assert status == 0 and "warning" not in err
    s = json.loads((out / "f.json").read_text())["summary"]
    assert (s["cached"], s["checked"]) == (0, 3)
    assert table2 == table


def test_cache_on_dev_full(route_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    run = write_json(tmp_path / "r.geojson", geojson_doc(DETOUR, "R"))
    out = tmp_path / "out"
    out.mkdir()
    status, _, err = run_batch_cli([str(route_path), str(run), "--cache", "/dev/full", *all_outputs(out)], capsys)
    assert status == 0
    assert err.count("offcourse: warning:") == 1
    assert_outputs_parse(out, 1)


def test_stdout_to_dev_full_is_one_line_exit_2(route_path: Path, tmp_path: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    import subprocess
    import sys

    run = write_json(tmp_path / "r.geojson", geojson_doc(DETOUR, "R"))
    for cmd in (["check"], ["info"], ["batch", "--no-cache", "-j", "1", "--quiet"]):
        args = [str(route_path), str(run)] if cmd[0] != "info" else [str(run)]
        with open("/dev/full", "w") as full:
            p = subprocess.run(
                [sys.executable, "-m", "offcourse", *cmd, *args], stdout=full, stderr=subprocess.PIPE, text=True,
                cwd=Path(__file__).resolve().parents[1],
            )  # fmt: skip
        assert p.returncode == 2, p.stderr
        assert p.stderr == "offcourse: error: cannot write the output: No space left on device\n"


def test_broken_pipe_is_quiet(route_path: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    run = write_json(tmp_path / "r.geojson", geojson_doc(DETOUR, "R"))
    p = subprocess.Popen(
        [sys.executable, "-m", "offcourse", "check", "--format", "json", str(route_path), str(run)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    assert p.stdout is not None and p.stderr is not None
    p.stdout.close()  # the reader goes away before the output is written
    err = p.stderr.read().decode()
    assert p.wait() == 0 and "Traceback" not in err and "Exception" not in err


# --------------------------------------------------------------------------- Medium 9: CSV formula injection


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_formula_injection_in_names_and_file_names(
    start: str, route_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f'{start}HYPERLINK("http://evil")'
    run = write_json(tmp_path / f"{start}1+1.geojson", geojson_doc(DETOUR, name))
    bad = tmp_path / "-cmd.gpx"
    bad.write_text("not a recording")
    csv_path = tmp_path / "f.csv"
    status, _, _ = run_batch_cli([str(route_path), str(run), str(bad), "--csv", str(csv_path), "--no-cache"], capsys)
    assert status == 1
    with open(csv_path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["name"] == batch.csv_cell(" ".join(name.split()))  # names from metadata: whitespace collapsed
    assert rows[0]["name"].startswith("'") or start in "\t\r"
    assert rows[0]["file"] == batch.csv_cell(run.name)  # published relative to the folder: starts with the formula
    assert batch.csv_cell(f"{start}1+1") == f"'{start}1+1"
    for row in rows:
        for key, cell in row.items():
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), (key, cell)
            assert not cell.startswith("-") or key not in ("file", "name", "error")
    assert rows[1]["name"] == "'-cmd"
    assert float(rows[0]["extra_m"]) > 0  # numbers stay numbers


# --------------------------------------------------------------------------- Medium 10: size and memory bounds


def test_decompression_bomb_geojson_gz_refused_before_parsing(tmp_path: Path) -> None:
    # 70 MB of "[0,0]," (a few hundred kB compressed) would need gigabytes as Python lists
    body = b"[0,0]," * ((MAX_JSON_BYTES // 6) + 1000)
    data = b'{"type":"LineString","coordinates":[' + body + b"[0,0]]}"
    path = tmp_path / "bomb.geojson.gz"
    path.write_bytes(zlib.compress(data, 9, wbits=31))
    assert path.stat().st_size < 400_000
    with pytest.raises(FileTooLargeError, match=f"bomb.geojson.gz: decompressed content exceeds {MAX_JSON_BYTES}"):
        read_file(path)
    # a plain JSON file as large: refused by its size too
    with pytest.raises(FileTooLargeError, match=r"more than the bound of .* for JSON"):
        parse_bytes(data, "big.geojson")


def test_points_per_file_bounded_with_typed_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import offcourse.read._limits as limits
    import offcourse.read.geojson as gj

    for mod in (xml_mod, gj, limits):
        monkeypatch.setattr(mod, "MAX_POINTS", 10)
    gpx = tmp_path / "many.gpx"
    gpx.write_text(gpx_text([*STRAIGHT[:1], (30.0, 0.0)], "x"))  # 11 fixes
    with pytest.raises(FileTooLargeError, match=r"many.gpx: more than 10 points in one file"):
        read_file(gpx)
    run = write_json(tmp_path / "many.geojson", geojson_doc([(0.0, 0.0), (30.0, 0.0)], "x"))
    with pytest.raises(FileTooLargeError, match=r"many.geojson: more than 10 points in one file"):
        read_file(run)
    gz = tmp_path / "many.gpx.gz"
    gz.write_bytes(gzip.compress(gpx.read_bytes()))
    row = batch.check_file(os.fsencode(gz), synth.route(STRAIGHT))
    assert row["status"] == "error" and row["error"] == "more than 10 points in one file"


def test_fit_fallback_to_fitdecode_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import offcourse.read.fit as fit

    b = FitBuilder()
    b.define(0, 20, [(253, 4, 0x86), (0, 4, 0x86), (1, 4, 0x85)])  # latitude as uint32: the slow decoder
    for i in range(50):
        b.message(0, [5 + i, 1000 + i, 2000])
    data = b.build()
    assert len(parse_fit(data, "slow.fit").track) == 50
    monkeypatch.setattr(fit, "MAX_FIT_FALLBACK_BYTES", len(data) - 1)
    with pytest.raises(
        FileTooLargeError, match=r"^slow.fit: the fast FIT decoder cannot read this file .*\(fitdecode\)"
    ):
        parse_fit(data, "slow.fit")


def test_per_file_time_limit_gives_an_error_row(
    route_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    runs = [write_json(tmp_path / f"r{i}.geojson", geojson_doc(DETOUR, f"R{i}")) for i in range(2)]
    real_check = batch.worker.check

    def slow_check(route: Any, track: Any, *a: Any, **k: Any) -> Any:
        if track.meta.name == "R1":
            time.sleep(30)  # stands for a file that takes minutes; the alarm interrupts it
        return real_check(route, track, *a, **k)

    monkeypatch.setattr(batch.worker, "check", slow_check)
    # no hang guard here: it would hold the alarm the per-file limit uses (a failure costs 30 s, not a hang)
    result = batch.run_batch(
        route_path, batch.expand_inputs(map(str, runs)), jobs=1, cache_path=tmp_path / "c.jsonl", file_timeout_s=0.5
    )
    rows = {os.path.basename(r["file"]): r for r in result.rows}
    assert rows["r0.geojson"]["status"] == "ok"
    assert rows["r1.geojson"]["status"] == "error" and rows["r1.geojson"]["error"] == (
        "took more than the per-file time limit of 0.5 s (--file-timeout-s)"
    )
    assert len(batch.ResultCache(tmp_path / "c.jsonl", result.spec.key)) == 1  # the timeout is not cached


def slow_fit(n: int) -> bytes:
    """A FIT activity the fast decoder hands to fitdecode (a uint32 latitude), ``n`` records: slow to read."""
    b = FitBuilder()
    b.define(0, 20, [(253, 4, 0x86), (0, 4, 0x86), (1, 4, 0x85)])
    start = len(b.body)
    b.message(0, [5, 1000, 2000])
    b.body += bytes(b.body[start:]) * (n - 1)
    return b.build(with_crc=False)


def test_per_file_time_limit_in_pool_workers(route_path: Path, tmp_path: Path) -> None:
    # fitdecode needs seconds for 300,000 records (4 MB); the worker's alarm stops it at 1 s
    (tmp_path / "slow.fit").write_bytes(slow_fit(300_000))
    fast = write_json(tmp_path / "fast.geojson", geojson_doc(DETOUR, "Fast"))
    inputs = batch.expand_inputs([str(tmp_path / "slow.fit"), str(fast)])
    with time_limit(120):
        result = batch.run_batch(route_path, inputs, jobs=2, cache_path=None, file_timeout_s=1.0)
    rows = {os.path.basename(r["file"]): r for r in result.rows}
    assert rows["fast.geojson"]["status"] == "ok"  # the engine's warm-up is not counted in the limit
    assert rows["slow.fit"]["error"] == "took more than the per-file time limit of 1 s (--file-timeout-s)"


def test_file_timeout_flag_is_validated(route_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["batch", str(route_path), "x.gpx", "--file-timeout-s", "-1"])
    assert exc.value.code == 2
    assert "expected a number of seconds" in capsys.readouterr().err


# --------------------------------------------------------------------------- Low


def test_terminal_escape_sequences_in_names_are_escaped(
    route_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evil = "Ann\x1b]0;pwned\x07\x1b[2J\u009b31m\u202eRTL"
    run = write_json(tmp_path / "run.geojson", geojson_doc(DETOUR, evil))
    gpx = tmp_path / "c1.gpx"
    gpx.write_text(gpx_text(DETOUR, "Bob\u009b2J"), encoding="utf-8")  # XML allows C1 controls
    status, table, _ = run_batch_cli([str(route_path), str(run), str(gpx), "--no-cache"], capsys)
    assert status == 0
    for text in (table,):
        assert "\x1b" not in text and "\u009b" not in text and "\u202e" not in text
    assert "Ann\\x1b]0;pwned\\x07" in table and "Bob\\x9b2J" in table
    for cmd in (["info", str(run), str(gpx)], ["check", str(run), str(gpx)], ["info", "--format", "json", str(run)]):
        assert main(cmd) == 0
        out = capsys.readouterr().out
        assert not any(c in out for c in "\x1b\x07\u009b\u202e"), cmd
    assert main(["info", "--format", "json", str(run)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == evil  # JSON keeps the name, as escapes
    assert terminal_text("a\tb\nc") == "a\\x09b\nc"


def test_error_lines_escape_control_characters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x\x1b[2J.gpx"
    assert main(["info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "x\\x1b[2J.gpx: no such file" in err


def _cache_line_variants(line: dict[str, Any]) -> list[tuple[str, str]]:
    """Valid JSON lines of this job whose row is not a valid row."""
    out: list[tuple[str, str]] = []
    for key, value in [
        ("fixes", "many"),
        ("fixes", True),
        ("distance_m", "NaN"),
        ("extra_distance_m", [1]),
        ("completed", "yes"),
        ("status", "maybe"),
        ("excursion_list", {"a": 1}),
        ("name", 7),
    ]:
        row = {**line["row"], key: value}
        out.append((f"{key}={value!r}", json.dumps({**line, "row": row})))
    nan_row = json.dumps(line).replace('"distance_m":', '"distance_m":NaN,"x":', 1)
    out.append(("NaN literal", nan_row))
    inf = json.dumps({**line, "row": {**line["row"], "extra_distance_m": 1}}).replace(
        '"extra_distance_m": 1', '"extra_distance_m": 1e999'
    )
    out.append(("1e999", inf))
    missing = dict(line["row"])
    del missing["skipped_m"]
    out.append(("missing key", json.dumps({**line, "row": missing})))
    out.append(("row is a list", json.dumps({**line, "row": [1, 2]})))
    coords = json.dumps(line).replace('"coordinates": [[', '"coordinates": [["x", ', 1)
    out.append(("bad coordinates", coords))
    return out


def test_tampered_valid_json_cache_line_is_ignored_with_a_warning(
    route_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_json(tmp_path / "run.geojson", geojson_doc(DETOUR, "R"))
    out = tmp_path / "out"
    out.mkdir()
    assert run_batch_cli([str(route_path), str(run), "--json", str(out / "f.json")], capsys)[0] == 0
    good = json.loads((out / "f.json").read_text())["rows"][0]
    cache = out / batch.CACHE_NAME
    line = json.loads(cache.read_text().splitlines()[0])
    for what, text in _cache_line_variants(line):
        cache.write_text(text + "\n")
        status, _, err = run_batch_cli([str(route_path), str(run), "--json", str(out / "f.json")], capsys)
        assert status == 0, (what, err)
        assert err.count("cache line(s) of this job are not valid rows") == 1, (what, err)
        raw = (out / "f.json").read_text()
        assert "NaN" not in raw and "Infinity" not in raw, what
        doc = json.loads(raw)
        assert doc["summary"]["checked"] == 1, what
        assert doc["rows"][0] == good, what


def test_multilinestring_route_out_of_order_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lon, lat = lonlat([(0.0, 0.0), (1000.0, 0.0), (2000.0, 0.0), (3000.0, 0.0)])
    c = [[float(x), float(y)] for x, y in zip(lon, lat, strict=True)]
    path = write_json(tmp_path / "ooo.geojson", {"type": "MultiLineString", "coordinates": [c[2:], c[:2]]})
    route = read_route(path)
    assert route.meta.extra["warnings"] == [
        "1 gap(s) between route segments joined by straight lines, the longest 3.00 km between segments 1 and 2: "
        "lines stored out of order, or a gap in the recording?"
    ]
    in_order = write_json(tmp_path / "ok.geojson", {"type": "MultiLineString", "coordinates": [c[:2], c[1:]]})
    assert "warnings" not in read_route(in_order).meta.extra
    run = write_json(tmp_path / "run.geojson", geojson_doc(STRAIGHT, "R"))
    assert main(["check", str(path), str(run)]) == 0
    assert "segments joined by straight lines" in capsys.readouterr().err
    _, _, err = run_batch_cli([str(path), str(run), "--no-cache"], capsys)
    assert "segments joined by straight lines" in err


def test_antimeridian_geojson_output_split_at_180() -> None:
    parts = batch.split_antimeridian([[179.5, 0.0], [179.9, 0.0], [-179.9, 2.0], [-179.5, 2.0], [179.8, 3.0]])
    assert parts == [
        [[179.5, 0.0], [179.9, 0.0], [180.0, 1.0]],
        [[-180.0, 1.0], [-179.9, 2.0], [-179.5, 2.0], [-180.0, 2.7142857]],
        [[180.0, 2.7142857], [179.8, 3.0]],
    ]
    row = {"file": "f", "name": "n", "sha256": None, "excursion_list": [{"coordinates": [[179.9, 0.0], [-179.9, 0.0]]}]}
    (feat,) = batch.geojson_features([row])
    assert feat["geometry"] == {
        "type": "MultiLineString",
        "coordinates": [[[179.9, 0.0], [180.0, 0.0]], [[-180.0, 0.0], [-179.9, 0.0]]],
    }
    row["excursion_list"] = [{"coordinates": [[10.0, 0.0], [11.0, 0.0]]}]
    assert batch.geojson_features([row])[0]["geometry"]["type"] == "LineString"


def test_antimeridian_info_bbox_crosses_180(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = {"type": "LineString", "coordinates": [[179.5, 0.0], [179.9, 0.5], [-179.6, 1.0]]}
    path = write_json(tmp_path / "fiji.geojson", doc)
    assert main(["info", "--format", "json", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["bbox"] == [179.5, 0.0, -179.6, 1.0]  # west > east: RFC 7946


@pytest.mark.parametrize("address", ["notaurl", "tcp://127.0.0.1:1", "tcp://host:99999"])
def test_scheduler_notaurl_fails_at_once(address: str, route_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("distributed")
    with time_limit(20):  # it used to print its error, then block 60 s closing a half-made client
        status = main(["batch", str(route_path), "x.gpx", "--scheduler", address, "--no-cache", "--quiet"])
    assert status == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("offcourse: error: ") and "Dask scheduler" in err[0]


def test_offcourse_error_is_base_of_new_bounds() -> None:
    assert issubclass(FileTooLargeError, OffcourseError)


def test_last_fix_time_unshowable_while_off_course_check_text(route_path: Path, tmp_path: Path) -> None:
    legs = [(0.0, 0.0), (1500.0, 0.0), (1500.0, 400.0)]  # ends 400 m off the route
    n = len(synth.walk(legs))
    gpx = tmp_path / "end.gpx"
    gpx.write_text(gpx_text(legs, "R", times=[_iso(T0 + i) for i in range(n - 1)] + ["9999-12-31T23:00:00-01:00"]))
    assert main(["check", "--format", "json", str(route_path), str(gpx)]) == 0
    assert main(["check", str(route_path), str(gpx)]) == 0  # was a TypeError in report.hms

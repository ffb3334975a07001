"""Whole hostile recordings through ``offcourse.check`` and ``offcourse.batch`` (hypothesis).

The reader fuzzers (``tests/read/test_fuzz.py``) feed bytes to one reader; here a strategy builds whole
recordings, GPX or GeoJSON, from generated fixes along a 3 km route: time outliers (an hour, a GPS
week rollover of 1024 weeks, backwards, missing), extreme times (year 1, year 10000, ``1e15``
milliseconds), positions off the route, and names made of any code point, lone surrogates and
control characters included. Each goes through the library's check and through a batch (in this
process, with a cache, twice). Only these outcomes are allowed: a report, or a typed
:class:`~offcourse.errors.OffcourseError` with a one-line message; in a batch, one row per file
and outputs (table, CSV, JSON, GeoJSON) that encode and parse, with no control character in the
table. Examples are few (the suite stays fast); the hang guard is an alarm, not a speed test.
"""

from __future__ import annotations

import csv
import io
import json
import math
import tempfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import offcourse
from offcourse import batch
from offcourse.errors import OffcourseError
from offcourse.report import report_to_dict, report_to_text
from tests import synth

from .hang import time_limit

T0 = 1_700_000_000.0
WEEKS_1024_S = 1024 * 7 * 86400
ROUTE_XY = [(0.0, 0.0), (3000.0, 0.0)]
SETTINGS = settings(
    max_examples=25,
    deadline=None,  # the alarm is the hang guard
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# times as a GPX <time> or a GeoJSON coordTimes value: ordinary, outliers and the unshowable
EXTREME_TEXT = [
    "9999-12-31T23:00:00-01:00",  # year 10000 in UTC
    "0001-01-01T00:30:00+01:00",  # year 0 in UTC
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "not a time",
    "",
]
EXTREME_NUMBERS = [1e15, -7e10, 1e300, -1e300, 0, 2**63, -(2**63), 253402300800, -62135596801]

any_text = st.text(st.characters(exclude_categories=()), max_size=12)  # surrogates and controls too
hostile_name = st.one_of(
    any_text,
    st.sampled_from(["\ud800", "=HYPERLINK(1)", "\x1b[2J\x1b]0;x\x07", "\u202eevil", "-1", "\r\n", "\x00"]),
)


def _iso(epoch_s: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch_s, tz=UTC).isoformat().replace("+00:00", "Z")


@st.composite
def recordings(draw: st.DrawFn) -> dict[str, Any]:
    """A recording as its parts: format, name, positions (metres) and one time value per fix."""
    n = draw(st.integers(2, 60))
    step_m = draw(st.floats(0.5, 40.0))
    x = np.arange(n) * step_m
    y = np.array(draw(st.lists(st.sampled_from([0.0] * 6 + [40.0, 300.0, 5000.0]), min_size=n, max_size=n)))
    times: list[Any] = [T0 + float(i) for i in range(n)]
    for i, kind in draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 6)), max_size=4)):
        if kind == 0:
            times[i] = T0 + i + 3600.0
        elif kind == 1:
            times[i] = T0 + i + WEEKS_1024_S
        elif kind == 2:
            times[i] = T0 - 86400.0 * (i + 1)
        elif kind == 3:
            times[i] = None
        elif kind == 4:
            times[i] = draw(st.sampled_from(EXTREME_TEXT))
        elif kind == 5:
            times[i] = draw(st.sampled_from(EXTREME_NUMBERS))
        else:
            times[i] = draw(st.floats(allow_nan=True, allow_infinity=True))
    return {
        "format": draw(st.sampled_from(["gpx", "geojson"])),
        "name": draw(hostile_name),
        "file_stem": draw(st.sampled_from(["run", "=cmd", "-x", "a\tb", "é\x1b"])),
        "x": x,
        "y": y,
        "times": times,
    }


def _time_text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    try:
        return _iso(float(v))
    except (ValueError, OverflowError, OSError):
        return str(v)  # a number datetime cannot show: written as is (not a time)


def write_recording(rec: dict[str, Any], folder: Path) -> Path:
    lon, lat = synth.PROJ.inverse(rec["x"], rec["y"])
    if rec["format"] == "geojson":
        times = [t if not isinstance(t, float) or math.isfinite(t) else None for t in rec["times"]]
        feat = {
            "type": "Feature",
            "properties": {"name": rec["name"], "coordTimes": times},
            "geometry": {
                "type": "LineString",
                "coordinates": [[float(a), float(b)] for a, b in zip(lon, lat, strict=True)],
            },
        }
        path = folder / f"{rec['file_stem']}.geojson"
        path.write_text(json.dumps(feat), encoding="ascii")
        return path
    pts = "".join(
        f'<trkpt lat="{b:.7f}" lon="{a:.7f}"><time>{escape(_time_text(t))}</time></trkpt>'
        for a, b, t in zip(lon, lat, rec["times"], strict=True)
    )
    name = escape(rec["name"])
    doc = f'<?xml version="1.0"?><gpx version="1.1"><trk><name>{name}</name><trkseg>{pts}</trkseg></trk></gpx>'
    path = folder / f"{rec['file_stem']}.gpx"
    path.write_bytes(doc.encode("utf-8", errors="surrogatepass"))  # a surrogate makes bad XML: a typed error
    return path


@pytest.fixture(scope="module")
def route_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lon, lat = synth.PROJ.inverse(np.array([p[0] for p in ROUTE_XY]), np.array([p[1] for p in ROUTE_XY]))
    path = tmp_path_factory.mktemp("route") / "route.geojson"
    coords = [[float(a), float(b)] for a, b in zip(lon, lat, strict=True)]
    path.write_text(json.dumps({"type": "LineString", "coordinates": coords}))
    return path


def _no_controls(text: str) -> None:
    bad = [c for c in text if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF]
    assert not bad, bad


@SETTINGS
@given(rec=recordings())
def test_whole_recordings_through_check(rec: dict[str, Any], route_file: Path) -> None:
    route = offcourse.read_route(route_file)
    with tempfile.TemporaryDirectory() as d, time_limit(30):
        path = write_recording(rec, Path(d))
        try:
            track = offcourse.read_track(path)
        except OffcourseError as exc:
            assert "\n" not in str(exc)
            return
        (track.meta.name or "").encode("utf-8")  # no lone surrogate left
        times = track.epoch_s[np.isfinite(track.epoch_s)]
        assert ((times >= -62135596800.0) & (times < 253402300800.0)).all()  # every time can be shown
        try:
            report = offcourse.check(route, track)
        except OffcourseError as exc:
            assert "\n" not in str(exc)
            return
        json.dumps(report_to_dict(report), allow_nan=False).encode("utf-8")  # strict JSON, encodable
        report_to_text(report).encode("utf-8")


@settings(SETTINGS, max_examples=10)
@given(recs=st.lists(recordings(), min_size=1, max_size=3))
def test_whole_recordings_through_batch(recs: list[dict[str, Any]], route_file: Path) -> None:
    with tempfile.TemporaryDirectory() as d, time_limit(60):
        folder = Path(d) / "runs"
        folder.mkdir()
        paths = set()
        for k, rec in enumerate(recs):
            p = write_recording({**rec, "file_stem": f"{rec['file_stem']}{k}"}, folder)
            paths.add(p)
        inputs = batch.expand_inputs([str(folder)])
        assert len(inputs) == len(paths)
        cache = Path(d) / "cache.jsonl"
        first = batch.run_batch(route_file, inputs, jobs=1, cache_path=cache, on_warning=lambda m: None)
        again = batch.run_batch(route_file, inputs, jobs=1, cache_path=cache, on_warning=lambda m: None)
        for result in (first, again):
            assert len(result.rows) == len(paths)
            assert {r["file"] for r in result.rows} == {str(p) for p in paths}
            assert all(r["status"] in ("ok", "error") for r in result.rows)
            assert not result.warnings  # the cache it wrote reads back whole
            rows = batch.sort_rows(result.rows)
            _no_controls(batch.rows_to_table(rows))
            buf = io.StringIO()
            batch.rows_to_csv(rows, buf)
            assert len(list(csv.DictReader(io.StringIO(buf.getvalue(), newline="")))) == len(paths)
            out = Path(d) / "out"
            out.mkdir(exist_ok=True)
            batch.rows_to_json(result, out / "f.json")
            batch.rows_to_geojson(rows, out / "f.geojson")
            assert len(json.loads((out / "f.json").read_text(encoding="utf-8"))["rows"]) == len(paths)
            json.loads((out / "f.geojson").read_text(encoding="utf-8"))
        assert batch.sort_rows(again.rows) == batch.sort_rows(first.rows)  # the cache gives back the same rows

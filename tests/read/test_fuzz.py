"""Fuzzing every reader: random bytes, mutated valid files, files truncated at every offset.

Whatever the bytes, a reader returns a valid :class:`~offcourse.model.ParsedFile` or raises an
:class:`~offcourse.errors.OffcourseError` subclass; nothing else escapes. Every call runs under an
alarm (a hang guard, not a speed test: seconds for inputs of a few kilobytes) and, in the memory
tests, under tracemalloc with a bound linear in the input size.

The longer run is the atheris harness ``fuzz/fuzz_readers.py`` (``make fuzz``).
"""

from __future__ import annotations

import atexit
import gzip
import io
import json
import math
import shutil
import struct
import tempfile
import tracemalloc
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from offcourse.errors import OffcourseError, TruncatedFileError, UnknownFormatError
from offcourse.model import ParsedFile
from offcourse.read import parse_bytes, read_file, read_route
from offcourse.read.fit import FIT_EPOCH_OFFSET, parse_fit
from offcourse.read.formats import FORMATS, Format
from offcourse.read.geojson import parse_geojson
from offcourse.read.gpx import parse_gpx
from offcourse.read.livetrail import parse_livetrail
from offcourse.read.tcx import parse_tcx
from tests.fitbuild import FitBuilder, crc16
from tests.hang import Hang, time_limit

DATA = Path(__file__).resolve().parents[1] / "data"
DEFECTS = DATA / "defects"

FUZZ = settings(
    max_examples=300,
    deadline=None,  # the alarm below is the hang guard
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)




def limit_for(data: bytes) -> float:
    """Generous: 2 s for anything under 100 kB, and 2 s more per 100 kB."""
    return 2.0 + 2.0 * len(data) / 100_000


def check_result(pf: Any) -> None:
    """What every reader promises about a result."""
    assert isinstance(pf, ParsedFile)
    t = pf.track
    n = len(t)
    for name in ("epoch_s", "lon", "lat", "ele_m", "hacc_m", "hdop"):
        col = getattr(t, name)
        assert col.dtype == np.float64 and col.shape == (n,), name
    assert np.isfinite(t.lon).all() and np.isfinite(t.lat).all()
    assert (np.abs(t.lat) <= 90).all() and (np.abs(t.lon) <= 180).all()
    assert not np.isinf(t.epoch_s).any()
    starts = t.segment_starts.tolist()
    if n:
        assert starts[0] == 0 and starts == sorted(set(starts)) and starts[-1] < n
    else:
        assert starts == []
    for w in pf.waypoints:
        assert math.isfinite(w.lon) and math.isfinite(w.lat) and abs(w.lat) <= 90 and abs(w.lon) <= 180
        assert isinstance(w.name, str)


def outcome(
    reader: Callable[[bytes], ParsedFile], data: bytes, seconds: float | None = None
) -> ParsedFile | OffcourseError:
    """The reader's result or typed error; fails the test on a hang. Any other exception propagates."""
    limit = limit_for(data) if seconds is None else seconds
    try:
        with time_limit(limit):
            result = reader(data)
    except OffcourseError as exc:
        text = str(exc)
        assert text and "\n" not in text
        assert exc.path is not None and text.startswith(f"{exc.path}: "), f"the error does not name the file: {text}"
        return exc
    except Hang:
        pytest.fail(f"{getattr(reader, '__name__', reader)} still running after {limit:.1f} s on {data[:300]!r}")
    check_result(result)
    return result


# -- the readers ------------------------------------------------------------------------------------------


def fit_lenient(d: bytes) -> ParsedFile:
    return parse_fit(d, "fuzz.fit")


def fit_strict(d: bytes) -> ParsedFile:
    return parse_fit(d, "fuzz.fit", strict=True)


def gpx(d: bytes) -> ParsedFile:
    return parse_gpx(io.BytesIO(d), "fuzz.gpx")


def tcx(d: bytes) -> ParsedFile:
    return parse_tcx(io.BytesIO(d), "fuzz.tcx")


def geojson(d: bytes) -> ParsedFile:
    return parse_geojson(d, "fuzz.geojson")


def livetrail(d: bytes) -> ParsedFile:
    return parse_livetrail(d, "fuzz.json")


def dispatch(d: bytes) -> ParsedFile:
    return parse_bytes(d, "fuzz.bin")


_TMP = Path(tempfile.mkdtemp(prefix="offcourse-fuzz-"))
atexit.register(shutil.rmtree, _TMP, True)


def from_file(d: bytes) -> ParsedFile:
    path = _TMP / "input"
    path.write_bytes(d)
    return read_file(path, max_bytes=1 << 20)


def from_gzip_file(d: bytes) -> ParsedFile:
    path = _TMP / "input.gz"
    path.write_bytes(gzip.compress(d, mtime=0))
    return read_file(path, max_bytes=1 << 20)


def _registry_reader(fmt: Format) -> Callable[[bytes], ParsedFile]:
    """The reader of one format of the registry, as dispatch calls it."""

    def read(d: bytes) -> ParsedFile:
        return fmt.parse(d, f"fuzz{fmt.suffixes[0]}")

    read.__name__ = read.__qualname__ = f"registry_{fmt.name}"
    return read


# every format of the registry (a new format is fuzzed without a line here), and the direct entries
READERS = [*(_registry_reader(f) for f in FORMATS), fit_lenient, fit_strict, gpx, tcx, geojson, livetrail, dispatch]
FILE_READERS = [from_file, from_gzip_file]


# -- seeds: small valid files ----------------------------------------------------------------------------

LIVETRAIL = json.dumps(
    {
        "segments": [
            {
                "id": "a",
                "name": "x",
                "segment": [[0, 1035, [6.86, 45.92], [0, 0], -1, "R"], [12, 1036, [6.87, 45.93], [1, 0], 1, "T"]],
            },
            {"id": "b", "segment": [[20, 1040, [6.8693, 45.9235], [0, 5], -2, "T"]]},
        ],
        "pois": [{"name": "Col", "lat": 45.9, "lon": 6.8, "ele": 2000}],
        "stats": {"distance": 20},
    }
).encode()


def _seeds() -> dict[str, bytes]:
    seeds = {p.name: p.read_bytes() for p in sorted(DATA.glob("*")) if p.is_file() and p.stat().st_size < 4000}
    for name in ("small-valid-activity.fit", "base-route.gpx", "fit-compressed-timestamp-header.fit"):
        seeds[name] = (DEFECTS / name).read_bytes()
    seeds["livetrail.json"] = LIVETRAIL
    seeds["route.gpx.gz"] = gzip.compress((DEFECTS / "base-route.gpx").read_bytes(), mtime=0)
    for p in sorted((DATA / "kml").glob("*.kml")):
        seeds[p.name] = p.read_bytes()
    kmz = io.BytesIO()
    with zipfile.ZipFile(kmz, "w", zipfile.ZIP_DEFLATED) as z:
        for name, key in (("doc.kml", "route-multigeometry.kml"), ("track.kml", "track-gx.kml")):
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), seeds[key], zipfile.ZIP_DEFLATED)
    seeds["route.kmz"] = kmz.getvalue()
    return seeds


SEEDS = _seeds()


HOSTILE_SEEDS = {"gpx-billion-laughs.gpx", "gpx-xxe-external-entity.gpx", "gpx-latitude-91.gpx"}


def test_seeds_are_valid_but_the_hostile_ones() -> None:
    for name, data in SEEDS.items():
        result = outcome(dispatch, data)
        assert isinstance(result, OffcourseError if name in HOSTILE_SEEDS else ParsedFile), (name, result)
    assert {n.rsplit(".", 1)[-1] for n in SEEDS} >= {"fit", "gpx", "tcx", "kml", "kmz", "geojson", "json", "gz"}


# -- random bytes ----------------------------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=3000), reader=st.sampled_from(READERS))
def test_random_bytes(data: bytes, reader: Callable[[bytes], ParsedFile]) -> None:
    outcome(reader, data)


def fit_header(body_size: int, size: int = 14) -> bytes:
    head = struct.pack("<BBHI4s", size, 0x20, 2132, body_size, b".FIT")
    return head + (struct.pack("<H", crc16(head)) if size == 14 else b"")


PREFIXES = [
    b'<?xml version="1.0"?><gpx version="1.1"><trk><trkseg><trkpt lat="46" lon="7">',
    b"<gpx><rte><rtept ",
    b'<TrainingCenterDatabase><Activities><Activity Sport="Running"><Lap><Track><Trackpoint><Position>',
    b"<TrainingCenterDatabase><Courses><Course><Track><Trackpoint>",
    b'{"type": "FeatureCollection", "features": [',
    b'{"type": "LineString", "coordinates": [[7, 46], ',
    b'{"segments": [{"segment": [[0, 1, [7, 46]], ',
]


@FUZZ
@given(prefix=st.sampled_from(PREFIXES), tail=st.binary(max_size=2000))
def test_random_bytes_behind_a_valid_start(prefix: bytes, tail: bytes) -> None:
    outcome(dispatch, prefix + tail)


@FUZZ
@given(body=st.binary(max_size=3000), size=st.sampled_from([12, 14]), declared=st.sampled_from([None, 0, 10**6]))
def test_random_fit_body_with_valid_header_and_crc(body: bytes, size: int, declared: int | None) -> None:
    head = fit_header(len(body) if declared is None else declared, size)
    data = head + body + struct.pack("<H", crc16(head + body))
    for reader in (fit_lenient, fit_strict, dispatch):
        outcome(reader, data)


@settings(FUZZ, max_examples=150)
@given(data=st.binary(max_size=2000), reader=st.sampled_from(FILE_READERS))
def test_random_bytes_through_files_and_gzip(data: bytes, reader: Callable[[bytes], ParsedFile]) -> None:
    outcome(reader, data)


# -- mutated valid files -----------------------------------------------------------------------------------

MUTATION = st.tuples(
    st.sampled_from(["flip", "set", "insert", "delete", "duplicate", "interesting"]),
    st.floats(0.0, 1.0),
    st.integers(0, 255),
    st.integers(1, 64),
)
INTERESTING = [
    b"\x00",
    b"\xff",
    b"\x7f\xff\xff\xff",
    b"\xff\xff\xff\xff",
    b"NaN",
    b"-1",
    b"1e999",
    b"9" * 400,
    b"&",
    b"<",
    b'"',
    b"]",
    b"\xef\xbb\xbf",
    b"\xc3",
]


def mutate(data: bytes, mutations: list[tuple[str, float, int, int]]) -> bytes:
    d = bytearray(data)
    for op, where, byte, length in mutations:
        i = min(int(where * len(d)), max(len(d) - 1, 0))
        if op == "flip" and d:
            d[i] ^= 1 << (byte % 8)
        elif op == "set" and d:
            d[i] = byte
        elif op == "insert":
            d[i:i] = bytes([byte]) * length
        elif op == "delete":
            del d[i : i + length]
        elif op == "duplicate":
            d[i:i] = d[i : i + length]
        elif op == "interesting":
            d[i : i + (length % 3)] = INTERESTING[byte % len(INTERESTING)]
    return bytes(d)


def reader_of(name: str) -> Callable[[bytes], ParsedFile]:
    ext = name.rsplit(".", 1)[-1]
    return {"fit": fit_lenient, "gpx": gpx, "tcx": tcx, "geojson": geojson, "json": livetrail}.get(ext, dispatch)


@settings(FUZZ, max_examples=500)
@given(name=st.sampled_from(sorted(SEEDS)), mutations=st.lists(MUTATION, min_size=1, max_size=8))
def test_mutated_valid_files(name: str, mutations: list[tuple[str, float, int, int]]) -> None:
    data = mutate(SEEDS[name], mutations)
    outcome(dispatch, data)
    outcome(reader_of(name), data)


@settings(FUZZ, max_examples=150)
@given(
    name=st.sampled_from(sorted(n for n in SEEDS if n.endswith(".fit"))),
    mutations=st.lists(MUTATION, min_size=1, max_size=6),
)
def test_mutated_fit_with_crcs_and_size_fixed(name: str, mutations: list[tuple[str, float, int, int]]) -> None:
    """Mutations that keep the header's data size and both CRCs right, so the decoder walks the damage."""
    seed = SEEDS[name]
    hsize = seed[0]
    body = mutate(seed[hsize:-2], mutations)
    head = fit_header(len(body), hsize)
    data = head + body + struct.pack("<H", crc16(head + body))
    outcome(fit_lenient, data)
    outcome(fit_strict, data)


@settings(FUZZ, max_examples=100)
@given(name=st.sampled_from(sorted(SEEDS)), mutations=st.lists(MUTATION, min_size=1, max_size=8))
def test_mutated_valid_files_as_routes(name: str, mutations: list[tuple[str, float, int, int]]) -> None:
    """``read_route`` (reading, then the route's projection and checkpoints) raises nothing but typed errors."""
    path = _TMP / "route"
    path.write_bytes(mutate(SEEDS[name], mutations))
    try:
        with time_limit(limit_for(path.read_bytes())):
            r = read_route(path, max_bytes=1 << 20)
    except OffcourseError as exc:
        assert exc.path == str(path)
        return
    except Hang:
        pytest.fail(f"read_route still running on {path.read_bytes()[:300]!r}")
    assert len(r) >= 2 and r.length_m > 0 and np.isfinite(r.x).all() and np.isfinite(r.cum_m).all()
    assert all(np.isfinite(c.route_m) for c in r.checkpoints)


# -- structurally valid FIT files against fitdecode ---------------------------------------------------------

RECORD_FIELDS = [
    (253, 4, 0x86),
    (0, 4, 0x85),
    (1, 4, 0x85),
    (2, 2, 0x84),
    (78, 4, 0x86),
    (31, 1, 0x02),
    (3, 1, 0x02),
    (5, 4, 0x86),
    (13, 1, 0x01),
]
ODD_FIELDS = [(0, 4, 0x86), (1, 4, 0x86), (253, 2, 0x84), (2, 4, 0x86)]  # handed to fitdecode by the fast decoder
SEMI = st.one_of(st.integers(-(2**31) + 1, 2**31 - 2), st.just(0x7FFFFFFF), st.integers(-(2**30), 2**30))


def fit_files() -> st.SearchStrategy[bytes]:
    """A valid FIT file, or two or three chained."""
    return st.lists(fit_file(), min_size=1, max_size=3).map(b"".join)


@st.composite
def fit_file(draw: st.DrawFn) -> bytes:
    b = FitBuilder(header_size=draw(st.sampled_from([12, 14])), file_type=draw(st.sampled_from([None, 4, 6])))
    ts = draw(st.integers(0, 2**31))
    defs: dict[int, list[tuple[int, int, int]]] = {}
    for _ in range(draw(st.integers(1, 25))):
        action = draw(st.sampled_from(["define", "other", "event", "data", "data", "data", "data"]))
        if action == "define" or not defs:
            local = draw(st.integers(0, 5))
            fields = draw(st.lists(st.sampled_from(RECORD_FIELDS), unique_by=lambda f: f[0], max_size=7))
            if draw(st.integers(0, 9)) == 0:
                fields = [*fields, draw(st.sampled_from(ODD_FIELDS))]
                fields = list({f[0]: f for f in fields}.values())
            b.define(local, 20, fields, big=draw(st.booleans()))
            defs[local] = fields
        elif action == "other":
            b.define(7, 19, [(253, 4, 0x86), (7, 4, 0x86)])
            b.message(7, [ts, 1000])
            defs.pop(7, None)
        elif action == "event":
            b.define(6, 21, [(253, 4, 0x86), (0, 1, 0x00), (1, 1, 0x00)])
            b.message(6, [ts, 0, draw(st.sampled_from([0, 1, 4]))])
            defs.pop(6, None)
        else:
            local = draw(st.sampled_from(sorted(k for k in defs if k < 6)))
            ts += draw(st.integers(0, 40))
            values: list[int | float | bytes | str] = []
            for num, size, base in defs[local]:
                if num == 253 and size == 4:
                    values.append(draw(st.sampled_from([ts, ts, ts, 0xFFFFFFFF])))
                elif num in (0, 1) and base == 0x85:
                    values.append(draw(SEMI))
                elif num in (0, 1):  # a position as uint32: up to 360 degrees
                    values.append(draw(st.integers(0, 2**32 - 2)))
                else:
                    values.append(draw(st.integers(0, (1 << (8 * size - 1)) - 1)))
            compressed = local < 4 and draw(st.integers(0, 3)) == 0
            b.message(local, values, time_offset=ts & 0x1F if compressed else None)
    return b.build()


def fitdecode_positions(data: bytes) -> tuple[list[int], list[int], list[float]] | None:
    """Records with a position as fitdecode reads them (the same rules: beyond 90 or 180 degrees is none)."""
    import fitdecode

    lat, lon, ts = [], [], []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fitdecode.FitReader(io.BytesIO(data)) as reader:
                for frame in reader:
                    if not isinstance(frame, fitdecode.FitDataMessage) or frame.global_mesg_num != 20:
                        continue
                    raw = {f.name: f.raw_value for f in reversed(frame.fields)}  # the first field of a name wins
                    la, lo = raw.get("position_lat"), raw.get("position_long")
                    if not isinstance(la, int) or not isinstance(lo, int) or abs(la) > 2**30 or abs(lo) > 2**31:
                        continue
                    t = next(
                        (f.raw_value for f in frame.fields if f.name == "timestamp" and f.raw_value is not None), None
                    )
                    lat.append(la)
                    lon.append(lo)
                    ts.append(math.nan if t is None else float(t + FIT_EPOCH_OFFSET))
    except Exception:
        return None
    return lat, lon, ts


@settings(FUZZ, max_examples=120)
@given(data=fit_files())
def test_valid_fit_files_read_like_fitdecode(data: bytes) -> None:
    result = outcome(fit_strict, data)
    ref = fitdecode_positions(data)
    assume(ref is not None)
    assert ref is not None
    lat, lon, ts = ref
    if isinstance(result, OffcourseError):
        assert not lat, f"{result!r} but fitdecode reads {len(lat)} positions"
        return
    t = result.track
    np.testing.assert_array_equal(np.round(t.lat * 2**31 / 180).astype(np.int64), lat)
    np.testing.assert_array_equal(np.round(t.lon * 2**31 / 180).astype(np.int64), lon)
    np.testing.assert_array_equal(t.epoch_s, ts)
    assert result.track.meta.extra["crc_ok"] in (True, None)


# -- truncation at every offset -----------------------------------------------------------------------------


def test_small_fit_truncated_at_every_offset() -> None:
    data = (DEFECTS / "small-valid-activity.fit").read_bytes()
    full = parse_fit(data).track
    assert len(full) == 12 and full.meta.extra["warnings"] == []
    kept = []
    for cut in range(len(data)):
        prefix = data[:cut]
        lenient = outcome(fit_lenient, prefix)
        if isinstance(lenient, OffcourseError):
            assert isinstance(lenient, (TruncatedFileError, UnknownFormatError)), (cut, lenient)
            kept.append(0)
        else:
            t = lenient.track
            assert t.meta.extra["warnings"], cut  # a cut file never passes silently
            np.testing.assert_array_equal(t.lat, full.lat[: len(t)])
            np.testing.assert_array_equal(t.epoch_s, full.epoch_s[: len(t)])
            kept.append(len(t))
        strict = outcome(fit_strict, prefix)
        assert isinstance(strict, (TruncatedFileError, UnknownFormatError)), (cut, strict)
    assert kept == sorted(kept) and kept[-1] == 12  # the cut before the CRC keeps every record


@pytest.mark.parametrize(
    ("path", "reader"),
    [
        (DATA / "gpx11-garmin-extensions-two-tracks.gpx", gpx),
        (DEFECTS / "base-route.gpx", gpx),
        (DATA / "tcx-activity-whitespace-before-declaration.tcx", tcx),
        (DATA / "tcx-course-with-coursepoints.tcx", tcx),
        (DATA / "geojson-featurecollection-coordtimes-and-points.geojson", geojson),
    ],
    ids=lambda v: v.name if isinstance(v, Path) else v.__name__,
)
def test_small_xml_and_json_truncated_at_every_offset_are_refused(
    path: Path, reader: Callable[[bytes], ParsedFile]
) -> None:
    data = path.read_bytes()
    full = outcome(reader, data)
    assert isinstance(full, ParsedFile)
    end = len(data.rstrip())
    for cut in range(len(data)):
        got = outcome(reader, data[:cut])
        if cut < end:
            assert isinstance(got, OffcourseError), f"a cut at {cut} of {end} was accepted"
        else:
            assert isinstance(got, ParsedFile) and len(got.track) == len(full.track)


def test_gzip_truncated_at_every_offset_is_refused() -> None:
    data = gzip.compress((DATA / "gpx11-garmin-extensions-two-tracks.gpx").read_bytes(), mtime=0)
    for cut in range(2, len(data)):
        got = outcome(dispatch, data[:cut])
        assert isinstance(got, OffcourseError), cut


# -- bounded memory ------------------------------------------------------------------------------------------

MEMORY_FACTOR = 64
MEMORY_CONSTANT = 2 << 20


def peak_memory(reader: Callable[[bytes], ParsedFile], data: bytes) -> int:
    tracemalloc.start()
    try:
        outcome(reader, data, seconds=20 + 10 * limit_for(data))  # tracemalloc slows everything down
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@settings(FUZZ, max_examples=100)
@given(
    name=st.sampled_from(sorted(SEEDS)), mutations=st.lists(MUTATION, min_size=1, max_size=8), copies=st.integers(1, 20)
)
def test_memory_is_bounded_on_mutated_files(
    name: str, mutations: list[tuple[str, float, int, int]], copies: int
) -> None:
    data = mutate(SEEDS[name] * copies, mutations)
    assert peak_memory(dispatch, data) <= MEMORY_FACTOR * len(data) + MEMORY_CONSTANT


def _fit_alternating_records(n: int) -> bytes:
    b = FitBuilder()
    b.define(0, 20, [(0, 4, 0x85), (1, 4, 0x85)])
    b.define(1, 20, [(0, 4, 0x85), (1, 4, 0x85)])
    for i in range(n):
        b.message(i % 2, [i, i])
    return b.build()


def _fit_empty_records(n: int) -> bytes:
    b = FitBuilder()
    b.define(0, 20, [])
    b.define(1, 20, [])
    b.body += b"\x00\x01" * (n // 2)
    return b.build()


def _fit_definitions(n: int) -> bytes:
    b = FitBuilder()
    for i in range(n):
        b.define(i % 16, 20 + i % 3, [])
    return b.build()


def _fit_compressed_headers(n: int) -> bytes:
    b = FitBuilder()
    b.define(0, 20, [])
    b.body += bytes(0x80 | (i % 32) for i in range(n))
    return b.build()


def _fit_fallback(n: int) -> bytes:
    b = FitBuilder()
    b.define(0, 20, [(0, 4, 0x86), (1, 4, 0x85)])
    for i in range(n):
        b.message(0, [i, i])
    return b.build()


SIZE = 40_000
WORST_CASES = {
    "fit-alternating-positioned-records": lambda: _fit_alternating_records(SIZE // 9),
    "fit-records-without-position-fields": lambda: _fit_empty_records(SIZE),
    "fit-definitions-only": lambda: _fit_definitions(SIZE // 6),
    "fit-compressed-headers": lambda: _fit_compressed_headers(SIZE),
    "fit-fitdecode-fallback": lambda: _fit_fallback(SIZE // 9),
    "gpx-minimal-points": lambda: (
        b"<gpx><trk><trkseg>" + b'<trkpt lat="0" lon="0"/>' * (SIZE // 24) + b"</trkseg></trk></gpx>"
    ),
    "gpx-minimal-waypoints": lambda: b"<gpx>" + b'<wpt lat="0" lon="0"/>' * (SIZE // 22) + b"</gpx>",
    "gpx-deep-nesting": lambda: b"<gpx>" + b"<a>" * (SIZE // 3),
    "json-deep-nesting": lambda: b"[" * SIZE,
    "geojson-minimal-positions": lambda: b'{"type":"LineString","coordinates":[' + b"[0,0]," * (SIZE // 6) + b"[0,0]]}",
    "geojson-minimal-points": lambda: b'{"type":"MultiPoint","coordinates":[' + b"[0,0]," * (SIZE // 6) + b"[0,0]]}",
    "livetrail-minimal-points": lambda: (
        b'{"segments":[{"segment":[' + b"[0,0,[0,0]]," * (SIZE // 12) + b"[0,0,[0,0]]]}]}"
    ),
}


@pytest.mark.parametrize("name", sorted(WORST_CASES))
def test_memory_is_linear_on_worst_case_structures(name: str) -> None:
    data = WORST_CASES[name]()
    assert len(data) >= SIZE * 0.9
    peak = peak_memory(dispatch, data)
    assert peak <= MEMORY_FACTOR * len(data) + (1 << 20), f"{peak / len(data):.0f} bytes per input byte"

"""The byte-level fast path of GPX and TCX gives what the hardened reader gives, bit for bit, or steps aside."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from offcourse.errors import OffcourseError
from offcourse.model import ParsedFile
from offcourse.read import gpx, tcx
from offcourse.read._fastxml import NotFast, decimals, times
from tests.conftest import NO_CORPUS, SHARED_DATA

COLUMNS = ("lon", "lat", "ele_m", "epoch_s", "hdop", "hacc_m", "segment_starts")
HARDENED: dict[str, Callable[[bytes], ParsedFile]] = {
    "gpx": lambda d: gpx.parse_gpx(io.BytesIO(d), "x"),
    "tcx": lambda d: tcx.parse_tcx(io.BytesIO(d), "x"),
}
REGISTRY: dict[str, Callable[[bytes], ParsedFile]] = {
    "gpx": lambda d: gpx.parse(d, "x"),
    "tcx": lambda d: tcx.parse(d, "x"),
}
FAST: dict[str, Callable[[bytes], ParsedFile | None]] = {
    "gpx": lambda d: gpx.parse_gpx_fast(d, "x"),
    "tcx": lambda d: tcx.parse_tcx_fast(d, "x"),
}


def outcome(read: Callable[[bytes], ParsedFile | None], data: bytes) -> Any:
    """All a reader gives: the columns' bytes, the metadata and waypoints (repr: NaN equals NaN), or the error."""
    try:
        pf = read(data)
    except OffcourseError as exc:
        return (type(exc).__name__, str(exc))
    if pf is None:
        return None
    t = pf.track
    return (
        tuple(getattr(t, c).dtype.str + getattr(t, c).tobytes().hex() for c in COLUMNS),
        repr(t.meta),
        repr(pf.waypoints),
    )


def _corpus() -> list[Path]:
    return sorted(p for ext in ("gpx", "tcx") for p in SHARED_DATA.rglob(f"*.{ext}"))


@pytest.mark.skipif(not SHARED_DATA.exists(), reason=NO_CORPUS)
def test_every_corpus_gpx_and_tcx_reads_the_same_through_the_fast_path() -> None:
    files = _corpus()
    fast = 0
    for p in files:
        data = p.read_bytes()
        fmt = p.suffix[1:]
        expected = outcome(HARDENED[fmt], data)
        assert outcome(REGISTRY[fmt], data) == expected, p.name
        quick = outcome(FAST[fmt], data)
        if quick is not None:
            fast += 1
            assert quick == expected, p.name
    assert len(files) >= 120
    assert fast >= 95  # 98 of the 120 files of 2026-11 go through the fast path


def _gpx(points: list[str], head: str = "", seg: str = "\n") -> bytes:
    body = seg.join(points)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="t">{head}<trk><name>r</name>'
        f"<trkseg>\n{body}\n</trkseg></trk></gpx>\n"
    ).encode()


def _pt(lat: str, lon: str, ele: str = "1000.5", time: str = "2024-05-01T06:00:00Z", ext: str = "") -> str:
    return f'  <trkpt lat="{lat}" lon="{lon}">\n   <ele>{ele}</ele>\n   <time>{time}</time>{ext}\n  </trkpt>'


def _random_decimal(rng: random.Random, digits: int) -> str:
    s = "".join(rng.choice("0123456789") for _ in range(digits))
    cut = rng.randint(0, digits)
    sign = rng.choice(["", "-", "+"]) if rng.random() < 0.3 else ""
    return sign + (s[:cut] + "." + s[cut:] if rng.random() < 0.9 else s)


def test_random_values_of_every_layout_read_bit_for_bit() -> None:
    rng = random.Random(7)
    pts = []
    for _ in range(3000):
        lat = (
            _random_decimal(rng, rng.randint(1, 2))
            if rng.random() < 0.05
            else f"{rng.uniform(-89, 89):.{rng.randint(0, 16)}f}"
        )
        lon = _random_decimal(rng, rng.randint(1, 2)) if rng.random() < 0.05 else repr(rng.uniform(-179, 179))
        ele = _random_decimal(rng, rng.randint(1, 30))
        frac = "" if rng.random() < 0.5 else "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 6)))
        zone = rng.choice(["Z", "", "+02:00", "-11:30", "+00:00"])
        t = f"{rng.randint(1900, 2200)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
        t += f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}{frac}{zone}"
        pts.append(_pt(lat.replace("+", "") if abs(float(lat)) <= 90 else "1", lon, ele, t))
    data = _gpx(pts)
    fast = outcome(FAST["gpx"], data)
    assert fast is not None and fast == outcome(HARDENED["gpx"], data)


def test_points_of_several_shapes_in_one_run() -> None:
    hr = "\n   <extensions><gpxtpx:TPX><gpxtpx:hr>{}</gpxtpx:hr></gpxtpx:TPX></extensions>"
    pts = [_pt("45.5", "6.5", ext=hr.format(120)), _pt("45.6", "6.6"), _pt("45.7", "6.7", ext=hr.format(99))]
    pts.append('  <trkpt lat="45.8" lon="6.8"/>')  # self-closing: a shape of its own
    data = _gpx(pts)
    fast = outcome(FAST["gpx"], data)
    assert fast is not None and fast == outcome(HARDENED["gpx"], data)
    t = gpx.parse(data).track
    assert t.lat.tolist() == [45.5, 45.6, 45.7, 45.8] and np.isnan(t.ele_m[3])


@pytest.mark.parametrize(
    "point",
    [
        _pt("91", "6.5"),  # out of range: the hardened reader's error
        _pt("45.5", "6.5", ele="1e3"),  # exponent: float() reads it, the fast path leaves it
        _pt("45.5", "6.5", ele=" 1000 "),  # spaces
        _pt("45.5", "6.5", ele=""),  # empty: NaN
        _pt("45.5", "6.5", time="2024-05-01T23:59:60Z"),  # leap second: no time, counted
        _pt("45.5", "6.5", time="2024-02-30T00:00:00Z"),  # no such day
        _pt("45.5", "6.5", time="2024-05-01 06:00:00Z"),  # space for T
        _pt("45.5", "6.5", time="2024-05-01T06:00:00.1234567Z"),  # 7 fraction digits
        _pt("45.5", "6.5", ext="\n   <extensions><x>a &amp; b</x></extensions>"),  # an entity
        _pt("45.5", "6.5", ext="\n   <extensions><trkseg/></extensions>"),  # would open a segment
        _pt("45.5", "6.5", ext="\n   <extensions><x>\u00e9</x></extensions>"),  # not ASCII
        '  <trkpt lon="6.5" lat="45.5"><ele>1</ele></trkpt>',  # attributes the other way round
        "  <trkpt lat='45.5' lon='6.5'><ele>1</ele></trkpt>",  # single quotes
        '  <trkpt lat="45.5" lon="6.5"><ele>1</ele></trkpt >',  # odd but well-formed
        '  <trkpt lat="45.5" lon="6.5"><e1e>1</ele></trkpt>',  # malformed: a digit in a tag
        '  <trkpt lat="45.5" lon="6.5"><ele>1</ele></trkpt><!-- c -->',  # a comment
    ],
)
def test_an_unusual_point_reads_as_the_hardened_reader_reads_it(point: str) -> None:
    for where in (0, 5, 9):
        pts = [_pt(f"45.{i}", f"6.{i}", time=f"2024-05-01T06:00:{i:02d}Z") for i in range(10)]
        pts[where] = point
        data = _gpx(pts)
        assert outcome(REGISTRY["gpx"], data) == outcome(HARDENED["gpx"], data), (where, point)


DAMAGE_BYTES = b'0123456789.-+<>/"= \nTZ:&!?ea'
"""What a damaged point may hold instead: digits, signs, markup, a time's letters, an entity's start."""


def damage(data: bytes, rng: random.Random, count: int = 1) -> bytes:
    """``data`` with ``count`` random bytes replaced, deleted or inserted."""
    buf = bytearray(data)
    for _ in range(count):
        i = rng.randrange(len(buf))
        op = rng.random()
        if op < 0.5:
            buf[i] = rng.choice(DAMAGE_BYTES)
        elif op < 0.75:
            del buf[i]
        else:
            buf.insert(i, rng.choice(DAMAGE_BYTES))
    return bytes(buf)


def test_random_byte_damage_never_makes_the_two_paths_differ() -> None:
    rng = random.Random(11)
    base = {
        "gpx": _gpx(
            [_pt(f"45.{i:03d}", f"-6.{i:04d}", ele=f"{i}.5", time=f"2024-05-01T06:{i:02d}:00Z") for i in range(40)]
        ),
        "tcx": (Path(__file__).resolve().parents[1] / "data" / "tcx-course-with-coursepoints.tcx").read_bytes(),
    }
    for fmt, data in base.items():
        for _ in range(400):
            mutated = damage(data, rng, rng.randint(1, 3))
            assert outcome(REGISTRY[fmt], mutated) == outcome(HARDENED[fmt], mutated), (fmt, mutated)


def test_tcx_trackpoints_without_position_are_counted_as_the_hardened_reader_counts_them() -> None:
    def tp(i: int, pos: bool) -> str:
        p = f"<Position><LatitudeDegrees>45.{i}</LatitudeDegrees><LongitudeDegrees>6.{i}</LongitudeDegrees></Position>"
        hr = f"<HeartRateBpm><Value>1{i}0</Value></HeartRateBpm>"
        return f"<Trackpoint><Time>2024-05-01T06:00:{i:02d}.000Z</Time>{p if pos else ''}{hr}</Trackpoint>"

    doc = (
        '<?xml version="1.0"?><TrainingCenterDatabase><Activities><Activity Sport="Running"><Id>x</Id><Lap><Track>\n'
        + "\n".join(tp(i, i % 4 != 0) for i in range(20))
        + "\n</Track></Lap></Activity></Activities></TrainingCenterDatabase>"
    ).encode()
    fast = outcome(FAST["tcx"], doc)
    assert fast is not None and fast == outcome(HARDENED["tcx"], doc)
    t = tcx.parse(doc).track
    assert len(t) == 15 and t.meta.extra["trackpoints_without_position"] == 5


def test_value_parsers_refuse_what_they_cannot_read_exactly() -> None:
    a = np.frombuffer(b"1e5 1.2.3 - 12345678901234567890 0x1", dtype=np.uint8)
    for s, e in ((0, 3), (4, 9), (10, 11), (32, 35)):
        with pytest.raises(NotFast):
            decimals(a, np.array([s]), np.array([e]))
    long = decimals(a, np.array([12]), np.array([32]))  # 20 digits: read by float(), exactly
    assert long.tolist() == [12345678901234567890.0]
    t = np.frombuffer(b"2024-05-01T06:00:00z", dtype=np.uint8)
    with pytest.raises(NotFast):
        times(t, np.array([0]), np.array([20]))


def test_decimals_of_16_to_18_digits_and_exact_ties_read_as_float_reads_them() -> None:
    rng = random.Random(5)
    texts = ["9007199254740993", "-9007199254740995", "39.66474219225347", "-105.17836097627878"]
    for _ in range(3000):
        m = rng.randint(53, 59)  # a midpoint between two doubles, written in full
        texts.append(str(rng.randint(2**52, 2**53 - 1) * 2 ** (m - 52) + 2 ** (m - 53))[:18])
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(16, 18)))
        cut = rng.randint(1, len(digits))
        texts.append(rng.choice(["", "-"]) + digits[:cut] + "." + digits[cut:])
    buf = b" ".join(t.encode() for t in texts)
    ends = np.cumsum([len(t) + 1 for t in texts]) - 1
    got = decimals(np.frombuffer(buf, dtype=np.uint8), ends - [len(t) for t in texts], ends)
    assert got.tobytes() == np.array([float(t) for t in texts]).tobytes()

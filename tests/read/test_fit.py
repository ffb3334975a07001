"""Tests of the FIT reader: synthetic files with exact values, and the real corpus against fitdecode."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from offcourse.errors import (
    CorruptFileError,
    NoGeometryError,
    OffcourseError,
    TruncatedFileError,
    UnknownFormatError,
)
from offcourse.read.fit import FIT_EPOCH_OFFSET, _crc16, parse_fit
from tests.fitbuild import SINT32_INVALID, UINT16_INVALID, UINT32_INVALID, FitBuilder, crc16, semicircles

SEMI = 180.0 / 2**31
REC = [(253, 4, 0x86), (0, 4, 0x85), (1, 4, 0x85), (2, 2, 0x84)]
DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _activity(points: list[tuple[int, int, int, int]], **kw: object) -> bytes:
    b = FitBuilder()
    b.define(0, 20, REC, **kw)  # type: ignore[arg-type]
    for p in points:
        b.message(0, list(p))
    return b.build()


# -- CRC -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 9, 511, 512, 4096, 8191, 100_003])
def test_crc_vectorised_equals_reference(n: int) -> None:
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    assert _crc16(data) == crc16(data)


# -- values ----------------------------------------------------------------------------------------


def test_semicircles_altitude_and_time() -> None:
    lat, lon = semicircles(45.923), semicircles(6.8694)
    data = _activity([(1_000_000_000, lat, lon, 2500), (1_000_000_001, -lat, -lon, 0)])
    t = parse_fit(data, "x.fit").track
    assert len(t) == 2
    assert t.lat[0] == lat * SEMI and t.lon[0] == lon * SEMI
    assert t.lat[1] == -lat * SEMI
    np.testing.assert_array_equal(t.epoch_s, [1_000_000_000 + FIT_EPOCH_OFFSET, 1_000_000_001 + FIT_EPOCH_OFFSET])
    assert t.ele_m[0] == 2500 / 5 - 500 and t.ele_m[1] == -500.0
    assert list(t.segment_starts) == [0]
    assert t.meta.format == "fit" and t.meta.kind == "activity" and t.meta.path == "x.fit"
    assert t.meta.device == "garmin/fr620"


def test_enhanced_altitude_preferred_and_invalids() -> None:
    b = FitBuilder()
    b.define(0, 20, [*REC, (78, 4, 0x86), (31, 1, 0x02)])
    b.message(0, [10, 100, 200, 3000, 20000, 7])  # enhanced wins: 20000/5-500 = 3500
    b.message(0, [11, 100, 200, 3000, UINT32_INVALID, 0xFF])  # altitude: 3000/5-500 = 100
    b.message(0, [12, 100, 200, UINT16_INVALID, UINT32_INVALID, 3])  # none
    b.message(0, [UINT32_INVALID, 100, 200, 3000, 20000, 3])  # no time
    t = parse_fit(b.build()).track
    np.testing.assert_array_equal(t.ele_m, [3500.0, 100.0, np.nan, 3500.0])
    np.testing.assert_array_equal(t.hacc_m, [7.0, np.nan, 3.0, 3.0])
    assert np.isnan(t.epoch_s[3]) and not t.has_time


def test_missing_position_skipped() -> None:
    b = FitBuilder()
    b.define(0, 20, REC)
    b.define(1, 20, [(253, 4, 0x86), (2, 2, 0x84)])  # indoor-style record: no position fields
    b.message(0, [1, 10, 20, 2600])
    b.message(0, [2, SINT32_INVALID, SINT32_INVALID, 2600])
    b.message(1, [3, 2600])
    b.message(0, [4, 11, SINT32_INVALID, 2600])  # half a position is no position
    b.message(0, [5, 12, 22, 2600])
    t = parse_fit(b.build()).track
    np.testing.assert_array_equal(t.epoch_s - FIT_EPOCH_OFFSET, [1, 5])
    np.testing.assert_array_equal(t.lat, [10 * SEMI, 12 * SEMI])
    assert t.meta.extra["record_messages"] == 5


def test_compressed_timestamps_with_rollover() -> None:
    b = FitBuilder()
    b.define(0, 20, REC)
    b.define(1, 20, [(0, 4, 0x85), (1, 4, 0x85)])
    b.message(0, [1000, 1, 1, 2500])  # 1000 = 31*32 + 8 -> low bits 8
    expected = [1000]
    for off, ts in [(10, 1002), (30, 1022), (2, 1026), (2, 1026), (1, 1057)]:
        b.message(1, [2, 2], time_offset=off)
        expected.append(ts)
    t = parse_fit(b.build()).track
    np.testing.assert_array_equal(t.epoch_s - FIT_EPOCH_OFFSET, expected)


def test_compressed_timestamp_follows_other_messages_timestamps() -> None:
    b = FitBuilder()
    b.define(0, 20, [(0, 4, 0x85), (1, 4, 0x85)])
    b.define(2, 21, [(253, 4, 0x86), (0, 1, 0x00), (1, 1, 0x00)])
    b.message(2, [2000, 0, 0])  # event with a timestamp: 2000 = 62*32 + 16
    b.message(0, [1, 1], time_offset=20)
    t = parse_fit(b.build()).track
    assert t.epoch_s[0] - FIT_EPOCH_OFFSET == 2004


def test_big_endian_equals_little_endian() -> None:
    pts = [(100 + i, semicircles(45 + i / 1000), semicircles(-6 - i / 1000), 2600 + i) for i in range(50)]
    little = parse_fit(_activity(pts)).track
    big = parse_fit(_activity(pts, big=True)).track
    for name in ("epoch_s", "lat", "lon", "ele_m"):
        np.testing.assert_array_equal(getattr(little, name), getattr(big, name))
    assert big.lat[7] == semicircles(45.007) * SEMI


def test_developer_fields_skipped() -> None:
    b = FitBuilder()
    b.define(0, 20, REC, dev_fields=[(0, 3, 0), (1, 5, 0)])
    for i in range(5):
        b.message(0, [i, 100 + i, 200, 2600], dev_values=b"\x40\x41\x42\x43\x44\x45\x46\x47")
    t = parse_fit(b.build()).track
    np.testing.assert_array_equal(t.lat, (100 + np.arange(5)) * SEMI)
    np.testing.assert_array_equal(t.epoch_s - FIT_EPOCH_OFFSET, np.arange(5))


def test_runs_interleaved_with_other_messages_and_redefinitions() -> None:
    b = FitBuilder()
    b.define(3, 20, REC)
    b.define(4, 19, [(253, 4, 0x86), (5, 8, 0x0D)])  # a lap with a byte array
    expected = []
    for i in range(300):
        if i == 150:
            b.define(3, 20, [(1, 4, 0x85), (253, 4, 0x86), (0, 4, 0x85)], big=True)  # redefinition, new order
        if i >= 150:
            b.message(3, [200 + i, i, 100 + i])
        else:
            b.message(3, [i, 100 + i, 200 + i, 2600])
        expected.append(i)
        if i % 7 == 0:
            b.message(4, [i, b"\xff" * 8])
    t = parse_fit(b.build()).track
    np.testing.assert_array_equal(t.epoch_s - FIT_EPOCH_OFFSET, expected)
    np.testing.assert_array_equal(t.lat, (100 + np.arange(300)) * SEMI)
    np.testing.assert_array_equal(t.lon, (200 + np.arange(300)) * SEMI)
    assert np.isnan(t.ele_m[200]) and t.ele_m[0] == 20.0


def test_chained_files_concatenate_and_start_segments() -> None:
    a = _activity([(1, 10, 10, 2600), (2, 11, 11, 2600)])
    b = _activity([(3, 12, 12, 2600)])
    t = parse_fit(a + b).track
    assert len(t) == 3 and list(t.segment_starts) == [0, 2]
    assert t.meta.extra["fit_files"] == 2


def test_timer_stop_start_starts_segment() -> None:
    b = FitBuilder()
    b.define(0, 20, REC)
    b.define(1, 21, [(253, 4, 0x86), (0, 1, 0x00), (1, 1, 0x00)])
    b.message(1, [0, 0, 0])  # timer start
    b.message(0, [1, 1, 1, 2600])
    b.message(0, [2, 1, 1, 2600])
    b.message(1, [3, 0, 4])  # timer stop_all
    b.message(0, [4, SINT32_INVALID, SINT32_INVALID, 2600])  # no position after the start
    b.message(1, [5, 0, 0])  # timer start
    b.message(0, [6, SINT32_INVALID, SINT32_INVALID, 2600])
    b.message(0, [7, 2, 2, 2600])
    b.message(1, [8, 0, 0])  # start without stop: no new segment
    b.message(0, [9, 3, 3, 2600])
    t = parse_fit(b.build()).track
    np.testing.assert_array_equal(t.epoch_s - FIT_EPOCH_OFFSET, [1, 2, 7, 9])
    assert list(t.segment_starts) == [0, 2]


def test_course_with_course_points() -> None:
    b = FitBuilder(file_type=6)
    b.define(1, 31, [(5, 16, 0x07), (4, 1, 0x00)])
    b.message(1, ["UTMB 2025", 1])
    b.define(0, 20, REC)
    for i in range(4):
        b.message(0, [i, semicircles(45.9 + i / 100), semicircles(6.86), 5000])
    b.define(2, 32, [(1, 4, 0x86), (2, 4, 0x85), (3, 4, 0x85), (4, 4, 0x86), (5, 1, 0x00), (6, 12, 0x07)])
    b.message(2, [2, semicircles(45.92), semicircles(6.86), 2000, 1, "Col"])
    b.message(2, [3, SINT32_INVALID, SINT32_INVALID, 3000, 4, "nowhere"])
    pf = parse_fit(b.build())
    assert pf.track.meta.kind == "course" and pf.track.meta.name == "UTMB 2025"
    assert pf.track.meta.sport == "running"
    assert len(pf.track) == 4 and len(pf.waypoints) == 1
    w = pf.waypoints[0]
    assert w.name == "Col" and w.kind == "summit" and w.lat == semicircles(45.92) * SEMI
    assert w.epoch_s == 2 + FIT_EPOCH_OFFSET


def test_unusual_record_field_uses_fitdecode() -> None:
    b = FitBuilder()
    b.define(0, 20, [(253, 4, 0x86), (0, 4, 0x86), (1, 4, 0x85)])  # latitude as uint32
    b.message(0, [5, 1000, 2000])
    t = parse_fit(b.build()).track
    assert t.lat[0] == 1000 * SEMI and t.lon[0] == 2000 * SEMI
    assert any("fitdecode" in w for w in t.meta.extra["warnings"])


# -- damage ----------------------------------------------------------------------------------------


def test_truncated_after_positions_keeps_them_unless_strict() -> None:
    data = _activity([(i, i, i, 2600) for i in range(10)])
    cut = data[: -2 - 7]  # the CRC and half of the last record
    t = parse_fit(cut).track
    assert len(t) == 9 and t.meta.extra["crc_ok"] is None
    assert any("ends" in w for w in t.meta.extra["warnings"])
    with pytest.raises(TruncatedFileError) as exc:
        parse_fit(cut, strict=True)
    assert exc.value.offset is not None


def test_truncated_before_any_position_is_an_error() -> None:
    data = _activity([(i, i, i, 2600) for i in range(10)])
    with pytest.raises(TruncatedFileError) as exc:
        parse_fit(data[: 14 + 20])
    assert exc.value.offset is not None and exc.value.offset > 0


def test_header_declaring_more_data_than_the_file() -> None:
    b = FitBuilder()
    b.define(0, 20, REC)
    b.message(0, [1, 1, 1, 1])
    with pytest.raises(TruncatedFileError):
        parse_fit(b.build(data_size=10_000), strict=True)
    assert len(parse_fit(b.build(data_size=10_000)).track) == 1


def test_bad_file_crc() -> None:
    data = _activity([(1, 1, 1, 1)])
    bad = data[:-2] + bytes([data[-2] ^ 0xFF, data[-1]])
    t = parse_fit(bad).track
    assert t.meta.extra["crc_ok"] is False and len(t) == 1
    assert parse_fit(data).track.meta.extra["crc_ok"] is True
    with pytest.raises(CorruptFileError):
        parse_fit(bad, strict=True)


def test_bad_header_crc() -> None:
    data = bytearray(_activity([(1, 1, 1, 1)]))
    data[12] ^= 0x55
    with pytest.raises(CorruptFileError):
        parse_fit(bytes(data))


def test_not_fit_and_empty() -> None:
    with pytest.raises(UnknownFormatError):
        parse_fit(b"")
    with pytest.raises(UnknownFormatError):
        parse_fit(b"<gpx></gpx>" * 3)


def test_undefined_local_message() -> None:
    b = FitBuilder()
    b.body += b"\x05"  # data message for local type 5, never defined
    with pytest.raises(CorruptFileError):
        parse_fit(b.build())


def test_no_position_is_no_geometry() -> None:
    b = FitBuilder(file_type=2)  # settings
    with pytest.raises(NoGeometryError, match="settings"):
        parse_fit(b.build())


@pytest.mark.parametrize("cut", range(0, 120, 7))
def test_any_truncation_gives_result_or_typed_error(cut: int) -> None:
    data = _activity([(i, i, i, 2600) for i in range(8)])
    try:
        track = parse_fit(data[: len(data) - cut - 1]).track
    except OffcourseError as exc:
        assert isinstance(exc, (TruncatedFileError, UnknownFormatError))
        return
    assert 1 <= len(track) <= 8 and track.meta.extra["warnings"]


# -- real files against fitdecode -------------------------------------------------------------------

_FILES = sorted(DATA_DIR.glob("*/*.fit")) if DATA_DIR.is_dir() else []


def _fitdecode_reference(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    import fitdecode

    ts, lat, lon, ele = [], [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fitdecode.FitReader(str(path)) as reader:
            for frame in reader:
                if not isinstance(frame, fitdecode.FitDataMessage) or frame.global_mesg_num != 20:
                    continue
                la = frame.get_value("position_lat", fallback=None)
                lo = frame.get_value("position_long", fallback=None)
                if la is None or lo is None:
                    continue
                t = next((f.raw_value for f in frame.fields if f.name == "timestamp"), None)
                e = next(
                    (
                        f.value
                        for f in frame.fields
                        if f.name == "enhanced_altitude" and f.field_def is not None and f.value is not None
                    ),
                    None,
                )
                if e is None:
                    e = next((f.value for f in frame.fields if f.name == "altitude" and f.value is not None), None)
                ts.append(np.nan if t is None else t + FIT_EPOCH_OFFSET)
                lat.append(la * SEMI)
                lon.append(lo * SEMI)
                ele.append(np.nan if e is None else e)
    return np.array(ts, float), np.array(lat, float), np.array(lon, float), np.array(ele, float)


@pytest.mark.skipif(not _FILES, reason=f"real-data corpus not present at {DATA_DIR}")
@pytest.mark.parametrize("path", _FILES, ids=lambda p: p.name)
def test_real_file_equals_fitdecode(path: Path) -> None:
    data = path.read_bytes()
    try:
        ref = _fitdecode_reference(path)
        ref_error: Exception | None = None
    except Exception as exc:
        ref_error = exc
    try:
        track = parse_fit(data, str(path)).track
    except NoGeometryError:
        assert ref_error is not None or len(ref[0]) == 0
        return
    except OffcourseError:
        assert ref_error is not None or not data, "we reject a file fitdecode reads"
        return
    if ref_error is not None:
        # documented: we keep the records decoded before the damage, and say so
        assert track.meta.extra["warnings"], "a file fitdecode rejects must come with a warning"
        return
    ts, lat, lon, ele = ref
    assert len(track) == len(ts)
    np.testing.assert_array_equal(track.epoch_s, ts)
    np.testing.assert_array_equal(track.lat, lat)
    np.testing.assert_array_equal(track.lon, lon)
    np.testing.assert_array_equal(track.ele_m, ele)
    assert track.segment_starts[0] == 0 and np.all(np.diff(track.segment_starts) > 0)

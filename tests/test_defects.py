"""Named defects: one file per kind of broken or hostile input, and exactly what offcourse does with it.

The files are in ``tests/data/defects/``, written by ``make_defects.py`` there; its README lists each
defect with the behaviour asserted here. Errors must be typed and name the file; data that can be
kept is kept, with a warning.
"""

from __future__ import annotations

import calendar
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from offcourse import check, read_file, read_route, read_track
from offcourse.errors import (
    CorruptFileError,
    FileTooLargeError,
    InvalidRouteError,
    InvalidTrackError,
    NoGeometryError,
    OffcourseError,
    ReadError,
    TruncatedFileError,
)
from offcourse.read import parse_bytes
from offcourse.read.fit import FIT_EPOCH_OFFSET, parse_fit
from offcourse.report import Report, report_to_dict, report_to_text

D = Path(__file__).resolve().parent / "data" / "defects"
MIB = 1 << 20
T0 = calendar.timegm((2024, 5, 1, 8, 0, 0, 0, 0, 0))


def raises_naming_file(error: type[OffcourseError], path: Path, match: str) -> OffcourseError:
    """Read ``path``; assert the typed error, its message and that it names the file."""
    with pytest.raises(error, match=match) as info:
        read_file(path)
    exc = info.value
    assert type(exc) is error
    assert exc.path == str(path)
    assert str(exc).startswith(f"{path}: ")
    assert "\n" not in str(exc)
    return exc


@pytest.fixture(scope="module")
def route():  # type: ignore[no-untyped-def]
    return read_route(D / "base-route.gpx")


@pytest.fixture(scope="module")
def base(route) -> Report:  # type: ignore[no-untyped-def]
    return check(route, read_track(D / "base-track.gpx"))


def test_the_clean_references_are_what_the_defects_are_compared_with(route, base: Report) -> None:  # type: ignore[no-untyped-def]
    assert len(route) == 16 and abs(route.length_m - 1500.0) < 0.01
    assert len(base.track) == 121 and base.ignored_fixes == 0
    assert [e.kind for e in base.events] == ["started", "off_course", "back_on_course", "finished"]
    (exc,) = base.excursions
    assert abs(exc.exit_route_m - 600) < 20 and abs((exc.rejoin_route_m or 0) - 900) < 20
    assert abs((exc.extra_distance_m or 0) - 300) < 30
    assert abs((exc.time_lost_s or 0) - 100) < 10


# -- XML attacks ------------------------------------------------------------------------------------

ENTITIES = r"XML entity declarations are not allowed \(possible XXE or billion-laughs attack\)"


@pytest.mark.parametrize(
    "name",
    [
        "billion-laughs.gpx",
        "billion-laughs.tcx",
        "xxe-external-entity.gpx",
        "xxe-external-entity.tcx",
        "xxe-parameter-entity.gpx",
    ],
)
def test_xml_entities_are_refused_at_once_in_bounded_memory(name: str) -> None:
    tracemalloc.start()
    try:
        raises_naming_file(CorruptFileError, D / name, ENTITIES)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * MIB  # 10**9 "lol"s would be gigabytes


def test_xxe_never_opens_the_file_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    opened: list[str] = []
    real_open = builtins.open

    def spy(file, *a, **kw):  # type: ignore[no-untyped-def]
        opened.append(str(file))
        return real_open(file, *a, **kw)

    monkeypatch.setattr(builtins, "open", spy)
    for name in ("xxe-external-entity.gpx", "xxe-external-entity.tcx", "xxe-parameter-entity.gpx"):
        with pytest.raises(CorruptFileError):
            read_file(D / name)
    assert "/etc/passwd" not in opened and not any("evil" in f for f in opened)


def test_xml_declaring_an_encoding_expat_cannot_decode_is_a_typed_error() -> None:
    # regression (found by fuzzing): pyexpat's ValueError "multi-byte encodings are not supported"
    raises_naming_file(CorruptFileError, D / "xml-utf7-encoding.gpx", r"unsupported text encoding")


# -- gzip ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gzip-bomb.gpx.gz", "gzip-bomb-nested.gpx.gz.gz"])
def test_gzip_bomb_stops_at_the_bound_in_bounded_memory(name: str) -> None:
    path = D / name
    assert path.stat().st_size < 10_000
    tracemalloc.start()
    try:
        with pytest.raises(FileTooLargeError, match="decompressed content exceeds 1048576 bytes") as info:
            read_file(path, max_bytes=MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.path == str(path) and str(info.value).startswith(f"{path}: ")
    assert peak < 3.5 * MIB  # the bound, the copy made at the end, and the input


def test_gzip_inside_gzip_in_memory_is_refused() -> None:
    import gzip

    inner = gzip.compress((D / "base-route.gpx").read_bytes())
    with pytest.raises(OffcourseError, match="gzip-compressed data inside gzip-compressed data") as info:
        parse_bytes(gzip.compress(inner), "x.gz.gz")
    assert info.value.path == "x.gz.gz"
    assert len(parse_bytes(inner, "x.gz").track) == 16


def test_parse_bytes_default_bound_applies_to_gzip(monkeypatch: pytest.MonkeyPatch) -> None:
    import offcourse.read

    monkeypatch.setattr(offcourse.read, "MAX_BYTES", MIB)
    with pytest.raises(FileTooLargeError, match="exceeds 1048576 bytes"):
        parse_bytes((D / "gzip-bomb.gpx.gz").read_bytes(), "bomb.gpx.gz")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_that_never_ends_stops_at_the_bound() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(FileTooLargeError, match="more than the bound of 1048576 bytes") as info:
            read_file("/dev/zero", max_bytes=MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.path == "/dev/zero" and peak < 3.5 * MIB


def test_a_pipe_is_read_like_a_file(tmp_path: Path) -> None:
    import os
    import threading

    fifo = tmp_path / "route.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=((D / "base-route.gpx").read_bytes(),))
    writer.start()
    try:
        assert len(read_route(fifo)) == 16  # as with <(zcat route.gpx.gz) on a command line
    finally:
        writer.join(timeout=10)


def test_a_file_name_with_a_nul_byte_is_a_read_error() -> None:
    with pytest.raises(ReadError, match="bad file name") as info:
        read_file("run\0.gpx")
    assert info.value.path == "run\0.gpx"


# -- FIT ----------------------------------------------------------------------------------------------


def fit(name: str) -> bytes:
    return (D / name).read_bytes()


def test_fit_header_declaring_far_more_data_than_the_file_holds() -> None:
    t = read_track(D / "fit-header-declares-more-data.fit")
    assert len(t) == 5 and t.meta.extra["crc_ok"] is None
    (warning,) = t.meta.extra["warnings"]
    assert "shorter than its header declares" in warning
    with pytest.raises(TruncatedFileError, match="shorter than its header declares") as info:
        parse_fit(fit("fit-header-declares-more-data.fit"), "f.fit", strict=True)
    assert info.value.path == "f.fit" and info.value.offset is not None


def test_fit_bad_header_crc_is_rejected_strict_or_not() -> None:
    exc = raises_naming_file(CorruptFileError, D / "fit-bad-header-crc.fit", "FIT header CRC does not match")
    assert exc.offset == 0
    with pytest.raises(CorruptFileError, match="header CRC"):
        parse_fit(fit("fit-bad-header-crc.fit"), strict=True)


def test_fit_bad_file_crc_keeps_the_records_with_a_warning_unless_strict() -> None:
    t = read_track(D / "fit-bad-file-crc.fit")
    assert len(t) == 5
    assert t.meta.extra["crc_ok"] is False
    assert t.meta.extra["warnings"] == ["file CRC does not match (at byte 128)"]
    with pytest.raises(CorruptFileError, match="file CRC does not match") as info:
        parse_fit(fit("fit-bad-file-crc.fit"), "f.fit", strict=True)
    assert type(info.value) is CorruptFileError and info.value.offset == 128


def test_fit_truncated_mid_record_keeps_the_whole_records_unless_strict() -> None:
    t = read_track(D / "fit-truncated-mid-record.fit")
    assert len(t) == 4 and t.meta.extra["crc_ok"] is None
    assert t.meta.extra["warnings"] == ["file ends inside a data message (at byte 113)"]
    full = read_track(D / "fit-bad-file-crc.fit")
    np.testing.assert_array_equal(t.lat, full.lat[:4])
    with pytest.raises(TruncatedFileError, match="file ends inside a data message"):
        parse_fit(fit("fit-truncated-mid-record.fit"), strict=True)


def test_fit_definition_redefined_midfile_reads_every_record_exactly() -> None:
    t = read_track(D / "fit-definition-redefined-midfile.fit")
    ref = read_track(D / "base-track.gpx")
    assert len(t) == 10 and t.meta.extra["warnings"] == [] and t.meta.extra["crc_ok"] is True
    np.testing.assert_array_equal(t.epoch_s, ref.epoch_s[:10])
    np.testing.assert_allclose(t.lat, ref.lat[:10], atol=1e-7)  # a semicircle is 8.4e-8 degrees
    np.testing.assert_allclose(t.lon, ref.lon[:10], atol=1e-7)
    assert np.isnan(t.ele_m[5:]).all() and (t.ele_m[:5] == 2600 / 5 - 500).all()


def test_fit_compressed_timestamp_headers_roll_over() -> None:
    t = read_track(D / "fit-compressed-timestamp-header.fit")
    t0 = 1_000_000_000 - 1_000_000_000 % 32 + 28
    np.testing.assert_array_equal(t.epoch_s - FIT_EPOCH_OFFSET, [t0 + 3 * k for k in range(6)])
    assert t.meta.extra["warnings"] == [] and t.meta.extra["crc_ok"] is True


def test_fit_chain_with_compressed_timestamps_in_one_file_only() -> None:
    # regression (found by fuzzing): an IndexError when only some files of a chain had compressed
    # timestamp headers
    t = read_track(D / "fit-chained-compressed-timestamps.fit")
    alone = read_track(D / "fit-compressed-timestamp-header.fit")
    plain = read_track(D / "fit-bad-file-crc.fit")  # the same five records as the plain files
    assert len(t) == 3 + 6 + 2 and t.meta.extra["fit_files"] == 3
    assert t.segment_starts.tolist() == [0, 3, 9]
    np.testing.assert_array_equal(t.epoch_s, np.r_[plain.epoch_s[:3], alone.epoch_s, plain.epoch_s[:2]])
    assert t.meta.extra["warnings"] == [] and t.meta.extra["crc_ok"] is True


def test_fit_latitude_beyond_90_degrees_is_no_position() -> None:
    t = read_track(D / "fit-lat-out-of-range.fit")
    assert len(t) == 4 and t.meta.extra["record_messages"] == 6
    assert t.meta.extra["warnings"] == ["2 record(s) with a latitude outside [-90, 90] left out"]
    assert (np.abs(t.lat) <= 90).all()
    ref = read_track(D / "base-track.gpx")
    np.testing.assert_array_equal(t.epoch_s, ref.epoch_s[[0, 1, 3, 5]])
    assert len(read_route(D / "fit-lat-out-of-range.fit")) == 4  # used to be a ProjectionError


def test_fit_longitude_beyond_180_degrees_is_no_position() -> None:
    # regression (found by fuzzing): a longitude field of base type uint32 goes to fitdecode, which reads
    # 3,000,000,000 semicircles as 251.5 degrees; it used to be kept
    t = read_track(D / "fit-lon-out-of-range-uint32.fit")
    assert len(t) == 3 and t.meta.extra["record_messages"] == 4
    assert t.meta.extra["warnings"] == [
        "decoded with fitdecode: record field 1 with size 4 and base type 0x86",
        "1 record(s) with a longitude outside [-180, 180] left out",
    ]
    assert (np.abs(t.lon) <= 180).all()


@pytest.mark.parametrize("name", sorted(p.name for p in D.iterdir() if p.suffix != ".py" and p.name != "README.md"))
def test_every_defect_file_gives_a_valid_track_or_a_typed_error(name: str) -> None:
    try:
        t = read_file(D / name, max_bytes=MIB).track
    except OffcourseError as exc:
        assert exc.path == str(D / name) and "\n" not in str(exc)
        return
    assert np.isfinite(t.lat).all() and (np.abs(t.lat) <= 90).all() and (np.abs(t.lon) <= 180).all()


# -- coordinates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("lat-out-of-range.gpx", r"trkpt has latitude -90\.5 outside \[-90, 90\]"),
        ("lon-out-of-range.tcx", r"LongitudeDegrees 181 outside \[-180, 180\]"),
        ("lat-out-of-range.geojson", r"LineString: latitude 91\.5 outside \[-90, 90\]"),
        ("nan-coordinates.gpx", r"trkpt has latitude NaN outside \[-90, 90\]"),
        ("nan-coordinates.tcx", r"LongitudeDegrees nan outside \[-180, 180\]"),
        ("nan-coordinates.geojson", r"LineString: longitude nan outside \[-180, 180\]"),
    ],
)
def test_coordinates_out_of_range_or_nan_reject_the_file(name: str, message: str) -> None:
    raises_naming_file(CorruptFileError, D / name, message)
    with pytest.raises(CorruptFileError):
        read_route(D / name)


def test_fixes_at_null_island_are_kept_by_the_reader_and_ignored_by_the_engine(route, base: Report) -> None:  # type: ignore[no-untyped-def]
    track = read_track(D / "null-island-fixes.gpx")
    null = (track.lon == 0) & (track.lat == 0)
    assert len(track) == 126 and int(null.sum()) == 5
    report = check(route, track)
    assert report.ignored_fixes == 5
    assert report.events == base.events


def test_route_points_at_null_island_are_left_out_with_a_warning(route) -> None:  # type: ignore[no-untyped-def]
    assert len(read_track(D / "null-island-route.gpx")) == 19
    r = read_route(D / "null-island-route.gpx")
    assert len(r) == 16 and r.length_m == pytest.approx(route.length_m, abs=1e-6)
    assert r.meta.extra["warnings"] == ["3 point(s) at (0, 0) left out of the route"]
    np.testing.assert_array_equal(r.lon, route.lon)


# -- timestamps ---------------------------------------------------------------------------------------


def test_timestamps_missing_are_nan_and_those_fixes_ignored(route, base: Report) -> None:  # type: ignore[no-untyped-def]
    track = read_track(D / "timestamps-missing.gpx")
    assert len(track) == 127 and int(np.isnan(track.epoch_s).sum()) == 6
    assert track.meta.extra["unparsed_times"] == 1
    assert not track.has_time
    report = check(route, track)
    assert report.ignored_fixes == 6
    assert report.events == base.events


def test_a_recording_without_any_timestamp_is_checked_by_distance_in_recorded_order(route, base: Report) -> None:  # type: ignore[no-untyped-def]
    path = D / "timestamps-none.gpx"
    track = read_track(path)
    assert len(track) == 121 and np.isnan(track.epoch_s).all()
    report = check(route, track)
    # the same wrong turn as the timed recording, found by distance; no time is reported
    assert [e.kind for e in report.excursions] == [e.kind for e in base.excursions]
    for e, b in zip(report.excursions, base.excursions, strict=True):
        assert e.exit_route_m == pytest.approx(b.exit_route_m, abs=30.0)
        assert e.max_offset_m == pytest.approx(b.max_offset_m, abs=10.0)
    assert not report.times_known and any("no time" in w for w in report.warnings)
    d = report_to_dict(report)
    assert d["track"]["times"] == "none" and d["summary"]["time_off_course_s"] is None
    assert all(x["start_time"] is None and x["time_lost_s"] is None for x in d["excursions"])
    assert "None" not in report_to_text(report)


@pytest.mark.parametrize("name", ["timestamps-duplicated.gpx", "timestamps-backwards.gpx"])
def test_fixes_duplicated_or_back_in_time_are_kept_in_file_order_and_ignored(name: str, route, base: Report) -> None:  # type: ignore[no-untyped-def]
    track = read_track(D / name)
    assert len(track) == 126 and track.has_time
    steps = np.diff(track.epoch_s)
    assert int((steps <= 0).sum()) == 5  # readers never sort nor drop fixes for their time
    report = check(route, track)
    assert report.ignored_fixes == 5
    assert report.events == base.events


def test_clock_stepping_back_ignores_the_fixes_until_time_catches_up(route, base: Report) -> None:  # type: ignore[no-untyped-def]
    # documented in detect.py: a fix not later than the last accepted one is ignored. An hour back at
    # fix 100 of 121 (the last 105 s of the run) means the live engine ignores every later fix; the
    # hindsight coverage (positions in recorded order) still sees the runner reach the finish, and
    # the ignored fixes are a warning rather than silence.
    track = read_track(D / "timestamps-clock-steps-back.gpx")
    assert len(track) == 121 and track.epoch_s[100] - track.epoch_s[99] == pytest.approx(5 - 3600)
    report = check(route, track)
    assert report.ignored_fixes == 21
    assert [e.kind for e in report.events] == ["started", "off_course", "back_on_course"]
    assert report.events[:3] == base.events[:3]
    assert report.finish_epoch_s is None and report.finished
    assert any("21 of 121 fixes ignored" in w for w in report.warnings)


WEEKS = 21 * 86400.0


def test_clock_jumping_weeks_gives_the_same_events_weeks_later(route, base: Report) -> None:  # type: ignore[no-untyped-def]
    track = read_track(D / "timestamps-jump-weeks.gpx")
    assert track.epoch_s[40] - track.epoch_s[39] == 5 + WEEKS
    report = check(route, track)
    assert report.ignored_fixes == 0
    assert [e.kind for e in report.events] == [e.kind for e in base.events]
    for got, ref in zip(report.events, base.events, strict=True):
        g, r = got.to_dict(), ref.to_dict()
        for key in r:
            if key.endswith("epoch_s"):  # fix 40, where the clock jumps, is 200 s into the run
                assert g[key] == r[key] + (WEEKS if r[key] >= T0 + 200 else 0.0), key
            else:
                assert g[key] == r[key], key


def test_clock_jumping_weeks_does_not_change_the_time_lost(route, base: Report) -> None:  # type: ignore[no-untyped-def]
    report = check(route, read_track(D / "timestamps-jump-weeks.gpx"))
    assert report.excursions[0].time_lost_s == pytest.approx(base.excursions[0].time_lost_s, abs=1.0)


# -- geometry -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty-track.gpx", "GPX file has no track points, route points or waypoints"),
        ("empty-track.tcx", "TCX file has no trackpoint with a position"),
        ("empty-track.fit", r"no record with a position \(file type: activity; 3 record messages\)"),
    ],
)
def test_empty_track_is_no_geometry(name: str, message: str) -> None:
    raises_naming_file(NoGeometryError, D / name, message)
    for reader in (read_track, read_route):
        with pytest.raises(NoGeometryError) as info:
            reader(D / name)
        assert info.value.path == str(D / name)


@pytest.mark.parametrize(("name", "points"), [("one-point-route.gpx", 1), ("one-point-route-repeated.gpx", 4)])
def test_one_point_route_is_an_invalid_route(name: str, points: int) -> None:
    path = D / name
    assert len(read_track(path)) == points  # a fine recording of one place, but no route
    with pytest.raises(InvalidRouteError, match="route has fewer than two distinct points") as info:
        read_route(path)
    assert info.value.path == str(path) and str(info.value).startswith(f"{path}: ")


def test_recording_from_another_continent_is_a_clear_error(route) -> None:  # type: ignore[no-untyped-def]
    path = D / "other-continent.gpx"
    track = read_track(path)
    assert len(track) == 13 and -73 < track.lon.mean() < -72
    with pytest.raises(InvalidTrackError, match=r"never comes within 50 km of the route") as info:
        check(route, track)
    assert info.value.path == str(path) and str(info.value).startswith(f"{path}: ")


# -- the real corpus ----------------------------------------------------------------------------------


def test_real_fit_files_with_null_island_fixes_keep_them_like_fitdecode() -> None:
    from tests.conftest import corpus_file

    t = read_track(corpus_file("garmin+fit-python-sdk/tests__fits__ActivityDevFields.fit"))
    assert int(((t.lon == 0) & (t.lat == 0)).sum()) == 1 and len(t) == 3601

"""GPX and TCX readers: exact values from small hand-written files, hardening, and the shared corpus."""

from __future__ import annotations

import calendar
import csv
import io
import math
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
from offcourse.read import parse_bytes, read_file
from offcourse.read.gpx import parse_gpx
from offcourse.read.tcx import parse_tcx

DATA = Path(__file__).resolve().parents[1] / "data"
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "data"
NAN = math.nan


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: float = 0.0) -> float:
    return calendar.timegm((y, mo, d, h, mi, 0, 0, 0, 0)) + s


def gpx(body: str, head: str = '<gpx version="1.1" creator="t">') -> bytes:
    return (head + body + "</gpx>").encode()


def read_gpx(data: bytes):  # type: ignore[no-untyped-def]
    return parse_gpx(io.BytesIO(data), "x.gpx")


def eq_nan(a: object, b: object) -> bool:
    return bool(np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True))


# --- GPX: exact values ----------------------------------------------------------------------


def test_gpx11_tracks_segments_times_elevation_hdop_waypoints() -> None:
    pf = read_file(DATA / "gpx11-garmin-extensions-two-tracks.gpx")
    t = pf.track
    assert t.lat.tolist() == [45.9237, 45.9240, -45.5, 0.0]
    assert t.lon.tolist() == [6.8694, 6.8700, -179.5, 180.0]
    assert eq_nan(t.ele_m, [1035.5, 1036.0, NAN, -3.0])
    # Z, +02:00 with fractional seconds, no zone (taken as UTC), missing
    assert eq_nan(t.epoch_s, [utc(2024, 8, 30, 16), utc(2024, 8, 30, 16, 0, 1.25), utc(2024, 8, 30, 16, 0, 5), NAN])
    assert eq_nan(t.hdop, [1.5, NAN, NAN, NAN])
    assert np.isnan(t.hacc_m).all()
    # two trkseg in the first trk, an empty trkseg, a second trk
    assert t.segment_starts.tolist() == [0, 2, 3]
    assert t.segment_starts.dtype == np.int64 and t.epoch_s.dtype == np.float64
    m = t.meta
    assert (m.format, m.name, m.creator, m.kind, m.sport) == (
        "gpx",
        "Morning Trail",
        "Garmin Connect",
        "track",
        "running",
    )
    assert m.extra["version"] == "1.1" and m.extra["tracks"] == 2
    assert m.path is not None and m.path.endswith("gpx11-garmin-extensions-two-tracks.gpx")
    assert len(pf.waypoints) == 1
    w = pf.waypoints[0]
    assert (w.name, w.lat, w.lon, w.ele_m, w.epoch_s, w.kind) == (
        "Chamonix",
        45.9237,
        6.8694,
        1035.0,
        utc(2024, 8, 30, 16),
        "Flag",
    )


def test_gpx10_route_points_and_gpx_name() -> None:
    pf = read_file(DATA / "gpx10-route-with-waypoints.gpx")
    t = pf.track
    assert t.lat.tolist() == [55.90, 55.91, 55.92]
    assert t.lon.tolist() == [-3.20, -3.21, -3.22]
    assert eq_nan(t.ele_m, [200, 250, NAN])
    assert np.isnan(t.epoch_s).all() and not t.has_time
    assert t.segment_starts.tolist() == [0, 2]  # each rte is a segment
    assert (t.meta.kind, t.meta.name, t.meta.extra["version"], t.meta.extra["routes"]) == (
        "route",
        "Allermuir loop",
        "1.0",
        2,
    )
    assert [(w.name, w.kind, w.ele_m) for w in pf.waypoints] == [("Allermuir Hill", "summit", 493.0)]


def test_gpx_track_wins_over_route_and_says_so() -> None:
    t = read_file(DATA / "gpx-track-and-route.gpx").track
    assert t.lat.tolist() == [10.0, 11.0]
    assert t.meta.kind == "track"
    assert t.meta.extra["ignored_route_points"] == 3
    assert t.meta.name == "Planned"  # rte/name is the only name there is


def test_gpx_name_falls_back_to_trk_name() -> None:
    t = read_gpx(gpx('<trk><name>Leg 1</name><trkseg><trkpt lat="1" lon="2"/></trkseg></trk>')).track
    assert t.meta.name == "Leg 1"


def test_gpx_waypoints_only_gives_empty_track() -> None:
    pf = read_file(DATA / "gpx-waypoints-only.gpx")
    assert len(pf.track) == 0 and pf.track.segment_starts.tolist() == []
    assert pf.track.meta.kind == "waypoints"
    assert [(w.name, w.lat, w.lon) for w in pf.waypoints] == [("Skiddaw", 54.5, -3.1), ("Blencathra", 54.6, -3.2)]
    assert pf.waypoints[0].ele_m == 931.0 and math.isnan(pf.waypoints[1].ele_m)


@pytest.mark.parametrize(
    "body",
    ["", "<metadata><name>x</name></metadata>", "<trk><trkseg></trkseg></trk>", "<rte><name>r</name></rte>"],
)
def test_gpx_without_points_is_no_geometry(body: str) -> None:
    with pytest.raises(NoGeometryError):
        read_gpx(gpx(body))


def test_gpx_without_namespace_and_any_prefix_for_the_gpx_namespace() -> None:
    doc = (
        b'<g:gpx xmlns:g="http://www.topografix.com/GPX/1/1" version="1.1"><g:trk><g:trkseg>'
        b'<g:trkpt lat="1.5" lon="2.5"><g:ele>7</g:ele></g:trkpt></g:trkseg></g:trk></g:gpx>'
    )
    t = read_gpx(doc).track
    assert (t.lat.tolist(), t.lon.tolist(), t.ele_m.tolist()) == ([1.5], [2.5], [7.0])


def test_gpx_extension_elements_named_like_gpx_elements_are_ignored() -> None:
    body = (
        '<trk><trkseg><trkpt lat="1" lon="2"><ele>5</ele><extensions><x:ele>99</x:ele><x:time>junk</x:time>'
        '<x:wpt lat="3" lon="4"/></extensions></trkpt></trkseg>'
        '<extensions><x:trkpt lat="8" lon="8"/></extensions></trk>'
    )
    pf = read_gpx(gpx(body, '<gpx version="1.1" xmlns:x="urn:x">'))
    assert pf.track.lat.tolist() == [1.0] and pf.track.ele_m.tolist() == [5.0]
    assert np.isnan(pf.track.epoch_s).all() and pf.waypoints == ()


def test_gpx_unparseable_time_is_nan_and_counted() -> None:
    body = '<trk><trkseg><trkpt lat="1" lon="2"><time>not a time</time></trkpt><trkpt lat="1" lon="2"/></trkseg></trk>'
    t = read_gpx(gpx(body)).track
    assert np.isnan(t.epoch_s).all()
    assert t.meta.extra["unparsed_times"] == 1


def test_gpx_cdata_and_entities_in_names() -> None:
    body = '<metadata><name><![CDATA[Tour & Co]]> &amp; &#233;</name></metadata><wpt lat="1" lon="2"/>'
    assert read_gpx(gpx(body)).track.meta.name == "Tour & Co & \u00e9"


def test_gpx_utf16_with_bom() -> None:
    doc = '<?xml version="1.0" encoding="UTF-16"?><gpx version="1.1">'
    doc += '<wpt lat="1" lon="2"><name>\u00e9t\u00e9</name></wpt></gpx>'
    pf = read_gpx(doc.encode("utf-16"))
    assert pf.waypoints[0].name == "\u00e9t\u00e9"


def test_gpx_latin1_declared_encoding() -> None:
    doc = '<?xml version="1.0" encoding="ISO-8859-1"?>'
    doc += '<gpx><metadata><name>Cr\u00eate</name></metadata><wpt lat="1" lon="2"/></gpx>'
    assert read_gpx(doc.encode("latin-1")).track.meta.name == "Cr\u00eate"


def test_gpx_junk_after_root_is_ignored() -> None:
    t = read_gpx(gpx('<trk><trkseg><trkpt lat="1" lon="2"/></trkseg></trk>') + b"\n\x00\x00garbage").track
    assert t.lat.tolist() == [1.0]


def test_gpx_external_dtd_is_not_loaded() -> None:
    doc = b'<?xml version="1.0"?><!DOCTYPE gpx SYSTEM "http://invalid.example/gpx.dtd">'
    doc += b'<gpx><wpt lat="1" lon="2"/></gpx>'
    assert len(read_gpx(doc).waypoints) == 1


# --- GPX: tolerance of what real software writes ---------------------------------------------


def test_strava_undeclared_prefix_and_bom_are_read() -> None:
    data = (DATA / "gpx11-undeclared-strava-prefix-bom.gpx").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"gpxdata:cadence" in data and b"xmlns:gpxdata" not in data
    pf = parse_bytes(data, "strava.gpx")
    t = pf.track
    assert t.lat.tolist() == [45.028825, 45.028830]
    assert t.lon.tolist() == [5.472559, 5.472560]
    assert t.ele_m.tolist() == [1299.0, 1300.0]
    assert t.epoch_s.tolist() == [utc(2020, 12, 25, 20, 40, 26), utc(2020, 12, 25, 20, 40, 27)]
    assert (t.meta.creator, t.meta.name, t.meta.sport) == ("StravaGPX", "Strava run", "9")


def test_whitespace_before_xml_declaration() -> None:
    t = read_gpx(b'\r\n  \t<?xml version="1.0"?>' + gpx('<wpt lat="1" lon="2"/>')).waypoints
    assert len(t) == 1


# --- GPX: refused input -----------------------------------------------------------------------


def test_xxe_external_entity_is_refused() -> None:
    with pytest.raises(CorruptFileError, match="entity declarations are not allowed"):
        read_file(DATA / "gpx-xxe-external-entity.gpx")


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(CorruptFileError, match="entity declarations are not allowed"):
        read_file(DATA / "gpx-billion-laughs.gpx")


def test_latitude_91_is_refused() -> None:
    with pytest.raises(CorruptFileError, match=r"latitude 91\.000000 outside \[-90, 90\]"):
        read_file(DATA / "gpx-latitude-91.gpx")


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ('lat="45" lon="180.5"', "longitude 180.5 outside"),
        ('lat="-90.01" lon="0"', "latitude -90.01 outside"),
        ('lat="nan" lon="0"', "latitude nan outside"),
        ('lat="abc" lon="0"', "non-numeric lat 'abc'"),
        ('lon="0"', "without a lat attribute"),
        ('lat="0" lon=""', "non-numeric lon ''"),
    ],
)
def test_bad_coordinates_are_refused(attrs: str, message: str) -> None:
    with pytest.raises(CorruptFileError, match=message):
        read_gpx(gpx(f"<trk><trkseg><trkpt {attrs}/></trkseg></trk>"))


def test_bad_waypoint_coordinates_are_refused() -> None:
    with pytest.raises(CorruptFileError, match="wpt has latitude 100"):
        read_gpx(gpx('<wpt lat="100" lon="0"/>'))


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", CorruptFileError, "empty XML document"),
        (b"  \n\xef\xbb\xbf ", CorruptFileError, "empty XML document"),
        (b"<foo", TruncatedFileError, "ends inside a tag"),
        (b'<gpx><trk><trkseg><trkpt lat="1" lon="2"/>', TruncatedFileError, "ends before its root element closes"),
        (b"<gpx><trk></gpx>", CorruptFileError, "mismatched tag"),
        (b"<gpx>&undefined;</gpx>", CorruptFileError, "undefined entity"),
        (b"<TrainingCenterDatabase/>", CorruptFileError, "root element is <TrainingCenterDatabase>"),
        (b"not xml at all", CorruptFileError, "malformed XML"),
    ],
)
def test_broken_xml_gives_typed_errors(data: bytes, error: type[OffcourseError], message: str) -> None:
    with pytest.raises(error, match=message) as info:
        read_gpx(data)
    assert info.value.path == "x.gpx"


def test_broken_xml_reports_byte_offset_after_skipped_whitespace() -> None:
    with pytest.raises(CorruptFileError) as info:
        read_gpx(b"   <gpx><a></b></gpx>")
    assert info.value.offset == 3 + len(b"<gpx><a></")  # expat points at the mismatched name


def test_every_truncation_of_a_gpx_gives_points_or_a_typed_error() -> None:
    data = (DATA / "gpx11-garmin-extensions-two-tracks.gpx").read_bytes()
    outcomes: set[int | str] = set()
    for cut in range(0, len(data), 7):
        try:
            outcomes.add(len(read_gpx(data[:cut]).track))
        except OffcourseError as exc:
            outcomes.add(type(exc).__name__)
    assert {"CorruptFileError", "TruncatedFileError"} <= outcomes


# --- TCX ----------------------------------------------------------------------------------


def test_tcx_activity_with_leading_whitespace() -> None:
    pf = read_file(DATA / "tcx-activity-whitespace-before-declaration.tcx")
    t = pf.track
    assert t.lat.tolist() == [47.19740667, 47.2]
    assert t.lon.tolist() == [-1.59416333, -1.6]
    assert eq_nan(t.ele_m, [4.572, NAN])
    assert t.epoch_s.tolist() == [utc(2016, 9, 12, 11, 19, 56), utc(2016, 9, 12, 11, 19, 58.5)]
    assert t.segment_starts.tolist() == [0, 1]  # each Track is a segment
    m = t.meta
    assert (m.format, m.kind, m.sport, m.device, m.creator) == (
        "tcx",
        "activity",
        "Running",
        "Forerunner 945",
        "Garmin Connect API",
    )
    assert m.extra["trackpoints_without_position"] == 1
    assert m.extra["activity_id"] == "2016-09-12T11:19:55.000Z"
    assert pf.waypoints == ()


def test_tcx_course_with_course_points() -> None:
    pf = read_file(DATA / "tcx-course-with-coursepoints.tcx")
    t = pf.track
    assert t.lat.tolist() == [34.1738977, 34.174]  # the Lap's BeginPosition is not a point
    assert t.lon.tolist() == [-118.7588, -118.759]
    assert eq_nan(t.ele_m, [268.5, NAN])
    assert t.epoch_s.tolist() == [utc(2008, 8, 21, 13, 8, 52), utc(2008, 8, 21, 13, 9, 2)]
    assert (t.meta.kind, t.meta.name, t.meta.sport, t.meta.device) == ("course", "ThursRide", None, None)
    assert len(pf.waypoints) == 1
    w = pf.waypoints[0]
    assert (w.name, w.kind, w.lat, w.lon, w.ele_m, w.epoch_s) == (
        "Water",
        "Water",
        34.1739,
        -118.7589,
        270.0,
        utc(2008, 8, 21, 13, 9, 0),
    )


def _tcx(track: str) -> bytes:
    return (
        '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
        f'<Activities><Activity Sport="Biking"><Lap><Track>{track}</Track></Lap></Activity></Activities>'
        "</TrainingCenterDatabase>"
    ).encode()


def _tp(lat: str, lon: str) -> str:
    position = f"<LatitudeDegrees>{lat}</LatitudeDegrees><LongitudeDegrees>{lon}</LongitudeDegrees>"
    return f"<Trackpoint><Position>{position}</Position></Trackpoint>"


@pytest.mark.parametrize(
    ("track", "message"),
    [
        (_tp("91", "0"), "LatitudeDegrees 91 outside"),
        (_tp("0", "-181"), "LongitudeDegrees -181 outside"),
        (_tp("x", "0"), "LatitudeDegrees is not a number"),
        (
            "<Trackpoint><Position><LatitudeDegrees>1</LatitudeDegrees></Position></Trackpoint>",
            "without LongitudeDegrees",
        ),
    ],
)
def test_tcx_bad_positions_are_refused(track: str, message: str) -> None:
    with pytest.raises(CorruptFileError, match=message):
        parse_tcx(io.BytesIO(_tcx(track)))


def test_tcx_without_positions_is_no_geometry() -> None:
    with pytest.raises(NoGeometryError):
        parse_tcx(io.BytesIO(_tcx("<Trackpoint><Time>2020-01-01T00:00:00Z</Time></Trackpoint>")))


def test_tcx_root_must_be_training_center_database() -> None:
    with pytest.raises(CorruptFileError, match="not <TrainingCenterDatabase>"):
        parse_tcx(io.BytesIO(gpx('<wpt lat="1" lon="2"/>')))


def test_tcx_entities_are_refused() -> None:
    doc = b'<!DOCTYPE t [<!ENTITY e "x">]>' + _tcx(_tp("1", "2"))
    with pytest.raises(CorruptFileError, match="entity declarations are not allowed"):
        parse_tcx(io.BytesIO(doc))


# --- Large file: bounded work, correct values -----------------------------------------------


def test_large_gpx_is_read_exactly() -> None:
    n = 20000
    pts = "".join(
        f'<trkpt lat="{45 + i * 1e-5:.5f}" lon="{6 + i * 1e-5:.5f}"><ele>{i % 100}</ele>'
        f"<time>2024-08-30T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z</time>"
        "<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>140</gpxtpx:hr></gpxtpx:TrackPointExtension></extensions>"
        "</trkpt>"
        for i in range(n)
    )
    head = '<gpx version="1.1" xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
    t = read_gpx(gpx(f"<trk><trkseg>{pts}</trkseg></trk>", head)).track
    assert len(t) == n
    assert np.array_equal(np.diff(t.epoch_s), np.ones(n - 1))
    assert t.epoch_s[0] == utc(2024, 8, 30)
    assert t.ele_m[12345] == 45.0 and t.lat[12345] == pytest.approx(45.12345)


# --- Same activity in two formats --------------------------------------------------------------


def _need(*paths: Path) -> None:
    for p in paths:
        if not p.exists():
            pytest.skip(f"shared corpus file absent: {p}")


def test_sports_lib_same_activity_gpx_and_tcx_agree() -> None:
    g = CORPUS / "sports-alliance+sports-lib" / "src__specs__fixtures__runs__gpx__6782987395.gpx"
    x = CORPUS / "sports-alliance+sports-lib" / "src__specs__fixtures__runs__tcx__6782987395.tcx"
    _need(g, x)
    tg, tx = read_file(g).track, read_file(x).track
    assert (len(tg), len(tx)) == (4967, 4968)
    # join on timestamps: every GPX fix has a TCX fix at the same second and the same position
    common, ig, ix = np.intersect1d(tg.epoch_s, tx.epoch_s, return_indices=True)
    assert len(common) >= 4960
    assert np.abs(tg.lat[ig] - tx.lat[ix]).max() < 1e-6
    assert np.abs(tg.lon[ig] - tx.lon[ix]).max() < 1e-6
    assert tx.meta.device == "Forerunner 945"


@pytest.mark.parametrize(
    ("fit_name", "gpx_name", "tolerance_deg"),
    [
        ("reference__track__garmin-edge-800.fit", "reference__track__garmin-edge-800-output.gpx", 1e-6),
        # GPSBabel's GPX has two fixes sharing a second with a neighbour: those differ by ~1 m
        (
            "reference__track__lezyne_super_gps-garmin_fit-sample-bad-endian.fit",
            "reference__track__lezyne_super_gps-garmin_fit-sample-bad-endian.gpx",
            2e-5,
        ),
    ],
)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_fit_and_its_gpsbabel_gpx_agree(fit_name: str, gpx_name: str, tolerance_deg: float) -> None:
    fitdecode = pytest.importorskip("fitdecode")
    f, g = CORPUS / "GPSBabel+gpsbabel" / fit_name, CORPUS / "GPSBabel+gpsbabel" / gpx_name
    _need(f, g)
    fixes: dict[float, tuple[float, float]] = {}
    try:
        with fitdecode.FitReader(str(f), check_crc=fitdecode.CrcCheck.DISABLED) as reader:
            for frame in reader:
                if not isinstance(frame, fitdecode.FitDataMessage) or frame.name != "record":
                    continue
                lat = frame.get_value("position_lat", fallback=None)
                lon = frame.get_value("position_long", fallback=None)
                ts = frame.get_value("timestamp", fallback=None)
                if lat is None or lon is None or ts is None:
                    continue
                fixes[ts.timestamp()] = (lat * 180.0 / 2**31, lon * 180.0 / 2**31)
    except ValueError:  # fitdecode stops at the end of the bad-endian Lezyne file (see MANIFEST notes)
        pass
    assert len(fixes) > 500
    t = read_file(g).track
    assert t.has_time
    matched = [
        (fixes[s], (la, lo))
        for s, la, lo in zip(t.epoch_s.tolist(), t.lat.tolist(), t.lon.tolist(), strict=True)
        if s in fixes
    ]
    assert len(matched) >= 0.99 * len(t)
    err = np.array([max(abs(a[0] - b[0]), abs(a[1] - b[1])) for a, b in matched])
    assert np.median(err) < 1e-6  # GPSBabel writes 9 decimals
    assert err.max() < tolerance_deg


# --- The shared corpus ----------------------------------------------------------------------

# Files whose outcome differs from the manifest's "points" column, and why.
_EXPECTED: dict[str, int | type[Exception]] = {
    # gpx-invalid in the manifest but readable: undeclared namespace prefix (+ BOM)
    "gpxstudio+gpx.studio/gpx__test-data__with_power_2.gpx": 80,
    "sports-alliance+sports-lib/src__specs__fixtures__runs__gpx__6037744996.gpx": 4040,
    "sports-alliance+sports-lib/src__specs__fixtures__runs__gpx__6048438275.gpx": 4343,
    # whitespace before the XML declaration
    "sports-alliance+sports-lib/src__specs__fixtures__runs__tcx__6281425038.tcx": 1545,
    # the manifest counts trkpt + rtept; the track wins over the routes here
    "tkrajina+gpxpy/test_files__gpx1.0_with_all_fields.gpx": 1,
    "tkrajina+gpxpy/test_files__gpx1.1_with_all_fields.gpx": 1,
    "tkrajina+gpxpy/test_files__track_with_dilution_errors.gpx": 1,
    # genuinely broken
    "Jsilva703+UTMB_TRAIL/spec__fixtures__files__external_entity.gpx": CorruptFileError,
    "Jsilva703+UTMB_TRAIL/spec__fixtures__files__invalid_coordinates.gpx": CorruptFileError,
    "mshroyer+coursepointer/integration__src__integration__data__invalid_bad_xml.gpx": UnknownFormatError,
    "mshroyer+coursepointer/integration__src__integration__data__invalid_empty.gpx": UnknownFormatError,
}


def _corpus_rows() -> list[dict[str, str]]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    with open(manifest, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [r for r in rows if r["kind"].startswith(("gpx", "tcx", "json", "geojson"))]


_ROWS = _corpus_rows()


@pytest.mark.skipif(not _ROWS, reason=f"shared corpus absent ({CORPUS / 'MANIFEST.tsv'})")
@pytest.mark.parametrize("row", _ROWS, ids=[r["local_path"] for r in _ROWS])
def test_corpus_file_point_count(row: dict[str, str]) -> None:
    path = CORPUS / row["local_path"]
    _need(path)
    expected = _EXPECTED.get(row["local_path"])
    if expected is None:
        if row["kind"] == "gpx-empty" or (row["points"] == "0" and row["kind"] != "gpx-waypoints"):
            expected = NoGeometryError
        else:
            assert row["points"], f"manifest has no point count for {row['local_path']}"
            expected = int(row["points"])
    if isinstance(expected, int):
        pf = read_file(path)
        assert len(pf.track) == expected
        t = pf.track
        assert len(t.segment_starts) == 0 or t.segment_starts[0] == 0
        assert np.all(np.diff(t.segment_starts) > 0)
        assert np.all(np.abs(t.lat) <= 90) and np.all(np.abs(t.lon) <= 180)
        if row["kind"] == "gpx-waypoints":
            assert pf.waypoints and t.meta.kind == "waypoints"
    else:
        with pytest.raises(expected):
            read_file(path)

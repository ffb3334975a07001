"""GeoJSON and LiveTrail JSON readers: exact values from small hand-written documents."""

from __future__ import annotations

import calendar
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from offcourse.errors import CorruptFileError, NoGeometryError, UnknownFormatError
from offcourse.read import parse_bytes, read_file
from offcourse.read.geojson import parse_geojson
from offcourse.read.livetrail import parse_livetrail

DATA = Path(__file__).resolve().parents[1] / "data"
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "data"
NAN = math.nan


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: float = 0.0) -> float:
    return calendar.timegm((y, mo, d, h, mi, 0, 0, 0, 0)) + s


def eq_nan(a: object, b: object) -> bool:
    return bool(np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True))


def gj(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def test_feature_collection_with_coord_times_points_and_multilinestring() -> None:
    pf = read_file(DATA / "geojson-featurecollection-coordtimes-and-points.geojson")
    t = pf.track
    assert t.lon.tolist() == [6.8694, 6.8700, 7.0, 7.1, -180.0]
    assert t.lat.tolist() == [45.9237, 45.9240, 46.0, 46.1, -90.0]
    assert eq_nan(t.ele_m, [1035.0, 1036.5, NAN, NAN, NAN])
    assert eq_nan(t.epoch_s, [utc(2024, 8, 30, 16), utc(2024, 8, 30, 16, 0, 1.5), NAN, NAN, NAN])
    assert t.segment_starts.tolist() == [0, 2, 4]
    assert (t.meta.format, t.meta.kind, t.meta.name) == ("geojson", "track", "Morning run")
    assert [(w.name, w.lon, w.lat, w.ele_m) for w in pf.waypoints] == [("Col de Voza", 6.7636, 45.8836, 1653.0)]


def test_geometry_collection_without_times_is_a_route() -> None:
    pf = read_file(DATA / "geojson-geometrycollection-no-times.geojson")
    t = pf.track
    assert t.lon.tolist() == [1.0, 1.1, 1.2] and t.lat.tolist() == [2.0, 2.1, 2.2]
    assert np.isnan(t.epoch_s).all() and np.isnan(t.ele_m).all()
    assert t.meta.kind == "route"
    assert t.meta.extra["ignored_geometries"] == ["Polygon"]
    assert [(w.name, w.lon, w.lat) for w in pf.waypoints] == [("", 1.5, 2.5)]


def test_bare_linestring_and_feature() -> None:
    t = parse_geojson(gj({"type": "LineString", "coordinates": [[1, 2], [3, 4, 5]]})).track
    assert (t.lon.tolist(), t.lat.tolist()) == ([1.0, 3.0], [2.0, 4.0])
    assert eq_nan(t.ele_m, [NAN, 5.0])
    feat = {
        "type": "Feature",
        "properties": None,
        "geometry": {"type": "MultiLineString", "coordinates": [[[1, 2]], [], [[3, 4]]]},
    }
    t = parse_geojson(gj(feat)).track
    assert t.segment_starts.tolist() == [0, 1]


def test_multilinestring_coord_times_as_list_of_lists_and_epoch_milliseconds() -> None:
    feat = {
        "type": "Feature",
        "properties": {"coordTimes": [["1970-01-01T00:00:01Z"], [5000000000000]]},
        "geometry": {"type": "MultiLineString", "coordinates": [[[1, 2]], [[3, 4]]]},
    }
    assert parse_geojson(gj(feat)).track.epoch_s.tolist() == [1.0, 5e9]


def test_coord_times_of_the_wrong_length_are_ignored() -> None:
    feat = {
        "type": "Feature",
        "properties": {"coordTimes": ["1970-01-01T00:00:01Z"]},
        "geometry": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]},
    }
    t = parse_geojson(gj(feat)).track
    assert np.isnan(t.epoch_s).all() and t.meta.kind == "route"


def test_points_only_gives_empty_track_and_waypoints() -> None:
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"label": "A", "type": "aid"},
                "geometry": {"type": "Point", "coordinates": [1, 2]},
            },
            {
                "type": "Feature",
                "properties": {"name": 7},
                "geometry": {"type": "MultiPoint", "coordinates": [[3, 4], [5, 6]]},
            },
        ],
    }
    pf = parse_geojson(gj(fc))
    assert len(pf.track) == 0 and pf.track.meta.kind == "waypoints"
    assert [(w.name, w.lon, w.lat, w.kind) for w in pf.waypoints] == [
        ("A", 1.0, 2.0, "aid"),
        ("7", 3.0, 4.0, None),
        ("7", 5.0, 6.0, None),
    ]


def test_utf8_bom_is_accepted() -> None:
    t = parse_geojson(b"\xef\xbb\xbf" + gj({"type": "LineString", "coordinates": [[1, 2]]})).track
    assert t.lon.tolist() == [1.0]


@pytest.mark.parametrize(
    ("obj", "error", "message"),
    [
        ({"type": "FeatureCollection", "features": []}, NoGeometryError, "no LineString"),
        ({"type": "Feature", "geometry": None}, NoGeometryError, "no LineString"),
        ({"type": "LineString", "coordinates": [[1, 91]]}, CorruptFileError, "latitude 91 outside"),
        ({"type": "LineString", "coordinates": [[181, 0]]}, CorruptFileError, "longitude 181 outside"),
        ({"type": "LineString", "coordinates": [["1", 0]]}, CorruptFileError, "non-numeric"),
        ({"type": "LineString", "coordinates": [[True, 0]]}, CorruptFileError, "non-numeric"),
        ({"type": "LineString", "coordinates": [[1]]}, CorruptFileError, "not a list of 2 or 3"),
        ({"type": "LineString", "coordinates": 5}, CorruptFileError, "not a list"),
        ({"type": "FeatureCollection"}, CorruptFileError, "without a features list"),
        ({"type": "FeatureCollection", "features": [3]}, CorruptFileError, "not an object"),
        ({"type": "Feature", "geometry": {"type": "Circle"}}, CorruptFileError, "unknown geometry type"),
        ({"type": "Topology"}, UnknownFormatError, "not GeoJSON"),
        ([1, 2], UnknownFormatError, "not GeoJSON"),
    ],
)
def test_bad_geojson_gives_typed_errors(obj: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_geojson(gj(obj), "x.geojson")


@pytest.mark.parametrize("data", [b"", b"{", b'{"type": "LineString",}', b"\xff\xfe\x00", b"[" * 100000])
def test_bad_json_is_corrupt(data: bytes) -> None:
    with pytest.raises(CorruptFileError):
        parse_geojson(data)


def test_nan_in_json_is_refused() -> None:
    with pytest.raises(CorruptFileError, match="latitude nan"):
        parse_geojson(b'{"type": "LineString", "coordinates": [[1, NaN]]}')


# --- LiveTrail --------------------------------------------------------------------------------

_LT = {
    "bounds": [{"lng": 7.1, "lat": 46.0}, {"lng": 6.7, "lat": 45.7}],
    "segments": [
        {
            "id": "a",
            "name": "TODO",
            "segment": [
                [0, 1045, [6.86912, 45.9236], [0, 0], -1, "R"],
                [8, 1044.5, [6.86921, 45.92356], [0, 1], -1, "R"],
            ],
        },
        {"id": "b", "name": "second", "segment": [[20, 1040, [6.8693, 45.9235], [0, 5], -2, "T"]]},
        {"id": "c", "name": "empty", "segment": []},
    ],
    "stats": {"distance": 20, "elevationGain": 0, "terrain": {"R": 8}},
}


def test_livetrail_points_segments_and_distance() -> None:
    pf = parse_livetrail(gj(_LT), "utmb.json")
    t = pf.track
    assert t.lon.tolist() == [6.86912, 6.86921, 6.8693]
    assert t.lat.tolist() == [45.9236, 45.92356, 45.9235]
    assert t.ele_m.tolist() == [1045.0, 1044.5, 1040.0]
    assert np.isnan(t.epoch_s).all()
    assert t.segment_starts.tolist() == [0, 2]
    assert (t.meta.format, t.meta.kind) == ("livetrail", "route")
    assert t.meta.extra["distance_m"].tolist() == [0.0, 8.0, 20.0]
    assert t.meta.extra["stats"] == {"distance": 20, "elevationGain": 0}
    assert pf.waypoints == ()


def test_livetrail_checkpoints_become_waypoints() -> None:
    doc = dict(_LT, pois=[{"name": "Les Houches", "lat": 45.89, "lng": 6.80, "ele": 1008, "type": "ravito"}])
    (w,) = parse_livetrail(gj(doc)).waypoints
    assert (w.name, w.lat, w.lon, w.ele_m, w.kind) == ("Les Houches", 45.89, 6.80, 1008.0, "ravito")


def test_livetrail_is_dispatched_from_bytes() -> None:
    assert len(parse_bytes(gj(_LT), "x.json").track) == 3


def test_geojson_beyond_the_sniffed_head_is_still_read() -> None:
    doc = b'{"crs": "' + b"x" * 5000 + b'", "type": "LineString", "coordinates": [[1, 2], [3, 4]]}'
    t = parse_bytes(doc, "late-type.json").track
    assert t.meta.format == "geojson" and len(t) == 2


@pytest.mark.parametrize(
    ("obj", "error", "message"),
    [
        ({"foo": 1}, UnknownFormatError, "neither GeoJSON nor a LiveTrail"),
        ({"segments": [{"segment": [[0, 1, [200, 0]]]}]}, CorruptFileError, "longitude 200"),
        ({"segments": [{"segment": [[0, 1]]}]}, CorruptFileError, "not \\[distance"),
        ({"segments": [{"segment": [[0, 1, ["a", 0]]]}]}, CorruptFileError, "non-numeric"),
        ({"segments": [{"segment": []}]}, NoGeometryError, "without points"),
        ({"segments": [3]}, UnknownFormatError, "neither"),
    ],
)
def test_bad_livetrail_gives_typed_errors(obj: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_livetrail(gj(obj))


def test_utmb_livetrail_2025_matches_its_own_stats() -> None:
    p = CORPUS / "MagicTrailRun+TrailPacer2025" / "data__TrailPacer__UTMB__UTMB__tracks__track_2025.json"
    if not p.exists():
        pytest.skip(f"shared corpus file absent: {p}")
    t = read_file(p).track
    assert len(t) == 14154
    # the cumulative distance of the last point is the document's 3-D distance
    assert t.meta.extra["distance_m"][-1] == 174670
    assert t.lat.min() > 45.6 and t.lat.max() < 46.1 and t.lon.min() > 6.7 and t.lon.max() < 7.2
    assert abs(np.nanmin(t.ele_m) - 810) < 1 and abs(np.nanmax(t.ele_m) - 2538) < 1

"""KML and KMZ: routes from lines, recordings from gx:Track, placemarks as checkpoints, hardened XML."""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from offcourse.cli import main
from offcourse.errors import ArchiveError, CorruptFileError, NoGeometryError, UnknownFormatError
from offcourse.read import detect_format, parse_bytes, read_file, read_route, read_track
from offcourse.read.kml import parse_kml
from tests.conftest import REPO

K = REPO / "tests" / "data" / "kml"
T0 = 1714543200.0  # 2024-05-01T06:00:00Z


def _kmz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_kml_route_lines_are_segments_and_placemarks_checkpoints() -> None:
    pf = read_file(K / "route-multigeometry.kml")
    t = pf.track
    assert t.meta.format == "kml" and t.meta.kind == "route" and t.meta.name == "Synthetic loop"
    assert t.lon.tolist() == [7.0, 7.005, 7.01, 7.01, 7.01]
    assert t.lat.tolist() == [46.0, 46.0, 46.0, 46.0, 46.005]
    assert np.isnan(t.ele_m[:3]).all() and t.ele_m[3:].tolist() == [1500.0, 1510.0]  # all-0 altitudes: none
    assert np.isnan(t.epoch_s).all()
    assert t.segment_starts.tolist() == [0, 3]
    assert [(w.name, w.lon, w.lat) for w in pf.waypoints] == [("Start", 7.0, 46.0), ("Col", 7.01, 46.0)]
    assert math.isnan(pf.waypoints[0].ele_m) and pf.waypoints[1].ele_m == 1500.0


def test_kml_route_reads_as_a_route_with_checkpoints_located() -> None:
    route = read_route(K / "route-multigeometry.kml")
    assert 1300 < route.length_m < 1400  # 0.01 deg of longitude at 46 N is 774 m, 0.005 of latitude 556 m
    assert [c.name for c in route.checkpoints] == ["Start", "Col"]


def test_gx_track_times_pair_with_coords() -> None:
    t = read_track(K / "track-gx.kml")
    assert t.meta.kind == "track" and t.meta.name == "Morning run"
    assert (t.epoch_s - T0).tolist() == [0.0, 1.0, 2.0, 600.0]  # 08:00:02+02:00 is 06:00:02Z
    assert t.lon.tolist() == [7.0, 7.00001, 7.00002, 7.001]
    assert t.ele_m.tolist() == [1000.0, 1001.0, 1002.5, 1010.0]
    assert t.segment_starts.tolist() == [0, 3]
    assert t.meta.extra["ignored_line_points"] == 2 and t.meta.extra["tracks"] == 2


def test_gx_track_with_fewer_times_than_coords_warns() -> None:
    doc = b"""<kml><Placemark><gx:Track><when>2024-05-01T06:00:00Z</when>
      <gx:coord>7 46 0</gx:coord><gx:coord>7.1 46 0</gx:coord></gx:Track></Placemark></kml>"""
    t = parse_bytes(doc, "x.kml").track
    assert t.epoch_s[0] == T0 and math.isnan(t.epoch_s[1])
    assert "1 gx:Track(s) without as many <when> as <gx:coord>" in t.meta.extra["warnings"][0]


def test_kml_without_times_reads_as_a_route_like_recording() -> None:
    t = read_track(K / "route-multigeometry.kml")
    assert len(t) == 5 and np.isnan(t.epoch_s).all()


@pytest.mark.parametrize(
    ("doc", "error", "message"),
    [
        (
            b"<kml><Placemark><Point><coordinates>7,91</coordinates></Point></Placemark></kml>",
            CorruptFileError,
            "coordinates 91 outside \\[-90, 90\\]",
        ),
        (
            b"<kml><Placemark><LineString><coordinates>x,1 2,3</coordinates></LineString></Placemark></kml>",
            CorruptFileError,
            "coordinates is not a number: 'x'",
        ),
        (
            b"<kml><Placemark><LineString><coordinates>7 8</coordinates></LineString></Placemark></kml>",
            CorruptFileError,
            "is not lon,lat",
        ),
        (
            b"<kml><Placemark><gx:Track><gx:coord>200 1 0</gx:coord></gx:Track></Placemark></kml>",
            CorruptFileError,
            "gx:coord 200 outside \\[-180, 180\\]",
        ),
        (b"<kml><Document><name>empty</name></Document></kml>", NoGeometryError, "no LineString, gx:Track or Point"),
        (
            b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x "y">]><kml>&x;</kml>',
            CorruptFileError,
            "entity declarations are not allowed",
        ),
    ],
)
def test_bad_kml_gives_typed_one_line_errors(doc: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message) as info:
        parse_bytes(doc, "bad.kml")
    assert str(info.value).startswith("bad.kml: ")


def test_kml_root_is_checked_by_the_reader() -> None:
    with pytest.raises(CorruptFileError, match=r"root element is <gpx>, not <kml>"):
        parse_kml(b"<gpx/>", "x.kml")


def test_kmz_reads_doc_kml_and_ignores_images(tmp_path: Path) -> None:
    kml = (K / "route-multigeometry.kml").read_bytes()
    p = tmp_path / "route.kmz"
    p.write_bytes(_kmz({"files/photo.png": b"\x89PNG" + b"\0" * 100, "other.kml": b"<kml/>", "doc.kml": kml}))
    assert detect_format(p.read_bytes()[:64]) == "kmz"
    route = read_route(p)
    assert route.meta.format == "kmz" and route.meta.extra["kmz_member"] == "doc.kml"
    assert len(route.checkpoints) == 2


def test_kmz_without_doc_kml_uses_the_first_kml() -> None:
    data = _kmz({"a/first.kml": (K / "track-gx.kml").read_bytes(), "b/second.kml": b"<kml/>"})
    t = parse_bytes(data, "x.kmz").track
    assert t.meta.extra["kmz_member"] == "a/first.kml" and len(t) == 4


def test_zip_without_kml_is_not_a_kmz() -> None:
    with pytest.raises(UnknownFormatError, match=r"x.zip: a ZIP archive without a .kml document"):
        parse_bytes(_kmz({"run.gpx": b"<gpx/>"}), "x.zip")


def test_kmz_with_a_member_outside_the_archive_is_refused() -> None:
    with pytest.raises(ArchiveError, match=r"evil.kmz: member '../doc.kml' is named outside the archive"):
        parse_bytes(_kmz({"../doc.kml": b"<kml/>"}), "evil.kmz")


def _kml_of_route(gpx: Path) -> bytes:
    t = read_file(gpx).track
    tuples = " ".join(
        f"{x!r},{y!r}" + ("" if math.isnan(e) else f",{e!r}")
        for x, y, e in zip(t.lon.tolist(), t.lat.tolist(), t.ele_m.tolist(), strict=True)
    )
    return (
        '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>'
        f"<LineString><altitudeMode>absolute</altitudeMode><coordinates>{tuples}</coordinates></LineString>"
        "</Placemark></Document></kml>"
    ).encode()


def test_check_with_a_kml_route_finds_the_same_wrong_turn_as_with_the_gpx(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gpx = REPO / "routes" / "allermuir-hill-race.gpx"
    rec = REPO / "samples" / "allermuir-wrong-turn.gpx"
    kml = tmp_path / "allermuir.kml"
    kml.write_bytes(_kml_of_route(gpx))
    status_gpx = main(["check", "--format", "json", str(gpx), str(rec)])
    by_gpx = json.loads(capsys.readouterr().out)
    status = main(["check", "--format", "json", str(kml), str(rec)])
    by_kml = json.loads(capsys.readouterr().out)
    assert status == status_gpx == 0
    assert by_kml["route"]["length_m"] == by_gpx["route"]["length_m"]
    assert by_kml["excursions"] == by_gpx["excursions"] and len(by_kml["excursions"]) == 1
    assert by_kml["summary"] == by_gpx["summary"]

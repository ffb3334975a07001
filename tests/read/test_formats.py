"""The format registry: detection, dispatch, suffixes and help text all come from its lines."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from offcourse.errors import UnknownFormatError
from offcourse.read import detect_format, parse_bytes
from offcourse.read import formats as F
from tests.conftest import REPO

D = REPO / "tests" / "data"
ONE_OF_EACH = {
    "fit": D / "defects" / "small-valid-activity.fit",
    "gpx": D / "gpx11-garmin-extensions-two-tracks.gpx",
    "tcx": D / "tcx-course-with-coursepoints.tcx",
    "kml": D / "kml" / "route-multigeometry.kml",
    "geojson": D / "geojson-featurecollection-coordtimes-and-points.geojson",
}


def _kmz() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("doc.kml", (D / "kml" / "track-gx.kml").read_bytes())
    return buf.getvalue()


def test_every_format_is_detected_and_dispatched_through_its_registry_line() -> None:
    samples = {name: p.read_bytes() for name, p in ONE_OF_EACH.items()}
    samples["kmz"] = _kmz()
    samples["json"] = b'{"segments": [{"segment": [[0, 1000, [6.5, 45.5]], [9, 1001, [6.6, 45.6]]]}]}'
    assert set(samples) == {f.name for f in F.FORMATS}
    meta_format = {"json": "livetrail"}
    for name, data in samples.items():
        assert detect_format(data[:4096]) == name
        assert detect_format(gzip.compress(data)[:4096]) == "gzip"
        track = parse_bytes(gzip.compress(data), f"x.{name}.gz").track
        assert track.meta.format == meta_format.get(name, name), name


def test_suffixes_for_batch_discovery() -> None:
    assert F.all_suffixes() == (".fit", ".gpx", ".tcx", ".kml", ".kmz", ".geojson", ".json")
    assert F.recording_suffixes() == F.all_suffixes()  # .json may be GeoJSON with times
    assert F.route_suffixes() == F.all_suffixes()
    assert [f.name for f in F.FORMATS if not f.recording] == ["json"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("run.GPX", "gpx"), ("run.gpx.gz", "gpx"), ("Route.KMZ", "kmz"), ("a.json", "geojson"), ("notes.txt", None)],
)
def test_format_by_file_name(name: str, expected: str | None) -> None:
    f = F.by_suffix(name)
    assert (f.name if f else None) == expected


def test_help_text_names_every_format() -> None:
    assert F.describe() == "FIT, GPX, TCX, KML, KMZ, GeoJSON or LiveTrail JSON"
    assert F.describe(recording=False) == "LiveTrail JSON"


def test_a_new_format_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    csv = F.Format(
        name="csv", label="CSV", suffixes=(".csv",), sniff=lambda h: h.text.startswith(b"lon,lat"), module="gpx"
    )
    monkeypatch.setattr(F, "FORMATS", (*F.FORMATS, csv))
    assert detect_format(b"lon,lat\n1,2\n") == "csv"
    assert F.all_suffixes()[-1] == ".csv" and F.describe().endswith("LiveTrail JSON or CSV")


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (b"", "empty file"),
        (b"just text", "not a FIT, GPX, TCX or GeoJSON file"),
        (b'<?xml version="1.0"?><!-- <gpx> --><svg/>', r"XML, but not GPX, TCX or KML \(root element <svg>\)"),
    ],
)
def test_unknown_content_is_a_typed_error(head: bytes, message: str) -> None:
    with pytest.raises(UnknownFormatError, match=message):
        detect_format(head)


def test_xml_root_after_doctype_and_prefix_is_found() -> None:
    head = b'\xef\xbb\xbf <?xml version="1.0"?>\n<!DOCTYPE x [ <!ELEMENT x ANY> ]>\n<t:TrainingCenterDatabase>'
    assert detect_format(head) == "tcx"
    assert detect_format('<?xml version="1.0" encoding="UTF-16"?><kml>'.encode("utf-16")) == "kml"

"""Format detection from content, gzip with a bound, and the same activity as FIT and GPX."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from offcourse import FileTooLargeError, ReadError, UnknownFormatError, read_file, read_route, read_track
from tests.conftest import REPO, corpus_file


def test_gzip_compressed_gpx_reads_like_the_plain_file(tmp_path: Path) -> None:
    plain = REPO / "samples" / "hohe-veitsch.gpx"
    gz = tmp_path / "run.gpx.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    a, b = read_track(plain), read_track(gz)
    np.testing.assert_array_equal(a.lon, b.lon)
    np.testing.assert_array_equal(a.epoch_s, b.epoch_s)


def test_gzip_compressed_fit_course_is_a_route(tmp_path: Path) -> None:
    gz = tmp_path / "course.fit.gz"
    gz.write_bytes(gzip.compress((REPO / "routes" / "cptr003-course.fit").read_bytes()))
    route = read_route(gz)
    assert route.meta.format == "fit" and 47_000 < route.length_m < 49_500


def test_format_is_detected_from_content_not_name(tmp_path: Path) -> None:
    misnamed = tmp_path / "really-a-fit.gpx"
    misnamed.write_bytes((REPO / "samples" / "fenix2-run.fit").read_bytes())
    assert read_file(misnamed).track.meta.format == "fit"


def test_gzip_bomb_stops_at_the_bound(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.gpx.gz"
    bomb.write_bytes(gzip.compress(b"<gpx>" + b" " * (4 * 1024 * 1024)))
    with pytest.raises(FileTooLargeError, match="exceeds 1048576 bytes"):
        read_file(bomb, max_bytes=1024 * 1024)


def test_truncated_gzip_is_a_typed_error(tmp_path: Path) -> None:
    bad = tmp_path / "cut.gpx.gz"
    bad.write_bytes(gzip.compress((REPO / "routes" / "allermuir-hill-race.gpx").read_bytes())[:500])
    with pytest.raises(ReadError, match="gzip"):
        read_file(bad)


def test_unknown_content(tmp_path: Path) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("just text")
    with pytest.raises(UnknownFormatError) as info:
        read_file(f)
    assert info.value.path == str(f)


def test_any_track_serves_as_a_route() -> None:
    route = read_route(REPO / "samples" / "mansfield-double-up-2017.gpx")
    assert 17_000 < route.length_m < 18_500


def test_same_activity_as_fit_and_gpx_reads_to_the_same_positions() -> None:
    fit = read_track(corpus_file("GPSBabel+gpsbabel/reference__track__garmin-edge-800.fit"))
    gpx = read_track(corpus_file("GPSBabel+gpsbabel/reference__track__garmin-edge-800-output.gpx"))
    assert len(fit) == len(gpx) == 1286
    np.testing.assert_allclose(fit.lat, gpx.lat, atol=1e-6)
    np.testing.assert_allclose(fit.lon, gpx.lon, atol=1e-6)
    np.testing.assert_array_equal(fit.epoch_s, gpx.epoch_s)

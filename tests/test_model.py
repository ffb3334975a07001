"""Route and Track model on tiny synthetic geometry in metres."""

from __future__ import annotations

import numpy as np
import pytest

from offcourse import InvalidRouteError, LocalProjection, Metadata, Route, Track, Waypoint


def route_from_metres(xy: list[tuple[float, float]], waypoints: tuple[Waypoint, ...] = ()) -> Route:
    proj = LocalProjection(7.0, 46.0)
    x = np.array([p[0] for p in xy], dtype=float)
    y = np.array([p[1] for p in xy], dtype=float)
    lon, lat = proj.inverse(x, y)
    return Route.from_track(Track.from_arrays(lon=lon, lat=lat), waypoints, projection=proj)


def test_cumulative_distance_exact_in_metres() -> None:
    r = route_from_metres([(0, 0), (300, 0), (300, 400), (0, 400)])
    np.testing.assert_allclose(r.cum_m, [0, 300, 700, 1000], atol=1e-6)
    assert r.length_m == pytest.approx(1000, abs=1e-6)


def test_duplicate_consecutive_vertices_are_dropped() -> None:
    r = route_from_metres([(0, 0), (0, 0), (100, 0), (100, 0), (100, 0), (100, 50)])
    assert len(r) == 3
    np.testing.assert_allclose(r.cum_m, [0, 100, 150], atol=1e-6)


@pytest.mark.parametrize("xy", [[(0, 0)], [(5, 5), (5, 5), (5, 5)], []])
def test_route_with_fewer_than_two_distinct_points_is_rejected(xy: list[tuple[float, float]]) -> None:
    with pytest.raises(InvalidRouteError, match=r"fewer than two distinct points|no points"):
        route_from_metres(xy)


def test_checkpoints_located_by_distance_along_route_and_sorted() -> None:
    proj = LocalProjection(7.0, 46.0)
    lon, lat = proj.inverse(np.array([250.0, 300.0]), np.array([10.0, 150.0]))
    wps = (Waypoint(lon=float(lon[1]), lat=float(lat[1]), name="CP2"), Waypoint(float(lon[0]), float(lat[0]), "CP1"))
    r = route_from_metres([(0, 0), (300, 0), (300, 400)], wps)
    assert [c.name for c in r.checkpoints] == ["CP1", "CP2"]
    assert r.checkpoints[0].route_m == pytest.approx(250, abs=1e-3)
    assert r.checkpoints[0].offset_m == pytest.approx(10, abs=1e-3)
    assert r.checkpoints[1].route_m == pytest.approx(450, abs=1e-3)
    assert r.checkpoints[1].offset_m == pytest.approx(0, abs=1e-3)


def test_point_at_interpolates_and_clamps() -> None:
    r = route_from_metres([(0, 0), (300, 0), (300, 400)])
    x, y = r.point_at([150, 500, -10, 5000])
    np.testing.assert_allclose(x, [150, 300, 0, 300], atol=1e-6)
    np.testing.assert_allclose(y, [0, 200, 0, 400], atol=1e-6)


def test_elevation_profile_and_climb() -> None:
    r = Route.from_arrays(lon=[7.0, 7.001, 7.002, 7.003], lat=[46.0] * 4, ele_m=[100, 150, 120, 200])
    s, ele = r.elevation_profile()
    assert s[0] == 0 and len(ele) == 4
    assert r.climb_m() == (130.0, 30.0)


def test_track_arrays_and_segment_breaks_not_counted_in_length() -> None:
    t = Track.from_arrays(lon=[0.0, 0.001, 0.5, 0.501], lat=[0.0] * 4, epoch_s=[0, 1, 2, 3], segment_starts=[0, 2])
    assert isinstance(t.lon, np.ndarray) and t.lon.dtype == np.float64
    assert t.has_time and not t.has_elevation
    assert t.length_m() == pytest.approx(2 * 111.319, rel=1e-3)


def test_track_columns_must_have_the_same_length() -> None:
    with pytest.raises(ValueError, match="lat"):
        Track.from_arrays(lon=[0.0, 1.0], lat=[0.0], meta=Metadata("memory"))

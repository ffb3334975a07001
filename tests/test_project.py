"""The local projection: lengths within 0.1 % of geodesic lengths wherever the route is."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from offcourse import LocalProjection, ProjectionError, Route, read_route
from tests.conftest import corpus_file

GEOD = Geod(ellps="WGS84")


def projected_length(lon: np.ndarray, lat: np.ndarray) -> float:
    x, y = LocalProjection.centred_on(lon, lat).forward(lon, lat)
    return float(np.hypot(np.diff(x), np.diff(y)).sum())


def densify(lon: list[float], lat: list[float], n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Points every ~1/n along geodesics between the given vertices."""
    out_lon: list[float] = []
    out_lat: list[float] = []
    for (a, b), (c, d) in zip(zip(lon, lat, strict=True), zip(lon[1:], lat[1:], strict=True), strict=False):
        pts = GEOD.npts(a, b, c, d, n)
        out_lon += [a] + [p[0] for p in pts]
        out_lat += [b] + [p[1] for p in pts]
    out_lon.append(lon[-1])
    out_lat.append(lat[-1])
    return np.array(out_lon), np.array(out_lat)


@pytest.mark.parametrize(
    ("name", "lon", "lat"),
    [
        ("antimeridian", [179.6, 179.95, -179.9, -179.5], [-17.0, -16.8, -16.9, -16.7]),
        ("utm-zone-border-6E", [5.7, 6.0, 6.3, 6.1], [45.8, 46.0, 45.9, 45.7]),
        ("high-latitude-svalbard", [15.0, 16.5, 17.5, 15.5], [78.0, 78.3, 78.1, 77.9]),
        ("north-pole", [0.0, 90.0, 180.0, -90.0], [89.6, 89.6, 89.6, 89.6]),
    ],
)
def test_synthetic_route_lengths_within_0_1_percent(name: str, lon: list[float], lat: list[float]) -> None:
    lon_d, lat_d = densify(lon, lat)
    geodesic = float(GEOD.line_length(lon_d, lat_d))
    assert abs(projected_length(lon_d, lat_d) - geodesic) / geodesic < 1e-3


def test_antimeridian_centre_is_on_the_route_side() -> None:
    p = LocalProjection.centred_on([179.5, -179.5], [10.0, 10.0])
    assert abs(abs(p.lon0) - 180.0) < 1e-6
    x, _ = p.forward(np.array([179.5, -179.5]), np.array([10.0, 10.0]))
    assert x[1] - x[0] == pytest.approx(GEOD.inv(179.5, 10.0, -179.5, 10.0)[2], rel=1e-4)


def test_forward_inverse_round_trip() -> None:
    lon = np.array([6.86, 6.9, 7.1])
    lat = np.array([45.9, 45.95, 46.1])
    p = LocalProjection.centred_on(lon, lat)
    lon2, lat2 = p.inverse(*p.forward(lon, lat))
    np.testing.assert_allclose(lon2, lon, atol=1e-9)
    np.testing.assert_allclose(lat2, lat, atol=1e-9)


def test_distance_from_centre_is_exact() -> None:
    p = LocalProjection(7.0, 46.0)
    x, y = p.forward(np.array([7.5]), np.array([46.4]))
    assert float(np.hypot(x, y)[0]) == pytest.approx(GEOD.inv(7.0, 46.0, 7.5, 46.4)[2], abs=1e-3)


@pytest.mark.parametrize(("lon", "lat"), [([0.0, np.nan], [0.0, 1.0]), ([0.0, 1.0], [91.0, 0.0]), ([181.0], [0.0])])
def test_bad_coordinates_are_a_typed_error(lon: list[float], lat: list[float]) -> None:
    with pytest.raises(ProjectionError):
        LocalProjection.centred_on(lon, lat)


@pytest.mark.parametrize(
    "rel",
    [
        "MagicTrailRun+TrailPacer2025/data__TrailPacer__UTMB__tracks__track_2025_old.gpx",
        "Sekoya88+UTMB/data__UTMB_2025.gpx",
    ],
)
def test_utmb_projected_length_within_0_1_percent_of_geodesic(rel: str) -> None:
    route = read_route(corpus_file(rel))
    geodesic = float(GEOD.line_length(route.lon, route.lat))
    assert geodesic > 165_000  # the 170 km UTMB
    assert abs(route.length_m - geodesic) / geodesic < 1e-3


def test_route_built_once_reuses_its_projection() -> None:
    r = Route.from_arrays(lon=[7.0, 7.01, 7.02], lat=[46.0, 46.0, 46.01])
    x, y = r.projection.forward(r.lon, r.lat)
    np.testing.assert_array_equal(x, r.x)
    np.testing.assert_array_equal(y, r.y)

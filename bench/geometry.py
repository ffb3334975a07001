"""Planar geometry for the benchmark generator: curves, loops, resampling, Douglas-Peucker, local frame.

Everything here works in metres in a local azimuthal equidistant frame (:class:`Frame`);
positions are ``(n, 2)`` float arrays of ``x`` (east) and ``y`` (north).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from pyproj import Transformer

__all__ = [
    "Frame",
    "FloatArray",
    "cumlen",
    "dp_indices",
    "heading_curve",
    "loop_curve",
    "resample",
    "smooth_curve",
]

FloatArray = NDArray[np.float64]


class Frame:
    """A local metric frame: azimuthal equidistant projection centred on ``(lon0, lat0)``.

    Examples
    --------
    >>> f = Frame(6.87, 45.92)
    >>> x, y = f.to_xy(np.array([6.87]), np.array([45.92]))
    >>> round(float(x[0]), 6), round(float(y[0]), 6)
    (0.0, 0.0)
    """

    def __init__(self, lon0: float, lat0: float) -> None:
        crs = f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m +no_defs"
        self.lon0 = lon0
        self.lat0 = lat0
        self._fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        self._inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def to_xy(self, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
        """WGS84 degrees to metres."""
        x, y = self._fwd.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def to_lonlat(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Metres to WGS84 degrees; NaN stays NaN."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        lon = np.full(x.shape, np.nan)
        lat = np.full(x.shape, np.nan)
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.any():
            lo, la = self._inv.transform(x[ok], y[ok])
            lon[ok] = lo
            lat[ok] = la
        return lon, lat


def cumlen(xy: FloatArray) -> FloatArray:
    """Cumulative length along a polyline, starting at 0.

    Examples
    --------
    >>> cumlen(np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 5.0]])).tolist()
    [0.0, 5.0, 6.0]
    """
    if len(xy) == 0:
        return np.zeros(0)
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])


def resample(xy: FloatArray, step: float = 2.0) -> FloatArray:
    """Points every ``step`` metres along a polyline (both ends kept, repeated points dropped).

    Examples
    --------
    >>> resample(np.array([[0.0, 0.0], [10.0, 0.0]]), 4.0)[:, 0].tolist()
    [0.0, 3.3333333333333335, 6.666666666666667, 10.0]
    """
    xy = np.asarray(xy, dtype=float)
    if len(xy) < 2:
        return xy.copy()
    d = np.hypot(*np.diff(xy, axis=0).T)
    keep = np.concatenate([[True], d > 1e-9])
    xy = xy[keep]
    s = cumlen(xy)
    if s[-1] <= 0:
        return xy[:1].copy()
    n = max(1, math.ceil(s[-1] / step))
    u = np.linspace(0.0, s[-1], n + 1)
    return np.column_stack([np.interp(u, s, xy[:, 0]), np.interp(u, s, xy[:, 1])])


def heading_curve(start: FloatArray, heading: FloatArray, step: float) -> FloatArray:
    """Integrate a sequence of headings (radians from east, counter-clockwise) into points."""
    dx = step * np.cos(heading)
    dy = step * np.sin(heading)
    pts = np.column_stack([np.concatenate([[0.0], np.cumsum(dx)]), np.concatenate([[0.0], np.cumsum(dy)])])
    out: FloatArray = pts + np.asarray(start, dtype=float)
    return out


def smooth_curve(
    rng: np.random.Generator,
    length: float,
    start: FloatArray,
    heading0: float,
    *,
    curvature_sd: float = 1 / 250,
    corr_m: float = 150.0,
    min_radius: float = 25.0,
    step: float = 2.0,
) -> FloatArray:
    """A wandering path: curvature follows an Ornstein-Uhlenbeck process along the length.

    Parameters
    ----------
    rng : numpy.random.Generator
    length : float
        Path length in metres.
    start : array of 2 floats
    heading0 : float
        Initial heading, radians counter-clockwise from east.
    curvature_sd : float
        Stationary standard deviation of the curvature (1/m).
    corr_m : float
        Correlation length of the curvature.
    min_radius : float
        Curvature is clipped to ``1 / min_radius``.
    step : float
        Spacing of the returned points.
    """
    n = max(1, round(length / step))
    a = math.exp(-step / corr_m)
    w = rng.normal(0.0, curvature_sd * math.sqrt(1 - a * a), n)
    k = np.empty(n)
    k[0] = rng.normal(0.0, curvature_sd)
    for i in range(1, n):
        k[i] = a * k[i - 1] + w[i]
    k = np.clip(k, -1 / min_radius, 1 / min_radius)
    heading = heading0 + np.concatenate([[0.0], np.cumsum(k[:-1] * step)])
    return heading_curve(start, heading, step)


def loop_curve(
    rng: np.random.Generator,
    perimeter: float,
    start: FloatArray,
    heading0: float,
    *,
    ccw: bool = True,
    wobble: float = 0.12,
    step: float = 2.0,
) -> FloatArray:
    """A closed loop of about ``perimeter`` metres that starts and ends at ``start``, leaving along ``heading0``."""
    theta = np.linspace(0.0, 2 * np.pi, 721)
    r = np.ones_like(theta)
    for k in (2, 3, 4):
        r += rng.uniform(-wobble, wobble) / (k - 1) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    # parametrise from the bottom of the loop so that the tangent there points east (counter-clockwise)
    ang = theta - np.pi / 2
    r0 = np.interp(0.0, theta, r)
    pts = np.column_stack([r * np.cos(ang), r * np.sin(ang)])
    pts -= np.array([0.0, -r0])  # start at the origin
    pts[-1] = pts[0]
    scale = perimeter / cumlen(pts)[-1]
    pts *= scale
    if not ccw:
        pts[:, 1] *= -1
    c, s_ = math.cos(heading0), math.sin(heading0)
    rot = np.array([[c, -s_], [s_, c]])
    out = resample(pts @ rot.T + np.asarray(start, dtype=float), step)
    out[-1] = np.asarray(start, dtype=float)
    return out


def _seg_dist(p: FloatArray, a: FloatArray, b: FloatArray) -> FloatArray:
    ab = b - a
    den = float(ab @ ab)
    if den == 0.0:
        return np.asarray(np.hypot(*(p - a).T), dtype=float)
    t = np.clip(((p - a) @ ab) / den, 0.0, 1.0)
    return np.asarray(np.hypot(*(p - (a + t[:, None] * ab)).T), dtype=float)


def dp_indices(xy: FloatArray, tol: float) -> NDArray[np.int64]:
    """Indices kept by Douglas-Peucker simplification with tolerance ``tol`` (to segments, not lines).

    Examples
    --------
    >>> dp_indices(np.array([[0.0, 0.0], [1.0, 0.1], [2.0, 0.0], [3.0, 5.0]]), 0.5).tolist()
    [0, 2, 3]
    """
    n = len(xy)
    if n <= 2:
        return np.arange(n, dtype=np.int64)
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        d = _seg_dist(xy[i + 1 : j], xy[i], xy[j])
        k = int(np.argmax(d))
        if d[k] > tol:
            m = i + 1 + k
            keep[m] = True
            stack.append((i, m))
            stack.append((m, j))
    return np.flatnonzero(keep).astype(np.int64)

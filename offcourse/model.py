"""Data model: a recording (:class:`Track`) and an official route (:class:`Route`).

Both hold numpy arrays, never lists of point objects. Times are seconds since
1970-01-01T00:00:00Z (UTC) in ``float64``; a missing value is ``NaN``.
Coordinates are WGS84 degrees (``lon``, ``lat``); ``ele_m`` is metres.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import InvalidRouteError
from .geometry import project_on_segments
from .project import LocalProjection, check_lonlat

__all__ = ["Checkpoint", "FloatArray", "IntArray", "Metadata", "ParsedFile", "Route", "Track", "Waypoint"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Metadata:
    """What a file says about itself. Every field but ``format`` may be ``None``."""

    format: str
    """Detected format: ``fit``, ``gpx``, ``tcx``, ``geojson`` or ``livetrail``."""
    path: str | None = None
    name: str | None = None
    device: str | None = None
    sport: str | None = None
    creator: str | None = None
    kind: str | None = None
    """What the file holds: ``activity``, ``course``, ``route``, ``track``."""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Waypoint:
    """A named point: a GPX ``wpt``, a FIT ``course_point``, a GeoJSON Point feature."""

    lon: float
    lat: float
    name: str
    ele_m: float = float("nan")
    epoch_s: float = float("nan")
    kind: str | None = None


def _as_f64(a: Any, n: int | None = None) -> FloatArray:
    if a is None:
        if n is None:
            raise ValueError("length required for a missing column")
        return np.full(n, np.nan)
    return np.ascontiguousarray(a, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class Track:
    """A sequence of positioned fixes, as recorded by a watch or drawn by an organiser.

    Only fixes with a valid position are kept. All arrays have the same length.

    Attributes
    ----------
    epoch_s : ndarray of float64
        UTC time of each fix, seconds since the Unix epoch; ``NaN`` when the file has none.
    lon, lat : ndarray of float64
        WGS84 degrees.
    ele_m : ndarray of float64
        Elevation in metres, ``NaN`` where absent.
    hacc_m : ndarray of float64
        Horizontal accuracy in metres where the device reports it, else ``NaN``.
    hdop : ndarray of float64
        Horizontal dilution of precision where the file has it, else ``NaN``.
    segment_starts : ndarray of int64
        Index of the first fix of each segment (``trkseg``, FIT timer start, ...).
        Always starts with 0 when the track is not empty.
    meta : Metadata

    Examples
    --------
    >>> t = Track.from_arrays(lon=[6.86, 6.87], lat=[45.92, 45.93], epoch_s=[0.0, 1.0])
    >>> len(t), t.has_time
    (2, True)
    """

    epoch_s: FloatArray
    lon: FloatArray
    lat: FloatArray
    ele_m: FloatArray
    hacc_m: FloatArray
    hdop: FloatArray
    segment_starts: IntArray
    meta: Metadata

    @classmethod
    def from_arrays(
        cls,
        *,
        lon: Any,
        lat: Any,
        epoch_s: Any = None,
        ele_m: Any = None,
        hacc_m: Any = None,
        hdop: Any = None,
        segment_starts: Any = None,
        meta: Metadata | None = None,
    ) -> Track:
        """Build a track from array-likes; missing columns become ``NaN``."""
        lon_a = _as_f64(lon)
        n = len(lon_a)
        seg = (
            np.zeros(1 if n else 0, dtype=np.int64)
            if segment_starts is None
            else np.ascontiguousarray(segment_starts, dtype=np.int64)
        )
        track = cls(
            epoch_s=_as_f64(epoch_s, n),
            lon=lon_a,
            lat=_as_f64(lat),
            ele_m=_as_f64(ele_m, n),
            hacc_m=_as_f64(hacc_m, n),
            hdop=_as_f64(hdop, n),
            segment_starts=seg,
            meta=meta or Metadata(format="memory"),
        )
        for name in ("epoch_s", "lat", "ele_m", "hacc_m", "hdop"):
            if len(getattr(track, name)) != n:
                raise ValueError(f"column {name} has {len(getattr(track, name))} values, lon has {n}")
        return track

    def __len__(self) -> int:
        return len(self.lon)

    @property
    def has_time(self) -> bool:
        """True when every fix has a timestamp."""
        return len(self) > 0 and not bool(np.isnan(self.epoch_s).any())

    @property
    def has_elevation(self) -> bool:
        """True when at least one fix has an elevation."""
        return bool(np.isfinite(self.ele_m).any())

    def step_m(self) -> FloatArray:
        """Geodesic distance (WGS84) from each fix to the next, metres; 0 across segment breaks.

        >>> Track.from_arrays(lon=[0.0, 0.001, 0.002], lat=[0.0, 0.0, 0.0], segment_starts=[0, 2]).step_m().round(1)
        array([111.3,   0. ])
        """
        if len(self) < 2:
            return np.zeros(0)
        from pyproj import Geod

        _, _, dist = Geod(ellps="WGS84").inv(self.lon[:-1], self.lat[:-1], self.lon[1:], self.lat[1:])
        step = np.asarray(dist, dtype=np.float64)
        breaks = self.segment_starts[(self.segment_starts > 0) & (self.segment_starts < len(self))]
        step[breaks - 1] = 0.0
        return step

    def length_m(self) -> float:
        """Geodesic length along the fixes, segment gaps excluded, metres.

        Computed once per track (the report, its text and its warnings all ask; a geodesic a fix):
        the arrays of a track are not to be changed in place.
        """
        cached: float | None = self.__dict__.get("_length_m")
        if cached is None:
            cached = float(self.step_m().sum())
            object.__setattr__(self, "_length_m", cached)
        return cached


@dataclass(frozen=True, eq=False)
class ParsedFile:
    """What a format reader returns: the file's points as a :class:`Track` and its named points."""

    track: Track
    waypoints: tuple[Waypoint, ...] = ()


@dataclass(frozen=True)
class Checkpoint:
    """A named point of the route, located by its distance along the route."""

    name: str
    lon: float
    lat: float
    route_m: float
    """Distance along the route from the start, metres."""
    offset_m: float
    """Distance from the named point to the route line, metres."""
    kind: str | None = None


@dataclass(frozen=True, eq=False)
class Route:
    """The official route: a polyline in degrees and in the route's own metric projection.

    Build it with :meth:`from_track` (any track can serve as a route) or with
    :func:`offcourse.read_route`. Consecutive duplicate vertices are dropped; a
    route with fewer than two distinct points is rejected.

    Attributes
    ----------
    lon, lat, ele_m : ndarray of float64
        Vertices (degrees, metres; elevation ``NaN`` where absent).
    x, y : ndarray of float64
        Vertices in metres in :attr:`projection`.
    cum_m : ndarray of float64
        Distance along the route at each vertex, metres; ``cum_m[0] == 0``.
    checkpoints : tuple of Checkpoint
        Named points located along the route, in order along the route.

    Examples
    --------
    >>> r = Route.from_arrays(lon=[0.0, 0.0, 0.001], lat=[0.0, 0.0, 0.0])
    >>> len(r), round(r.length_m, 1)
    (2, 111.3)
    """

    lon: FloatArray
    lat: FloatArray
    ele_m: FloatArray
    x: FloatArray
    y: FloatArray
    cum_m: FloatArray
    checkpoints: tuple[Checkpoint, ...]
    projection: LocalProjection
    meta: Metadata

    @classmethod
    def from_track(
        cls, track: Track, waypoints: tuple[Waypoint, ...] = (), *, projection: LocalProjection | None = None
    ) -> Route:
        """Use a track's points (all segments, in order) as a route; locate ``waypoints`` on it."""
        lon, lat, ele = track.lon, track.lat, track.ele_m
        if len(lon) == 0:
            raise InvalidRouteError("route has no points", path=track.meta.path)
        check_lonlat(lon, lat)
        keep = np.ones(len(lon), dtype=bool)
        keep[1:] = (np.diff(lon) != 0) | (np.diff(lat) != 0)
        lon, lat, ele = lon[keep], lat[keep], ele[keep]
        if len(lon) < 2:
            raise InvalidRouteError("route has fewer than two distinct points", path=track.meta.path)
        proj = projection or LocalProjection.centred_on(lon, lat)
        x, y = proj.forward(lon, lat)
        step = np.hypot(np.diff(x), np.diff(y))
        cum = np.concatenate(([0.0], np.cumsum(step)))
        meta = track.meta
        route = cls(lon=lon, lat=lat, ele_m=ele, x=x, y=y, cum_m=cum, checkpoints=(), projection=proj, meta=meta)
        if waypoints:
            object.__setattr__(route, "checkpoints", route._locate(waypoints))
        return route

    @classmethod
    def from_arrays(
        cls,
        *,
        lon: Any,
        lat: Any,
        ele_m: Any = None,
        name: str | None = None,
        projection: LocalProjection | None = None,
    ) -> Route:
        """Build a route from coordinate arrays in degrees."""
        track = Track.from_arrays(lon=lon, lat=lat, ele_m=ele_m, meta=Metadata("memory", name=name))
        return cls.from_track(track, projection=projection)

    def __len__(self) -> int:
        return len(self.lon)

    @property
    def length_m(self) -> float:
        """Total length along the route, metres."""
        return float(self.cum_m[-1])

    @property
    def name(self) -> str | None:
        """The route's name from its file, if any."""
        return self.meta.name

    def elevation_profile(self) -> tuple[FloatArray, FloatArray]:
        """Distance along the route (m) and elevation (m) at each vertex."""
        return self.cum_m, self.ele_m

    def climb_m(self) -> tuple[float, float]:
        """Total ascent and descent in metres (0 when the route has no elevation)."""
        ele = self.ele_m[np.isfinite(self.ele_m)]
        d = np.diff(ele)
        return float(d[d > 0].sum()), float(-d[d < 0].sum())

    def point_at(self, route_m: Any) -> tuple[FloatArray, FloatArray]:
        """Projected (x, y) at distances along the route, metres (clamped to the route)."""
        s = np.clip(np.asarray(route_m, dtype=np.float64), 0.0, self.length_m)
        return np.interp(s, self.cum_m, self.x), np.interp(s, self.cum_m, self.y)

    def lonlat_at(self, route_m: Any) -> tuple[FloatArray, FloatArray]:
        """(lon, lat) at distances along the route."""
        return self.projection.inverse(*self.point_at(route_m))

    def nearest(self, x: Any, y: Any) -> tuple[FloatArray, FloatArray]:
        """Globally nearest point of the route for each (x, y): distance along it and offset, metres.

        This ignores the runner's history and is *not* how tracks are matched;
        it serves checkpoints and diagnostics.
        """
        px = np.atleast_1d(np.asarray(x, dtype=np.float64))
        py = np.atleast_1d(np.asarray(y, dtype=np.float64))
        ax, ay = self.x[:-1], self.y[:-1]
        dx, dy = np.diff(self.x), np.diff(self.y)
        ln = np.hypot(dx, dy)
        out_s = np.empty(len(px))
        out_d = np.empty(len(px))
        for i in range(len(px)):  # vectorised over segments; points are few
            f, d = project_on_segments(float(px[i]), float(py[i]), ax, ay, dx, dy, ln)
            k = int(np.argmin(d))
            out_s[i] = self.cum_m[k] + f[k] * ln[k]
            out_d[i] = d[k]
        return out_s, out_d

    def _passes(self, x: float, y: float, radius_m: float) -> list[tuple[float, float]]:
        """Each pass of the route within ``radius_m`` of (x, y): its nearest point's route metres and offset."""
        ax, ay = self.x[:-1], self.y[:-1]
        dx, dy = np.diff(self.x), np.diff(self.y)
        seg2 = dx * dx + dy * dy
        t = np.clip(((x - ax) * dx + (y - ay) * dy) / np.where(seg2 > 0, seg2, 1.0), 0.0, 1.0)
        d = np.hypot(ax + t * dx - x, ay + t * dy - y)
        s = self.cum_m[:-1] + t * np.sqrt(seg2)
        near = np.flatnonzero(d <= radius_m)
        out: list[tuple[float, float]] = []
        start = 0
        for i in range(1, len(near) + 1):  # runs of consecutive segments are one pass
            if i == len(near) or near[i] != near[i - 1] + 1:
                run = near[start:i]
                k = int(run[np.argmin(d[run])])
                out.append((float(s[k]), float(d[k])))
                start = i
        return out

    def _locate(self, waypoints: tuple[Waypoint, ...]) -> tuple[Checkpoint, ...]:
        """Named points located along the route, in order.

        Where the route passes a point more than once (a loop's start and finish, an out-and-back,
        laps), the pass is chosen in the file's order of the points (each at or after the previous
        one), a point named like a finish goes to its last pass and one named like a start to its
        first; when the file's order does not fit the route, the nearest pass.
        """
        wlon = np.array([w.lon for w in waypoints])
        wlat = np.array([w.lat for w in waypoints])
        check_lonlat(wlon, wlat)
        wx, wy = self.projection.forward(wlon, wlat)
        s_near, d_near = self.nearest(wx, wy)
        passes = [
            self._passes(float(x), float(y), float(d) + max(CHECKPOINT_SLACK_M, 0.5 * float(d)))
            or [(float(sn), float(d))]
            for x, y, sn, d in zip(wx, wy, s_near, d_near, strict=True)
        ]

        def pick(order_aware: bool) -> list[tuple[float, float]]:
            out: list[tuple[float, float]] = []
            prev = 0.0
            for w, cands in zip(waypoints, passes, strict=True):
                name = w.name.strip().lower()
                if len(cands) > 1 and any(name.startswith(f) or name.endswith(f) for f in _FINISH_WORDS):
                    c = max(cands)
                elif len(cands) > 1 and any(name.startswith(f) or name.endswith(f) for f in _START_WORDS):
                    c = min(cands)
                elif order_aware:
                    later = [p for p in cands if p[0] >= prev - CHECKPOINT_SLACK_M]
                    c = min(later) if later else min(cands, key=lambda p: p[1])
                else:
                    c = min(cands, key=lambda p: p[1])
                out.append(c)
                prev = max(prev, c[0]) if order_aware else prev
            return out

        chosen = pick(True)
        ss = [c[0] for c in chosen]
        if any(b < a - CHECKPOINT_SLACK_M for a, b in itertools.pairwise(ss)):
            chosen = pick(False)  # the file does not list them in route order
        cps = [
            Checkpoint(name=w.name, lon=w.lon, lat=w.lat, route_m=si, offset_m=di, kind=w.kind)
            for w, (si, di) in zip(waypoints, chosen, strict=True)
        ]
        return tuple(sorted(cps, key=lambda c: c.route_m))


CHECKPOINT_SLACK_M = 50.0
"""A pass this much farther from a named point than its nearest pass still holds it."""
_FINISH_WORDS = ("finish", "arrivée", "arrivee", "arrival", "ziel", "end", "fin", "arrivo", "meta")
_START_WORDS = ("start", "départ", "depart", "begin", "partenza", "salida", "inicio")

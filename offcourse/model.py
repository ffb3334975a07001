"""Data model: a recording (:class:`Track`) and an official route (:class:`Route`).

Both hold numpy arrays, never lists of point objects. Times are seconds since
1970-01-01T00:00:00Z (UTC) in ``float64``; a missing value is ``NaN``.
Coordinates are WGS84 degrees (``lon``, ``lat``); ``ele_m`` is metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Metadata", "Waypoint", "Track", "ParsedFile", "FloatArray", "IntArray"]

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


@dataclass(frozen=True, eq=False)
class ParsedFile:
    """What a format reader returns: the file's points as a :class:`Track` and its named points."""

    track: Track
    waypoints: tuple[Waypoint, ...] = ()

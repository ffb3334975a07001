"""Write benchmark routes and recordings in every format offcourse reads.

GPX (track and route), FIT (activity and course, through a small hand-written
encoder with correct header and file CRCs) and GeoJSON. Positions are WGS84
degrees, times are integer seconds since the Unix epoch (UTC).

The FIT encoder writes only what the benchmark needs: ``file_id``, ``event``
(timer start/stop), ``record`` (timestamp, position, distance,
enhanced_altitude), and for courses ``course``, ``lap`` and ``course_point``.
A fix without a position (receiver still searching) is written as a record
whose latitude and longitude hold the FIT invalid value.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "FIT_EPOCH_S",
    "CoursePoint",
    "fit_crc",
    "iso_utc",
    "write_fit_activity",
    "write_fit_course",
    "write_geojson_route",
    "write_geojson_track",
    "write_gpx_route",
    "write_gpx_track",
]

FIT_EPOCH_S = 631065600
"""Unix time of the FIT epoch, 1989-12-31T00:00:00Z."""

_CRC_TABLE = (
    0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
    0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400,
)  # fmt: skip

_SEMI = 2**31 / 180.0
_INVALID_S32 = 0x7FFFFFFF
_INVALID_U32 = 0xFFFFFFFF

# FIT base types
_ENUM, _UINT8, _UINT16, _SINT32, _UINT32, _STRING, _UINT32Z = 0x00, 0x02, 0x84, 0x85, 0x86, 0x07, 0x8C
_FMT = {_ENUM: "B", _UINT8: "B", _UINT16: "H", _SINT32: "i", _UINT32: "I", _UINT32Z: "I"}


@dataclass(frozen=True)
class CoursePoint:
    """A named point of a course (aid station, summit, turn)."""

    lon: float
    lat: float
    name: str
    distance_m: float
    epoch_s: float = 0.0
    kind: int = 0
    """FIT ``course_point`` type; 0 = generic."""


def iso_utc(epoch_s: float) -> str:
    """Format Unix seconds as ISO 8601 with a ``+00:00`` offset.

    Examples
    --------
    >>> iso_utc(0)
    '1970-01-01T00:00:00+00:00'
    """
    return datetime.fromtimestamp(float(epoch_s), tz=UTC).isoformat()


def _iso_z(epoch_s: float) -> str:
    return datetime.fromtimestamp(round(float(epoch_s)), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fit_crc(data: bytes, crc: int = 0) -> int:
    """FIT CRC-16 of ``data``, continuing from ``crc``.

    Examples
    --------
    >>> fit_crc(b"")
    0
    >>> hex(fit_crc(b"123456789"))
    '0xbb3d'
    """
    for byte in data:
        tmp = _CRC_TABLE[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _CRC_TABLE[byte & 0xF]
        tmp = _CRC_TABLE[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _CRC_TABLE[(byte >> 4) & 0xF]
    return crc


class _FitEncoder:
    """Accumulates FIT definition and data messages, one local type per global message."""

    def __init__(self) -> None:
        self._body = bytearray()
        self._local: dict[tuple[int, tuple[tuple[int, int, int], ...]], int] = {}

    def message(self, global_num: int, fields: Sequence[tuple[int, int, int, object]]) -> None:
        """Append one data message; ``fields`` are ``(field_num, base_type, size, value)``."""
        layout = tuple((num, size, base) for num, base, size, _ in fields)
        key = (global_num, layout)
        if key not in self._local:
            local = len(self._local) % 16
            # drop any earlier definition that used this local number
            self._local = {k: v for k, v in self._local.items() if v != local}
            self._local[key] = local
            self._body += struct.pack("<BBBHB", 0x40 | local, 0, 0, global_num, len(fields))
            for num, size, base in layout:
                self._body += struct.pack("<BBB", num, size, base)
        self._body.append(self._local[key])
        for _num, base, size, value in fields:
            if base == _STRING:
                raw = str(value).encode("utf-8")[: size - 1]
                self._body += raw + b"\x00" * (size - len(raw))
            else:
                self._body += struct.pack("<" + _FMT[base], value)

    def to_bytes(self) -> bytes:
        """The whole file: 14-byte header with its CRC, the messages, the file CRC."""
        header = struct.pack("<BBHI4s", 14, 0x20, 2132, len(self._body), b".FIT")
        header += struct.pack("<H", fit_crc(header))
        data = header + bytes(self._body)
        return data + struct.pack("<H", fit_crc(data))


def _semicircles(deg: float) -> int:
    if not math.isfinite(deg):
        return _INVALID_S32
    return round(deg * _SEMI)


def _fit_time(epoch_s: float) -> int:
    return round(epoch_s) - FIT_EPOCH_S


def _u32(value: float, scale: float, offset: float = 0.0) -> int:
    if not math.isfinite(value):
        return _INVALID_U32
    return max(0, min(_INVALID_U32 - 1, round((value + offset) * scale)))


def _cumdist(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
    ok = np.isfinite(lon) & np.isfinite(lat)
    out = np.zeros(len(lon))
    idx = np.flatnonzero(ok)
    if len(idx) > 1:
        la, lo = np.radians(lat[idx]), np.radians(lon[idx])
        a = np.sin(np.diff(la) / 2) ** 2 + np.cos(la[:-1]) * np.cos(la[1:]) * np.sin(np.diff(lo) / 2) ** 2
        d = 2 * 6371008.8 * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
        out[idx[1:]] = np.cumsum(d)
        out = np.maximum.accumulate(out)
    return out


def _file_id(enc: _FitEncoder, file_type: int, created: float) -> None:
    enc.message(
        0,
        [
            (0, _ENUM, 1, file_type),
            (1, _UINT16, 2, 255),  # manufacturer: development
            (2, _UINT16, 2, 1),  # product
            (3, _UINT32Z, 4, 12345),  # serial number
            (4, _UINT32, 4, _fit_time(created)),  # time_created
        ],
    )


def _record(enc: _FitEncoder, t: float, lon: float, lat: float, dist: float, ele: float) -> None:
    enc.message(
        20,
        [
            (253, _UINT32, 4, _fit_time(t)),
            (0, _SINT32, 4, _semicircles(lat)),
            (1, _SINT32, 4, _semicircles(lon)),
            (5, _UINT32, 4, _u32(dist, 100.0)),
            (78, _UINT32, 4, _u32(ele, 5.0, 500.0)),
        ],
    )


def _event(enc: _FitEncoder, t: float, event_type: int) -> None:
    # event 0 = timer; event_type 0 = start, 4 = stop_all
    enc.message(21, [(253, _UINT32, 4, _fit_time(t)), (0, _ENUM, 1, 0), (1, _ENUM, 1, event_type)])


def write_fit_activity(
    path: Path,
    epoch_s: NDArray[np.float64],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    ele_m: NDArray[np.float64],
) -> None:
    """Write a FIT activity file with one record per fix; NaN positions become invalid fields."""
    enc = _FitEncoder()
    _file_id(enc, 4, float(epoch_s[0]))
    _event(enc, float(epoch_s[0]), 0)
    dist = _cumdist(lon, lat)
    for i in range(len(epoch_s)):
        _record(enc, float(epoch_s[i]), float(lon[i]), float(lat[i]), float(dist[i]), float(ele_m[i]))
    _event(enc, float(epoch_s[-1]), 4)
    Path(path).write_bytes(enc.to_bytes())


def write_fit_course(
    path: Path,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    ele_m: NDArray[np.float64],
    name: str,
    points: Sequence[CoursePoint] = (),
    start_epoch_s: float = 1.6e9,
) -> None:
    """Write a FIT course: ``course``, ``lap``, records with synthetic times, ``course_point`` messages."""
    enc = _FitEncoder()
    _file_id(enc, 6, start_epoch_s)
    enc.message(31, [(5, _STRING, 32, name), (4, _ENUM, 1, 1)])  # sport 1 = running
    dist = _cumdist(lon, lat)
    times = start_epoch_s + dist / 3.0  # a notional 3 m/s pace, as course builders do
    enc.message(
        19,
        [
            (253, _UINT32, 4, _fit_time(times[-1])),
            (2, _UINT32, 4, _fit_time(times[0])),
            (3, _SINT32, 4, _semicircles(float(lat[0]))),
            (4, _SINT32, 4, _semicircles(float(lon[0]))),
            (5, _SINT32, 4, _semicircles(float(lat[-1]))),
            (6, _SINT32, 4, _semicircles(float(lon[-1]))),
            (9, _UINT32, 4, _u32(float(dist[-1]), 100.0)),
        ],
    )
    _event(enc, float(times[0]), 0)
    for i in range(len(lon)):
        _record(enc, float(times[i]), float(lon[i]), float(lat[i]), float(dist[i]), float(ele_m[i]))
    for k, cp in enumerate(points):
        enc.message(
            32,
            [
                (254, _UINT16, 2, k),
                (1, _UINT32, 4, _fit_time(start_epoch_s + cp.distance_m / 3.0)),
                (2, _SINT32, 4, _semicircles(cp.lat)),
                (3, _SINT32, 4, _semicircles(cp.lon)),
                (4, _UINT32, 4, _u32(cp.distance_m, 100.0)),
                (5, _ENUM, 1, cp.kind),
                (6, _STRING, 16, cp.name),
            ],
        )
    _event(enc, float(times[-1]), 4)
    Path(path).write_bytes(enc.to_bytes())


def _gpx_head(name: str, waypoints: Sequence[CoursePoint] = ()) -> list[str]:
    """The start of a GPX 1.1 file: declaration, metadata and the named waypoints."""
    return [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gpx version="1.1" creator="offcourse-bench" xmlns="http://www.topografix.com/GPX/1/1">',
        f"<metadata><name>{escape(name)}</name></metadata>",
        *(f'<wpt lat="{cp.lat:.7f}" lon="{cp.lon:.7f}"><name>{escape(cp.name)}</name></wpt>' for cp in waypoints),
    ]


def _ele(v: float) -> str:
    return f"<ele>{v:.1f}</ele>" if math.isfinite(v) else ""


def write_gpx_track(
    path: Path,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    ele_m: NDArray[np.float64],
    name: str,
    epoch_s: NDArray[np.float64] | None = None,
    waypoints: Sequence[CoursePoint] = (),
) -> None:
    """Write a GPX 1.1 file with one ``trk``; fixes without a position are left out (GPX needs lat/lon)."""
    out = _gpx_head(name, waypoints)
    out.append(f"<trk><name>{escape(name)}</name><trkseg>")
    for i in range(len(lon)):
        if not (math.isfinite(lon[i]) and math.isfinite(lat[i])):
            continue
        t = f"<time>{_iso_z(float(epoch_s[i]))}</time>" if epoch_s is not None else ""
        out.append(f'<trkpt lat="{lat[i]:.7f}" lon="{lon[i]:.7f}">{_ele(float(ele_m[i]))}{t}</trkpt>')
    out.append("</trkseg></trk></gpx>")
    Path(path).write_text("\n".join(out) + "\n", encoding="utf-8")


def write_gpx_route(
    path: Path,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    ele_m: NDArray[np.float64],
    name: str,
    waypoints: Sequence[CoursePoint] = (),
) -> None:
    """Write a GPX 1.1 file with one ``rte`` of ``rtept``."""
    out = _gpx_head(name, waypoints)
    out.append(f"<rte><name>{escape(name)}</name>")
    for i in range(len(lon)):
        out.append(f'<rtept lat="{lat[i]:.7f}" lon="{lon[i]:.7f}">{_ele(float(ele_m[i]))}</rtept>')
    out.append("</rte></gpx>")
    Path(path).write_text("\n".join(out) + "\n", encoding="utf-8")


def _coords(lon: NDArray[np.float64], lat: NDArray[np.float64], ele: NDArray[np.float64]) -> list[list[float]]:
    return [
        [round(float(x), 7), round(float(y), 7)] + ([round(float(z), 1)] if math.isfinite(z) else [])
        for x, y, z in zip(lon, lat, ele, strict=True)
    ]


def write_geojson_route(
    path: Path,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    ele_m: NDArray[np.float64],
    name: str,
    waypoints: Sequence[CoursePoint] = (),
) -> None:
    """Write a FeatureCollection with one LineString (the route) and one Point per course point."""
    feats: list[dict[str, object]] = [
        {
            "type": "Feature",
            "properties": {"name": name},
            "geometry": {"type": "LineString", "coordinates": _coords(lon, lat, ele_m)},
        }
    ]
    for cp in waypoints:
        feats.append(
            {
                "type": "Feature",
                "properties": {"name": cp.name},
                "geometry": {"type": "Point", "coordinates": [round(cp.lon, 7), round(cp.lat, 7)]},
            }
        )
    Path(path).write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")


def write_geojson_track(
    path: Path,
    epoch_s: NDArray[np.float64],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    ele_m: NDArray[np.float64],
    name: str,
) -> None:
    """Write a LineString Feature with per-vertex times in ``properties.coordTimes`` (the togeojson convention)."""
    ok = np.isfinite(lon) & np.isfinite(lat)
    feat = {
        "type": "Feature",
        "properties": {"name": name, "coordTimes": [_iso_z(float(t)) for t in epoch_s[ok]]},
        "geometry": {"type": "LineString", "coordinates": _coords(lon[ok], lat[ok], ele_m[ok])},
    }
    Path(path).write_text(json.dumps({"type": "FeatureCollection", "features": [feat]}), encoding="utf-8")

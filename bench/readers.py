"""Minimal readers used by the benchmark's peer detectors (not by offcourse).

They read exactly what :mod:`writers` writes (GPX track/route, FIT activity/course, GeoJSON), the way a
user writing a quick script would: every positioned point, in file order.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import fitdecode
import numpy as np
from numpy.typing import NDArray

__all__ = ["Points", "read_points"]

_SEMI = 180.0 / 2**31


@dataclass(frozen=True)
class Points:
    """Positions (WGS84 degrees) and times (Unix seconds, NaN when absent) of a file's points."""

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    t: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.lon)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _read_gpx(path: Path) -> Points:
    root = ET.parse(path).getroot()
    lon, lat, t = [], [], []
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag not in ("trkpt", "rtept"):
            continue
        lon.append(float(el.get("lon", "nan")))
        lat.append(float(el.get("lat", "nan")))
        tt = math.nan
        for ch in el:
            if ch.tag.rsplit("}", 1)[-1] == "time" and ch.text:
                tt = _epoch(ch.text.strip())
        t.append(tt)
    return Points(np.array(lon), np.array(lat), np.array(t))


def _read_fit(path: Path) -> Points:
    lon, lat, t = [], [], []
    with fitdecode.FitReader(str(path)) as fr:
        for frame in fr:
            if not isinstance(frame, fitdecode.FitDataMessage) or frame.name != "record":
                continue
            la = frame.get_value("position_lat", fallback=None)
            lo = frame.get_value("position_long", fallback=None)
            ts = frame.get_value("timestamp", fallback=None)
            if la is None or lo is None:
                continue
            lat.append(la * _SEMI)
            lon.append(lo * _SEMI)
            t.append(ts.timestamp() if ts is not None else math.nan)
    return Points(np.array(lon), np.array(lat), np.array(t))


def _read_geojson(path: Path) -> Points:
    doc = json.loads(path.read_text(encoding="utf-8"))
    feats = doc.get("features", [doc]) if doc.get("type") == "FeatureCollection" else [doc]
    for f in feats:
        geom = f.get("geometry") or {}
        if geom.get("type") == "LineString":
            coords = np.array([c[:2] for c in geom["coordinates"]], dtype=float)
            times = (f.get("properties") or {}).get("coordTimes")
            t = np.array([_epoch(s) for s in times]) if times else np.full(len(coords), np.nan)
            return Points(coords[:, 0], coords[:, 1], t)
    raise ValueError(f"{path}: no LineString")


def read_points(path: str | Path) -> Points:
    """Read a GPX, FIT or GeoJSON file written by the benchmark."""
    p = Path(path)
    head = p.read_bytes()[:64]
    if len(head) >= 12 and head[8:12] == b".FIT":
        return _read_fit(p)
    if head.lstrip().startswith((b"{", b"[")):
        return _read_geojson(p)
    return _read_gpx(p)

"""Peer detectors scored beside offcourse. Each returns the engine issue's JSON structure.

* :func:`naive` — what a user writes with shapely: a fix further than 50 m from the whole route is off
  course; every run of such fixes is one excursion.
* :func:`naive_debounce` — the same, but an excursion needs 10 s off (alert 10 s after it starts) and
  ends only after 10 s back within 50 m.
* :func:`debounced_distance` — the plain distance check of issue 12: distance to the nearest point of the
  whole route over 50 m for 10 s raises an alert (at that instant); under 25 m for 10 s is back on
  course (hysteresis). Causal: what it alerts live is what it reports.
* :func:`ruler` — polyline-ruler (PyPI ``polyline-ruler``): each fix's nearest point on the route with
  cheap-ruler distances, 10 s debounce, and the along-route position of that nearest point to report
  skipped sections (the furthest position reached jumping ahead much more than the distance run) and
  wrong-direction running (the position going down the route steadily).
* :func:`gpsbabel_arc` — GPSBabel's ``arc`` filter (Debian ``gpsbabel``) keeps fixes further than
  50 m from the route; runs of those fixes lasting 10 s are excursions.

All peers read files with :func:`readers.read_points`.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import LineString

sys.path.insert(0, str(Path(__file__).resolve().parent))

from geometry import Frame
from readers import read_points
from writers import iso_utc

__all__ = ["PEERS", "debounced_distance", "gpsbabel_arc", "hysteresis_runs", "naive", "naive_debounce", "ruler"]

THRESHOLD_M = 50.0
DEBOUNCE_S = 10.0

F64 = NDArray[np.float64]


class _Geo:
    """Route and track in one local metric frame."""

    def __init__(self, route_path: Path, track_path: Path) -> None:
        self.route = read_points(route_path)
        self.track = read_points(track_path)
        self.frame = Frame(float(np.mean(self.route.lon)), float(np.mean(self.route.lat)))
        rx, ry = self.frame.to_xy(self.route.lon, self.route.lat)
        self.rxy = np.column_stack([rx, ry])
        self.line = LineString(self.rxy)
        tx, ty = self.frame.to_xy(self.track.lon, self.track.lat)
        self.txy = np.column_stack([tx, ty])
        self.step = np.concatenate([[0.0], np.hypot(*np.diff(self.txy, axis=0).T)])

    def project(self, i: int) -> float:
        return float(self.line.project(shapely.points(self.txy[i])))

    def route_lonlat(self, m: float) -> list[float]:
        p = self.line.interpolate(m)
        lo, la = self.frame.to_lonlat(np.array([p.x]), np.array([p.y]))
        return [round(float(lo[0]), 7), round(float(la[0]), 7)]


def _runs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Inclusive index ranges of consecutive True values."""
    if not mask.any():
        return []
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1).tolist(), (np.flatnonzero(d == -1) - 1).tolist(), strict=True))


def _debounce(t: F64, off: NDArray[np.bool_], hold: float) -> list[tuple[int, int, int]]:
    """Runs of ``off`` merged across gaps shorter than ``hold`` s, kept when they last ``hold`` s.

    Returns ``(first, alert, last)`` fix indices.
    """
    runs = _runs(off)
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and t[a] - t[merged[-1][1]] < hold:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    out = []
    for a, b in merged:
        if t[b] - t[a] >= hold:
            alert = a + int(np.searchsorted(t[a : b + 1], t[a] + hold))
            out.append((a, min(alert, b), b))
    return out


def hysteresis_runs(t: F64, d: F64, off_m: float = THRESHOLD_M, back_m: float = 25.0,
                    hold_s: float = DEBOUNCE_S) -> list[tuple[int, int, int]]:
    """Excursions of a debounced distance check with hysteresis, as ``(first, alert, last)`` fix indices.

    An excursion starts at the first fix of a stretch over ``off_m`` that lasts ``hold_s`` s (the alert is
    the fix where it has lasted ``hold_s``); it ends at the last fix before a stretch under ``back_m``
    lasting ``hold_s`` s (or at the last fix). Fixes between ``back_m`` and ``off_m`` extend nothing.

    Examples
    --------
    >>> t = np.arange(40.0)
    >>> d = np.r_[np.zeros(5), np.full(15, 80.0), np.full(5, 40.0), np.zeros(15)]
    >>> hysteresis_runs(t, d)
    [(5, 15, 24)]
    """
    out: list[tuple[int, int, int]] = []
    n = len(t)
    i = 0
    while i < n:
        if d[i] <= off_m:
            i += 1
            continue
        a = i
        while i < n and d[i] > off_m and t[i] - t[a] < hold_s:
            i += 1
        if i >= n or d[i] <= off_m:
            continue
        alert = i
        last = i
        back_from: int | None = None
        while i < n:
            if d[i] < back_m:
                if back_from is None:
                    back_from = i
                if t[i] - t[back_from] >= hold_s:
                    break
            else:
                back_from = None
                last = i
            i += 1
        out.append((a, alert, last))
        i = last + 1 if back_from is None else max(back_from, last + 1)
    return out


def _speed(g: _Geo) -> float:
    t = g.track.t
    dt = np.diff(t)
    v = g.step[1:] / np.where(dt > 0, dt, np.nan)
    v = v[np.isfinite(v) & (v > 0.5) & (v < 8)]
    return float(np.median(v)) if len(v) else 2.5


def _excursion(g: _Geo, a: int, alert: int, b: int, dist: F64) -> dict[str, Any]:
    t = g.track.t
    n = len(t)
    i_exit = max(a - 1, 0)
    back = b + 1 < n
    i_back = b + 1 if back else b
    m_exit = g.project(i_exit)
    m_back = g.project(i_back) if back else None
    covered = float(np.sum(g.step[i_exit + 1 : i_back + 1]))
    extra = None if m_back is None else covered - (m_back - m_exit)
    return {
        "kind": "off_course",
        "start_time": iso_utc(t[a]),
        "alert_time": iso_utc(t[alert]),
        "end_time": iso_utc(t[i_back]) if back else None,
        "exit_route_m": round(m_exit, 1),
        "rejoin_route_m": None if m_back is None else round(m_back, 1),
        "max_offset_m": round(float(np.max(dist[a : b + 1])), 1),
        "distance_m": round(covered, 1),
        "extra_distance_m": None if extra is None else round(extra, 1),
        "time_lost_s": None if extra is None else round(extra / _speed(g), 1),
        "exit": g.route_lonlat(m_exit),
        "rejoin": None if m_back is None else g.route_lonlat(m_back),
    }


def _report(route_path: Path, track_path: Path, g: _Geo, excursions: list[dict[str, Any]]) -> dict[str, Any]:
    t = g.track.t
    off = [e for e in excursions if e["kind"] == "off_course"]
    return {
        "route": {"path": str(route_path), "name": None, "length_m": round(g.line.length, 1)},
        "track": {
            "path": str(track_path),
            "fixes": len(t),
            "start_time": iso_utc(t[0]) if len(t) else None,
            "end_time": iso_utc(t[-1]) if len(t) else None,
            "distance_m": round(float(np.sum(g.step)), 1),
        },
        "summary": {
            "excursions": len(off),
            "extra_distance_m": round(sum(e["extra_distance_m"] or 0.0 for e in off), 1),
            "time_off_course_s": None,
            "skipped_m": round(sum(e["rejoin_route_m"] - e["exit_route_m"] for e in excursions
                                   if e["kind"] == "skipped_section"), 1),
            "completed": all(e["end_time"] is not None for e in off),
        },
        "excursions": excursions,
    }


def naive(route_path: Path, track_path: Path) -> dict[str, Any]:
    """Global distance to the route > 50 m, no debounce."""
    g = _Geo(route_path, track_path)
    d = shapely.distance(shapely.points(g.txy), g.line)
    exc = [_excursion(g, a, a, b, d) for a, b in _runs(d > THRESHOLD_M)]
    return _report(route_path, track_path, g, exc)


def naive_debounce(route_path: Path, track_path: Path) -> dict[str, Any]:
    """Global distance to the route > 50 m for at least 10 s."""
    g = _Geo(route_path, track_path)
    d = shapely.distance(shapely.points(g.txy), g.line)
    exc = [_excursion(g, a, al, b, d) for a, al, b in _debounce(g.track.t, d > THRESHOLD_M, DEBOUNCE_S)]
    return _report(route_path, track_path, g, exc)


def debounced_distance(route_path: Path, track_path: Path) -> dict[str, Any]:
    """Distance to the whole route > 50 m for 10 s: alert; < 25 m for 10 s: back on course."""
    g = _Geo(route_path, track_path)
    d = shapely.distance(shapely.points(g.txy), g.line)
    exc = [_excursion(g, a, al, b, d) for a, al, b in hysteresis_runs(g.track.t, d)]
    return _report(route_path, track_path, g, exc)


def ruler(route_path: Path, track_path: Path) -> dict[str, Any]:
    """polyline-ruler nearest point: off course (debounced), skipped sections, wrong direction."""
    from polyline_ruler import PolylineRuler

    g = _Geo(route_path, track_path)
    coords: Any = np.ascontiguousarray(np.column_stack([g.route.lon, g.route.lat, np.zeros(len(g.route))]))
    pr = PolylineRuler(coords, is_wgs84=True)
    n = len(g.track)
    q = np.empty((n, 2))
    r = np.empty(n)
    for i in range(n):
        fix: Any = np.array([g.track.lon[i], g.track.lat[i], 0.0])
        p, seg, tt = pr.pointOnLine(fix)
        q[i] = p[0], p[1]
        r[i] = pr.range(segment_index=int(seg), t=float(tt))
    qx, qy = g.frame.to_xy(q[:, 0], q[:, 1])
    d = np.hypot(g.txy[:, 0] - qx, g.txy[:, 1] - qy)
    t = g.track.t
    exc = [_excursion(g, a, al, b, d) for a, al, b in _debounce(t, d > THRESHOLD_M, DEBOUNCE_S)]
    scale = g.line.length / max(pr.length(), 1e-9)
    on = np.flatnonzero(d <= THRESHOLD_M)
    run = np.cumsum(g.step)
    # skipped: the furthest position reached jumps ahead far more than the distance run
    best = -math.inf
    j_best = -1
    for j in on.tolist():
        if j_best >= 0:
            jump = (r[j] - best) * scale
            ran = run[j] - run[j_best]
            if jump > max(300.0, 3 * ran + 100.0):
                exc.append({
                    "kind": "skipped_section", "start_time": iso_utc(t[j_best]), "alert_time": iso_utc(t[j]),
                    "end_time": iso_utc(t[j]), "exit_route_m": round(best * scale, 1),
                    "rejoin_route_m": round(r[j] * scale, 1), "max_offset_m": None, "distance_m": round(ran, 1),
                    "extra_distance_m": None, "time_lost_s": None,
                    "exit": g.route_lonlat(best * scale), "rejoin": g.route_lonlat(r[j] * scale),
                })
        if r[j] >= best:
            best, j_best = float(r[j]), j
    # wrong direction: along-route position decreasing by >= 150 m over >= 60 s while on the route
    if len(on) > 2:
        ro, to = r[on] * scale, t[on]
        back = np.diff(ro) < 0
        for a, b in _runs(back):
            i0, i1 = a, b + 1
            if ro[i0] - ro[i1] >= 150.0 and to[i1] - to[i0] >= 60.0:
                exc.append({
                    "kind": "wrong_direction", "start_time": iso_utc(to[i0]), "alert_time": iso_utc(to[i1]),
                    "end_time": iso_utc(to[i1]), "exit_route_m": round(ro[i0], 1), "rejoin_route_m": round(ro[i1], 1),
                    "max_offset_m": None, "distance_m": None, "extra_distance_m": None, "time_lost_s": None,
                    "exit": g.route_lonlat(ro[i0]), "rejoin": g.route_lonlat(ro[i1]),
                })
    exc.sort(key=lambda e: e["start_time"])
    return _report(route_path, track_path, g, exc)


def gpsbabel_arc(route_path: Path, track_path: Path) -> dict[str, Any]:
    """GPSBabel ``arc`` filter with ``exclude``: fixes further than 50 m from the route, debounced 10 s."""
    exe = shutil.which("gpsbabel")
    if exe is None:
        raise RuntimeError("gpsbabel is not installed (apt-get install gpsbabel)")
    g = _Geo(route_path, track_path)
    with tempfile.TemporaryDirectory() as tmp:
        arc = Path(tmp) / "route.arc"
        arc.write_text("".join(f"{la:.7f} {lo:.7f}\n" for lo, la in zip(g.route.lon, g.route.lat, strict=True)))
        # the arc filter works on waypoints: turn the track into waypoints, keep those further than
        # `distance` from the arc (`exclude`); GPSBabel gets a GPX written from the points we read
        gpx = Path(tmp) / "track.gpx"
        rows = [f'<trkpt lat="{la:.7f}" lon="{lo:.7f}"><time>{iso_utc(tt).replace("+00:00", "Z")}</time></trkpt>'
                for lo, la, tt in zip(g.track.lon, g.track.lat, g.track.t, strict=True)]
        gpx.write_text('<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
                       "<trk><trkseg>" + "".join(rows) + "</trkseg></trk></gpx>")
        out = subprocess.run(
            [exe, "-i", "gpx", "-f", str(gpx), "-x", "transform,wpt=trk,del",
             "-x", f"arc,file={arc},distance={THRESHOLD_M / 1000}K,exclude",
             "-o", "unicsv,utc=0", "-F", "-"],
            check=True, capture_output=True, text=True,
        ).stdout
    far_t: set[int] = set()
    for row in csv.DictReader(io.StringIO(out)):
        date, time = row.get("Date", ""), row.get("Time", "")
        if date and time:
            far_t.add(round(_parse_unicsv(date, time)))
    t = g.track.t
    off = np.array([round(tt) in far_t for tt in t], dtype=bool)
    d = shapely.distance(shapely.points(g.txy), g.line)  # for max_offset only
    exc = [_excursion(g, a, al, b, d) for a, al, b in _debounce(t, off, DEBOUNCE_S)]
    return _report(route_path, track_path, g, exc)


def _parse_unicsv(date: str, time: str) -> float:
    from datetime import UTC, datetime

    date = date.replace("/", "-")
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(f"{date} {time}", fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return math.nan


PEERS: dict[str, Callable[[Path, Path], dict[str, Any]]] = {
    "naive-shapely": naive,
    "naive-debounce-10s": naive_debounce,
    "debounced-distance": debounced_distance,
    "polyline-ruler": ruler,
    "gpsbabel-arc": gpsbabel_arc,
}
"""In-process peer detectors by name."""

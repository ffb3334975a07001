"""The rows of a batch: one dict per input, from a report or from the reason it has none.

Part of :mod:`offcourse.batch`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..model import Metadata, Route, Track
from ..read._limits import clean_text
from ..report import Excursion, Report, iso_utc, report_to_dict, valid_positions
from .inputs import ROW_KEYS, Row, _display, _stem

__all__ = ["MAX_EXCURSION_POINTS", "error_row", "report_row", "runner_name"]

MAX_EXCURSION_POINTS = 500
"""An excursion's geometry is decimated to at most this many points."""


def runner_name(meta: Metadata | None, path: bytes) -> str:
    """The runner's name: from the file's metadata where present, else the file name's stem.

    The metadata's author or athlete (``meta.extra``) is preferred, then its ``name``
    (a GPX ``metadata/name`` or track name, a FIT course name).

    >>> runner_name(None, b"results/Jane-Doe.gpx.gz")
    'Jane-Doe'
    >>> runner_name(Metadata("gpx", name="  Morning Run "), b"x.gpx")
    'Morning Run'
    """
    if meta is not None:
        for value in (meta.extra.get("author"), meta.extra.get("athlete"), meta.name):
            if isinstance(value, str) and value.strip():
                return " ".join(value.split())
    return _stem(path)


def error_row(path: bytes, reason: str, sha256: str | None = None) -> Row:
    """The row of a file that could not be checked."""
    row: Row = dict.fromkeys(ROW_KEYS)
    reason = clean_text(reason)  # a message quoting hostile text must not break the outputs
    row.update(file=_display(path), name=_stem(path), status="error", error=reason, sha256=sha256, excursion_list=[])
    return row


def _decimate(n: int, limit: int = MAX_EXCURSION_POINTS) -> Any:
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def _lonlat_list(lon: Any, lat: Any) -> list[list[float]]:
    ok = np.isfinite(lon) & np.isfinite(lat)
    lon, lat = lon[ok], lat[ok]
    idx = _decimate(len(lon))
    return [[round(x, 7), round(y, 7)] for x, y in zip(lon[idx].tolist(), lat[idx].tolist(), strict=True)]


def _excursion_coordinates(e: Excursion, route: Route, track: Track) -> list[list[float]]:
    """Where the excursion went: the runner's fixes, or for a skipped section the route skipped."""
    if e.kind == "skipped_section":
        lo, hi = sorted((e.exit_route_m, e.rejoin_route_m if e.rejoin_route_m is not None else e.exit_route_m))
        inner = route.cum_m[(route.cum_m > lo) & (route.cum_m < hi)]
        lon, lat = route.lonlat_at(np.concatenate(([lo], inner, [hi])))
        return _lonlat_list(lon, lat)
    t = track.epoch_s
    end = e.end_epoch_s if e.end_epoch_s is not None else math.inf
    sel = (t >= e.start_epoch_s) & (t <= end) & valid_positions(track)  # no receiver (0, 0) in the line
    return _lonlat_list(track.lon[sel], track.lat[sel])


def report_row(report: Report, path: bytes, sha256: str | None) -> Row:
    """The row of a checked recording: :func:`~offcourse.report.report_to_dict`'s figures and geometry."""
    d = report_to_dict(report)
    track = report.track
    times = track.epoch_s[np.isfinite(track.epoch_s)]
    s = d["summary"]
    excursions = []
    for e, ed in zip(report.excursions, d["excursions"], strict=True):
        excursions.append({**ed, "coordinates": _excursion_coordinates(e, report.route, track)})
    return {
        "file": _display(path),
        "name": runner_name(track.meta, path),
        "status": "ok",
        "verdict": s["verdict"],
        "verdict_reason": s["verdict_reason"],
        "error": None,
        "sha256": sha256,
        "fixes": len(track),
        "start_time": iso_utc(float(times[0])) if len(times) else None,
        "duration_s": round(float(times[-1] - times[0]), 1) if len(times) else None,
        "distance_m": d["track"]["distance_m"],
        "excursions": s["excursions"],
        "extra_distance_m": s["extra_distance_m"],
        "time_off_course_s": s["time_off_course_s"],
        "skipped_m": s["skipped_m"],
        "wrong_way_m": s["wrong_way_m"],
        "completed": s["completed"],
        "coverage": s["coverage"]["fraction"],
        "excursion_list": excursions,
    }

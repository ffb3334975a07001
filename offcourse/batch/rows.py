"""The rows of a batch: one dict per input, from a report or from the reason it has none.

Part of :mod:`offcourse.batch`. A row's excursions carry the named checkpoints around them
(``between``), its ``flags`` what the recording is beside its verdict (damaged, a course file,
another route; the scheduler adds duplicates and recordings of another day).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..model import Metadata, Route, Track
from ..read._limits import clean_text
from ..report import Excursion, Report, iso_utc, report_to_dict, valid_positions
from ..verdict import facts_to_json
from .inputs import ERROR_KINDS, ROW_KEYS, Row, _display, _stem

__all__ = [
    "MAX_EXCURSION_POINTS",
    "checkpoints_around",
    "error_row",
    "file_flags",
    "flag",
    "report_row",
    "runner_name",
    "worst_excursion",
]

MAX_EXCURSION_POINTS = 500
"""An excursion's geometry is decimated to at most this many points."""


def runner_name(meta: Metadata | None, path: bytes) -> str:
    """The runner's name: the file's author or athlete where its metadata has one, else the file name's stem.

    An activity's title ("Morning Run", "Move") names no one: it is the row's ``title``, used as
    the name only on request (``names="title"``, see :func:`offcourse.batch.names.apply_names`).

    >>> runner_name(None, b"results/Jane-Doe.gpx.gz")
    'Jane-Doe'
    >>> runner_name(Metadata("gpx", name="  Morning Run "), b"x.gpx")
    'x'
    >>> runner_name(Metadata("gpx", name="Run", extra={"author": " Ann  Lee"}), b"x.gpx")
    'Ann Lee'
    """
    if meta is not None:
        for value in (meta.extra.get("author"), meta.extra.get("athlete")):
            if isinstance(value, str) and value.strip():
                return " ".join(value.split())
    return _stem(path)


def error_row(path: bytes, reason: str, sha256: str | None = None, kind: str = "error") -> Row:
    """The row of a file that could not be checked; ``kind`` is one of :data:`ERROR_KINDS`."""
    row: Row = dict.fromkeys(ROW_KEYS)
    reason = clean_text(reason)  # a message quoting hostile text must not break the outputs
    row.update(
        file=_display(path),
        name=_stem(path),
        status="error",
        error=reason,
        error_kind=kind if kind in ERROR_KINDS else "error",
        flags=[],
        sha256=sha256,
        excursion_list=[],
    )
    return row


def flag(kind: str, text: str) -> dict[str, str]:
    """One flag of a row: ``{"kind": kind, "text": text}`` (``kind`` from :data:`FLAG_KINDS`)."""
    return {"kind": kind, "text": clean_text(text)}


_DAMAGE_WORDS = ("CRC", "file ends", "cannot decode", "undefined local message", "chained FIT")


def file_flags(track: Track, verdict: str | None, verdict_reason: str | None) -> list[dict[str, str]]:
    """The flags a recording earns by itself: damaged, a course file, another route.

    >>> from offcourse.model import Metadata
    >>> t = Track.from_arrays(lon=[7.0, 7.001], lat=[46.0, 46.0],
    ...                       meta=Metadata("fit", kind="course", extra={"crc_ok": False}))
    >>> [f["kind"] for f in file_flags(t, "on_course", "")]
    ['damaged', 'course_file']
    """
    out: list[dict[str, str]] = []
    extra = track.meta.extra
    problems = [str(w) for w in extra.get("warnings", []) if any(k in str(w) for k in _DAMAGE_WORDS)]
    if extra.get("crc_ok") is False or problems:
        what = "; ".join(problems) or "file CRC does not match"
        cut = any("file ends" in w for w in problems)
        out.append(flag("damaged", f"damaged: {what}: " + ("cut short" if cut else "corrupted or edited")))
    if track.meta.kind in ("course", "route"):
        out.append(flag("course_file", f"a {track.meta.kind} file (a planned route), not a recording"))
    elif len(track) and not np.isfinite(track.epoch_s).any():
        out.append(flag("course_file", "no times: a route or course drawn, not a recording"))
    if verdict == "not_this_route":
        out.append(flag("not_this_route", f"not this route: {verdict_reason or 'it hardly meets it'}"))
    return out


def checkpoints_around(route: Route, lo_m: float | None, hi_m: float | None = None) -> dict[str, Any]:
    """The named checkpoints around a stretch of the route (``lo_m`` to ``hi_m``): the last at or
    before its start and the first at or after its end, each ``{"name", "route_m"}`` or None.

    What the JSON keeps (names and metres); :func:`offcourse.present.locate` says it in words.

    >>> from offcourse.model import Route, Waypoint
    >>> r = Route.from_arrays(lon=[7.0, 7.1], lat=[46.0, 46.0])
    >>> checkpoints_around(r, 1000.0)
    {'before': None, 'after': None}
    """
    if lo_m is None or not math.isfinite(lo_m):
        return {"before": None, "after": None}
    hi = lo_m if hi_m is None or not math.isfinite(hi_m) else hi_m
    lo, hi = min(lo_m, hi), max(lo_m, hi)
    before = after = None
    for cp in sorted(route.checkpoints, key=lambda c: c.route_m):
        if cp.route_m <= lo:
            before = cp
        elif cp.route_m >= hi and after is None:
            after = cp
    return {
        "before": None if before is None else {"name": clean_text(before.name), "route_m": round(before.route_m, 1)},
        "after": None if after is None else {"name": clean_text(after.name), "route_m": round(after.route_m, 1)},
    }


_KIND_RANK = {"skipped_section": 0, "shortcut": 0, "wrong_direction": 1, "off_course": 2}


def worst_excursion(excursions: list[dict[str, Any]]) -> int | None:
    """The number (from 1) of the most serious excursion: a skip or shortcut before a wrong way before
    an excursion off course, then the most route bypassed, then the most extra distance."""

    def key(k: int) -> tuple[float, ...]:
        e = excursions[k]
        return (
            _KIND_RANK.get(str(e.get("kind")), 3),
            -float(e.get("route_bypassed_m") or 0.0),
            -float(e.get("extra_distance_m") or 0.0),
            float(k),
        )

    return min(range(len(excursions)), key=key) + 1 if excursions else None


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
        where = checkpoints_around(report.route, e.exit_route_m, e.rejoin_route_m)
        excursions.append({**ed, "between": where, "coordinates": _excursion_coordinates(e, report.route, track)})
    title = track.meta.name
    verdict, reason, facts = s["verdict"], s["verdict_reason"], facts_to_json(report.verdict.facts) or None
    flags = file_flags(track, verdict, reason)
    course = next((f["text"] for f in flags if f["kind"] == "course_file"), None)
    if course is not None and verdict != "not_this_route":  # a plan is no run, however well it follows the route
        verdict, reason, facts = "unjudged", course, None
    return {
        "file": _display(path),
        "name": runner_name(track.meta, path),
        "bib": None,
        "status": "ok",
        "verdict": verdict,
        "verdict_reason": reason,
        "verdict_facts": facts,
        "error": None,
        "error_kind": None,
        "flags": flags,
        "sha256": sha256,
        "title": " ".join(title.split()) if isinstance(title, str) and title.strip() else None,
        "fixes": len(track),
        "start_time": iso_utc(float(times[0])) if len(times) else None,
        "duration_s": round(float(times[-1] - times[0]), 1) if len(times) else None,
        "distance_m": d["track"]["distance_m"],
        "excursions": s["excursions"],
        "extra_distance_m": s["extra_distance_m"],
        "time_off_course_s": s["time_off_course_s"],
        "skipped_m": s["skipped_m"],
        "wrong_way_m": s["wrong_way_m"],
        "completed": s["completed"] and course is None,
        "coverage": s["coverage"]["fraction"],
        "worst": worst_excursion(excursions),
        "excursion_list": excursions,
    }

"""Run the engine over a whole recording and say what each mistake cost.

:func:`check` pushes every fix of a :class:`~offcourse.model.Track` through the
same :class:`~offcourse.detect.Monitor` a companion app uses live, so batch
and live give identical events, and gathers them into a :class:`Report`:
one :class:`Excursion` per wrong turn, wrong-way section or skipped section.

Examples
--------
>>> import numpy as np
>>> from offcourse.model import Route, Track
>>> from offcourse.project import LocalProjection
>>> p = LocalProjection(7.0, 46.0)
>>> route = Route.from_arrays(lon=p.inverse([0.0, 3000.0], [0.0, 0.0])[0], lat=[46.0, 46.0], projection=p)
>>> t = np.arange(0.0, 1000.0)
>>> x = 3.0 * t
>>> y = np.where((x > 900) & (x < 1500), 300.0, 0.0)       # a 300 m wide detour
>>> lon, lat = p.inverse(x, y)
>>> r = check(route, Track.from_arrays(lon=lon, lat=lat, epoch_s=1.6e9 + t))
>>> [e.kind for e in r.excursions], r.completed
(['off_course'], True)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from .detect import (
    BackOnCourse,
    Event,
    Finished,
    Fix,
    Monitor,
    NeverRejoined,
    Options,
    SkippedSection,
    Started,
    WrongDirection,
    WrongDirectionEnd,
)
from .errors import InvalidTrackError
from .match import RouteIndex
from .model import Route, Track

__all__ = [
    "Excursion",
    "Report",
    "check",
    "check_same_place",
    "check_timestamps",
    "fixes_of",
    "hms",
    "iso_utc",
    "project_track",
    "report_to_dict",
    "report_to_text",
    "valid_positions",
]


@dataclass(frozen=True)
class Excursion:
    """One course error. Times are UTC seconds; ``None`` where it does not apply or never happened."""

    kind: str  # off_course | wrong_direction | skipped_section
    start_epoch_s: float
    alert_epoch_s: float
    end_epoch_s: float | None
    exit_route_m: float
    rejoin_route_m: float | None
    max_offset_m: float | None
    distance_m: float | None
    extra_distance_m: float | None
    time_lost_s: float | None
    extra_climb_m: float | None
    exit_lonlat: tuple[float, float] | None
    rejoin_lonlat: tuple[float, float] | None


@dataclass(frozen=True)
class Report:
    """Everything :func:`check` found."""

    route: Route
    track: Track
    events: tuple[Event, ...]
    excursions: tuple[Excursion, ...]
    distance_m: float
    covered_m: float
    start_epoch_s: float | None
    """When the runner was found on the route (the start); ``None`` if never."""
    finish_epoch_s: float | None
    ignored_fixes: int

    @property
    def completed(self) -> bool:
        """Reached the finish with no skipped section and no open excursion."""
        return self.finish_epoch_s is not None and not any(
            e.kind == "skipped_section" or e.end_epoch_s is None for e in self.excursions
        )

    @property
    def extra_distance_m(self) -> float:
        return sum(e.extra_distance_m or 0.0 for e in self.excursions if e.kind == "off_course")

    @property
    def time_off_course_s(self) -> float:
        end = float(self.track.epoch_s[-1]) if len(self.track) else 0.0
        return sum(
            (e.end_epoch_s if e.end_epoch_s is not None else end) - e.start_epoch_s
            for e in self.excursions
            if e.kind == "off_course"
        )

    @property
    def skipped_m(self) -> float:
        return sum((e.rejoin_route_m or 0.0) - e.exit_route_m for e in self.excursions if e.kind == "skipped_section")

    @property
    def wrong_way_m(self) -> float:
        return sum(e.distance_m or 0.0 for e in self.excursions if e.kind == "wrong_direction")


def fixes_of(track: Track) -> Iterator[Fix]:
    """The track's fixes, in file order, as :class:`~offcourse.detect.Fix` objects."""
    cols = zip(
        track.epoch_s.tolist(),
        track.lon.tolist(),
        track.lat.tolist(),
        track.ele_m.tolist(),
        track.hacc_m.tolist(),
        strict=True,
    )
    for t, lon, lat, ele, hacc in cols:
        yield Fix(t, lon, lat, ele, hacc)


def _excursions(events: list[Event]) -> list[Excursion]:
    out: list[Excursion] = []
    wrong: WrongDirection | None = None
    for e in events:
        if isinstance(e, BackOnCourse):
            out.append(
                Excursion(
                    "off_course",
                    e.exit_epoch_s,
                    e.alert_epoch_s,
                    e.rejoin_epoch_s,
                    e.exit_route_m,
                    e.rejoin_route_m,
                    e.max_offset_m,
                    e.distance_m,
                    e.extra_distance_m,
                    e.time_lost_s,
                    e.extra_climb_m,
                    (e.exit_lon, e.exit_lat),
                    (e.rejoin_lon, e.rejoin_lat),
                )
            )
        elif isinstance(e, NeverRejoined):
            out.append(
                Excursion(
                    "off_course",
                    e.exit_epoch_s,
                    e.alert_epoch_s,
                    None,
                    e.exit_route_m,
                    None,
                    e.max_offset_m,
                    e.distance_m,
                    None,
                    None,
                    None,
                    (e.exit_lon, e.exit_lat),
                    None,
                )
            )
        elif isinstance(e, WrongDirection):
            wrong = e
        elif isinstance(e, WrongDirectionEnd):
            out.append(
                Excursion(
                    "wrong_direction",
                    e.start_epoch_s,
                    wrong.epoch_s if wrong else e.start_epoch_s,
                    e.epoch_s,
                    e.to_route_m,
                    e.from_route_m,
                    None,
                    e.distance_m,
                    None,
                    None,
                    None,
                    None,
                    None,
                )
            )
            wrong = None
        elif isinstance(e, SkippedSection):
            out.append(
                Excursion(
                    "skipped_section",
                    e.start_epoch_s,
                    e.epoch_s,
                    e.epoch_s,
                    e.from_route_m,
                    e.to_route_m,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                )
            )
    return out


def check(
    route: Route,
    track: Track,
    options: Options | None = None,
    *,
    index: RouteIndex | None = None,
    compiled: bool | None = None,
) -> Report:
    """Check a recording against a route with the streaming engine.

    Parameters
    ----------
    route, track :
        The official route and the watch recording.
    options : Options, optional
        Detector settings (defaults tuned on the benchmark).
    index : RouteIndex, optional
        Share one prepared route index across many tracks (batch).
    compiled : bool, optional
        Use the compiled path for the fixes where nothing happens (same events; default: when
        numba is installed and the track is long, see :meth:`Monitor.push_arrays`).
    """
    check_timestamps(track)
    monitor = Monitor(route, options, index=index)
    x, y = project_track(route, track)  # the whole track at once; no valid position: NaN (ignored)
    check_same_place(monitor.index, track, (x, y))
    events: list[Event] = []
    events.extend(monitor.push_arrays(track.epoch_s, x, y, track.ele_m, track.hacc_m, compiled=compiled))
    events.extend(monitor.close())
    started = next((e.epoch_s for e in events if isinstance(e, Started)), None)
    finished = next((e.epoch_s for e in events if isinstance(e, Finished)), None)
    return Report(
        route=route,
        track=track,
        events=tuple(events),
        excursions=tuple(_excursions(events)),
        distance_m=monitor.distance_m,
        covered_m=monitor.covered_m(),
        start_epoch_s=started,
        finish_epoch_s=finished,
        ignored_fixes=monitor.ignored_fixes,
    )


FAR_AWAY_M = 50_000.0
"""A recording whose fixes all lie farther than this from the route is a different place: an error."""


def valid_positions(track: Track) -> npt.NDArray[np.bool_]:
    """Fixes with a usable position: finite, in range, and not the receiver's (0, 0) before it has a fix."""
    lon, lat = track.lon, track.lat
    ok: npt.NDArray[np.bool_] = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    ok &= (lon != 0) | (lat != 0)
    return ok


def project_track(route: Route, track: Track) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The track's fixes in the route's projection, metres; ``NaN`` where a fix has no valid position."""
    valid = valid_positions(track)
    x = np.full(len(track), np.nan)
    y = np.full(len(track), np.nan)
    if valid.any():
        x[valid], y[valid] = route.projection.forward(track.lon[valid], track.lat[valid])
    return x, y


def check_timestamps(track: Track) -> None:
    """Raise :class:`InvalidTrackError` when no fix of the recording has a time (the engine needs them)."""
    if len(track) and not np.isfinite(track.epoch_s).any():
        raise InvalidTrackError(
            "the recording has no timestamps: the engine needs the time of each fix", path=track.meta.path
        )


def check_same_place(
    index: RouteIndex,
    track: Track,
    xy: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None,
) -> None:
    """Raise :class:`InvalidTrackError` when every fix lies farther than :data:`FAR_AWAY_M` from the route.

    ``xy`` is the track already projected (:func:`project_track`), when the caller has it.
    """
    route = index.route
    x, y = project_track(route, track) if xy is None else xy
    ok = np.isfinite(x)
    if not ok.any():
        return  # nothing to compare: the engine reports that it never started
    x, y = x[ok], y[ok]
    # a fix this far from the route's bounding box is this far from the route: one vectorised test
    dx = np.maximum(np.maximum(route.x.min() - x, x - route.x.max()), 0.0)
    dy = np.maximum(np.maximum(route.y.min() - y, y - route.y.max()), 0.0)
    near_box = np.flatnonzero(np.hypot(dx, dy) <= FAR_AWAY_M)
    step = max(1, len(near_box) // 200)
    for i in near_box[::step].tolist():
        if index.nearest_global(float(x[i]), float(y[i]), max_radius_m=FAR_AWAY_M) is not None:
            return
    raise InvalidTrackError(
        f"the recording never comes within {FAR_AWAY_M / 1000:.0f} km of the route: is it the right route?",
        path=track.meta.path,
    )


def iso_utc(epoch_s: float | None) -> str | None:
    """ISO 8601 with a UTC offset, or None."""
    if epoch_s is None or not math.isfinite(epoch_s):
        return None
    return datetime.fromtimestamp(epoch_s, tz=UTC).isoformat()


def _r(v: float | None, nd: int = 1) -> float | None:
    return None if v is None or not math.isfinite(v) else round(v, nd)


def report_to_dict(report: Report) -> dict[str, Any]:
    """The report as the JSON object ``offcourse check --format json`` prints."""
    track = report.track
    times = track.epoch_s
    return {
        "route": {
            "path": report.route.meta.path,
            "name": report.route.name,
            "length_m": _r(report.route.length_m),
        },
        "track": {
            "path": track.meta.path,
            "fixes": len(track),
            "start_time": iso_utc(float(times[0])) if len(track) else None,
            "end_time": iso_utc(float(times[-1])) if len(track) else None,
            "distance_m": _r(report.distance_m),
            "ignored_fixes": report.ignored_fixes,
        },
        "summary": {
            "excursions": len(report.excursions),
            "extra_distance_m": _r(report.extra_distance_m),
            "time_off_course_s": _r(report.time_off_course_s),
            "skipped_m": _r(report.skipped_m),
            "wrong_way_m": _r(report.wrong_way_m),
            "completed": report.completed,
            "covered_m": _r(report.covered_m),
            "race_start_time": iso_utc(report.start_epoch_s),
            "finish_time": iso_utc(report.finish_epoch_s),
        },
        "excursions": [
            {
                "kind": e.kind,
                "start_time": iso_utc(e.start_epoch_s),
                "alert_time": iso_utc(e.alert_epoch_s),
                "end_time": iso_utc(e.end_epoch_s),
                "exit_route_m": _r(e.exit_route_m),
                "rejoin_route_m": _r(e.rejoin_route_m),
                "max_offset_m": _r(e.max_offset_m),
                "distance_m": _r(e.distance_m),
                "extra_distance_m": _r(e.extra_distance_m),
                "time_lost_s": _r(e.time_lost_s, 0),
                "extra_climb_m": _r(e.extra_climb_m, 0),
                "exit": [round(v, 7) for v in e.exit_lonlat] if e.exit_lonlat else None,
                "rejoin": [round(v, 7) for v in e.rejoin_lonlat] if e.rejoin_lonlat else None,
            }
            for e in report.excursions
        ],
    }


def hms(seconds: float) -> str:
    """``h:mm:ss``, with a sign when negative.

    >>> hms(250.4), hms(-61)
    ('0:04:10', '-0:01:01')
    """
    s = round(abs(seconds))
    sign = "-" if seconds < 0 else ""
    return f"{sign}{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def report_to_text(report: Report) -> str:
    """A report for people."""
    d = report_to_dict(report)
    lines = [
        f"Route   {d['route']['name'] or d['route']['path']}  ({d['route']['length_m'] / 1000:.2f} km)",
        f"Track   {d['track']['path']}  ({d['track']['fixes']} fixes, {d['track']['distance_m'] / 1000:.2f} km, "
        f"{d['track']['start_time']} → {d['track']['end_time']})",
        "",
    ]
    if not report.excursions:
        lines.append("No wrong turn: the runner stayed on the route.")
    for i, e in enumerate(report.excursions, 1):
        when = iso_utc(e.start_epoch_s)
        if e.kind == "off_course":
            where = f"km {e.exit_route_m / 1000:.2f}"
            back = (
                f"rejoined at km {e.rejoin_route_m / 1000:.2f} ({iso_utc(e.end_epoch_s)})"
                if e.rejoin_route_m is not None
                else "never came back"
            )
            lines.append(f"{i}. Off course at {where}, {when}: up to {e.max_offset_m or 0:.0f} m off, {back}")
            if e.extra_distance_m is not None:
                lines.append(
                    f"   covered {e.distance_m or 0:.0f} m off the route, extra distance {e.extra_distance_m:+.0f} m, "
                    f"time lost {hms(e.time_lost_s or 0.0)}"
                )
        elif e.kind == "wrong_direction":
            lines.append(
                f"{i}. Wrong way from km {e.exit_route_m / 1000:.2f} back to km {(e.rejoin_route_m or 0) / 1000:.2f}, "
                f"{when}: {e.distance_m or 0:.0f} m run the wrong way"
            )
        else:
            to_m = e.rejoin_route_m or 0.0
            lines.append(
                f"{i}. Skipped the route from km {e.exit_route_m / 1000:.2f} to km {to_m / 1000:.2f} "
                f"({to_m - e.exit_route_m:.0f} m), {when}"
            )
    s = d["summary"]
    lines += [
        "",
        f"Total   {s['excursions']} excursion(s), extra distance {s['extra_distance_m']:+.0f} m, "
        f"off course {hms(s['time_off_course_s'])}, skipped {s['skipped_m']:.0f} m",
        f"Route   {'completed' if s['completed'] else 'NOT completed'}: covered {s['covered_m'] / 1000:.2f} of "
        f"{d['route']['length_m'] / 1000:.2f} km"
        + ("" if report.finish_epoch_s is not None else ", finish never reached"),
    ]
    return "\n".join(lines)

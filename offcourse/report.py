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

import numpy as np
import numpy.typing as npt

from .contract import iso_utc, report_to_dict
from .coverage import Coverage, Hindsight, hindsight
from .detect import (
    Event,
    Finished,
    Fix,
    Monitor,
    Options,
    Started,
)
from .errors import InvalidTrackError
from .findings import Excursion, cut_sections, live_excursions, live_withdrawn, more_warnings
from .match import RouteIndex
from .model import Route, Track
from .passes import two_way
from .present import hms
from .review import final_excursions, judge_directions
from .text import report_to_text
from .timeline import Pause, engine_times, find_pauses, paused_s
from .verdict import START_TOLERANCE_M, Evidence, Verdict, VerdictKind, decide

__all__ = [
    "Excursion",
    "Pause",
    "Report",
    "Trace",
    "check",
    "check_same_place",
    "check_timestamps",
    "fixes_of",
    "hms",
    "iso_utc",
    "project_track",
    "report_to_dict",
    "report_to_text",
    "trace_of",
    "valid_positions",
]


@dataclass(frozen=True, eq=False)
class Trace:
    """The recording fix by fix as the check matched it, and the engine's settings."""

    route_m: npt.NDArray[np.float64]
    """Progress along the route, metres: the matched place, held at the last one while off the
    route (so an excursion stands at its exit); NaN before the first match and without a position."""
    offset_m: npt.NDArray[np.float64]
    """Distance to the nearest part of the route, metres; NaN without a position."""
    options: Options
    """The settings the engine applied (its thresholds)."""


def trace_of(h: Hindsight, options: Options) -> Trace:
    """The per-fix :class:`Trace` of a check, from its hindsight match (no engine run).

    >>> from types import SimpleNamespace
    >>> nan = float("nan")
    >>> h = SimpleNamespace(route_m=np.array([nan, 0.0, 10.0, nan, nan, 30.0]), nearest_m=np.arange(6.0))
    >>> t = trace_of(h, Options())  # type: ignore[arg-type]
    >>> t.route_m.tolist(), t.offset_m.tolist()
    ([nan, 0.0, 10.0, 10.0, 10.0, 30.0], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    """
    s = np.asarray(h.route_m, dtype=np.float64)
    ok = np.isfinite(s)
    last = np.where(ok, np.arange(len(s)), -1)
    np.maximum.accumulate(last, out=last)  # index of the last matched fix, -1 before the first
    held = np.where(last >= 0, s[np.maximum(last, 0)], np.nan)
    return Trace(route_m=held, offset_m=np.asarray(h.nearest_m, dtype=np.float64), options=options)


@dataclass(frozen=True)
class Report:
    """Everything :func:`check` found."""

    route: Route
    track: Track
    events: tuple[Event, ...]
    excursions: tuple[Excursion, ...]
    distance_m: float
    covered_m: float
    """Route metres covered in order and in the right direction (:attr:`coverage`)."""
    start_epoch_s: float | None
    """When the runner was found on the route (the start); ``None`` if never."""
    finish_epoch_s: float | None
    ignored_fixes: int
    coverage: Coverage
    verdict: Verdict
    completed: bool
    """Started at the start, reached the finish, and nothing was cut or run the wrong way (verdict
    ``on_course``, or ``lost`` for a runner who came back to where they left: the route's own
    stretch between exit and rejoin is then in ``coverage.gaps``)."""
    finished: bool
    """Reached the finish (coverage ends within the finish radius of the route's end)."""
    warnings: tuple[str, ...] = ()
    pauses: tuple[Pause, ...] = ()
    times_known: bool = True
    """False when the recording has no usable timestamps: checked by distance in recorded order,
    and the epoch fields are then distance-based stand-ins (metres / 3 m/s), never printed."""
    nearest_m: npt.NDArray[np.float64] | None = None
    """Per fix: distance to the nearest part of the route, metres (NaN without a position)."""
    withdrawn: tuple[tuple[Excursion, str], ...] = ()
    """Live off-course alerts withdrawn, each with the reason: by the live engine itself
    (:class:`~offcourse.detect.AlertWithdrawn`, ``withdrawn_epoch_s`` set: the fixes came back to the
    route where running on along it would have taken the runner); or by hindsight: the runner was
    within the off threshold of another part of the route throughout (``max_offset_m``: the largest
    such distance), or moved at a speed no runner has (a position glitch); and wrong-way alerts
    where the route runs both ways, in a run that joined mid-route and did not finish."""
    trace: Trace | None = None
    """Per fix: progress along the route and distance off it, with the options the check used (for
    :func:`offcourse.plot.plot_report`, which then need not run the engine again)."""

    @property
    def extra_distance_m(self) -> float:
        return sum(e.extra_distance_m or 0.0 for e in self.excursions if e.kind == "off_course")

    @property
    def time_off_course_s(self) -> float:
        end = float(np.nanmax(self.track.epoch_s)) if len(self.track) and self.times_known else 0.0
        total = 0.0
        for e in self.excursions:
            if e.kind != "off_course":
                continue
            stop = e.end_epoch_s if e.end_epoch_s is not None else max(end, e.start_epoch_s)
            total += stop - e.start_epoch_s - paused_s(self.pauses, e.start_epoch_s, stop)
        return total

    @property
    def skipped_m(self) -> float:
        return sum(
            (e.rejoin_route_m or 0.0) - e.exit_route_m
            for e in self.excursions
            if e.kind in ("skipped_section", "shortcut")
        )

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


def check(
    route: Route,
    track: Track,
    options: Options | None = None,
    *,
    index: RouteIndex | None = None,
    compiled: bool | None = None,
) -> Report:
    """Check a recording against a route: the live engine's alerts, then hindsight and a verdict.

    The fixes go through the same :class:`~offcourse.detect.Monitor` a companion app uses live
    (so ``alert_epoch_s`` is when the runner would have been alerted); then the whole recording
    is matched again in hindsight (:func:`offcourse.coverage.hindsight`), which measures the
    coverage of the route, finds skips, shortcuts and wrong-way sections, measures how far each
    excursion really was from the route, and the :mod:`~offcourse.verdict` is decided from that
    evidence.

    Parameters
    ----------
    route, track :
        The official route and the watch recording. A recording without timestamps is checked
        by distance in recorded order (times are then not reported; a warning says so).
    options : Options, optional
        Detector settings (defaults tuned on the benchmark).
    index : RouteIndex, optional
        Share one prepared route index across many tracks (batch).
    compiled : bool, optional
        Use the compiled path for the fixes where nothing happens (same events; default: when
        numba is installed and the track is long, see :meth:`Monitor.push_arrays`).
    """
    o = options or Options()
    monitor = Monitor(route, o, index=index)
    x, y = project_track(route, track)  # the whole track at once; no valid position: NaN (ignored)
    check_same_place(monitor.index, track, (x, y))
    warnings: list[str] = [str(w) for w in route.meta.extra.get("warnings", [])]
    warnings += [str(w) for w in track.meta.extra.get("warnings", [])]
    t, times_known = engine_times(track, x, y, warnings)
    events: list[Event] = []
    events.extend(monitor.push_arrays(t, x, y, track.ele_m, track.hacc_m, compiled=compiled))
    events.extend(monitor.close())
    h = hindsight(
        monitor.index,
        x,
        y,
        t if times_known else None,
        skip_min_m=o.skip_min_m,
        wrong_way_min_m=o.wrong_way_min_m,
        off_threshold_m=o.off_threshold_m,
    )
    pauses = find_pauses(t, x, y, h.nearest_route_m, h.nearest_m) if times_known else ()
    withdrawn = live_withdrawn(events)
    excursions = final_excursions(
        route, live_excursions(events), events, h, t, o, pauses, times_known, withdrawn, xy=(x, y)
    )
    started = next((e.epoch_s for e in events if isinstance(e, Started)), None)
    finished_at = next((e.epoch_s for e in events if isinstance(e, Finished)), None)
    L = monitor.index.length_m
    cov = h.coverage
    finished = finished_at is not None or (cov.last_route_m is not None and cov.last_route_m >= L - cov.gap_tolerance_m)
    started_at_start = cov.first_route_m is not None and cov.first_route_m <= START_TOLERANCE_M
    ways = () if finished or started_at_start else two_way(monitor.index, cov.ran)
    excursions = judge_directions(excursions, ways, withdrawn)
    cut = cut_sections(excursions, cov, finished)
    usable = int(np.isfinite(x).sum())
    evidence = Evidence(
        usable_fixes=usable,
        nearest_m=float(np.nanmin(h.nearest_m)) if usable else math.inf,
        coverage=cov,
        cut_sections=tuple(cut),
        distance_saved_m=sum(e.distance_saved_m or 0.0 for e in excursions),
        wrong_way=tuple((e.exit_route_m, e.rejoin_route_m or 0.0) for e in excursions if e.kind == "wrong_direction"),
        lost=tuple(
            (e.exit_route_m, e.rejoin_route_m, e.extra_distance_m) for e in excursions if e.kind == "off_course"
        ),
        finished=finished,
        two_way=ways,
    )
    verdict = decide(evidence)
    completed = finished and started_at_start and verdict.kind in (VerdictKind.ON_COURSE, VerdictKind.LOST)
    more_warnings(warnings, route, track, monitor.ignored_fixes, usable, h.nearest_m, pauses)
    return Report(
        route=route,
        track=track,
        events=tuple(events),
        excursions=tuple(excursions),
        distance_m=monitor.distance_m,
        covered_m=cov.covered_m,
        start_epoch_s=started,
        finish_epoch_s=finished_at,
        ignored_fixes=monitor.ignored_fixes,
        coverage=cov,
        verdict=verdict,
        completed=completed,
        finished=finished,
        warnings=tuple(dict.fromkeys(warnings)),
        pauses=pauses,
        times_known=times_known,
        nearest_m=h.nearest_m,
        withdrawn=tuple(withdrawn),
        trace=trace_of(h, o),
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

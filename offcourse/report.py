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
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from .contract import iso_utc, report_to_dict
from .coverage import Coverage, Hindsight, _merge, hindsight, is_shortcut
from .detect import (
    AlertWithdrawn,
    BackOnCourse,
    Event,
    Finished,
    Fix,
    Monitor,
    NeverRejoined,
    OffCourse,
    Options,
    SkippedSection,
    Started,
    WrongDirection,
    WrongDirectionEnd,
)
from .errors import InvalidTrackError
from .match import RouteIndex
from .model import Route, Track
from .present import hms
from .text import report_to_text
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


@dataclass(frozen=True, kw_only=True)
class Excursion:
    """One course error. Times are UTC seconds; ``None`` where it does not apply or never happened.

    ``max_offset_m`` is the distance to the *nearest* part of the route (what the runner was
    really off); ``expected_offset_m`` the offset from the part of the route the live engine
    expected the runner on. A ``shortcut`` (left the route and came back further on having run
    less than the route) has ``route_bypassed_m`` and ``distance_saved_m`` and no time lost.
    ``alert_epoch_s`` is when the live engine alerted; ``None`` when it did not (found in hindsight).
    ``withdrawn_epoch_s`` (only in :attr:`Report.withdrawn`) is when the live engine withdrew its
    alert (:class:`~offcourse.detect.AlertWithdrawn`); ``None`` when hindsight withdrew it.
    """

    kind: str  # off_course | shortcut | wrong_direction | skipped_section
    start_epoch_s: float
    exit_route_m: float
    alert_epoch_s: float | None = None
    end_epoch_s: float | None = None
    rejoin_route_m: float | None = None
    max_offset_m: float | None = None
    distance_m: float | None = None
    extra_distance_m: float | None = None
    time_lost_s: float | None = None
    extra_climb_m: float | None = None
    exit_lonlat: tuple[float, float] | None = None
    rejoin_lonlat: tuple[float, float] | None = None
    expected_offset_m: float | None = None
    route_bypassed_m: float | None = None
    distance_saved_m: float | None = None
    withdrawn_epoch_s: float | None = None


@dataclass(frozen=True)
class Pause:
    """Time the runner was not running: no fix for a while (``no_fix``) or standing still (``stop``)."""

    kind: str
    start_epoch_s: float
    end_epoch_s: float
    route_m: float | None
    """Where along the route (nearest part), if near it."""

    @property
    def duration_s(self) -> float:
        return self.end_epoch_s - self.start_epoch_s


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
    such distance), or moved at a speed no runner has (a position glitch)."""
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
            total += stop - e.start_epoch_s - _paused(self.pauses, e.start_epoch_s, stop)
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


def _paused(pauses: tuple[Pause, ...], t0: float, t1: float) -> float:
    """Seconds of pauses between ``t0`` and ``t1``."""
    return sum(max(0.0, min(p.end_epoch_s, t1) - max(p.start_epoch_s, t0)) for p in pauses)


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
    """The live engine's findings as excursions, in the order it raised them."""
    out: list[Excursion] = []
    wrong: WrongDirection | None = None
    for e in events:
        if isinstance(e, BackOnCourse):
            out.append(
                Excursion(
                    kind="off_course",
                    start_epoch_s=e.exit_epoch_s,
                    alert_epoch_s=e.alert_epoch_s,
                    end_epoch_s=e.rejoin_epoch_s,
                    exit_route_m=e.exit_route_m,
                    rejoin_route_m=e.rejoin_route_m,
                    max_offset_m=e.max_offset_m,
                    distance_m=e.distance_m,
                    extra_distance_m=e.extra_distance_m,
                    time_lost_s=e.time_lost_s,
                    extra_climb_m=e.extra_climb_m,
                    exit_lonlat=(e.exit_lon, e.exit_lat),
                    rejoin_lonlat=(e.rejoin_lon, e.rejoin_lat),
                )
            )
        elif isinstance(e, NeverRejoined):
            out.append(
                Excursion(
                    kind="off_course",
                    start_epoch_s=e.exit_epoch_s,
                    alert_epoch_s=e.alert_epoch_s,
                    exit_route_m=e.exit_route_m,
                    max_offset_m=e.max_offset_m,
                    distance_m=e.distance_m,
                    exit_lonlat=(e.exit_lon, e.exit_lat),
                )
            )
        elif isinstance(e, WrongDirection):
            wrong = e
        elif isinstance(e, WrongDirectionEnd):
            out.append(
                Excursion(
                    kind="wrong_direction",
                    start_epoch_s=e.start_epoch_s,
                    alert_epoch_s=wrong.epoch_s if wrong else e.start_epoch_s,
                    end_epoch_s=e.epoch_s,
                    exit_route_m=e.to_route_m,
                    rejoin_route_m=e.from_route_m,
                    distance_m=e.distance_m,
                )
            )
            wrong = None
        elif isinstance(e, SkippedSection):
            out.append(
                Excursion(
                    kind="skipped_section",
                    start_epoch_s=e.start_epoch_s,
                    alert_epoch_s=e.epoch_s,
                    end_epoch_s=e.epoch_s,
                    exit_route_m=e.from_route_m,
                    rejoin_route_m=e.to_route_m,
                )
            )
    return out


PSEUDO_SPEED_MPS = 3.0
"""Without timestamps, fixes are given stand-in times at this speed along the recorded path."""
STOP_RADIUS_M = 25.0
STOP_MIN_S = 120.0
"""Standing within :data:`STOP_RADIUS_M` for at least this long is a pause (a night stop, an aid station)."""
NO_FIX_MIN_S = 60.0
"""No fix for at least this long is a pause."""
HINDSIGHT_OFF_MARGIN_M = 50.0
HINDSIGHT_OFF_MIN_FIXES = 3
HINDSIGHT_OFF_MIN_S = 30.0
"""An off-route stretch the live engine did not alert on is reported only from this much beyond the
off threshold, with this many fixes beyond it over this long: position spikes and multipath come
and go faster (the live engine, with its spike filter, has already judged every shorter one)."""
WRONG_WAY_UNALERTED_MIN_M = 500.0
"""A wrong-way section found in hindsight that the live engine did not see is reported from this
length: shorter ones are as often GPS error hopping between passes that lie close together."""
EXCURSION_JOIN_M = 100.0
"""Off-course stretches with less route than this followed between them are one excursion."""
GLITCH_SPEED_MPS = 50.0
GLITCH_MIN_M = 5_000.0
"""An excursion of this many metres or more at this speed or more is a position glitch, not a runner."""
EXACTLY_ON_M = 0.5
"""Every fix this near the route: no receiver is that exact, the recording is a drawing of the route."""
IGNORED_WARN_SHARE = 0.01
"""Ignored fixes are a warning from this share of the recording (or from 10 fixes)."""


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
    t, times_known = _engine_times(track, x, y, warnings)
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
    pauses = _pauses(t, x, y, h.nearest_route_m, h.nearest_m) if times_known else ()
    withdrawn = _live_withdrawn(events)
    excursions = _final_excursions(route, _excursions(events), events, h, t, o, pauses, times_known, withdrawn)
    started = next((e.epoch_s for e in events if isinstance(e, Started)), None)
    finished_at = next((e.epoch_s for e in events if isinstance(e, Finished)), None)
    L = monitor.index.length_m
    cov = h.coverage
    finished = finished_at is not None or (cov.last_route_m is not None and cov.last_route_m >= L - cov.gap_tolerance_m)
    cut = _cut_sections(excursions, cov, finished)
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
    )
    verdict = decide(evidence)
    started_at_start = cov.first_route_m is not None and cov.first_route_m <= START_TOLERANCE_M
    completed = finished and started_at_start and verdict.kind in (VerdictKind.ON_COURSE, VerdictKind.LOST)
    _more_warnings(warnings, route, track, monitor.ignored_fixes, usable, h.nearest_m, pauses)
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


def _live_withdrawn(events: list[Event]) -> list[tuple[Excursion, str]]:
    """The alerts the live engine withdrew (:class:`~offcourse.detect.AlertWithdrawn`), with the reason."""
    out: list[tuple[Excursion, str]] = []
    for e in events:
        if isinstance(e, AlertWithdrawn):
            exc = Excursion(
                kind="off_course",
                start_epoch_s=e.exit_epoch_s,
                alert_epoch_s=e.alert_epoch_s,
                end_epoch_s=e.epoch_s,
                exit_route_m=e.exit_route_m,
                rejoin_route_m=e.rejoin_route_m,
                max_offset_m=e.max_offset_m,
                withdrawn_epoch_s=e.epoch_s,
            )
            why = (
                f"withdrawn live: back on the route at {e.rejoin_route_m / 1000:.2f} km, where running on "
                "along it would have taken the runner (the receiver's error, not a wrong turn)"
            )
            out.append((exc, why))
    return out


def _engine_times(
    track: Track, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], warnings: list[str]
) -> tuple[npt.NDArray[np.float64], bool]:
    """The times the engine runs on, and whether they are the recording's own.

    A recording whose fixes mostly have no time is checked in recorded order with stand-in
    times at :data:`PSEUDO_SPEED_MPS` along the recorded path (the engine needs an order and a
    pace; distances do not depend on them).
    """
    n = len(track)
    t = track.epoch_s
    pos = np.isfinite(x)
    timed = np.isfinite(t) & pos
    if n == 0 or pos.sum() == 0 or timed.sum() >= max(1, 0.5 * pos.sum()):
        missing = int((pos & ~np.isfinite(t)).sum())
        if missing:
            warnings.append(f"{missing} fix(es) without a time were left out")
        return t, True
    xf = np.where(pos, x, np.nan)
    yf = np.where(pos, y, np.nan)
    # carry the last position over fixes without one, so their step is zero
    idx = np.where(pos, np.arange(n), 0)
    np.maximum.accumulate(idx, out=idx)
    step = np.hypot(np.diff(xf[idx]), np.diff(yf[idx]))
    step = np.where(np.isfinite(step), step, 0.0)
    pseudo = np.concatenate(([0.0], np.cumsum(step))) / PSEUDO_SPEED_MPS + 1e-3 * np.arange(n)
    warnings.append(
        f"{int((~np.isfinite(t) & pos).sum())} of {int(pos.sum())} fixes have no time: checked by distance in "
        "recorded order; times and time lost are not reported"
    )
    return pseudo, False


def _pauses(
    t: npt.NDArray[np.float64],
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    near_route_m: npt.NDArray[np.float64],
    near_m: npt.NDArray[np.float64],
) -> tuple[Pause, ...]:
    """No fix for :data:`NO_FIX_MIN_S`, or standing within :data:`STOP_RADIUS_M` for :data:`STOP_MIN_S`."""
    ok = np.flatnonzero(np.isfinite(t) & np.isfinite(x))
    out: list[Pause] = []
    if len(ok) < 2:
        return ()
    tl, xl, yl = t[ok].tolist(), x[ok].tolist(), y[ok].tolist()

    def where(i: int) -> float | None:
        k = int(ok[i])
        return float(near_route_m[k]) if near_m[k] <= 100.0 else None

    a = 0  # anchor of the current stop candidate
    last_t = tl[0]
    for i in range(1, len(ok)):
        if tl[i] <= last_t:
            continue  # out of order: the engine ignores it too
        if tl[i] - last_t >= NO_FIX_MIN_S and math.hypot(xl[i] - xl[a], yl[i] - yl[a]) > STOP_RADIUS_M:
            out.append(Pause("no_fix", last_t, tl[i], where(i)))
        if math.hypot(xl[i] - xl[a], yl[i] - yl[a]) > STOP_RADIUS_M:
            if tl[i - 1] - tl[a] >= STOP_MIN_S:
                out.append(Pause("stop", tl[a], tl[i - 1], where(a)))
            a = i
        last_t = tl[i]
    if last_t - tl[a] >= STOP_MIN_S:
        out.append(Pause("stop", tl[a], last_t, where(a)))
    return tuple(sorted(out, key=lambda p: p.start_epoch_s))


def _mask(t: npt.NDArray[np.float64], t0: float, t1: float | None) -> npt.NDArray[np.bool_]:
    hi = np.inf if t1 is None else t1
    m: npt.NDArray[np.bool_] = np.isfinite(t) & (t >= t0) & (t <= hi)
    return m


def _final_excursions(
    route: Route,
    engine: list[Excursion],
    events: list[Event],
    h: Hindsight,
    t: npt.NDArray[np.float64],
    o: Options,
    pauses: tuple[Pause, ...],
    times_known: bool = True,
    withdrawn: list[tuple[Excursion, str]] | None = None,
) -> list[Excursion]:
    """The engine's off-course excursions confirmed and measured in hindsight, shortcuts named as
    such, and the skipped and wrong-way sections found in hindsight (with the live alert where
    the engine raised one)."""
    out: list[Excursion] = []
    withdrawn = [] if withdrawn is None else withdrawn
    L = route.length_m
    reached_end = h.coverage.last_route_m is not None and h.coverage.last_route_m >= L - h.coverage.gap_tolerance_m

    def after_finish(exit_m: float, back: bool) -> bool:
        return reached_end and not back and exit_m >= L - h.coverage.gap_tolerance_m

    for e in engine:
        if e.kind != "off_course":
            continue
        if after_finish(e.exit_route_m, e.rejoin_route_m is not None):
            continue  # left the route at the finish and never came back: the cool-down, not an excursion
        m = _mask(t, e.start_epoch_s, e.end_epoch_s)
        near = h.nearest_m[m]
        near_max = float(np.nanmax(near)) if np.isfinite(near).any() else e.max_offset_m
        if near_max is not None and near_max <= o.off_threshold_m:
            # on the route's geometry all along (another part of it): the live alert is withdrawn;
            # a skip or a wrong way there is found below
            e = replace(e, expected_offset_m=e.max_offset_m, max_offset_m=near_max)
            withdrawn.append(
                (
                    e,
                    f"{e.expected_offset_m or 0:.0f} m from the expected part of the route, but never more than "
                    f"{near_max or 0:.0f} m from another part of it",
                )
            )
            continue
        e = replace(e, max_offset_m=near_max, expected_offset_m=e.max_offset_m)
        if _impossible_speed(e, times_known):
            # no runner covers that distance in that time: a stretch of wrong positions (longitude and
            # latitude swapped, a receiver's jump) that agreed with each other; withdrawn, and said
            withdrawn.append(
                (e, f"{(e.distance_m or 0.0) / 1000:.0f} km off the route at an impossible speed: a position glitch")
            )
            continue
        if (
            e.extra_distance_m is not None
            and e.rejoin_route_m is not None
            and e.distance_m is not None
            and is_shortcut(e.rejoin_route_m - e.exit_route_m, e.distance_m, o.skip_min_m)
        ):
            e = replace(
                e,
                kind="shortcut",
                route_bypassed_m=e.rejoin_route_m - e.exit_route_m,
                distance_saved_m=-e.extra_distance_m,
                extra_distance_m=None,
                time_lost_s=None,
            )
        elif e.time_lost_s is not None and e.end_epoch_s is not None:
            lost = e.time_lost_s - _paused(pauses, e.start_epoch_s, e.end_epoch_s)
            # a few metres "saved" are the noise of the distances measured, never a negative cost
            e = replace(e, time_lost_s=max(lost, 0.0), extra_distance_m=max(e.extra_distance_m or 0.0, 0.0))
        out.append(e)
    tl = t.tolist()

    def overlaps(a0: float, a1: float) -> bool:
        return any(
            e.kind in ("off_course", "shortcut")
            and e.rejoin_route_m is not None
            and min(a1, e.rejoin_route_m) - max(a0, e.exit_route_m) > 0
            for e in out
        )

    def live_alert(kind: type[Event], t0: float, t1: float) -> float | None:
        for ev in events:
            if isinstance(ev, kind) and t0 - o.relock_time_s <= ev.epoch_s <= t1 + o.relock_time_s:
                return ev.epoch_s
        return None

    # off-route stretches the live engine did not alert on (it followed the runner elsewhere): found
    # in hindsight, without a live alert
    speed = _running_speed(t, h, pauses)
    for off in h.offs:
        t0, t1 = tl[off.i0], tl[off.i1]
        back = math.isfinite(off.to_m)
        far = _mask(t, t0, t1) & (h.nearest_m > o.off_threshold_m)
        tf = t[far]
        if (
            len(tf) < HINDSIGHT_OFF_MIN_FIXES
            or (times_known and float(tf.max() - tf.min()) < HINDSIGHT_OFF_MIN_S)
            or off.max_nearest_m < o.off_threshold_m + HINDSIGHT_OFF_MARGIN_M
        ) or any(
            e.kind in ("off_course", "shortcut")
            and e.start_epoch_s <= t1
            and (e.end_epoch_s is None or e.end_epoch_s >= t0)
            for e in out
        ):
            continue
        if back and is_shortcut(off.to_m - off.from_m, off.distance_m, o.skip_min_m):
            continue  # a shortcut: hindsight lists it below
        if after_finish(off.from_m, back):
            continue
        route_d = off.to_m - off.from_m if back else 0.0
        ex, ey = route.lonlat_at([off.from_m, off.to_m if back else off.from_m])
        out.append(
            Excursion(
                kind="off_course",
                start_epoch_s=t0,
                alert_epoch_s=None,
                end_epoch_s=t1 if back else None,
                exit_route_m=off.from_m,
                rejoin_route_m=off.to_m if back else None,
                max_offset_m=off.max_nearest_m,
                distance_m=off.distance_m,
                extra_distance_m=max(off.distance_m - route_d, 0.0) if back else None,
                time_lost_s=max(t1 - t0 - _paused(pauses, t0, t1) - route_d / speed, 0.0) if back and speed else None,
                exit_lonlat=(float(ex[0]), float(ey[0])),
                rejoin_lonlat=(float(ex[1]), float(ey[1])) if back else None,
            )
        )
    for sc in h.shortcuts:
        t0, t1 = tl[sc.i0], tl[sc.i1]
        if overlaps(sc.from_m, sc.to_m) or any(
            e.kind in ("off_course", "shortcut") and e.start_epoch_s <= t1 and (e.end_epoch_s or math.inf) >= t0
            for e in out
        ):
            continue  # the same stretch off the route, already judged
        ex, ey = route.lonlat_at([sc.from_m, sc.to_m])
        out.append(
            Excursion(
                kind="shortcut",
                start_epoch_s=t0,
                alert_epoch_s=live_alert(OffCourse, t0, t1),
                end_epoch_s=t1,
                exit_route_m=sc.from_m,
                rejoin_route_m=sc.to_m,
                max_offset_m=sc.max_nearest_m,
                distance_m=sc.distance_m,
                exit_lonlat=(float(ex[0]), float(ey[0])),
                rejoin_lonlat=(float(ex[1]), float(ey[1])),
                route_bypassed_m=sc.to_m - sc.from_m,
                distance_saved_m=sc.to_m - sc.from_m - sc.distance_m,
            )
        )
    for sk in h.skips:
        if overlaps(sk.from_m, sk.to_m):
            continue
        t0, t1 = tl[sk.i0], tl[sk.i1]
        out.append(
            Excursion(
                kind="skipped_section",
                start_epoch_s=t0,
                alert_epoch_s=live_alert(SkippedSection, t0, t1),
                end_epoch_s=t1,
                exit_route_m=sk.from_m,
                rejoin_route_m=sk.to_m,
                distance_m=sk.distance_m,
                route_bypassed_m=sk.to_m - sk.from_m,
                distance_saved_m=max(sk.to_m - sk.from_m - sk.distance_m, 0.0),
            )
        )
    for e in engine:
        # the engine's closing verdict on a runner who stopped at the finish line a lap short: the
        # rest of the route was skipped (hindsight sees only a runner who stopped there)
        if (
            e.kind == "skipped_section"
            and e.rejoin_route_m is not None
            and e.rejoin_route_m >= L - 1e-6
            and not any(
                x.rejoin_route_m is not None and min(L, x.rejoin_route_m) - max(e.exit_route_m, x.exit_route_m) > 0
                for x in out
                if x.kind in ("skipped_section", "shortcut")
            )
            and _run_share(h.coverage, e.exit_route_m, L) < 0.5  # hindsight saw it run (either way)
            and h.coverage.last_route_m is not None  # and saw the runner reach that point the right way
            and abs(h.coverage.last_route_m - e.exit_route_m) <= h.coverage.gap_tolerance_m
        ):
            out.append(replace(e, route_bypassed_m=L - e.exit_route_m, distance_saved_m=L - e.exit_route_m))
    for ww in h.wrong_ways:
        t0, t1 = tl[ww.i0], tl[ww.i1]
        alert = live_alert(WrongDirection, t0, t1)
        if alert is None and abs(ww.from_m - ww.to_m) < WRONG_WAY_UNALERTED_MIN_M:
            continue  # short, and the live engine saw no wrong way there: GPS error hopping between passes
        out.append(
            Excursion(
                kind="wrong_direction",
                start_epoch_s=t0,
                alert_epoch_s=alert,
                end_epoch_s=t1,
                exit_route_m=ww.from_m,
                rejoin_route_m=ww.to_m,
                distance_m=ww.distance_m,
            )
        )
    out.sort(key=lambda e: (e.start_epoch_s, e.exit_route_m))
    return _join_excursions(out, o)


def _join_excursions(out: list[Excursion], o: Options) -> list[Excursion]:
    """Off-course stretches with less than :data:`EXCURSION_JOIN_M` of route followed between them
    are one excursion (an excursion ends when the runner follows the route again), classified
    again as a whole: a shortcut when it saved distance, else off course."""
    joined: list[Excursion] = []
    for e in out:
        p = joined[-1] if joined else None
        if (
            p is not None
            and p.kind in ("off_course", "shortcut")
            and e.kind in ("off_course", "shortcut")
            and p.rejoin_route_m is not None
            and p.end_epoch_s is not None
            and 0.0 <= e.exit_route_m - p.rejoin_route_m < EXCURSION_JOIN_M
        ):
            between = e.exit_route_m - p.rejoin_route_m
            distance = (p.distance_m or 0.0) + between + (e.distance_m or 0.0)
            lost = None if p.time_lost_s is None or e.time_lost_s is None else p.time_lost_s + e.time_lost_s
            m = replace(
                p,
                kind="off_course",
                end_epoch_s=e.end_epoch_s,
                rejoin_route_m=e.rejoin_route_m,
                max_offset_m=max(p.max_offset_m or 0.0, e.max_offset_m or 0.0),
                expected_offset_m=max(p.expected_offset_m or 0.0, e.expected_offset_m or 0.0),
                distance_m=distance,
                rejoin_lonlat=e.rejoin_lonlat,
                time_lost_s=lost,
                extra_climb_m=None,
                route_bypassed_m=None,
                distance_saved_m=None,
            )
            if e.rejoin_route_m is None:
                m = replace(m, extra_distance_m=None, time_lost_s=None)
            else:
                bypassed = e.rejoin_route_m - p.exit_route_m
                extra = distance - bypassed
                if is_shortcut(bypassed, distance, o.skip_min_m):
                    m = replace(
                        m,
                        kind="shortcut",
                        route_bypassed_m=bypassed,
                        distance_saved_m=-extra,
                        extra_distance_m=None,
                        time_lost_s=None,
                    )
                else:
                    m = replace(m, extra_distance_m=max(extra, 0.0))
            joined[-1] = m
        else:
            joined.append(e)
    return joined


def _impossible_speed(e: Excursion, times_known: bool) -> bool:
    """An excursion whose distance off the route needs a speed no runner has (and is long)."""
    if not times_known or e.distance_m is None or e.distance_m < GLITCH_MIN_M:
        return False
    end = e.end_epoch_s if e.end_epoch_s is not None else e.start_epoch_s
    duration = max(end - e.start_epoch_s, 1.0)
    return e.distance_m / duration > GLITCH_SPEED_MPS


def _run_share(cov: Coverage, a: float, b: float) -> float:
    """Share of the route from ``a`` to ``b`` run in either direction."""
    if b <= a:
        return 1.0
    ran = sum(max(0.0, min(hi, b) - max(lo, a)) for lo, hi in _merge(list(cov.intervals) + list(cov.backwards)))
    return ran / (b - a)


def _running_speed(t: npt.NDArray[np.float64], h: Hindsight, pauses: tuple[Pause, ...]) -> float:
    """The runner's speed along the route while moving (m/s), for the time an excursion cost; 0 if unknown."""
    ok = np.isfinite(h.route_m) & np.isfinite(t)
    if ok.sum() < 2:
        return 0.0
    tt = t[ok]
    moving = float(tt.max() - tt.min()) - sum(p.duration_s for p in pauses)
    return h.coverage.covered_m / moving if moving > 0 else 0.0


def _cut_sections(excursions: list[Excursion], cov: Coverage, finished: bool) -> list[tuple[float, float, str]]:
    """Route bypassed while the runner went on: skipped sections and shortcuts (hindsight finds the
    stretches nobody ran, see :func:`offcourse.coverage.hindsight`), and for a finisher the part
    of the route before a mid-route join."""
    cut = [
        (e.exit_route_m, e.rejoin_route_m or e.exit_route_m, "skipped" if e.kind == "skipped_section" else "shortcut")
        for e in excursions
        if e.kind in ("skipped_section", "shortcut")
    ]
    ran = _merge(list(cov.intervals) + list(cov.backwards))
    if finished and ran and ran[0][0] > START_TOLERANCE_M:
        cut.append((0.0, ran[0][0], "joined the route at km " + f"{ran[0][0] / 1000:.1f}"))
    return sorted(cut)


def _more_warnings(
    warnings: list[str],
    route: Route,
    track: Track,
    ignored: int,
    usable: int,
    nearest_m: npt.NDArray[np.float64],
    pauses: tuple[Pause, ...],
) -> None:
    """Say what was chosen or left out, rather than deciding silently."""
    if ignored and (ignored >= 10 or ignored >= IGNORED_WARN_SHARE * max(usable, 1)):
        warnings.append(
            f"{ignored} of {len(track)} fixes ignored by the engine (time going backwards or repeated, "
            "no position, or position spikes)"
        )
    kind = track.meta.kind
    if kind in ("course", "route"):
        warnings.append(f"the recording is a {kind} file (a planned route), not a recording of a run")
    near = nearest_m[np.isfinite(nearest_m)]
    if len(near) >= 20 and float(near.max()) < EXACTLY_ON_M and track.length_m() >= 0.9 * route.length_m:
        warnings.append("the recording lies exactly on the route: is it the route itself (arguments swapped)?")
    long_pauses = [p for p in pauses if p.duration_s >= 600]
    if long_pauses:
        warnings.append(
            f"{len(long_pauses)} pause(s) of 10 min or more (no fix or standing still), "
            "left out of time lost and time off course"
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

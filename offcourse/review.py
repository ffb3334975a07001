"""The live engine's findings reviewed in hindsight: confirmed, withdrawn, joined; and those it missed.

Part of the report step (pipeline read → project → match → detect → report):
:func:`offcourse.report.check` runs the live engine, then hindsight (:mod:`offcourse.coverage`);
:func:`final_excursions` reviews each excursion the engine raised (:mod:`offcourse.findings`)
against the whole recording, asking :mod:`offcourse.confirm` for the evidence: withdrawn as GPS
error (on another part of the route all along) or as a glitch, placed on the pass of the route
hindsight matched (laps drawn on top of each other), rejoined where the runner turned back, named
a shortcut when it saved distance, its time lost net of the pauses (:mod:`offcourse.timeline`).
It adds the stretches hindsight found that the engine did not alert on (off the route, shortcuts,
skipped and wrong-way sections, with the live alert where there was one), and joins the stretches that are one mistake.
Every threshold of the review is named here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from .confirm import ALONG_ROUTE_SHARE, along_route_m, glitch_reason, live_wrong_ways, local_pace, ran_back, within
from .coverage import Coverage, Hindsight
from .detect import (
    Event,
    OffCourse,
    Options,
    SkippedSection,
    WrongDirection,
)
from .findings import Excursion
from .intervals import share_within
from .model import Route
from .sections import Section, is_shortcut
from .timeline import Pause, paused_s
from .verdict import START_TOLERANCE_M, TWO_WAY_SHARE

__all__ = ["final_excursions", "judge_directions"]

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
CORNER_MIN_S = 5.0
"""An excursion's exit or rejoin between fixes this many seconds apart or more has its corner
completed (:func:`_corners`)."""
PLACE_REJOIN_M = 200.0
"""Hindsight places an excursion's rejoin on another pass of the route when the two differ by more."""
RAMP_MIN_FIXES = 4
RAMP_SHARE = 0.8
"""This many fixes or more, from the engine's exit to hindsight's (hindsight's rejoin to the engine's),
whose distance from the route grows (shrinks) from one to the next at this share of steps or more,
are a slow departure (return), not GPS drift (:func:`_moved_in_hindsight`)."""
PLACE_EXIT_M = 50.0
"""Hindsight moves an excursion's exit or rejoin to another fix when the two differ by this much or more."""
GLITCH_SPEED_MPS = 50.0
GLITCH_MIN_M = 5_000.0
"""An excursion of this many metres or more at this speed or more is a position glitch, not a runner."""


def _mask(t: npt.NDArray[np.float64], t0: float, t1: float | None) -> npt.NDArray[np.bool_]:
    hi = np.inf if t1 is None else t1
    m: npt.NDArray[np.bool_] = np.isfinite(t) & (t >= t0) & (t <= hi)
    return m


def final_excursions(
    route: Route,
    engine: list[Excursion],
    events: list[Event],
    h: Hindsight,
    t: npt.NDArray[np.float64],
    o: Options,
    pauses: tuple[Pause, ...],
    times_known: bool = True,
    withdrawn: list[tuple[Excursion, str]] | None = None,
    *,
    xy: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None,
) -> list[Excursion]:
    """The engine's off-course excursions confirmed and measured in hindsight, shortcuts named as
    such, and the skipped and wrong-way sections found in hindsight (with the live alert where
    the engine raised one)."""
    out: list[Excursion] = []
    withdrawn = [] if withdrawn is None else withdrawn
    speed = _running_speed(t, h, pauses)

    def paused(a: float, b: float) -> float:
        return paused_s(pauses, a, b)

    L = route.length_m
    reached_end = h.coverage.last_route_m is not None and h.coverage.last_route_m >= L - h.coverage.gap_tolerance_m

    def after_finish(exit_m: float, back: bool) -> bool:
        return reached_end and not back and exit_m >= L - h.coverage.gap_tolerance_m

    # the fixes with a position and a time, once: the corners of sparse fixes are looked up among them
    fixed = None if xy is None else np.flatnonzero(np.isfinite(xy[0]) & np.isfinite(xy[1]) & np.isfinite(t))
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
        along = along_route_m(h, t, m, o.off_threshold_m)
        if (
            near_max is not None
            and near_max <= o.off_threshold_m + HINDSIGHT_OFF_MARGIN_M
            and e.distance_m is not None
            and along >= ALONG_ROUTE_SHARE * e.distance_m
        ):
            e = replace(e, expected_offset_m=e.max_offset_m, max_offset_m=near_max)
            withdrawn.append(
                (
                    e,
                    f"never more than {near_max:.0f} m from the route, and matched along {along:.0f} m of it "
                    f"of the {e.distance_m:.0f} m run: on another part of the route, not off it",
                )
            )
            continue
        e = replace(e, max_offset_m=near_max, expected_offset_m=e.max_offset_m)
        glitch = glitch_reason(e, h, t, o.off_threshold_m, paused, speed) if times_known else None
        if glitch is not None:
            withdrawn.append((e, glitch))
            continue
        if _impossible_speed(e, times_known):
            # no runner covers that distance in that time: a stretch of wrong positions (longitude and
            # latitude swapped, a receiver's jump) that agreed with each other; withdrawn, and said
            withdrawn.append(
                (e, f"{(e.distance_m or 0.0) / 1000:.0f} km off the route at an impossible speed: a position glitch")
            )
            continue
        if xy is not None and fixed is not None and times_known:
            e = _moved_in_hindsight(e, h, t, route, xy, fixed, speed)  # before another pass is taken
        e = _placed_in_hindsight(e, h, t, route, speed)
        e = _turned_back(e, h, t, route, speed, paused)
        if xy is not None and fixed is not None and times_known:
            e = _corners(e, h, t, xy, fixed, speed)  # the running pace over the whole run, pauses left out
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
            lost = e.time_lost_s - paused_s(pauses, e.start_epoch_s, e.end_epoch_s)
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

    live_ww = live_wrong_ways(events, t)

    def followed_backwards(t0: float, t1: float, a: float, b: float) -> bool:
        """The live engine followed the runner the wrong way along this stretch of route (from ``a``
        to ``b``, at least half of it) through this time, without an off-course alert."""
        span = within(live_ww, t0, t1, o.relock_time_s)
        if span is None or live_alert(OffCourse, t0, t1) is not None:
            return False
        lo, hi = min(a, b), max(a, b)
        return min(hi, span[3]) - max(lo, span[2]) >= 0.5 * (hi - lo)

    # off-route stretches the live engine did not alert on (it followed the runner elsewhere): found
    # in hindsight, without a live alert
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
        found = Excursion(
            kind="off_course",
            start_epoch_s=t0,
            alert_epoch_s=None,
            end_epoch_s=t1 if back else None,
            exit_route_m=off.from_m,
            rejoin_route_m=off.to_m if back else None,
            max_offset_m=off.max_nearest_m,
            distance_m=off.distance_m,
            extra_distance_m=max(off.distance_m - route_d, 0.0) if back else None,
            time_lost_s=max(t1 - t0 - paused_s(pauses, t0, t1) - route_d / speed, 0.0) if back and speed else None,
            exit_lonlat=(float(ex[0]), float(ey[0])),
            rejoin_lonlat=(float(ex[1]), float(ey[1])) if back else None,
        )
        if times_known and glitch_reason(found, h, t, o.off_threshold_m, paused, speed) is not None:
            continue  # never alerted: nothing to withdraw
        out.append(found)
    for sc in h.shortcuts:
        t0, t1 = tl[sc.i0], tl[sc.i1]
        if within(live_ww, t0, t1, o.relock_time_s) is not None and live_alert(OffCourse, t0, t1) is None:
            continue  # the live engine followed the runner the wrong way through it: a hop to another lap
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
        if followed_backwards(t0, t1, sk.from_m, sk.to_m):
            continue  # run the wrong way, as the live engine saw; hindsight's match lost the runner there
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
            first = h.coverage.first_route_m
            if first is not None and first > START_TOLERANCE_M:
                # joined part way round a route that passes the finish line more than once: which lap
                # the runner ran is not known, and the stretch run ends at the finish line as well as
                # a lap before it; what was not run is the route before the join, a lap later
                cut = L - (e.exit_route_m - first)
                out.append(replace(e, exit_route_m=0.0, rejoin_route_m=cut, route_bypassed_m=cut, distance_saved_m=cut))
                continue
            out.append(replace(e, route_bypassed_m=L - e.exit_route_m, distance_saved_m=L - e.exit_route_m))
    for ww in h.wrong_ways:
        t0, t1 = tl[ww.i0], tl[ww.i1]
        alert = live_alert(WrongDirection, t0, t1)
        if alert is None and abs(ww.from_m - ww.to_m) < WRONG_WAY_UNALERTED_MIN_M:
            continue  # short, and the live engine saw no wrong way there: GPS error hopping between passes
        span = within(live_ww, t0, t1, o.relock_time_s)
        prev = out[-1] if out else None
        if (
            span is not None
            and prev is not None
            and prev.kind == "wrong_direction"
            and prev.end_epoch_s is not None
            and within(live_ww, prev.start_epoch_s, prev.end_epoch_s, o.relock_time_s) == span
        ):
            # one wrong way the live engine followed throughout, that hindsight's match broke in two
            # (it lost the runner a while, or put them on another lap): one section
            out[-1] = replace(
                prev, end_epoch_s=t1, rejoin_route_m=ww.to_m, distance_m=(prev.distance_m or 0.0) + ww.distance_m
            )
            continue
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


def _hindsight_off(e: Excursion, h: Hindsight, t: npt.NDArray[np.float64]) -> Section | None:
    """The one stretch off the route hindsight's match has over the excursion's time, if exactly one."""
    end = e.end_epoch_s if e.end_epoch_s is not None else math.inf
    hits = [off for off in h.offs if math.isfinite(off.to_m) and t[off.i0] <= end and t[off.i1] >= e.start_epoch_s]
    return hits[0] if len(hits) == 1 else None


def _end_fixes(e: Excursion, t: npt.NDArray[np.float64], fin: npt.NDArray[np.int64]) -> tuple[int, int] | None:
    """Where among the fixes ``fin`` the excursion starts and ends (the first fix at each time: the
    engine ignores a fix not later than the last), or ``None`` without both."""
    tf = t[fin]
    a, b = np.flatnonzero(tf == e.start_epoch_s), np.flatnonzero(tf == e.end_epoch_s)
    return (int(a[0]), int(b[0])) if len(a) and len(b) else None


def _placed_in_hindsight(
    e: Excursion, h: Hindsight, t: npt.NDArray[np.float64], route: Route, pace: float
) -> Excursion:
    """The excursion rejoined where hindsight's match of the whole recording says, when that is another
    pass of the route than the one the live engine took (laps drawn on top of each other, an
    out-and-back's two legs): the engine chose among them with the fixes so far, hindsight with the
    whole recording (what the runner did next)."""
    if e.rejoin_route_m is None or e.end_epoch_s is None or e.distance_m is None:
        return e
    off = _hindsight_off(e, h, t)
    if off is None:
        return e
    if abs(off.to_m - e.rejoin_route_m) <= PLACE_REJOIN_M:
        return e
    # the exit too, when hindsight puts it on another pass (another lap) than the engine did
    exit_m = off.from_m if abs(off.from_m - e.exit_route_m) > PLACE_REJOIN_M else e.exit_route_m
    return _with_ends(e, route, pace, e.start_epoch_s, e.end_epoch_s, exit_m, off.to_m, e.distance_m)


def _moved_in_hindsight(
    e: Excursion,
    h: Hindsight,
    t: npt.NDArray[np.float64],
    route: Route,
    xy: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
    fin: npt.NDArray[np.int64],
    pace: float,
) -> Excursion:
    """The excursion's exit (and rejoin) moved to the fix where hindsight's match of the whole
    recording says the runner left (came back to) the route, when that is a later (earlier) fix and
    :data:`PLACE_EXIT_M` or more further on (back) along the route than where the live engine put it:
    the engine dates a departure back to where its evidence began to grow (fixes 20-30 m off in a GPS
    drift, three fixes a minute apart before the runner left); hindsight has the fixes that came
    after. Never wider, and not over a slow departure or return (:data:`RAMP_SHARE`). ``fin``: the
    indices of the fixes with a position and a time, in recorded order.

    The distance off the route loses the straight steps between the engine's fix and hindsight's
    (what the engine's odometer counted there, on the route); the extra distance and the time lost
    follow. The extra climb is left as the engine measured it: the stretch given back was on the
    route, where the runner's climb is the route's.
    """
    if e.kind != "off_course" or e.rejoin_route_m is None or e.end_epoch_s is None or e.distance_m is None:
        return e
    off = _hindsight_off(e, h, t)
    if off is None:
        return e
    ends = _end_fixes(e, t, fin)  # the engine's exit and rejoin fixes
    k0, k1 = int(np.searchsorted(fin, off.i0)), int(np.searchsorted(fin, off.i1))
    if ends is None or k1 >= len(fin) or fin[k0] != off.i0 or fin[k1] != off.i1:
        return e
    ka, kb = ends
    tf = t[fin]

    def ramp(k: npt.NDArray[np.int64], way: float) -> bool:
        # a slow departure (a fork at a shallow angle) builds distance from the route fix by fix, and
        # a slow return loses it: there the engine's exit (rejoin) stands, hindsight's match only
        # took the first fixes 20-45 m off to be on the route. GPS drift goes up and down.
        d = h.nearest_m[k]
        d = d[np.isfinite(d)]
        return len(d) >= RAMP_MIN_FIXES and float(np.mean(way * np.diff(d) > 0.0)) >= RAMP_SHARE

    def steps_m(k: npt.NDArray[np.int64]) -> float:
        return float(np.hypot(np.diff(xy[0][k]), np.diff(xy[1][k])).sum())

    start, end = e.start_epoch_s, e.end_epoch_s
    exit_m, rejoin_m, dist = e.exit_route_m, e.rejoin_route_m, e.distance_m
    if ka < k0 < kb and off.from_m - exit_m >= PLACE_EXIT_M and not ramp(fin[ka : k0 + 1], 1.0):
        dist -= steps_m(fin[ka : k0 + 1])
        start, exit_m = float(tf[k0]), off.from_m
    if max(ka, k0) < k1 < kb and rejoin_m - off.to_m >= PLACE_EXIT_M and not ramp(fin[k1 : kb + 1], -1.0):
        dist -= steps_m(fin[k1 : kb + 1])
        end, rejoin_m = float(tf[k1]), off.to_m
    if (start, end) == (e.start_epoch_s, e.end_epoch_s) or rejoin_m < exit_m:
        return e
    return _with_ends(e, route, pace, start, end, exit_m, rejoin_m, max(dist, 0.0))


def _with_ends(
    e: Excursion,
    route: Route,
    pace: float,
    start: float,
    end: float,
    exit_m: float,
    rejoin_m: float,
    distance_m: float,
) -> Excursion:
    """The excursion from ``exit_m`` at ``start`` to ``rejoin_m`` at ``end`` (route metres, UTC seconds),
    ``distance_m`` off the route: its places on the map, extra distance and time lost (at ``pace``)."""
    x, y = route.lonlat_at([exit_m, rejoin_m])
    lost = None
    if e.time_lost_s is not None and pace > 0:
        lost = (end - start) - (rejoin_m - exit_m) / pace
    return replace(
        e,
        start_epoch_s=start,
        end_epoch_s=end,
        exit_route_m=exit_m,
        rejoin_route_m=rejoin_m,
        exit_lonlat=(float(x[0]), float(y[0])),
        rejoin_lonlat=(float(x[1]), float(y[1])),
        distance_m=distance_m,
        extra_distance_m=distance_m - (rejoin_m - exit_m),
        time_lost_s=lost,
    )


def _corners(
    e: Excursion,
    h: Hindsight,
    t: npt.NDArray[np.float64],
    xy: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
    fin: npt.NDArray[np.int64],
    pace: float,
) -> Excursion:
    """The distance sparse fixes miss at the two ends of an excursion (``fin``: the indices of the fixes
    with a position and a time).

    From the last fix on the route (A) to the first off it (B) the runner ran along the route to
    where they left it, then off it: the straight step from A to B cuts that corner. Completed at the
    runner's ``pace`` over the time between the two fixes, as far as the route's geometry allows
    (along the route no farther than B's nearest point of it, then out to B); the same at the rejoin
    (the last fix off, the first back on). Only where the two fixes are :data:`CORNER_MIN_S` or more
    apart (a fix a second leaves no corner worth a metre), not across a dropout, and not when the fix
    off is nearest a part of the route the runner could not have reached along it in the time.
    """
    if e.kind != "off_course" or e.end_epoch_s is None or e.extra_distance_m is None or e.distance_m is None:
        return e
    if pace <= 0.0:
        return e
    x, y = xy
    ends = _end_fixes(e, t, fin)
    if ends is None or ends[0] + 1 > ends[1] - 1:
        return e
    ka, kb = ends
    add = _corner(fin[ka], fin[ka + 1], h, t, x, y, pace, 1.0)
    add += _corner(fin[kb], fin[kb - 1], h, t, x, y, pace, -1.0)
    if add <= 0.0:
        return e
    return replace(e, distance_m=e.distance_m + add, extra_distance_m=e.extra_distance_m + add)


def _corner(
    on: int,
    off: int,
    h: Hindsight,
    t: npt.NDArray[np.float64],
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    pace: float,
    way: float,
) -> float:
    """Metres the straight step between a fix on the route and the next (``way`` 1) or previous (-1)
    fix off it leaves out (:func:`_corners`)."""
    dt = abs(float(t[off] - t[on]))
    s_on = h.route_m[on] if math.isfinite(h.route_m[on]) else h.nearest_route_m[on]
    s_off, d_off = h.nearest_route_m[off], h.nearest_m[off]
    if dt < CORNER_MIN_S or not (math.isfinite(s_on) and math.isfinite(s_off) and math.isfinite(d_off)):
        return 0.0
    lo, hi = min(on, off), max(on, off)
    if any(a <= lo and hi <= b for a, b in h.dropouts):
        return 0.0  # a dropout: where the runner went meanwhile is not known
    chord = math.hypot(float(x[off] - x[on]), float(y[off] - y[on]))
    along = max(way * float(s_off - s_on), 0.0)
    if along > pace * dt:
        return 0.0  # the fix off is nearest another pass of the route: no corner of this one
    return max(min(pace * dt, along + float(d_off)) - chord, 0.0)


def _turned_back(
    e: Excursion,
    h: Hindsight,
    t: npt.NDArray[np.float64],
    route: Route,
    pace: float,
    paused: Callable[[float, float], float],
) -> Excursion:
    """The excursion rejoined where the runner turned back onto the route (:func:`~offcourse.confirm.ran_back`):
    the route they ran back along to there and forward again is extra distance, twice, and its time lost."""
    if e.rejoin_route_m is None or e.end_epoch_s is None or e.extra_distance_m is None:
        return e
    back = ran_back(
        h, t, e.end_epoch_s, e.rejoin_route_m, local_pace(t, h, e.start_epoch_s, e.end_epoch_s, paused, pace)
    )
    if back is None:
        return e
    s, when = back
    if any(e.end_epoch_s - 1.0 <= t[w.i0] <= when for w in h.wrong_ways):
        return e  # run back far enough to be a wrong way: reported as one, not counted twice
    d = e.rejoin_route_m - s
    x, y = route.lonlat_at([s])
    return replace(
        e,
        end_epoch_s=when,
        rejoin_route_m=s,
        rejoin_lonlat=(float(x[0]), float(y[0])),
        distance_m=(e.distance_m or 0.0) + d,
        extra_distance_m=e.extra_distance_m + 2.0 * d,
        time_lost_s=None if e.time_lost_s is None else e.time_lost_s + (2.0 * d / pace if pace > 0 else 0.0),
    )


def _impossible_speed(e: Excursion, times_known: bool) -> bool:
    """An excursion whose distance off the route needs a speed no runner has (and is long)."""
    if not times_known or e.distance_m is None or e.distance_m < GLITCH_MIN_M:
        return False
    end = e.end_epoch_s if e.end_epoch_s is not None else e.start_epoch_s
    duration = max(end - e.start_epoch_s, 1.0)
    return e.distance_m / duration > GLITCH_SPEED_MPS


def _run_share(cov: Coverage, a: float, b: float) -> float:
    """Share of the route from ``a`` to ``b`` run in either direction."""
    return share_within(a, b, cov.ran) if b > a else 1.0


def _running_speed(t: npt.NDArray[np.float64], h: Hindsight, pauses: tuple[Pause, ...]) -> float:
    """The runner's speed along the route while moving (m/s), for the time an excursion cost; 0 if unknown."""
    ok = np.isfinite(h.route_m) & np.isfinite(t)
    if ok.sum() < 2:
        return 0.0
    tt = t[ok]
    moving = float(tt.max() - tt.min()) - sum(p.duration_s for p in pauses)
    return h.coverage.covered_m / moving if moving > 0 else 0.0


def judge_directions(
    excursions: list[Excursion], two_way: tuple[tuple[float, float], ...], withdrawn: list[tuple[Excursion, str]]
) -> list[Excursion]:
    """The excursions without the wrong-way sections run where the route runs both ways (``two_way``,
    :func:`offcourse.passes.two_way`, found for a run that joined mid-route and did not finish): with
    nothing before them to say which pass the runner was on, running one pass backwards cannot be
    told from running the other forwards. Those go to ``withdrawn``, with the reason."""
    out: list[Excursion] = []
    for e in excursions:
        back_to = e.rejoin_route_m if e.rejoin_route_m is not None else e.exit_route_m
        if e.kind == "wrong_direction" and two_way and share_within(e.exit_route_m, back_to, two_way) >= TWO_WAY_SHARE:
            withdrawn.append(
                (
                    e,
                    f"run back from km {e.exit_route_m / 1000:.1f} to km {back_to / 1000:.1f}, where the route "
                    "runs both ways: one pass run backwards cannot be told from the other run forwards",
                )
            )
        else:
            out.append(e)
    return out

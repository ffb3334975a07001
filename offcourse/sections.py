"""What the path matched in hindsight shows: runs forward and backward, skips, shortcuts, stretches off.

The detect step of hindsight (:mod:`offcourse.coverage`, pipeline read → project → match → detect →
report): :func:`read_path` walks the path :mod:`offcourse.rematch` matched, fix by fix, into its
directional runs (forward runs are the coverage, with :data:`DIRECTION_HYSTERESIS_M` of hysteresis
against noise; backward runs of at least ``wrong_way_min_m`` are wrong-way sections) and its
breaks: a jump forward farther than anyone runs (a skip), a stretch off the route (and a
*shortcut* when it came back further on having run less than the route, :func:`is_shortcut`), a
dropout (a stretch crossed without fixes: *unverified*). :func:`skipped_sections` then finds the
route nobody ran between parts that were run, and :func:`join_wrong_ways` the wrong-way sections
that continue one another. Each finding is a :class:`Section`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .intervals import complement
from .passes import CANDIDATE_RADIUS_M
from .rematch import BACK_SLACK_M, FORWARD_SLACK_M

__all__ = [
    "PLAUSIBLE_SPEED_MPS",
    "PathRuns",
    "Section",
    "is_shortcut",
    "join_wrong_ways",
    "read_path",
    "skipped_sections",
]

DIRECTION_HYSTERESIS_M = 150.0
"""A change of direction along the route counts once the runner has gone this far the other way."""
PLAUSIBLE_SPEED_MPS = 7.0
"""Across a dropout, progress along the route at up to this speed is taken as run (unverified)."""
PRE_START_M = 200.0
"""Running the route backwards to within this much of its start, before any forward running, is the
way to the start line, not a wrong way."""
SHORTCUT_MIN_SAVED_M = 50.0
"""A shortcut saved at least this much (less is within the noise of the distances measured)."""
JOIN_WRONG_WAY_M = 300.0
"""Wrong-way sections that continue one another within this much route are one."""


@dataclass(frozen=True)
class Section:
    """A stretch of route found in hindsight. ``from_m``/``to_m`` are route metres; ``i0``/``i1``
    the fix indices (into the recording) where it starts and ends."""

    kind: str
    """``skip``, ``shortcut`` or ``wrong_way``."""
    from_m: float
    to_m: float
    i0: int
    i1: int
    distance_m: float
    """Distance the runner moved over the section (straight steps between fixes)."""
    max_nearest_m: float = 0.0
    """Largest distance of its fixes to the nearest part of the route."""


@dataclass(frozen=True)
class PathRuns:
    """The matched path read run by run (:func:`read_path`): route metres, before merging."""

    forward: list[tuple[float, float]]
    """Forward runs (the coverage)."""
    unverified: list[tuple[float, float]]
    """Stretches crossed in a dropout at a plausible speed."""
    backwards: list[tuple[float, float]]
    """Backward runs (after the way to the start line)."""
    jumps: list[Section]
    """Jumps forward along the route farther than the runner moved or could have run (skips)."""
    shortcuts: list[Section]
    excursion_spans: list[tuple[float, float]]
    """Route between the exit and rejoin of a stretch off the route that was not a shortcut."""
    wrong: list[Section]
    """Backward runs of at least ``wrong_way_min_m``, not yet joined (:func:`join_wrong_ways`)."""
    offs: list[Section]
    """Stretches off the route farther than the off threshold (rejoin NaN when never back)."""


def is_shortcut(bypassed_m: float, ran_m: float, skip_min_m: float) -> bool:
    """Left the route and came back further on having run less than the route: the one rule
    for a shortcut, wherever it is decided (hindsight, the live engine's excursions, joined ones).

    >>> is_shortcut(380.0, 290.0, 200.0), is_shortcut(380.0, 350.0, 200.0), is_shortcut(150.0, 0.0, 200.0)
    (True, False, False)
    """
    return bypassed_m >= skip_min_m and bypassed_m - ran_m >= SHORTCUT_MIN_SAVED_M


def read_path(
    kept: list[int],
    ks: list[float],
    moved: list[float],
    kt: list[float],
    knd: list[float],
    xl: list[float],
    yl: list[float],
    dropout_s: float,
    *,
    skip_min_m: float,
    wrong_way_min_m: float,
    off_threshold_m: float,
) -> PathRuns:
    """Walk the matched path into its runs and breaks; see the module docstring.

    Parameters
    ----------
    kept : list of int
        The matched fixes' indices into the recording.
    ks, moved, kt, knd : list of float
        Per kept fix: matched route metres (NaN off the route), distance moved from the fix kept
        before, UTC seconds (NaN: unknown), distance to the nearest part of the route.
    xl, yl : list of float
        Every fix's position in the route's projection, metres (indexed by ``kept``).
    dropout_s : float
        No fix for this long is a dropout.
    skip_min_m, wrong_way_min_m, off_threshold_m : float
        As :func:`offcourse.coverage.hindsight` takes them.
    """
    forward: list[tuple[float, float]] = []
    unverified: list[tuple[float, float]] = []
    backwards: list[tuple[float, float]] = []
    jumps: list[Section] = []
    shortcuts: list[Section] = []
    excursion_spans: list[tuple[float, float]] = []
    wrong: list[Section] = []
    # directional runs of the path
    run_dir = 0  # +1 forward, -1 backward, 0 not known yet
    run_start = run_ext = math.nan
    run_i0 = run_iext = 0
    run_moved = 0.0  # distance moved since the run's start
    moved_at_ext = 0.0

    def close_run() -> None:
        if not math.isfinite(run_start):
            return
        if run_dir >= 0:
            if run_ext > run_start:
                forward.append((run_start, run_ext))
        elif run_start - run_ext > 0:
            if not forward and run_ext <= PRE_START_M and run_start <= PRE_START_M + DIRECTION_HYSTERESIS_M * 4:
                return  # walking back to the start line before the start: not a wrong way
            backwards.append((run_ext, run_start))
            if run_start - run_ext >= wrong_way_min_m:
                wrong.append(Section("wrong_way", run_start, run_ext, kept[run_i0], kept[run_iext], moved_at_ext))

    offs: list[Section] = []
    last_on = -1
    off_moved = 0.0
    off_max = 0.0
    for j, s in enumerate(ks):
        if not math.isfinite(s):
            if last_on >= 0:
                off_moved += moved[j]
                off_max = max(off_max, knd[j] if math.isfinite(knd[j]) else 0.0)
            continue
        if last_on < 0:
            run_dir, run_start, run_ext, run_i0, run_iext, run_moved, moved_at_ext = 0, s, s, j, j, 0.0, 0.0
            last_on = j
            continue
        ps = ks[last_on]
        was_off = last_on != j - 1
        g = off_moved + moved[j] if was_off else moved[j]
        ds = s - ps
        dt = kt[j] - kt[last_on]
        timed = math.isfinite(dt) and dt > 0  # times going backwards say nothing about speed
        jump = ds - g
        broke = False
        if was_off and last_on == j - 2 and _spike(moved[j - 1], moved[j], kt[j - 1] - kt[last_on], kt[j] - kt[j - 1]):
            # one fix off, that no runner reaches from the fix before or leaves for the fix after: a
            # position spike, not a stretch off the route (the path is judged as if it were not there)
            g = math.hypot(xl[kept[j]] - xl[kept[last_on]], yl[kept[j]] - yl[kept[last_on]])
            jump = ds - g
            was_off = False
        if was_off and off_max > off_threshold_m:
            # a real excursion: the route between exit and rejoin was not run (whatever it cost)
            offs.append(Section("off", ps, s, kept[last_on], kept[j], g, off_max))
            if ds > 0 and is_shortcut(ds, g, skip_min_m):
                shortcuts.append(Section("shortcut", ps, s, kept[last_on], kept[j], g, off_max))
            elif ds > 0:
                excursion_spans.append((ps, s))  # lost, came back further on: explained, not a cut
            broke = True
        elif ds > 0 and timed and ds > PLAUSIBLE_SPEED_MPS * dt + FORWARD_SLACK_M:
            # farther along the route than anyone runs in the time: a skip (or a ride); what the
            # runner could have run in that time is all the distance that counts
            ran = min(g, PLAUSIBLE_SPEED_MPS * dt)
            jumps.append(Section("skip", ps, s, kept[last_on], kept[j], ran, max(knd[last_on], knd[j])))
            broke = True
        elif ds > 0 and jump > max(FORWARD_SLACK_M, 0.5 * g) + FORWARD_SLACK_M:
            # farther along the route than the runner moved in a straight line
            if timed:
                # sparse fixes (a watch's power-saving mode) or a dropout: the runner had the time
                if dt >= dropout_s:
                    # a dropout: not a skip, but not seen run either (not in the coverage)
                    unverified.append((ps, s))
                    broke = True
            else:
                jumps.append(Section("skip", ps, s, kept[last_on], kept[j], g, max(knd[last_on], knd[j])))
                broke = True
        elif was_off and ds < -BACK_SLACK_M:
            # back on the route behind where the runner left it: run afresh (a wrong way is run on
            # the route, not concluded across a stretch off it)
            broke = True
        if broke:
            close_run()
            run_dir, run_start, run_ext, run_i0, run_iext, run_moved, moved_at_ext = 0, s, s, j, j, 0.0, 0.0
        else:
            run_moved += g
            if run_dir == 0:
                if s - run_start >= FORWARD_SLACK_M:
                    run_dir = 1
                elif run_start - s >= FORWARD_SLACK_M:
                    run_dir = -1
                run_ext, run_iext, moved_at_ext = s, j, run_moved
            elif run_dir > 0:
                if s > run_ext:
                    run_ext, run_iext, moved_at_ext = s, j, run_moved
                elif run_ext - s >= DIRECTION_HYSTERESIS_M:
                    close_run()
                    # the backward run began at the peak
                    run_dir, run_start, run_i0 = -1, run_ext, run_iext
                    run_moved = run_moved - moved_at_ext
                    run_ext, run_iext, moved_at_ext = s, j, run_moved
            else:
                if s < run_ext:
                    run_ext, run_iext, moved_at_ext = s, j, run_moved
                elif s - run_ext >= DIRECTION_HYSTERESIS_M:
                    close_run()
                    run_dir, run_start, run_i0 = 1, run_ext, run_iext
                    run_moved = run_moved - moved_at_ext
                    run_ext, run_iext, moved_at_ext = s, j, run_moved
        last_on = j
        off_moved = 0.0
        off_max = 0.0
    close_run()
    if last_on >= 0 and last_on < len(ks) - 1 and off_max > off_threshold_m:
        # off the route at the end and never back
        offs.append(Section("off", ks[last_on], math.nan, kept[last_on], kept[-1], off_moved, off_max))
    return PathRuns(forward, unverified, backwards, jumps, shortcuts, excursion_spans, wrong, offs)


def skipped_sections(
    explained: tuple[tuple[float, float], ...],
    run_any: tuple[tuple[float, float], ...],
    jumps: list[Section],
    length_m: float,
    skip_min_m: float,
    kept: list[int],
    ks: list[float] | npt.NDArray[np.float64],
    moved: list[float],
    kt: list[float] | None = None,
    pace_mps: float = 0.0,
) -> list[Section]:
    """Skipped sections: stretches of route of at least ``skip_min_m`` that nobody ran (in either
    direction), that no excursion or shortcut explains, between parts that were run. A runner who
    visits another part of the route and comes back skipped nothing; one who cuts switchbacks
    lands on each leg in turn and skips the sum of the bends.

    Each is timed by the forward jump of the path across it (or, failing one, by the on-route fixes
    before and after it). With times (``kt``, the kept fixes' times) and the runner's pace
    (``pace_mps``), route that the runner had the time to run at their pace, from the last fix seen at
    the gap's start to the first seen past its end, is not skipped: sparse fixes (a watch saving
    power, a dropout) across switchbacks land on a later leg although the runner ran them all.
    """
    if not run_any:
        return []
    ks_a = np.asarray(ks, dtype=np.float64)
    on_j = np.flatnonzero(np.isfinite(ks_a))
    on_v = ks_a[on_j]
    # from the first fix seen on the route, run or not: a runner seen at the start, then next far
    # along it, joined at the start (what they could not have run in the time is a skip)
    lo_run = min(run_any[0][0], float(on_v[0])) if len(on_v) else run_any[0][0]
    hi_run = run_any[-1][1]
    csum = np.concatenate(([0.0], np.cumsum(moved)))
    out: list[Section] = []
    for a, b in complement(explained, length_m, skip_min_m):
        if a < lo_run - FORWARD_SLACK_M or b > hi_run:
            continue  # before the first or after the last part run: a late join or a stop
        a = max(a, lo_run)
        j0, j1, ja = _crossing(on_j, on_v, a, b)
        if j1 < 0:
            continue
        ran = float(csum[j1 + 1] - csum[j0 + 1])
        k = next((k for k in jumps if k.i0 == kept[j0] and k.i1 == kept[j1]), None)
        if k is not None:
            ran = min(ran, k.distance_m)  # a ride: only what could have been run counts
        could = ran
        if kt is not None and ja >= 0:
            took = kt[j1] - kt[ja]
            could = max(ran, pace_mps * took) if math.isfinite(took) else ran
        if (b - a) - could < skip_min_m:
            continue  # the runner went the long way round (another part of the route): no cut
        out.append(Section("skip", a, b, kept[j0], kept[j1], ran, 0.0))
    return out


def _crossing(on_j: npt.NDArray[np.int64], on_v: npt.NDArray[np.float64], a: float, b: float) -> tuple[int, int, int]:
    """The first crossing in time of the gap ``(a, b)`` by the on-route fixes (kept fixes ``on_j``,
    route metres ``on_v``): the last fix at or before the gap (``j0``), then the first one landing just
    past it (``j1``; a visit to another part of the route further on is not the way across), and the
    last fix before ``j1`` seen at the gap's start (``ja``); -1 for none. Vectorised form of
    :func:`_crossing_loop`, the reference: the same indices."""
    before = on_v <= a + FORWARD_SLACK_M
    if not before.any():
        return -1, -1, -1
    first = int(np.argmax(before))
    past = (~before[first:]) & (on_v[first:] >= b - FORWARD_SLACK_M) & (on_v[first:] <= b + 2.0 * CANDIDATE_RADIUS_M)
    k1 = first + int(np.argmax(past)) if past.any() else len(on_v)  # the scan stops there
    k0 = int(np.flatnonzero(before[:k1])[-1])
    at_start = np.flatnonzero(before[:k1] & (on_v[:k1] >= a - FORWARD_SLACK_M))
    ja = int(on_j[at_start[-1]]) if len(at_start) else -1
    return int(on_j[k0]), int(on_j[k1]) if k1 < len(on_v) else -1, ja


def _crossing_loop(on: list[tuple[int, float]], a: float, b: float) -> tuple[int, int, int]:
    """:func:`_crossing` as a loop over the on-route fixes ``(j, route metres)`` (the reference)."""
    j0 = j1 = ja = -1
    for j, v in on:
        if v <= a + FORWARD_SLACK_M:
            j0 = j
            if v >= a - FORWARD_SLACK_M:
                ja = j  # seen at the gap's start
        elif b - FORWARD_SLACK_M <= v <= b + 2.0 * CANDIDATE_RADIUS_M and j0 >= 0:
            j1 = j
            break
    return j0, j1, ja


def _spike(step_in_m: float, step_out_m: float, dt_in_s: float, dt_out_s: float) -> bool:
    """A fix reached from the fix before, or left for the fix after, faster than anyone runs
    (:data:`PLAUSIBLE_SPEED_MPS`, with :data:`FORWARD_SLACK_M` for the error of both fixes); without
    times, never."""
    fast_in = math.isfinite(dt_in_s) and step_in_m > PLAUSIBLE_SPEED_MPS * max(dt_in_s, 0.0) + FORWARD_SLACK_M
    fast_out = math.isfinite(dt_out_s) and step_out_m > PLAUSIBLE_SPEED_MPS * max(dt_out_s, 0.0) + FORWARD_SLACK_M
    return fast_in or fast_out


def join_wrong_ways(ww: list[Section], gap_m: float) -> list[Section]:
    """Wrong-way sections that continue one another (a break in the path between them) are one."""
    out: list[Section] = []
    for w in ww:
        if out and abs(w.from_m - out[-1].to_m) <= gap_m:
            p = out[-1]
            out[-1] = Section("wrong_way", p.from_m, min(p.to_m, w.to_m), p.i0, w.i1, p.distance_m + w.distance_m)
        else:
            out.append(w)
    return out

"""Hindsight's evidence on the live engine's findings: glitches, the runner's pace, runs on another part
of the route, the live engine's wrong-way runs.

:func:`offcourse.review.final_excursions` asks these questions of each excursion the live engine
raised and of each stretch hindsight found (:mod:`offcourse.coverage`). Every constant here comes from
physics or from the tuning family A (never from the held-out families B and C), and says where from:

* the midpoint between "ran the detour" and "ran on along the route" (:func:`glitch_reason`, via
  :func:`~offcourse.detect.steps.detour_unpaid`): no constant;
* :data:`~offcourse.detect.options.BURST_MAX_S` (40 s): the longest error burst, the engine's (family A);
* :data:`~offcourse.detect.options.SPEED_WINDOW_MAX_S` (600 s): the engine's pace window;
* :data:`~offcourse.sections.PLAUSIBLE_SPEED_MPS` (7 m/s) and :data:`~offcourse.rematch.FORWARD_SLACK_M`
  (25 m): faster than anyone runs, with the error of two fixes (the hindsight match's own);
* :data:`~offcourse.detect.options.PLAUSIBLE_SLACK_SIGMAS` (3): beyond the noise (the engine's, family A);
* :data:`~offcourse.detect.options.PACE_FACTOR` (1.6): how far a runner's pace varies (the engine's, family A);
* :data:`ALONG_ROUTE_SHARE` (1/2): a majority.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .coverage import Hindsight
from .detect import Event, WrongDirection, WrongDirectionEnd, steps
from .detect.options import BURST_MAX_S, PACE_FACTOR, PLAUSIBLE_SLACK_SIGMAS, SPEED_WINDOW_MAX_S
from .rematch import FORWARD_SLACK_M
from .sections import PLAUSIBLE_SPEED_MPS

if TYPE_CHECKING:
    from .findings import Excursion

__all__ = ["ALONG_ROUTE_SHARE", "along_route_m", "glitch_reason", "live_wrong_ways", "local_pace", "ran_back", "within"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Paused = Callable[[float, float], float]
"""Seconds of pauses between two times."""
Span = tuple[float, float, float, float]
"""A live wrong-way run: start and end (UTC seconds), lowest and highest route metres."""

ALONG_ROUTE_SHARE = 0.5
"""An alerted excursion whose fixes never came clearly off the route (within
:data:`~offcourse.review.HINDSIGHT_OFF_MARGIN_M` past the off threshold) while the path matched in hindsight
moved along the route for at least this share of the distance run (most of it: a majority) was a runner on another
part of the route (a wrong way, a skip, a lap mixed up), which hindsight reports as such: the alert is
withdrawn."""


def along_route_m(h: Hindsight, t: FloatArray, m: BoolArray, off_m: float) -> float:
    """How far along the route the path matched in hindsight moved over the fixes in ``m``: the sum of
    the spans of its runs on the route. A run ends at a fix farther than ``off_m`` from the route, and
    at a move along it faster than anyone runs (a hop between passes that lie close together)."""
    total = 0.0
    first = last = last_t = math.nan
    for r, d, tt in zip(h.route_m[m].tolist(), h.nearest_m[m].tolist(), t[m].tolist(), strict=True):
        if not math.isfinite(r) and not d > off_m:
            continue  # not matched (too near the last fix to move the match): no news
        hop = math.isfinite(last) and abs(r - last) > PLAUSIBLE_SPEED_MPS * abs(tt - last_t) + FORWARD_SLACK_M
        if d > off_m or hop:
            if math.isfinite(first):
                total += abs(last - first)
            first = last = math.nan
            if d > off_m:
                continue
        first = r if not math.isfinite(first) else first
        last, last_t = r, tt
    if math.isfinite(first):
        total += abs(last - first)
    return total


def local_pace(t: FloatArray, h: Hindsight, t0: float, t1: float, paused: Paused, whole_mps: float) -> float:
    """The runner's pace along the route (m/s) just before ``t0`` and just after ``t1``.

    Route progress of the path matched in hindsight over :data:`~offcourse.detect.options.SPEED_WINDOW_MAX_S`
    each side (``paused(a, b)``: seconds of pauses between ``a`` and ``b``, left out), or ``whole_mps``
    (the pace over the whole recording) when that measures nothing.
    """
    ok = np.isfinite(h.route_m) & np.isfinite(t)
    moved = took = 0.0
    for lo, hi in ((t0 - SPEED_WINDOW_MAX_S, t0), (t1, t1 + SPEED_WINDOW_MAX_S)):
        w = np.flatnonzero(ok & (t >= lo) & (t <= hi))
        if len(w) < 2:
            continue
        a, b = int(w[0]), int(w[-1])
        dt = float(t[b] - t[a]) - paused(float(t[a]), float(t[b]))
        if dt > 0 and h.route_m[b] > h.route_m[a]:
            moved += float(h.route_m[b] - h.route_m[a])
            took += dt
    return moved / took if took > 0 else whole_mps


def glitch_reason(
    e: Excursion, h: Hindsight, t: FloatArray, off_m: float, paused: Paused, whole_mps: float
) -> str | None:
    """Why an excursion that came back is the receiver's error, not a runner; ``None`` when it may be real.

    Two hypotheses explain the fixes: the runner ran the detour the fixes drew (``distance_m``, of which
    ``extra = distance - progress`` off the route costs ``extra / pace`` seconds), or the runner ran on
    along the route all the while and the fixes were off by the receiver's error (costing nothing).
    Time tells them apart: the excursion is a glitch when the time it really lost (its duration less
    the time the route progress between exit and rejoin takes at the runner's pace, :func:`local_pace`)
    is nearer to 0 than to the detour's cost (the midpoint between the two hypotheses: no constant),
    and the fixes clearly off (past the off threshold) were one spike or lasted no longer than an
    error burst (:data:`~offcourse.detect.options.BURST_MAX_S`); a real departure stalls progress
    (out and back) or pays for its distance in time, and a longer one is not a burst.
    """
    if e.end_epoch_s is None or e.rejoin_route_m is None or e.distance_m is None:
        return None
    m = np.isfinite(t) & (t >= e.start_epoch_s) & (t <= e.end_epoch_s)
    far = t[m & (h.nearest_m > off_m)]
    if len(far) > 1 and float(far.max() - far.min()) > BURST_MAX_S:
        return None
    pace = local_pace(t, h, e.start_epoch_s, e.end_epoch_s, paused, whole_mps)
    if pace <= 0:
        return None
    duration = e.end_epoch_s - e.start_epoch_s - paused(e.start_epoch_s, e.end_epoch_s)
    progress = e.rejoin_route_m - e.exit_route_m
    if not steps.detour_unpaid(progress, duration, e.distance_m, pace):
        return None
    lost = duration - progress / pace
    detour = (e.distance_m - progress) / pace
    return (
        f"a glitch: {progress:.0f} m along the route in {duration:.0f} s, the runner's pace ({pace:.1f} m/s), "
        f"while the fixes went {e.max_offset_m or 0:.0f} m off and back; the {e.distance_m:.0f} m they drew "
        f"would have cost {detour:.0f} s, and {round(lost):d} s were lost: the receiver's error, not a runner"
    )


def live_wrong_ways(events: list[Event], t: FloatArray) -> list[Span]:
    """The live engine's wrong-way runs: ``(start, end, low route m, high route m)``, those that touch
    or overlap in time joined (one ends as the engine relocks the runner further back, and the next
    begins). A run still open at the end lasts to the last fix."""
    spans: list[Span] = []
    open_at: WrongDirection | None = None
    for e in events:
        if isinstance(e, WrongDirection):
            open_at = e
        elif isinstance(e, WrongDirectionEnd):
            lo, hi = sorted((e.from_route_m, e.to_route_m))
            spans.append((e.start_epoch_s, e.epoch_s, lo, hi))
            open_at = None
    if open_at is not None:
        end = float(np.nanmax(t)) if np.isfinite(t).any() else open_at.epoch_s
        spans.append((open_at.start_epoch_s, end, 0.0, open_at.from_route_m))
    spans.sort()
    out: list[Span] = []
    for sp in spans:
        if out and sp[0] <= out[-1][1]:
            p = out[-1]
            out[-1] = (p[0], max(p[1], sp[1]), min(p[2], sp[2]), max(p[3], sp[3]))
        else:
            out.append(sp)
    return out


def within(spans: list[Span], t0: float, t1: float, slack_s: float) -> Span | None:
    """The span that holds most of the time from ``t0`` to ``t1`` (give or take ``slack_s``), if any."""
    return next((sp for sp in spans if min(t1, sp[1] + slack_s) - max(t0, sp[0] - slack_s) >= 0.5 * (t1 - t0)), None)


def ran_back(
    h: Hindsight, t: FloatArray, rejoin_t: float, rejoin_m: float, pace_mps: float
) -> tuple[float, float] | None:
    """Where the runner turned forward again after rejoining the route at ``rejoin_m`` (``rejoin_t``) and
    running back along it, and when: ``(route m, time)``; ``None`` when they ran on (or back by no more
    than the recording's noise could draw).

    A runner coming back along a path that leaves the route at a shallow angle (out along a fork and
    back) is near the route, and taken back on it, before the fork: they run back along the route to
    where they left it, turn, and run it forward again. That turn is the rejoin. Running back counts
    from :data:`~offcourse.rematch.FORWARD_SLACK_M` (the hindsight match's own slack) or
    :data:`~offcourse.detect.options.PLAUSIBLE_SLACK_SIGMAS` times the noise level the match assumed
    (``h.sigma_m``), whichever is more, and when run at least at the runner's pace (``pace_mps``) over
    :data:`~offcourse.detect.options.PACE_FACTOR`; the search ends
    when the path matched in hindsight passes the rejoin again, leaves the route, or ends.
    """
    best = rejoin_m
    when = rejoin_t
    for i in np.flatnonzero(np.isfinite(t) & (t > rejoin_t)).tolist():
        r = float(h.route_m[i])
        if not math.isfinite(r):
            if float(h.nearest_m[i]) > 2.0 * FORWARD_SLACK_M:
                break  # off the route again
            continue
        if r > rejoin_m:
            break
        if r < best:
            best, when = r, float(t[i])
    back = rejoin_m - best
    if back < max(FORWARD_SLACK_M, PLAUSIBLE_SLACK_SIGMAS * h.sigma_m) or not pace_mps > 0.0:
        return None
    # and at a runner's pace (within PACE_FACTOR of theirs), not a slow drift of the match around a junction
    return (best, when) if back >= pace_mps / PACE_FACTOR * (when - rejoin_t) else None

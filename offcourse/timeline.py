"""The recording's time line: the times the engine runs on, and the pauses left out of time lost.

Part of the report step (pipeline read → project → match → detect → report): before the live
engine runs, :func:`engine_times` decides its clock (the recording's own times, or stand-in times
by distance for a recording without them); after it, :func:`find_pauses` finds the time the runner
was not running (no fix for a while, or standing still), which :func:`paused_s` takes out of the
time an excursion cost (:mod:`offcourse.review`) and the report's times.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from . import _hindsight_loops as _hl
from .model import Track

__all__ = ["Pause", "engine_times", "find_pauses", "no_fix_s", "paused_s"]

PSEUDO_SPEED_MPS = 3.0
"""Without timestamps, fixes are given stand-in times at this speed along the recorded path."""
STOP_RADIUS_M = 25.0
STOP_MIN_S = 120.0
"""Standing within :data:`STOP_RADIUS_M` for at least this long is a pause (a night stop, an aid station)."""
NO_FIX_MIN_S = 60.0
"""No fix for at least this long (or :data:`NO_FIX_INTERVALS` times the recording's usual interval, if
more, at most :data:`NO_FIX_MAX_S`) is a pause: a watch recording a fix a minute is not paused
between its fixes."""
NO_FIX_INTERVALS = 3.0
NO_FIX_MAX_S = 180.0


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


def paused_s(pauses: tuple[Pause, ...], t0: float, t1: float) -> float:
    """Seconds of pauses between ``t0`` and ``t1``."""
    return sum(max(0.0, min(p.end_epoch_s, t1) - max(p.start_epoch_s, t0)) for p in pauses)


def engine_times(
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


def no_fix_s(t: npt.NDArray[np.float64]) -> float:
    """How long without a fix is a pause, for fixes at times ``t`` (in recorded order).

    >>> no_fix_s(np.arange(0.0, 600.0, 1.0)), no_fix_s(np.arange(0.0, 6000.0, 60.0)), no_fix_s(np.array([0.0]))
    (60.0, 180.0, 60.0)
    """
    dt = np.diff(t)
    dt = dt[np.isfinite(dt) & (dt > 0)]
    if len(dt) == 0:
        return NO_FIX_MIN_S
    return min(max(NO_FIX_MIN_S, NO_FIX_INTERVALS * float(np.median(dt))), NO_FIX_MAX_S)


def find_pauses(
    t: npt.NDArray[np.float64],
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    near_route_m: npt.NDArray[np.float64],
    near_m: npt.NDArray[np.float64],
) -> tuple[Pause, ...]:
    """No fix for :func:`no_fix_s`, or standing within :data:`STOP_RADIUS_M` for :data:`STOP_MIN_S`."""
    ok = np.flatnonzero(np.isfinite(t) & np.isfinite(x))
    if len(ok) < 2:
        return ()
    gap_s = no_fix_s(t[ok])

    def where(i: int) -> float | None:
        k = int(ok[i])
        return float(near_route_m[k]) if near_m[k] <= 100.0 else None

    kernels = _hl.use_compiled(len(ok))
    if kernels is not None:
        to = t[ok]
        kind, ends, unsure = kernels.pauses(to, x[ok], y[ok], STOP_RADIUS_M, gap_s, STOP_MIN_S)
        if not unsure:
            tl = to.tolist()
            found = [
                Pause("no_fix" if k == _hl.NO_FIX else "stop", tl[i0], tl[i1], where(iw))
                for k, (i0, i1, iw) in zip(kind.tolist(), ends.tolist(), strict=True)
            ]
            return tuple(sorted(found, key=lambda p: p.start_epoch_s))
    return _find_pauses(ok, t, x, y, where, gap_s)


def _find_pauses(
    ok: npt.NDArray[np.int64],
    t: npt.NDArray[np.float64],
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    where: Callable[[int], float | None],
    gap_s: float = NO_FIX_MIN_S,
) -> tuple[Pause, ...]:
    """:func:`find_pauses` in plain Python (the reference) over the fixes ``ok``; ``where(i)``: the
    place of the pause at ``ok[i]``."""
    out: list[Pause] = []
    tl, xl, yl = t[ok].tolist(), x[ok].tolist(), y[ok].tolist()

    a = 0  # anchor of the current stop candidate
    last_t = tl[0]
    for i in range(1, len(ok)):
        if tl[i] <= last_t:
            continue  # out of order: the engine ignores it too
        if tl[i] - last_t >= gap_s and math.hypot(xl[i] - xl[a], yl[i] - yl[a]) > STOP_RADIUS_M:
            out.append(Pause("no_fix", last_t, tl[i], where(i)))
        if math.hypot(xl[i] - xl[a], yl[i] - yl[a]) > STOP_RADIUS_M:
            if tl[i - 1] - tl[a] >= STOP_MIN_S:
                out.append(Pause("stop", tl[a], tl[i - 1], where(a)))
            a = i
        last_t = tl[i]
    if last_t - tl[a] >= STOP_MIN_S:
        out.append(Pause("stop", tl[a], last_t, where(a)))
    return tuple(sorted(out, key=lambda p: p.start_epoch_s))

"""The per-fix arithmetic of the engine, written once.

Plain functions of floats (no objects, no lists), used as they are by the Python engine
(:mod:`offcourse.detect.monitor`) and compiled with numba into the kernel of
:mod:`offcourse.detect._kernel`. Because both call the same code, the two cannot drift apart: the
compiled path's events and state are the engine's bit for bit. Distances are square roots of sums of
squares in a fixed order (see :mod:`offcourse.geometry`).

>>> odometer(0.0, 0.0, 0.0, 0.0, 100.0, 6.0, 8.0, 104.0, 8.0, 2.5, 0.0)
(10.0, 6.0, 8.0, 0.0, 100.0)
>>> odometer(0.0, 0.0, 0.0, 0.0, 100.0, 1.0, 1.0, 106.0, 8.0, 2.5, 0.0)
(0.0, 0.0, 0.0, 6.0, 106.0)
"""

from __future__ import annotations

import math

from .options import (
    CLIMB_STEP_M,
    MAX_COORD_M,
    MAX_TIME_S,
    OFFSET_ANYWHERE_GROWTH,
    OFFSET_ANYWHERE_MIN_M,
    SPEED_SMOOTHING,
    SPEED_WINDOW_MAX_S,
    SPEED_WINDOW_MIN_S,
)

__all__ = [
    "anywhere_radius",
    "far_offset",
    "thresholds",
    "usable_position",
    "usable_time",
    "accuracy_growth",
    "usable",
    "cover",
    "jump_ok",
    "learn_noise",
    "odometer",
    "running_speed",
]


def usable_time(t: float) -> bool:
    """A clock reading: finite and within :data:`~offcourse.detect.options.MAX_TIME_S` of 1970."""
    return abs(t) <= MAX_TIME_S  # False for NaN


def usable_position(x: float, y: float) -> bool:
    """A projected position: finite and within :data:`~offcourse.detect.options.MAX_COORD_M`."""
    return abs(x) <= MAX_COORD_M and abs(y) <= MAX_COORD_M  # False for NaN


def jump_ok(x: float, y: float, last_x: float, last_y: float, dt: float, max_speed_mps: float, slack_m: float) -> bool:
    """True when moving from the last fix to (x, y) in ``dt`` seconds is humanly possible (not a spike)."""
    ex = x - last_x
    ey = y - last_y
    return math.sqrt(ex * ex + ey * ey) <= max_speed_mps * dt + slack_m


def accuracy_growth(hacc_m: float, floor_m: float) -> float:
    """How much both thresholds grow for a fix reporting ``hacc_m`` (0 when unknown or good)."""
    return max(0.0, hacc_m - floor_m) if math.isfinite(hacc_m) else 0.0


def odometer(
    odo_m: float,
    anchor_x: float,
    anchor_y: float,
    climb_m: float,
    climb_anchor: float,
    x: float,
    y: float,
    ele_m: float,
    jitter_m: float,
    jitter_noise_gain: float,
    noise_ms: float,
) -> tuple[float, float, float, float, float]:
    """Distance and climb after a fix at (x, y, ele_m): ``(odo_m, anchor_x, anchor_y, climb_m, climb_anchor)``.

    Distance counts only in steps from the anchor of at least ``jitter_m``, or ``jitter_noise_gain``
    times the RMS offset (``sqrt(noise_ms)``) when that is more; the anchor then moves to the fix.
    Climb counts in rises of at least :data:`~offcourse.detect.options.CLIMB_STEP_M` from the lowest
    elevation since the last counted one.
    """
    if not math.isfinite(anchor_x):
        anchor_x, anchor_y = x, y
    else:
        ex = x - anchor_x
        ey = y - anchor_y
        step = math.sqrt(ex * ex + ey * ey)
        if step >= max(jitter_m, jitter_noise_gain * math.sqrt(noise_ms)):
            odo_m += step
            anchor_x, anchor_y = x, y
    if math.isfinite(ele_m):
        if not math.isfinite(climb_anchor) or ele_m < climb_anchor:
            climb_anchor = ele_m
        elif ele_m - climb_anchor >= CLIMB_STEP_M:
            climb_m += ele_m - climb_anchor
            climb_anchor = ele_m
    return odo_m, anchor_x, anchor_y, climb_m, climb_anchor


def usable(t: float, x: float, y: float) -> bool:
    """:func:`usable_time` and :func:`usable_position` at once (the engine's fast path)."""
    return abs(t) <= MAX_TIME_S and abs(x) <= MAX_COORD_M and abs(y) <= MAX_COORD_M


def learn_noise(noise_ms: float, d: float, dt: float, back_on_m: float, noise_time_s: float) -> float:
    """The running mean of squared offsets after a fix ``d`` from the route, ``dt`` after the last.

    Only fixes plainly on the route (at most ``back_on_m`` off) measure the GPS error: a runner
    drifting away must not raise the bar.
    """
    if d > back_on_m:
        return noise_ms
    a = 1.0 - math.exp(-max(dt, 0.0) / noise_time_s)
    return noise_ms + a * (d * d - noise_ms)


def running_speed(speed_mps: float, since_t: float, since_s: float, t: float, s: float) -> tuple[float, float, float]:
    """The runner's speed along the route after progress ``s`` at ``t``: ``(speed, since_t, since_s)``.

    Measured over windows of :data:`SPEED_WINDOW_MIN_S` to :data:`SPEED_WINDOW_MAX_S` (not across a
    long stop or a clock jump), smoothed with :data:`SPEED_SMOOTHING`.
    """
    if t - since_t < SPEED_WINDOW_MIN_S:
        return speed_mps, since_t, since_s
    moved = s - since_s
    if moved > 0 and t - since_t <= SPEED_WINDOW_MAX_S:
        speed_mps = (1.0 - SPEED_SMOOTHING) * speed_mps + SPEED_SMOOTHING * moved / (t - since_t)
    return speed_mps, t, s


def cover(lo: float, hi: float, s: float) -> tuple[float, float]:
    """The interval of route being covered, grown to hold ``s`` (``lo = NaN``: none yet)."""
    if not math.isfinite(lo):
        return s, s
    return min(lo, s), max(hi, s)


def thresholds(
    off_m: float, back_on_m: float, grow: float, noise_gain: float, noise_ms: float, noise_floor_m: float
) -> tuple[float, float]:
    """The off and back-on thresholds for a fix: grown by its accuracy (``grow``) and, the off one, by noise.

    The off threshold grows by ``noise_gain`` times the RMS offset on the route less ``noise_floor_m``.
    """
    noisy = max(0.0, noise_gain * math.sqrt(noise_ms) - noise_floor_m)
    return off_m + grow + noisy, back_on_m + grow


def anywhere_radius(last_m: float) -> float:
    """How far to search for the route around a fix far off it, given the last offset."""
    return max(OFFSET_ANYWHERE_GROWTH * last_m, OFFSET_ANYWHERE_MIN_M)


def far_offset(nearest_m: float, off_m: float, last_m: float) -> float:
    """The offset of a fix off course whose nearest point of the route is ``nearest_m`` away.

    Within the off threshold or the search radius (:func:`anywhere_radius`) it is that distance;
    beyond, the search gives up and the offset is taken as :data:`OFFSET_ANYWHERE_GROWTH` times the last.
    """
    if nearest_m <= off_m or nearest_m <= anywhere_radius(last_m):
        return nearest_m
    return max(last_m, OFFSET_ANYWHERE_GROWTH * last_m)

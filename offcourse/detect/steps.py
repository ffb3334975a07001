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
    BURST_MAX_S,
    BURST_MIN_S,
    CLIMB_STEP_M,
    EVIDENCE_Z_CAP,
    HACC_SIGMA_SHARE,
    MAX_COORD_M,
    MAX_TIME_S,
    NOISE_CLIP,
    ODO_ACCEL_MPS2,
    ODO_SIGMA_MIN_M,
    ODO_SPEED0_MPS,
    OFFSET_ANYWHERE_GROWTH,
    OFFSET_ANYWHERE_MIN_M,
    PACE_FACTOR,
    PACE_MIN_MPS,
    PLAUSIBLE_SLACK_SIGMAS,
    RAN_ON_SHARE,
    SIGMA_MIN_M,
    SPEED_SMOOTHING,
    SPEED_WINDOW_MAX_S,
    SPEED_WINDOW_MIN_S,
    TIME_JUMP_S,
)

__all__ = [
    "anywhere_radius",
    "far_offset",
    "thresholds",
    "usable_position",
    "usable_time",
    "accuracy_growth",
    "burst_s",
    "correlation_time",
    "error_sigma",
    "evidence",
    "evidence_weight",
    "plausible",
    "ran_on",
    "usable",
    "cover",
    "detour_unpaid",
    "jump_ok",
    "kernel_takes",
    "reach_m",
    "learn_noise",
    "odometer",
    "running_speed",
    "smooth",
]


def usable_time(t: float) -> bool:
    """A clock reading: finite and within :data:`~offcourse.detect.options.MAX_TIME_S` of 1970."""
    return abs(t) <= MAX_TIME_S  # False for NaN


def usable_position(x: float, y: float) -> bool:
    """A projected position: finite and within :data:`~offcourse.detect.options.MAX_COORD_M`."""
    return abs(x) <= MAX_COORD_M and abs(y) <= MAX_COORD_M  # False for NaN


def jump_ok(
    x: float, y: float, last_x: float, last_y: float, dt: float, max_speed_mps: float, pace_mps: float, slack_m: float
) -> bool:
    """True when moving from the last fix to (x, y) in ``dt`` seconds is possible for this runner (not a spike).

    At most ``max_speed_mps``, and at most :data:`PACE_FACTOR` times the runner's pace (at least
    :data:`PACE_MIN_MPS`), plus ``slack_m``: with a fix a minute apart, a 200 m jump and back is
    within anyone's top speed but not within the pace of a runner doing 1.6 m/s. A jump that is
    not is held as a possible spike; the next fix confirms it (the runner did speed up) or not.
    """
    ex = x - last_x
    ey = y - last_y
    speed = min(max_speed_mps, PACE_FACTOR * max(pace_mps, PACE_MIN_MPS))
    return math.sqrt(ex * ex + ey * ey) <= speed * dt + slack_m


def reach_m(window_m: float, max_speed_mps: float, since_s: float) -> float:
    """How far along the route to look: the window, plus as far as the runner may have gone in
    ``since_s`` seconds (``max_speed_mps`` times it; a fix a minute apart is a few hundred metres on)."""
    return window_m + max_speed_mps * since_s


def kernel_takes(
    t: float,
    x: float,
    y: float,
    last_t: float,
    last_x: float,
    last_y: float,
    max_speed_mps: float,
    pace_mps: float,
    slack_m: float,
) -> bool:
    """May a compiled loop take this fix? Usable, after the last and not late by more than
    :data:`TIME_JUMP_S` (else the engine ignores or holds it), and no jump (:func:`jump_ok`; else the
    engine decides whether it is a spike)."""
    if not (usable_time(t) and t > last_t and t - last_t <= TIME_JUMP_S and usable_position(x, y)):
        return False
    return jump_ok(x, y, last_x, last_y, t - last_t, max_speed_mps, pace_mps, slack_m)


def accuracy_growth(hacc_m: float, floor_m: float) -> float:
    """How much both thresholds grow for a fix reporting ``hacc_m`` (0 when unknown or good)."""
    return max(0.0, hacc_m - floor_m) if math.isfinite(hacc_m) else 0.0


def smooth(
    kx: float,
    ky: float,
    kvx: float,
    kvy: float,
    p00: float,
    p01: float,
    p11: float,
    x: float,
    y: float,
    dt: float,
    step_ms: float,
) -> tuple[float, float, float, float, float, float, float]:
    """The runner's smoothed position after a fix at (x, y), ``dt`` after the last: a Kalman filter.

    A constant-velocity model per axis (position ``kx, ky``, velocity ``kvx, kvy``; the covariance
    ``p00, p01, p11``, the same for both axes), process noise :data:`ODO_ACCEL_MPS2` squared, and
    measurement variance ``step_ms / 2`` (at least :data:`ODO_SIGMA_MIN_M` squared). Starts afresh
    at the fix when there is no position yet (``kx`` NaN) or ``dt`` is not positive.
    Returns ``(kx, ky, kvx, kvy, p00, p01, p11)``.
    """
    r = max(0.5 * step_ms, ODO_SIGMA_MIN_M * ODO_SIGMA_MIN_M)
    if not (math.isfinite(kx) and dt > 0.0):
        return x, y, 0.0, 0.0, r, 0.0, ODO_SPEED0_MPS * ODO_SPEED0_MPS
    q = ODO_ACCEL_MPS2 * ODO_ACCEL_MPS2
    kx += kvx * dt
    ky += kvy * dt
    a00 = p00 + dt * (2.0 * p01 + dt * p11) + q * dt * dt * dt / 3.0
    a01 = p01 + dt * p11 + q * dt * dt / 2.0
    a11 = p11 + q * dt
    g0 = a00 / (a00 + r)
    g1 = a01 / (a00 + r)
    ex = x - kx
    ey = y - ky
    kx += g0 * ex
    ky += g0 * ey
    kvx += g1 * ex
    kvy += g1 * ey
    return kx, ky, kvx, kvy, (1.0 - g0) * a00, (1.0 - g0) * a01, a11 - g1 * a01


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
    """Distance and climb after a fix: ``(odo_m, anchor_x, anchor_y, climb_m, climb_anchor)``.

    (x, y) is the smoothed position (:func:`smooth`), ``ele_m`` the fix's elevation. Distance
    counts only in steps from the anchor of at least ``jitter_m``, or ``jitter_noise_gain`` times
    the RMS offset (``sqrt(noise_ms)``) when that is more; the anchor then moves to the position.
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


def learn_noise(
    noise_ms: float,
    step_ms: float,
    interval_s: float,
    d: float,
    last_d: float,
    dt: float,
    near_m: float,
    noise_time_s: float,
) -> tuple[float, float, float]:
    """The error model after a fix ``d`` from the route, ``dt`` after the last (which was ``last_d`` off).

    Returns ``(noise_ms, step_ms, interval_s)``: running means (time constant ``noise_time_s``) of the
    squared offset, of the squared change of the offset from the last fix, and of the fix interval.
    Only fixes plainly on the route (at most ``near_m`` off: the back-on threshold) measure the GPS
    error: a runner drifting away must not raise the bar; the change counts only when the last fix
    was on it too. A fix adds at most :data:`~offcourse.detect.options.NOISE_CLIP` times the level so
    far (a Huber scale estimate): the first metres of a slow departure raise it a little at a time.
    """
    if d > near_m:
        return noise_ms, step_ms, interval_s
    a = 1.0 - math.exp(-max(dt, 0.0) / noise_time_s)
    sq = min(d * d, NOISE_CLIP * max(noise_ms, SIGMA_MIN_M * SIGMA_MIN_M))
    noise_ms += a * (sq - noise_ms)
    if last_d <= near_m and 0.0 < dt <= TIME_JUMP_S:  # a clock jump is no interval
        step = d - last_d
        step_ms += a * (step * step - step_ms)
        interval_s = dt if interval_s == 0.0 else interval_s + a * (dt - interval_s)
    return noise_ms, step_ms, interval_s


def correlation_time(noise_ms: float, step_ms: float, interval_s: float) -> float:
    """The correlation time of the offset's error, seconds, from the error model (see :func:`learn_noise`).

    For a first-order Gauss-Markov error of variance ``v`` the change over an interval ``dt`` has a
    mean square of ``2 v (1 - exp(-dt / tau))``; the offset's variance is taken as ``noise_ms``.
    Infinity when nothing is known yet (no change measured) or the error does not move at all;
    0 when successive offsets are as far apart as independent ones.
    """
    if noise_ms <= 0.0 or interval_s <= 0.0:
        return math.inf
    r = step_ms / (2.0 * noise_ms)
    if r >= 1.0:
        return 0.0
    lg = math.log1p(-r)
    if lg >= 0.0:  # no change measured (or too small to tell from none)
        return math.inf
    return -interval_s / lg


def burst_s(noise_ms: float, step_ms: float, interval_s: float) -> float:
    """How long an error burst may last: the correlation time, within ``[BURST_MIN_S, BURST_MAX_S]``."""
    return min(max(correlation_time(noise_ms, step_ms, interval_s), BURST_MIN_S), BURST_MAX_S)


def error_sigma(noise_ms: float, hacc_m: float) -> float:
    """A fix's error scale: the RMS offset on the route, or :data:`HACC_SIGMA_SHARE` of the accuracy the
    fix reports when more, and never below :data:`SIGMA_MIN_M`."""
    sigma = max(math.sqrt(noise_ms), SIGMA_MIN_M)
    if math.isfinite(hacc_m):
        sigma = max(sigma, HACC_SIGMA_SHARE * hacc_m)
    return sigma


def plausible(x: float, y: float, exit_x: float, exit_y: float, since_s: float, pace_mps: float, sigma: float) -> bool:
    """Could a runner who left the route at (exit_x, exit_y) ``since_s`` ago be at (x, y)?

    Within :data:`PACE_FACTOR` times their pace (at least :data:`PACE_MIN_MPS`) of travel, plus
    :data:`PLAUSIBLE_SLACK_SIGMAS` error scales. True when the exit is unknown.
    """
    if not math.isfinite(exit_x):
        return True
    ex = x - exit_x
    ey = y - exit_y
    reach = PACE_FACTOR * max(pace_mps, PACE_MIN_MPS) * max(since_s, 0.0) + PLAUSIBLE_SLACK_SIGMAS * sigma
    return math.sqrt(ex * ex + ey * ey) <= reach


def ran_on(
    exit_s: float, exit_t: float, rejoin_s: float, rejoin_t: float, off_t: float, pace_mps: float, sigma: float
) -> bool:
    """Were the fixes off the route since ``off_t`` error, the runner running on along it all the while?

    True when they are back on the route (at ``rejoin_s``, ``rejoin_t``) within :data:`BURST_MAX_S` of
    the first fix off, and as far along it from the exit (``exit_s``, ``exit_t``) as the runner's
    pace takes them, within :data:`RAN_ON_SHARE` of that distance plus
    :data:`PLAUSIBLE_SLACK_SIGMAS` error scales.
    """
    if not rejoin_t - off_t <= BURST_MAX_S:
        return False
    expected = pace_mps * (rejoin_t - exit_t)
    return abs(rejoin_s - exit_s - expected) <= RAN_ON_SHARE * expected + PLAUSIBLE_SLACK_SIGMAS * sigma


def detour_unpaid(progress_m: float, duration_s: float, distance_m: float, pace_mps: float) -> bool:
    """Was the detour the fixes drew never paid for in time (the receiver's error, not a runner)?

    Off the route for ``duration_s``, rejoining ``progress_m`` further along it, the fixes drew
    ``distance_m``. Had the runner run that, the excursion lost ``(distance - progress) / pace`` seconds
    (the detour's cost); had they run on along the route while the fixes were wrong, it lost none. The
    time it did lose, ``duration - progress / pace``, decides: True when it is nearer to none than to
    the detour's cost (the midpoint between the two, no tuned constant). False when the pace is unknown.

    >>> detour_unpaid(60.0, 20.0, 150.0, 3.0)  # 60 m on in 20 s at 3 m/s, 90 m more drawn: error
    True
    >>> detour_unpaid(0.0, 55.0, 160.0, 3.0)  # out 80 m and back: 55 s lost, the detour's 53 s
    False
    """
    if not pace_mps > 0.0:
        return False
    lost = duration_s - progress_m / pace_mps
    detour = (distance_m - progress_m) / pace_mps
    return abs(lost) < abs(lost - detour)


def evidence_weight(dt: float, tau_s: float) -> float:
    """How many 1 s fixes' worth of new information a fix ``dt`` after the last carries.

    With an error of correlation time ``tau_s``, ``(1 - exp(-dt / tau)) / (1 - exp(-1 / tau))``: a fix
    a minute after the last tells more than one a second after it (``dt`` for a slow error, 1 for an
    error that is new at every fix). At least 1.
    """
    if dt <= 1.0 or tau_s <= 0.0:
        return 1.0
    if not math.isfinite(tau_s):
        return dt
    return -math.expm1(-dt / tau_s) / -math.expm1(-1.0 / tau_s)


def evidence(cusum: float, d: float, off_m: float, sigma: float, counts: bool, weight: float) -> float:
    """The CUSUM of "left the route" after a fix ``d`` off, with the off threshold ``off_m``.

    The fix adds its excess over the threshold in error scales times its ``weight``
    (:func:`evidence_weight`), at most :data:`EVIDENCE_Z_CAP`; a fix below the threshold takes
    evidence away; one that does not ``count`` (implausible) adds none. The sum never falls below zero.
    """
    z = min(weight * (d - off_m) / sigma, EVIDENCE_Z_CAP)
    if not counts:
        z = min(z, 0.0)
    return max(cusum + z, 0.0)


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

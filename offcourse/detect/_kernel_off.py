"""The compiled path for a runner off course: :func:`off_run_py`, compiled beside the on-route kernel.

A runner off course and far from the route moves only the odometer, the smoothed position and the
largest offset; the engine (:meth:`Excursion._while_off <offcourse.detect.excursion.Excursion>`)
looks for the route near each fix. :func:`off_run_py` does the same for a run of such fixes, with
the engine's own step functions and geometry, and stops before the first fix that could change the
phase. :mod:`offcourse.detect._kernel` compiles it with numba from this very source.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..geometry import (
    best_in_window,
    nearest_offset,
    project_on_segment,
    segment_offset,
    segment_offset_sq,
    segments_within,
)
from .steps import (
    accuracy_growth,
    far_offset,
    kernel_takes,
    odometer,
    reach_m,
    smooth,
    thresholds,
)

__all__ = ["OFF_CACHE_MARGIN_M", "OFF_MAX_RING", "OFF_OPTION_FIELDS", "OFF_STATE_FIELDS", "off_run_py"]

#: Scalar fields of the engine's state the off-course path reads and writes, in this order.
OFF_STATE_FIELDS = (
    "t",
    "x",
    "y",
    "spike_t",
    "odo_m",
    "anchor_x",
    "anchor_y",
    "climb_m",
    "climb_anchor",
    "s",
    "d",
    "max_off_m",
    "noise_ms",
    "step_ms",
    "kx",
    "ky",
    "kvx",
    "kvy",
    "p00",
    "p01",
    "p11",
    "back_count",
    "back_since_t",
    "back_s",
    "exit_s",
    "speed_mps",
    "n_fixes",
)

#: Options the off-course path needs, in this order.
OFF_OPTION_FIELDS = (
    "off_threshold_m",
    "back_on_threshold_m",
    "accuracy_floor_m",
    "max_speed_mps",
    "spike_slack_m",
    "noise_gain",
    "noise_floor_m",
    "jitter_m",
    "jitter_noise_gain",
    "window_ahead_m",
    "min_back_on_fixes",
    "min_back_on_time_s",
    "rejoin_near_m",
    "relock_progress_m",
    "wrong_way_min_m",
)

#: Rings of grid cells searched around a fix off course before every segment is scanned (as
#: :meth:`~offcourse.match.RouteIndex.nearest_global` does past 16 cells).
OFF_MAX_RING = 16


#: The off-course kernel keeps the segments within this much more than the nearest one's distance,
#: and searches only them until the runner has moved about half of it.
OFF_CACHE_MARGIN_M = 200.0


def off_run_py(
    st: Any,
    op: Any,
    ax: Any,
    ay: Any,
    dx: Any,
    dy: Any,
    ln: Any,
    codes: Any,
    starts: Any,
    segs: Any,
    cell_m: float,
    T: Any,
    X: Any,
    Y: Any,
    E: Any,
    H: Any,
    i0: int,
    out: Any,
    cum: Any,
) -> int:
    """The off-course kernel in plain Python: fixes of a runner off course.

    Stops before a fix the engine must take: one to ignore or hold, a possible spike, one that finds
    the route within the back-on threshold while no fix is back yet (where the runner rejoins is
    decided by the engine), or one that would complete the rejoin. Fixes after the first one back
    (``back_count`` > 0) are checked against the route around the rejoin as the engine does
    (:meth:`Excursion._while_off <offcourse.detect.excursion.Excursion>`); where that part of the
    route is far from the exit and the runner merely crosses it (or runs it back towards the exit),
    the engine keeps them off course, and so does the kernel.
    """
    off_m, back_m, acc_floor, vmax, slack, n_gain, n_floor, jit, jit_gain = (
        op[0], op[1], op[2], op[3], op[4], op[5], op[6], op[7], op[8]
    )  # fmt: skip
    win_ahead, min_back_fixes, min_back_s = op[9], op[10], op[11]
    rejoin_near, relock, ww_min = op[12], op[13], op[14]
    s_t, s_x, s_y, spike_t, odo, anc_x, anc_y = st[0], st[1], st[2], st[3], st[4], st[5], st[6]
    climb_m, climb_anc, s_s, s_d, max_off, noise = st[7], st[8], st[9], st[10], st[11], st[12]
    step_ms, kx, ky, kvx, kvy = st[13], st[14], st[15], st[16], st[17]
    p00, p01, p11 = st[18], st[19], st[20]
    back_count, back_since_t, back_s, exit_s, speed, n_fixes = st[21], st[22], st[23], st[24], st[25], st[26]
    n = T.shape[0]
    # the segments within c_r of (c_x, c_y): while a fix is so near that the nearest of them is
    # nearer than c_r less the distance moved, it is the nearest of all (triangle inequality)
    nseg = ax.shape[0]
    mark = np.zeros(nseg, dtype=np.int64)
    cand = np.empty(nseg, dtype=np.int64)
    cand_d2 = np.empty(nseg)
    n_cand = -1
    stamp = 0
    c_x = c_y = c_r = 0.0
    i = i0
    while i < n:
        t = T[i]
        x = X[i]
        y = Y[i]
        if not kernel_takes(t, x, y, s_t, s_x, s_y, vmax, speed, slack):
            break  # a fix to ignore, hold or judge as a possible spike: the engine's business
        grow = accuracy_growth(H[i], acc_floor)
        off_thr, back_thr = thresholds(off_m, back_m, grow, n_gain, noise, n_floor)
        if back_count > 0.0:
            # a fix after the first back near the route: the nearest point around the rejoin
            # (RouteIndex.nearest_in_window without continuity cost: the plain nearest, first of ties)
            nseg_ = ax.shape[0]
            k0 = min(max(np.searchsorted(cum, back_s - win_ahead, "right") - 1, 0), nseg_ - 1)
            hi_w = back_s + reach_m(win_ahead, vmax, t - back_since_t)  # Excursion._while_off's window
            k1 = min(max(np.searchsorted(cum, hi_w, "right") - 1, 0), nseg_ - 1)
            if k1 - k0 < 8:
                s_w, d_w, _ = best_in_window(x, y, ax, ay, dx, dy, ln, cum, k0, k1, k0, 0.0, 0.0, 0.0, 0.0)
            else:
                d_w = math.inf
                k_w = k0
                for k in range(k0, k1 + 1):
                    dk = segment_offset(x, y, ax[k], ay[k], dx[k], dy[k], ln[k])
                    if dk < d_w:
                        d_w, k_w = dk, k
                f_w, _ = project_on_segment(x, y, ax[k_w], ay[k_w], dx[k_w], dy[k_w], ln[k_w])
                s_w = cum[k_w] + f_w * ln[k_w]
            if d_w <= back_thr and back_count + 1.0 >= min_back_fixes and t - back_since_t >= min_back_s:
                moved = s_w - back_s
                # Excursion._rejoins_far_away: back on a part of the route far from the exit only once
                # the runner follows it
                far = moved >= relock or (moved <= -ww_min and back_s < exit_s)
                if not (abs(back_s - exit_s) > rejoin_near and not far):
                    break  # this fix completes the rejoin: the engine's business
            kx, ky, kvx, kvy, p00, p01, p11 = smooth(kx, ky, kvx, kvy, p00, p01, p11, x, y, t - s_t, step_ms)
            odo, anc_x, anc_y, climb_m, climb_anc = odometer(
                odo, anc_x, anc_y, climb_m, climb_anc, kx, ky, E[i], jit, jit_gain, noise
            )
            if d_w > back_thr:
                back_count = 0.0
                max_off = max(max_off, d_w)
            else:
                back_count += 1.0
            s_d = d_w
            spike_t = math.nan
            n_fixes += 1.0
            s_t, s_x, s_y = t, x, y
            out[i, 0] = s_s
            out[i, 1] = s_d
            out[i, 2] = odo
            out[i, 3] = climb_m
            i += 1
            continue
        nearest = math.inf
        if n_cand >= 0:
            ex = x - c_x
            ey = y - c_y
            moved = math.sqrt(ex * ex + ey * ey)
            # rank by squared distance, then take hypot (the engine's bits) of the few that may be nearest
            best2 = math.inf
            for q in range(n_cand):
                k = cand[q]
                d2 = segment_offset_sq(x, y, ax[k], ay[k], dx[k], dy[k], ln[k])
                cand_d2[q] = d2
                best2 = min(best2, d2)
            lim = best2 * (1.0 + 1e-12)  # rounding of squares and hypot stays far below this
            best = math.inf
            for q in range(n_cand):
                if cand_d2[q] <= lim:
                    k = cand[q]
                    best = min(best, segment_offset(x, y, ax[k], ay[k], dx[k], dy[k], ln[k]))
            if best + moved <= c_r * (1.0 - 1e-9):
                nearest = best
        if nearest == math.inf:
            nearest = nearest_offset(x, y, ax, ay, dx, dy, ln, codes, starts, segs, cell_m, OFF_MAX_RING)
            stamp += 1
            c_x, c_y, c_r = x, y, nearest + OFF_CACHE_MARGIN_M
            n_cand = segments_within(
                x, y, c_r, ax, ay, dx, dy, ln, codes, starts, segs, cell_m, OFF_MAX_RING, mark, stamp, cand
            )
        if nearest <= back_thr:
            break  # near the route again: the engine looks for the rejoin
        kx, ky, kvx, kvy, p00, p01, p11 = smooth(kx, ky, kvx, kvy, p00, p01, p11, x, y, t - s_t, step_ms)
        odo, anc_x, anc_y, climb_m, climb_anc = odometer(
            odo, anc_x, anc_y, climb_m, climb_anc, kx, ky, E[i], jit, jit_gain, noise
        )
        s_d = far_offset(nearest, off_thr, s_d)
        max_off = max(max_off, s_d)
        spike_t = math.nan
        n_fixes += 1.0
        s_t, s_x, s_y = t, x, y
        out[i, 0] = s_s
        out[i, 1] = s_d
        out[i, 2] = odo
        out[i, 3] = climb_m
        i += 1
    st[0], st[1], st[2], st[3], st[4], st[5], st[6] = s_t, s_x, s_y, spike_t, odo, anc_x, anc_y
    st[7], st[8], st[9], st[10], st[11], st[12] = climb_m, climb_anc, s_s, s_d, max_off, noise
    st[13], st[14], st[15], st[16], st[17] = step_ms, kx, ky, kvx, kvy
    st[18], st[19], st[20] = p00, p01, p11
    st[21], st[22], st[23], st[24], st[25], st[26] = back_count, back_since_t, back_s, exit_s, speed, n_fixes
    return i

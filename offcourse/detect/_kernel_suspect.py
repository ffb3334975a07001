"""The compiled path for a runner under suspicion: fixes off the route before the alert is sure.

Between the first fix beyond the off threshold and the alert (or the return to the route), the engine
(:meth:`Monitor._follow <offcourse.detect.Monitor>`, its ``suspect`` branch) matches each fix in the
window around the progress, adds its evidence to the sequential test (:func:`~offcourse.detect.steps.evidence`)
and looks for another part of the route near the fix. :func:`suspect_run_py` does the same for a run
of such fixes with the engine's own step functions, and stops before the first fix where anything
else could happen: back within the back-on threshold, another part of the route near, or the alert.
:mod:`offcourse.detect._kernel` compiles it with numba from this very source, and also compiles the
two searches here that the on-route kernel shares (:func:`window_match`, :func:`other_part_near`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..geometry import best_in_window, project_on_segment, segments_within
from ._kernel_off import OFF_MAX_RING
from .options import EVIDENCE_H
from .steps import (
    accuracy_growth,
    burst_s,
    correlation_time,
    error_sigma,
    evidence,
    evidence_weight,
    kernel_takes,
    odometer,
    plausible,
    reach_m,
    smooth,
    thresholds,
)

__all__ = [
    "NEAR_MARGIN_M",
    "SUSPECT_OPTION_FIELDS",
    "SUSPECT_STATE_FIELDS",
    "other_part_near",
    "suspect_run_py",
    "window_match",
]

#: Scalar fields of the engine's state the suspect path reads and writes, in this order.
SUSPECT_STATE_FIELDS = (
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
    "interval_s",
    "speed_mps",
    "kx",
    "ky",
    "kvx",
    "kvy",
    "p00",
    "p01",
    "p11",
    "off_since_t",
    "off_count",
    "cusum",
    "exit_t",
    "exit_x",
    "exit_y",
    "n_fixes",
)

#: Options the suspect path needs, in this order.
SUSPECT_OPTION_FIELDS = (
    "back_on_threshold_m",
    "accuracy_floor_m",
    "max_speed_mps",
    "spike_slack_m",
    "window_back_m",
    "window_ahead_m",
    "continuity_weight",
    "continuity_back_weight",
    "jitter_m",
    "jitter_noise_gain",
    "off_threshold_m",
    "noise_gain",
    "noise_floor_m",
    "min_off_time_s",
    "min_off_fixes",
)

#: Margin of the kernels' search for another part of the route (metres): wider than the engine's by
#: this much, so that rounding never lets a kernel take a fix the engine would not.
NEAR_MARGIN_M = 1e-6


def window_match(
    x: float,
    y: float,
    s_s: float,
    dt: float,
    win_back: float,
    win_ahead: float,
    vmax: float,
    cw: float,
    cbw: float,
    speed: float,
    ax: Any,
    ay: Any,
    dx: Any,
    dy: Any,
    ln: Any,
    cum: Any,
) -> tuple[float, float, int]:
    """The engine's window match going forward from progress ``s_s``
    (:meth:`RouteIndex.nearest_in_window <offcourse.match.RouteIndex.nearest_in_window>` with the
    continuity weights and the band the runner's ``speed`` covers in ``dt``), on numpy columns:
    ``(route_m, offset_m, segment)``."""
    nseg = ax.shape[0]
    lo = s_s - win_back
    hi = s_s + reach_m(win_ahead, vmax, dt)
    s_pred = min(max(s_s, lo), hi)
    k0 = min(max(np.searchsorted(cum, lo, "right") - 1, 0), nseg - 1)
    k1 = min(max(np.searchsorted(cum, hi, "right") - 1, 0), nseg - 1)
    kp = min(max(min(max(np.searchsorted(cum, s_pred, "right") - 1, 0), nseg - 1), k0), k1)
    return best_in_window(x, y, ax, ay, dx, dy, ln, cum, k0, k1, kp, s_pred, cw, cbw, speed * dt)


def other_part_near(
    x: float,
    y: float,
    here: float,
    back_thr: float,
    win_back: float,
    ax: Any,
    ay: Any,
    dx: Any,
    dy: Any,
    ln: Any,
    cum: Any,
    codes: Any,
    starts: Any,
    segs: Any,
    cell_m: float,
    mark: Any,
    stamp: int,
    cand: Any,
) -> bool:
    """Might the engine find another part of the route near (x, y) (``Monitor._seek_other_part``)?

    True when a segment within the back-on threshold (plus :data:`NEAR_MARGIN_M`) has its nearest
    point ``window_back_m`` (less the margin) or more along the route from ``here``: the engine's
    passes are made of such points, so False means it finds none.
    """
    near = segments_within(
        x, y, back_thr + NEAR_MARGIN_M, ax, ay, dx, dy, ln, codes, starts, segs, cell_m, OFF_MAX_RING, mark, stamp,
        cand,
    )  # fmt: skip
    for q in range(near):
        k = cand[q]
        f, _ = project_on_segment(x, y, ax[k], ay[k], dx[k], dy[k], ln[k])
        if abs(cum[k] + f * ln[k] - here) >= win_back - NEAR_MARGIN_M:
            return True
    return False


def suspect_run_py(
    st: Any,
    op: Any,
    ax: Any,
    ay: Any,
    dx: Any,
    dy: Any,
    ln: Any,
    cum: Any,
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
) -> int:
    """The suspect kernel in plain Python (see the module); numba compiles this very function.

    ``st`` holds the :data:`SUSPECT_STATE_FIELDS`, ``op`` the :data:`SUSPECT_OPTION_FIELDS`; ``out[i]``
    receives the ring record ``(s, d, odo_m, climb_m)`` of each fix done. Returns the index of the
    first fix left to the engine. The caller runs it only while no wrong way is in progress and no
    other part of the route is being followed.
    """
    back_m, acc_floor, vmax, slack, win_back, win_ahead = op[0], op[1], op[2], op[3], op[4], op[5]
    cw, cbw, jit, jit_gain, off_m, n_gain, n_floor = op[6], op[7], op[8], op[9], op[10], op[11], op[12]
    min_off_s, min_off_fixes = op[13], op[14]
    s_t, s_x, s_y, spike_t, odo, anc_x, anc_y = st[0], st[1], st[2], st[3], st[4], st[5], st[6]
    climb_m, climb_anc, s_s, s_d, max_off = st[7], st[8], st[9], st[10], st[11]
    noise, step_ms, interval_s, speed = st[12], st[13], st[14], st[15]
    kx, ky, kvx, kvy, p00, p01, p11 = st[16], st[17], st[18], st[19], st[20], st[21], st[22]
    off_since, off_count, cusum, exit_t, exit_x, exit_y, n_fixes = (
        st[23], st[24], st[25], st[26], st[27], st[28], st[29]
    )  # fmt: skip
    nseg = ax.shape[0]
    mark = np.zeros(nseg, dtype=np.int64)
    cand = np.empty(nseg, dtype=np.int64)
    stamp = 0
    n = T.shape[0]
    i = i0
    while i < n:
        t = T[i]
        x = X[i]
        y = Y[i]
        if not kernel_takes(t, x, y, s_t, s_x, s_y, vmax, speed, slack):
            break  # a fix to ignore, hold or judge as a possible spike: the engine's business
        dt = t - s_t
        hacc = H[i]
        grow = accuracy_growth(hacc, acc_floor)
        off_thr, back_thr = thresholds(off_m, back_m, grow, n_gain, noise, n_floor)
        _, d, _ = window_match(x, y, s_s, dt, win_back, win_ahead, vmax, cw, cbw, speed, ax, ay, dx, dy, ln, cum)
        if d <= back_thr:
            break  # back on the route: the engine's business
        stamp += 1
        if other_part_near(
            x, y, s_s, back_thr, win_back, ax, ay, dx, dy, ln, cum, codes, starts, segs, cell_m, mark, stamp, cand
        ):
            break  # another part of the route near: the engine decides whether the runner follows it
        if d > off_thr:
            stamp += 1
            if segments_within(
                x, y, off_thr + NEAR_MARGIN_M, ax, ay, dx, dy, ln, codes, starts, segs, cell_m, OFF_MAX_RING, mark,
                stamp, cand,
            ):  # fmt: skip
                break  # within the off threshold of the route's geometry: no evidence, the engine's business
        n_off = off_count + 1.0 if d > off_thr else off_count
        # the sequential test (Monitor._evidence)
        sigma = error_sigma(noise, hacc)
        counts = plausible(x, y, exit_x, exit_y, t - exit_t, speed, sigma) or (
            t - off_since >= burst_s(noise, step_ms, interval_s)
        )
        weight = evidence_weight(dt, correlation_time(noise, step_ms, interval_s))
        n_cusum = evidence(cusum, d, off_thr, sigma, counts, weight)
        if d > off_thr and n_cusum >= EVIDENCE_H and t - off_since >= min_off_s and n_off >= min_off_fixes:
            break  # the alert: the engine's business
        # nothing else happens: commit
        kx, ky, kvx, kvy, p00, p01, p11 = smooth(kx, ky, kvx, kvy, p00, p01, p11, x, y, dt, step_ms)
        odo, anc_x, anc_y, climb_m, climb_anc = odometer(
            odo, anc_x, anc_y, climb_m, climb_anc, kx, ky, E[i], jit, jit_gain, noise
        )
        if d > off_thr:
            max_off = max(max_off, d)
        off_count = n_off
        cusum = n_cusum
        s_d = d
        spike_t = math.nan
        n_fixes += 1.0
        s_t, s_x, s_y = t, x, y
        out[i, 0] = s_s
        out[i, 1] = s_d
        out[i, 2] = odo
        out[i, 3] = climb_m
        i += 1
    st[0], st[1], st[2], st[3], st[4], st[5], st[6] = s_t, s_x, s_y, spike_t, odo, anc_x, anc_y
    st[7], st[8], st[9], st[10], st[11] = climb_m, climb_anc, s_s, s_d, max_off
    st[12], st[13], st[14], st[15] = noise, step_ms, interval_s, speed
    st[16], st[17], st[18], st[19], st[20], st[21], st[22] = kx, ky, kvx, kvy, p00, p01, p11
    st[23], st[24], st[25], st[26] = off_since, off_count, cusum, exit_t
    st[27], st[28], st[29] = exit_x, exit_y, n_fixes
    return i

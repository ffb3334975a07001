"""A compiled path for the fixes where nothing happens: the batch accelerator of :func:`~offcourse.report.check`.

Most fixes of a race find the runner on the route, going forward, with no
alert pending. For those :meth:`Monitor._push_xy <offcourse.detect.Monitor>`
only moves the progress, the odometer and a few running figures.
:func:`follow_run` does exactly that for a run of fixes in compiled code
(numba) and stops, *before touching the state*, at the first fix where
anything else could happen — a fix out of order or without a position, a
possible spike, an offset above the back-on threshold, progress falling back,
the finish. The Python engine takes that fix, then the compiled path resumes.

The arithmetic is the engine's own, in the same order (distances as square
roots of sums of squares, no fused multiply-add), so the events and the state
are bit for bit those of :meth:`Monitor.push` — ``tests/test_fast.py`` checks
it on long noisy tracks. numba is optional (``pip install 'offcourse[fast]'``);
without it :func:`available` is False and ``check`` stays in Python.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

__all__ = ["STATE_FIELDS", "OPTION_FIELDS", "available", "follow_run"]

#: Scalar fields of the engine's state the compiled path reads and writes, in this order.
STATE_FIELDS = (
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
    "s_peak",
    "t_peak",
    "speed_mps",
    "noise_ms",
    "speed_t",
    "speed_s",
    "cur_lo",
    "cur_hi",
    "n_fixes",
)

#: Options the compiled path needs, in this order.
OPTION_FIELDS = (
    "back_on_threshold_m",
    "accuracy_floor_m",
    "max_speed_mps",
    "spike_slack_m",
    "window_back_m",
    "window_ahead_m",
    "continuity_weight",
    "continuity_back_weight",
    "finish_radius_m",
    "wrong_way_min_m",
    "noise_time_s",
    "jitter_m",
    "jitter_noise_gain",
)

_kernel: Any = None
_tried = False


def available() -> bool:
    """True when numba is installed and the compiled path is not switched off (``OFFCOURSE_NO_NUMBA=1``)."""
    global _kernel, _tried
    if os.environ.get("OFFCOURSE_NO_NUMBA"):
        return False
    if not _tried:
        _tried = True
        try:
            import numba

            kernel = numba.njit(cache=True, nogil=True)(_follow_run_py)
            _warm_up(kernel)
        except Exception:  # no numba, or it cannot compile or cache here: the Python engine does it all
            return False
        _kernel = kernel
    return _kernel is not None


def _warm_up(kernel: Any) -> None:
    """Compile (or load from numba's cache) with the real argument types, on two fixes of a one-segment route."""
    one = np.zeros(1)
    seg = (one, one, np.ones(1), one, np.ones(1), np.array([0.0, 1.0]))
    two = np.array([0.0, 1.0])
    state = np.full(len(STATE_FIELDS), np.nan)
    kernel(state, np.ones(len(OPTION_FIELDS)), *seg, 1.0, two, two, two, two, two, 0, np.empty((2, 4)))


def follow_run(
    state: np.ndarray,
    opts: np.ndarray,
    seg: tuple[np.ndarray, ...],
    length_m: float,
    cols: tuple[np.ndarray, ...],
    i0: int,
    out: np.ndarray,
) -> int:
    """Process fixes ``i0, i0+1, ...`` while nothing happens; returns the index of the first fix left undone.

    ``state`` (the :data:`STATE_FIELDS`) is updated in place; ``out[i]`` receives the ring record
    ``(s, d, odo_m, climb_m)`` of each fix done.
    """
    ax, ay, dx, dy, ln, cum = seg
    t_, x_, y_, e_, h_ = cols
    k: int = _kernel(state, opts, ax, ay, dx, dy, ln, cum, length_m, t_, x_, y_, e_, h_, i0, out)
    return k


def _follow_run_py(
    st: Any,
    op: Any,
    ax: Any,
    ay: Any,
    dx: Any,
    dy: Any,
    ln: Any,
    cum: Any,
    length_m: float,
    T: Any,
    X: Any,
    Y: Any,
    E: Any,
    H: Any,
    i0: int,
    out: Any,
) -> int:
    back_m, acc_floor, vmax, slack, win_back, win_ahead, cw, cbw, fin_r, ww_min, n_time, jit, jit_gain = (
        op[0],
        op[1],
        op[2],
        op[3],
        op[4],
        op[5],
        op[6],
        op[7],
        op[8],
        op[9],
        op[10],
        op[11],
        op[12],
    )
    (
        s_t,
        s_x,
        s_y,
        spike_t,
        odo,
        anc_x,
        anc_y,
        climb,
        climb_anc,
        s_s,
        s_d,
        s_peak,
        t_peak,
        speed,
        noise,
        speed_t,
        speed_s,
        cur_lo,
        cur_hi,
        n_fixes,
    ) = (
        st[0],
        st[1],
        st[2],
        st[3],
        st[4],
        st[5],
        st[6],
        st[7],
        st[8],
        st[9],
        st[10],
        st[11],
        st[12],
        st[13],
        st[14],
        st[15],
        st[16],
        st[17],
        st[18],
        st[19],
    )
    nseg = ax.shape[0]
    n = T.shape[0]
    i = i0
    while i < n:
        t = T[i]
        x = X[i]
        y = Y[i]
        if not (math.isfinite(t) and t > s_t and math.isfinite(x) and math.isfinite(y)):
            break
        ex = x - s_x
        ey = y - s_y
        if not (math.sqrt(ex * ex + ey * ey) <= vmax * (t - s_t) + slack):
            break  # a jump: the engine decides whether it is a spike
        h = H[i]
        grow = max(0.0, h - acc_floor) if math.isfinite(h) else 0.0
        dt = t - s_t
        # odometer and climb
        n_odo, n_ax, n_ay = odo, anc_x, anc_y
        if not math.isfinite(anc_x):
            n_ax, n_ay = x, y
        else:
            ex = x - anc_x
            ey = y - anc_y
            step = math.sqrt(ex * ex + ey * ey)
            if step >= max(jit, jit_gain * math.sqrt(noise)):
                n_odo = odo + step
                n_ax, n_ay = x, y
        n_climb, n_canc = climb, climb_anc
        ele = E[i]
        if math.isfinite(ele):
            if not math.isfinite(climb_anc):
                n_canc = ele
            elif ele - climb_anc >= 5.0:
                n_climb = climb + (ele - climb_anc)
                n_canc = ele
            elif ele < climb_anc:
                n_canc = ele
        # a fix past the back-on threshold (below the off threshold, which is higher) goes to the engine
        back_thr = back_m + grow
        # window search around the current progress (RouteIndex._best_pruned)
        ahead = win_ahead + vmax * dt
        lo = s_s - win_back
        hi = s_s + ahead
        s_pred = min(max(s_s, lo), hi)
        k0 = min(max(np.searchsorted(cum, lo, "right") - 1, 0), nseg - 1)
        k1 = min(max(np.searchsorted(cum, hi, "right") - 1, 0), nseg - 1)
        kp = min(max(min(max(np.searchsorted(cum, s_pred, "right") - 1, 0), nseg - 1), k0), k1)
        best_c = math.inf
        best_s = 0.0
        best_d = 0.0
        for k in range(kp, k1 + 1):
            if k > kp and cw * (cum[k] - s_pred) >= best_c:
                break
            lk = ln[k]
            l2 = lk * lk
            tt = ((x - ax[k]) * dx[k] + (y - ay[k]) * dy[k]) / l2 if l2 > 0 else 0.0
            tt = 0.0 if tt < 0.0 else (1.0 if tt > 1.0 else tt)
            ex = ax[k] + tt * dx[k] - x
            ey = ay[k] + tt * dy[k] - y
            dk = math.sqrt(ex * ex + ey * ey)
            sk = cum[k] + tt * lk
            c = dk + (cw * (sk - s_pred) if sk >= s_pred else cbw * (s_pred - sk))
            if c < best_c:
                best_c, best_s, best_d = c, sk, dk
        for k in range(kp - 1, k0 - 1, -1):
            if cbw * (s_pred - cum[k + 1]) >= best_c:
                break
            lk = ln[k]
            l2 = lk * lk
            tt = ((x - ax[k]) * dx[k] + (y - ay[k]) * dy[k]) / l2 if l2 > 0 else 0.0
            tt = 0.0 if tt < 0.0 else (1.0 if tt > 1.0 else tt)
            ex = ax[k] + tt * dx[k] - x
            ey = ay[k] + tt * dy[k] - y
            dk = math.sqrt(ex * ex + ey * ey)
            sk = cum[k] + tt * lk
            c = dk + (cw * (sk - s_pred) if sk >= s_pred else cbw * (s_pred - sk))
            if c <= best_c:
                best_c, best_s, best_d = c, sk, dk
        s = best_s
        d = best_d
        if d > back_thr:
            break  # maybe leaving, or on another part of the route: the engine's business
        # progress (no wrong way in progress, checked by the caller)
        n_peak, n_tpeak = s_peak, t_peak
        if s >= s_peak:
            n_peak, n_tpeak = s, t
        elif s_peak - s >= 0.2 * ww_min:
            break  # moving back (or the wrong way): the engine looks for another part of the route
        if s >= length_m - fin_r:
            break
        # nothing happens: commit
        if d <= back_m:
            a = 1.0 - math.exp(-max(dt, 0.0) / n_time)
            noise += a * (d * d - noise)
        s_s = s
        s_d = d
        if math.isfinite(cur_lo):
            cur_lo = min(cur_lo, s)
            cur_hi = max(cur_hi, s)
        else:
            cur_lo = s
            cur_hi = s
        s_peak, t_peak = n_peak, n_tpeak
        if t - speed_t >= 120.0:
            moved = s - speed_s
            if moved > 0 and t - speed_t <= 600.0:  # detect._SPEED_WINDOW_MAX_S
                speed = 0.5 * speed + 0.5 * moved / (t - speed_t)
            speed_t, speed_s = t, s
        odo, anc_x, anc_y = n_odo, n_ax, n_ay
        climb, climb_anc = n_climb, n_canc
        spike_t = math.nan
        n_fixes += 1.0
        s_t, s_x, s_y = t, x, y
        out[i, 0] = s
        out[i, 1] = d
        out[i, 2] = odo
        out[i, 3] = climb
        i += 1
    st[0] = s_t
    st[1] = s_x
    st[2] = s_y
    st[3] = spike_t
    st[4] = odo
    st[5] = anc_x
    st[6] = anc_y
    st[7] = climb
    st[8] = climb_anc
    st[9] = s_s
    st[10] = s_d
    st[11] = s_peak
    st[12] = t_peak
    st[13] = speed
    st[14] = noise
    st[15] = speed_t
    st[16] = speed_s
    st[17] = cur_lo
    st[18] = cur_hi
    st[19] = n_fixes
    return i

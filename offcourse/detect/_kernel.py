"""The compiled path for the fixes where nothing happens: the batch accelerator of :func:`~offcourse.report.check`.

Most fixes of a race find the runner on the route, going forward, with no alert pending. For those
the engine (:meth:`Monitor._push_xy <offcourse.detect.Monitor>`) only moves the progress, the
odometer and a few running figures. :func:`follow_run_py` does exactly that for a run of fixes and
stops, *before touching the state*, at the first fix where anything else could happen — a fix out
of order, late by more than :data:`~offcourse.detect.options.TIME_JUMP_S` or without a position,
a possible spike, an offset above the back-on threshold, progress falling back, the finish. The
Python engine takes that fix, then the compiled path resumes.

Two more loops of the same kind live beside it: :mod:`~offcourse.detect._kernel_suspect` takes the
fixes between the first off the route and the alert (the sequential test adding its evidence), and
:mod:`~offcourse.detect._kernel_off` the fixes of a runner off course; :func:`push_arrays` hands each
run of fixes to the loop of the engine's phase.

The arithmetic is not restated here: :func:`follow_run_py` calls the engine's own step functions
(:mod:`offcourse.detect.steps`) and window search (:func:`offcourse.geometry.best_in_window`).
:func:`available` compiles it with numba, after rebinding those names to numba-compiled copies of
the same functions, so the compiled events and state are the engine's bit for bit. In plain Python
:func:`follow_run_py` is the oracle the tests compare the engine against, numba or not. numba is
optional (``pip install 'offcourse[fast]'``); without it :func:`available` is False and ``check``
stays in Python.
"""

from __future__ import annotations

import hashlib
import math
import os
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .. import geometry
from . import _kernel_off, _kernel_suspect, options, steps
from ._kernel_off import OFF_OPTION_FIELDS, OFF_STATE_FIELDS, off_run_py
from ._kernel_suspect import (
    SUSPECT_OPTION_FIELDS,
    SUSPECT_STATE_FIELDS,
    other_part_near,
    suspect_run_py,
    window_match,
)
from .events import Phase
from .options import BACKWARDS_SHARE, COMPILED_LOADED_MIN_FIXES, COMPILED_MIN_FIXES, RING_SIZE
from .steps import (
    accuracy_growth,
    anywhere_radius,
    burst_s,
    correlation_time,
    cover,
    error_sigma,
    evidence,
    evidence_weight,
    far_offset,
    jump_ok,
    kernel_takes,
    learn_noise,
    odometer,
    plausible,
    reach_m,
    running_speed,
    smooth,
    thresholds,
    usable_position,
    usable_time,
)

if TYPE_CHECKING:
    from .events import Event
    from .monitor import Monitor

__all__ = ["OPTION_FIELDS", "STATE_FIELDS", "available", "follow_run", "follow_run_py", "push_arrays"]

_NAN = float("nan")
_ON, _OFF, _SUSPECT = Phase.ON, Phase.OFF, Phase.SUSPECT

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
    "step_ms",
    "interval_s",
    "kx",
    "ky",
    "kvx",
    "kvy",
    "p00",
    "p01",
    "p11",
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
    "off_threshold_m",
    "noise_gain",
    "noise_floor_m",
)

_STEPS = (
    anywhere_radius,
    far_offset,
    thresholds,
    accuracy_growth,
    cover,
    jump_ok,
    learn_noise,
    odometer,
    running_speed,
    smooth,
    usable_position,
    usable_time,
    error_sigma,
    plausible,
    correlation_time,
    burst_s,
    evidence_weight,
    evidence,
    kernel_takes,
    reach_m,
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

            kernel = _compile(numba)
            _warm_up(*kernel)
        except Exception:  # no numba, or it cannot compile or cache here: the Python engine does it all
            return False
        _kernel = kernel
    return _kernel is not None


def loaded() -> bool:
    """True once the compiled kernel is loaded in this process (it then costs nothing to start)."""
    return _kernel is not None


def _rebind(fn: Any, table: dict[str, Any], name: str | None = None) -> Any:
    """``fn`` with the global names in ``table`` bound to other objects (numba-compiled functions)."""
    new = types.FunctionType(fn.__code__, {**fn.__globals__, **table}, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__qualname__ = name or fn.__qualname__
    new.__module__ = fn.__module__
    return new


def _compile(numba: Any) -> Any:
    """The kernel compiled with numba, its step functions compiled from the very same Python source.

    The kernel is cached on disk by numba under a name holding a hash of the steps, the options and
    the geometry, so a change to any of them compiles afresh (numba checks only the kernel's file).
    """
    jit = numba.njit(nogil=True)
    table: dict[str, Any] = {}
    table["segment_gap"] = jit(geometry.segment_gap)
    table["project_on_segment"] = jit(_rebind(geometry.project_on_segment, table))
    table["continuity_cost"] = jit(geometry.continuity_cost)
    table["best_in_window"] = jit(_rebind(geometry.best_in_window, table))
    table["segment_offset"] = jit(_rebind(geometry.segment_offset, table))
    table["segment_offset_sq"] = jit(_rebind(geometry.segment_offset_sq, table))
    table["nearest_offset"] = jit(_rebind(geometry.nearest_offset, table))
    table["segments_within"] = jit(_rebind(geometry.segments_within, table))
    for fn in _STEPS:
        table[fn.__name__] = jit(_rebind(fn, table))  # in order: a step may call an earlier one
    table["window_match"] = jit(_rebind(window_match, table))
    table["other_part_near"] = jit(_rebind(other_part_near, table))
    # the constants of options.py are compiled in too; the kernels call each other's searches
    sources = (geometry, options, steps, _kernel_off, _kernel_suspect)
    digest = hashlib.sha256(b"".join(Path(m.__file__ or "").read_bytes() for m in sources)).hexdigest()
    on = numba.njit(cache=True, nogil=True)(_rebind(follow_run_py, table, name=f"follow_run_{digest[:16]}"))
    off = numba.njit(cache=True, nogil=True)(_rebind(off_run_py, table, name=f"off_run_{digest[:16]}"))
    sus = numba.njit(cache=True, nogil=True)(_rebind(suspect_run_py, table, name=f"suspect_run_{digest[:16]}"))
    return on, off, sus


def _warm_up(on: Any, off: Any, sus: Any) -> None:
    """Compile (or load from numba's cache) with the real argument types, on two fixes of a one-segment route."""
    one = np.zeros(1)
    seg = (one, one, np.ones(1), one, np.ones(1), np.array([0.0, 1.0]))
    two = np.array([0.0, 1.0])
    state = np.full(len(STATE_FIELDS), np.nan)
    grid = (np.zeros(1, dtype=np.int64), np.array([0, 1], dtype=np.int64), np.zeros(1, dtype=np.int64))
    on(state, np.ones(len(OPTION_FIELDS)), *seg, 1.0, two, two, two, two, two, 0, np.empty((2, 4)), *grid, 100.0)
    state = np.full(len(OFF_STATE_FIELDS), np.nan)
    off(
        state,
        np.ones(len(OFF_OPTION_FIELDS)),
        *seg[:5],
        *grid,
        100.0,
        two,
        two,
        two,
        two,
        two,
        0,
        np.empty((2, 4)),
        seg[5],
    )
    state = np.full(len(SUSPECT_STATE_FIELDS), np.nan)
    sus(state, np.ones(len(SUSPECT_OPTION_FIELDS)), *seg, *grid, 100.0, two, two, two, two, two, 0, np.empty((2, 4)))


def push_arrays(
    m: Monitor,
    epoch_s: npt.ArrayLike,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    ele_m: npt.ArrayLike | None,
    hacc_m: npt.ArrayLike | None,
    *,
    compiled: bool | None,
) -> list[Event]:
    """:meth:`Monitor.push_arrays <offcourse.detect.Monitor.push_arrays>`: the kernel takes the
    quiet fixes, the monitor every other one."""
    T = np.ascontiguousarray(epoch_s, dtype=np.float64)
    n = len(T)
    X = np.ascontiguousarray(x, dtype=np.float64)
    Y = np.ascontiguousarray(y, dtype=np.float64)
    E = np.full(n, _NAN) if ele_m is None else np.ascontiguousarray(ele_m, dtype=np.float64)
    H = np.full(n, _NAN) if hacc_m is None else np.ascontiguousarray(hacc_m, dtype=np.float64)
    if not (len(X) == len(Y) == len(E) == len(H) == n):
        raise ValueError("push_arrays: the arrays differ in length")
    events: list[Event] = []
    o = m.options
    if compiled is None:
        compiled = n >= (COMPILED_LOADED_MIN_FIXES if loaded() else COMPILED_MIN_FIXES)
    if compiled:
        compiled = available() and o.continuity_weight > 0 and o.continuity_back_weight > 0
    if not compiled:
        for t, xi, yi, ele, hacc in zip(T.tolist(), X.tolist(), Y.tolist(), E.tolist(), H.tolist(), strict=True):
            events.extend(m._push_xy(t, xi, yi, ele, hacc))
        return events
    idx = m.index
    seg = (idx.ax, idx.ay, idx.dx, idx.dy, idx.seg_len, idx.cum)
    opts = np.array([float(getattr(o, name)) for name in OPTION_FIELDS])
    off_opts = np.array([float(getattr(o, name)) for name in OFF_OPTION_FIELDS])
    sus_opts = np.array([float(getattr(o, name)) for name in SUSPECT_OPTION_FIELDS])
    cols = (T, X, Y, E, H)
    out = np.empty((n, 4))
    st = m._st
    i = 0
    while i < n:
        if st.pending is None and math.isfinite(st.t):
            j = i
            fields: tuple[str, ...] = ()
            if st.phase == _ON and not st.wrong_way and not st.alt_active:
                sv = np.array([getattr(st, name) for name in STATE_FIELDS], dtype=np.float64)
                j = follow_run(sv, opts, seg, idx.length_m, cols, i, out, idx.grid_arrays(), idx.cell_m)
                fields = STATE_FIELDS
            elif st.phase == _OFF:
                sv = np.array([getattr(st, name) for name in OFF_STATE_FIELDS], dtype=np.float64)
                j = off_run(sv, off_opts, seg, idx.grid_arrays(), idx.cell_m, cols, i, out)
                fields = OFF_STATE_FIELDS
            elif st.phase == _SUSPECT and not st.wrong_way and not st.alt_active:
                sv = np.array([getattr(st, name) for name in SUSPECT_STATE_FIELDS], dtype=np.float64)
                j = suspect_run(sv, sus_opts, seg, idx.grid_arrays(), idx.cell_m, cols, i, out)
                fields = SUSPECT_STATE_FIELDS
            if j > i:
                for k, name in enumerate(fields):
                    setattr(st, name, float(sv[k]))
                st.back_count = int(st.back_count)
                st.off_count = int(st.off_count)
                st.n_fixes = int(sv[-1])
                a = max(i, j - RING_SIZE)
                st.ring.extend_rows(np.column_stack((T[a:j], X[a:j], Y[a:j], out[a:j])))
                i = j
                if i >= n:
                    break
        events.extend(m._push_xy(float(T[i]), float(X[i]), float(Y[i]), float(E[i]), float(H[i])))
        i += 1
    return events


def follow_run(
    state: np.ndarray,
    opts: np.ndarray,
    seg: tuple[np.ndarray, ...],
    length_m: float,
    cols: tuple[np.ndarray, ...],
    i0: int,
    out: np.ndarray,
    grid: tuple[np.ndarray, ...],
    cell_m: float,
) -> int:
    """Process fixes ``i0, i0+1, ...`` while nothing happens; returns the index of the first fix left undone.

    ``state`` (the :data:`STATE_FIELDS`) is updated in place; ``out[i]`` receives the ring record
    ``(s, d, odo_m, climb_m)`` of each fix done. Runs the compiled kernel (call :func:`available`
    first), or :func:`follow_run_py` when none is loaded.
    """
    ax, ay, dx, dy, ln, cum = seg
    t_, x_, y_, e_, h_ = cols
    codes, starts, segs = grid
    kernel = _kernel[0] if _kernel is not None else follow_run_py
    k: int = kernel(
        state, opts, ax, ay, dx, dy, ln, cum, length_m, t_, x_, y_, e_, h_, i0, out, codes, starts, segs, cell_m
    )
    return k


def off_run(
    state: np.ndarray,
    opts: np.ndarray,
    seg: tuple[np.ndarray, ...],
    grid: tuple[np.ndarray, ...],
    cell_m: float,
    cols: tuple[np.ndarray, ...],
    i0: int,
    out: np.ndarray,
) -> int:
    """:func:`follow_run` for a runner off course and far from the route (:data:`OFF_STATE_FIELDS`)."""
    ax, ay, dx, dy, ln, cum = seg
    codes, starts, segs = grid
    t_, x_, y_, e_, h_ = cols
    kernel = _kernel[1] if _kernel is not None else off_run_py
    k: int = kernel(state, opts, ax, ay, dx, dy, ln, codes, starts, segs, cell_m, t_, x_, y_, e_, h_, i0, out, cum)
    return k


def suspect_run(
    state: np.ndarray,
    opts: np.ndarray,
    seg: tuple[np.ndarray, ...],
    grid: tuple[np.ndarray, ...],
    cell_m: float,
    cols: tuple[np.ndarray, ...],
    i0: int,
    out: np.ndarray,
) -> int:
    """:func:`follow_run` for a runner under suspicion, before the alert (:data:`SUSPECT_STATE_FIELDS`)."""
    codes, starts, segs = grid
    t_, x_, y_, e_, h_ = cols
    kernel = _kernel[2] if _kernel is not None else suspect_run_py
    ax, ay, dx, dy, ln, cum = seg
    k: int = kernel(state, opts, ax, ay, dx, dy, ln, cum, codes, starts, segs, cell_m, t_, x_, y_, e_, h_, i0, out)
    return k


def follow_run_py(
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
    codes: Any,
    starts: Any,
    segs: Any,
    cell_m: float,
) -> int:
    """The kernel in plain Python (see :func:`follow_run`); numba compiles this very function."""
    back_m, acc_floor, vmax, slack, win_back, win_ahead = op[0], op[1], op[2], op[3], op[4], op[5]
    cw, cbw, fin_r, ww_min, n_time, jit, jit_gain = op[6], op[7], op[8], op[9], op[10], op[11], op[12]
    off_m, n_gain, n_floor = op[13], op[14], op[15]
    s_t, s_x, s_y, spike_t, odo, anc_x, anc_y = st[0], st[1], st[2], st[3], st[4], st[5], st[6]
    climb_m, climb_anc, s_s, s_d, s_peak, t_peak = st[7], st[8], st[9], st[10], st[11], st[12]
    speed, noise, speed_t, speed_s, cur_lo, cur_hi = st[13], st[14], st[15], st[16], st[17], st[18]
    step_ms, interval_s, kx, ky, kvx, kvy = st[19], st[20], st[21], st[22], st[23], st[24]
    p00, p01, p11, n_fixes = st[25], st[26], st[27], st[28]
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
        grow = accuracy_growth(H[i], acc_floor)
        n_kx, n_ky, n_kvx, n_kvy, n_p00, n_p01, n_p11 = smooth(kx, ky, kvx, kvy, p00, p01, p11, x, y, dt, step_ms)
        n_odo, n_ax, n_ay, n_climb, n_canc = odometer(
            odo, anc_x, anc_y, climb_m, climb_anc, n_kx, n_ky, E[i], jit, jit_gain, noise
        )
        # window search around the current progress (RouteIndex.nearest_in_window)
        s, d, _ = window_match(x, y, s_s, dt, win_back, win_ahead, vmax, cw, cbw, speed, ax, ay, dx, dy, ln, cum)
        if d > back_m + grow:
            off_thr, back_thr = thresholds(off_m, back_m, grow, n_gain, noise, n_floor)
            if d > off_thr:
                break  # leaving: the engine's business
            # between the thresholds the engine looks for another part of the route near the fix
            # (Monitor._seek_other_part): none, nothing happens
            stamp += 1
            if other_part_near(
                x, y, s, back_thr, win_back, ax, ay, dx, dy, ln, cum, codes, starts, segs, cell_m, mark, stamp, cand
            ):
                break
        # progress (no wrong way in progress, checked by the caller)
        if s < s_peak and s_peak - s >= BACKWARDS_SHARE * ww_min:
            break  # moving back (or the wrong way): the engine looks for another part of the route
        if s >= length_m - fin_r:
            break
        # nothing happens: commit
        noise, step_ms, interval_s = learn_noise(noise, step_ms, interval_s, d, s_d, dt, back_m, n_time)
        s_s = s
        s_d = d
        cur_lo, cur_hi = cover(cur_lo, cur_hi, s)
        if s >= s_peak:
            s_peak, t_peak = s, t
        speed, speed_t, speed_s = running_speed(speed, speed_t, speed_s, t, s)
        odo, anc_x, anc_y = n_odo, n_ax, n_ay
        climb_m, climb_anc = n_climb, n_canc
        kx, ky, kvx, kvy, p00, p01, p11 = n_kx, n_ky, n_kvx, n_kvy, n_p00, n_p01, n_p11
        spike_t = math.nan
        n_fixes += 1.0
        s_t, s_x, s_y = t, x, y
        out[i, 0] = s
        out[i, 1] = d
        out[i, 2] = odo
        out[i, 3] = climb_m
        i += 1
    st[0], st[1], st[2], st[3], st[4], st[5], st[6] = s_t, s_x, s_y, spike_t, odo, anc_x, anc_y
    st[7], st[8], st[9], st[10], st[11], st[12] = climb_m, climb_anc, s_s, s_d, s_peak, t_peak
    st[13], st[14], st[15], st[16], st[17], st[18] = speed, noise, speed_t, speed_s, cur_lo, cur_hi
    st[19], st[20], st[21], st[22], st[23], st[24] = step_ms, interval_s, kx, ky, kvx, kvy
    st[25], st[26], st[27], st[28] = p00, p01, p11, n_fixes
    return i

"""The compiled form of :func:`offcourse.sections.read_path`: the matched path walked into runs and breaks.

:func:`walk_path` restates the reference's walk over flat arrays, with the same operations in the
same order (Python's ``max(a, b)`` is ``b if b > a else a``, its ``min(a, b)`` is ``b if b < a
else a``, NaN included), so that numba computes the same bits; it writes what the reference
appends to its lists as rows (:data:`FORWARD` ... :data:`OFF`), in the order the reference
appends them, which :func:`read_path_compiled` turns into the same :class:`~offcourse.sections.PathRuns`.
The one distance the reference computes with :func:`math.hypot` (across a position spike) is
computed beforehand in Python, for the fixes where a spike can be (an on-route fix two after the
last on-route one), and passed in.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from .rematch import BACK_SLACK_M, FORWARD_SLACK_M
from .sections import (
    DIRECTION_HYSTERESIS_M,
    PLAUSIBLE_SPEED_MPS,
    PRE_START_M,
    SHORTCUT_MIN_SAVED_M,
    PathRuns,
    Section,
)

__all__ = ["read_path_compiled", "walk_path"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

FORWARD, UNVERIFIED, BACKWARD, JUMP, SHORTCUT, SPAN, WRONG, OFF = range(8)
"""Kinds of row :func:`walk_path` writes: one per list of :class:`~offcourse.sections.PathRuns`."""


def _close_run(code: IntArray, fl: FloatArray, il: IntArray, m: int, n_forward: int, run_dir: int,
               run_start: float, run_ext: float, run_i0: int, run_iext: int, moved_at_ext: float,
               wrong_way_min_m: float, pre_start_m: float, hysteresis_m: float) -> tuple[int, int]:  # fmt: skip
    """``close_run`` of the reference: the rows it writes; gives the row count and forward count."""
    if not math.isfinite(run_start):
        return m, n_forward
    if run_dir >= 0:
        if run_ext > run_start:
            code[m] = FORWARD
            fl[m, 0], fl[m, 1] = run_start, run_ext
            m += 1
            n_forward += 1
    elif run_start - run_ext > 0:
        if n_forward == 0 and run_ext <= pre_start_m and run_start <= pre_start_m + hysteresis_m * 4:
            return m, n_forward  # walking back to the start line before the start
        code[m] = BACKWARD
        fl[m, 0], fl[m, 1] = run_ext, run_start
        m += 1
        if run_start - run_ext >= wrong_way_min_m:
            code[m] = WRONG
            fl[m, 0], fl[m, 1], fl[m, 2], fl[m, 3] = run_start, run_ext, moved_at_ext, 0.0
            il[m, 0], il[m, 1] = run_i0, run_iext
            m += 1
    return m, n_forward


def walk_path(ks: FloatArray, moved: FloatArray, kt: FloatArray, knd: FloatArray, spike_g: FloatArray,
              dropout_s: float, skip_min_m: float, wrong_way_min_m: float, off_threshold_m: float,
              consts: FloatArray) -> tuple[IntArray, FloatArray, IntArray]:  # fmt: skip
    """The rows of :func:`offcourse.sections.read_path` over its per-kept-fix arrays: kind, floats
    ``(from, to, distance, largest distance)`` and kept-fix indices ``(i0, i1)``. ``spike_g``: per
    kept fix, the straight distance from the on-route fix two before (NaN where none is needed);
    ``consts``: see :func:`_consts`."""
    pre_start, hyst, fwd_slack = consts[0], consts[1], consts[2]
    plausible, back_slack, saved_min = consts[3], consts[4], consts[5]
    n = len(ks)
    cap = 4 * n + 4
    code = np.empty(cap, dtype=np.int64)
    fl = np.zeros((cap, 4))
    il = np.zeros((cap, 2), dtype=np.int64)
    m = 0
    nf = 0
    run_dir = 0
    run_start = math.nan
    run_ext = math.nan
    run_i0 = 0
    run_iext = 0
    run_moved = 0.0
    moved_at_ext = 0.0
    last_on = -1
    off_moved = 0.0
    off_max = 0.0
    for j in range(n):
        s = ks[j]
        if not math.isfinite(s):
            if last_on >= 0:
                off_moved += moved[j]
                v = knd[j] if math.isfinite(knd[j]) else 0.0
                if v > off_max:
                    off_max = v
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
        timed = math.isfinite(dt) and dt > 0
        jump = ds - g
        broke = False
        if was_off and last_on == j - 2:
            dt_in = kt[j - 1] - kt[last_on]
            dt_out = kt[j] - kt[j - 1]
            fast_in = math.isfinite(dt_in) and moved[j - 1] > plausible * (0.0 if dt_in < 0.0 else dt_in) + fwd_slack
            fast_out = math.isfinite(dt_out) and moved[j] > plausible * (0.0 if dt_out < 0.0 else dt_out) + fwd_slack
            if fast_in or fast_out:
                g = spike_g[j]
                jump = ds - g
                was_off = False
        if was_off and off_max > off_threshold_m:
            code[m] = OFF
            fl[m, 0], fl[m, 1], fl[m, 2], fl[m, 3] = ps, s, g, off_max
            il[m, 0], il[m, 1] = last_on, j
            m += 1
            if ds > 0 and ds >= skip_min_m and ds - g >= saved_min:
                code[m] = SHORTCUT
                fl[m, 0], fl[m, 1], fl[m, 2], fl[m, 3] = ps, s, g, off_max
                il[m, 0], il[m, 1] = last_on, j
                m += 1
            elif ds > 0:
                code[m] = SPAN
                fl[m, 0], fl[m, 1] = ps, s
                m += 1
            broke = True
        elif ds > 0 and timed and ds > plausible * dt + fwd_slack:
            could = plausible * dt
            ran = could if could < g else g
            near = knd[j] if knd[j] > knd[last_on] else knd[last_on]
            code[m] = JUMP
            fl[m, 0], fl[m, 1], fl[m, 2], fl[m, 3] = ps, s, ran, near
            il[m, 0], il[m, 1] = last_on, j
            m += 1
            broke = True
        elif ds > 0 and jump > (0.5 * g if 0.5 * g > fwd_slack else fwd_slack) + fwd_slack:
            if timed:
                if dt >= dropout_s:
                    code[m] = UNVERIFIED
                    fl[m, 0], fl[m, 1] = ps, s
                    m += 1
                    broke = True
            else:
                near = knd[j] if knd[j] > knd[last_on] else knd[last_on]
                code[m] = JUMP
                fl[m, 0], fl[m, 1], fl[m, 2], fl[m, 3] = ps, s, g, near
                il[m, 0], il[m, 1] = last_on, j
                m += 1
                broke = True
        elif was_off and ds < -back_slack:
            broke = True
        if broke:
            m, nf = _close_run(code, fl, il, m, nf, run_dir, run_start, run_ext, run_i0, run_iext, moved_at_ext,
                               wrong_way_min_m, pre_start, hyst)  # fmt: skip
            run_dir, run_start, run_ext, run_i0, run_iext, run_moved, moved_at_ext = 0, s, s, j, j, 0.0, 0.0
        else:
            run_moved += g
            if run_dir == 0:
                if s - run_start >= fwd_slack:
                    run_dir = 1
                elif run_start - s >= fwd_slack:
                    run_dir = -1
                run_ext, run_iext, moved_at_ext = s, j, run_moved
            elif run_dir > 0:
                if s > run_ext:
                    run_ext, run_iext, moved_at_ext = s, j, run_moved
                elif run_ext - s >= hyst:
                    m, nf = _close_run(code, fl, il, m, nf, run_dir, run_start, run_ext, run_i0, run_iext,
                                       moved_at_ext, wrong_way_min_m, pre_start, hyst)  # fmt: skip
                    run_dir, run_start, run_i0 = -1, run_ext, run_iext
                    run_moved = run_moved - moved_at_ext
                    run_ext, run_iext, moved_at_ext = s, j, run_moved
            else:
                if s < run_ext:
                    run_ext, run_iext, moved_at_ext = s, j, run_moved
                elif s - run_ext >= hyst:
                    m, nf = _close_run(code, fl, il, m, nf, run_dir, run_start, run_ext, run_i0, run_iext,
                                       moved_at_ext, wrong_way_min_m, pre_start, hyst)  # fmt: skip
                    run_dir, run_start, run_i0 = 1, run_ext, run_iext
                    run_moved = run_moved - moved_at_ext
                    run_ext, run_iext, moved_at_ext = s, j, run_moved
        last_on = j
        off_moved = 0.0
        off_max = 0.0
    m, nf = _close_run(code, fl, il, m, nf, run_dir, run_start, run_ext, run_i0, run_iext, moved_at_ext,
                       wrong_way_min_m, pre_start, hyst)  # fmt: skip
    if last_on >= 0 and last_on < n - 1 and off_max > off_threshold_m:
        code[m] = OFF
        fl[m, 0], fl[m, 1], fl[m, 2], fl[m, 3] = ks[last_on], math.nan, off_moved, off_max
        il[m, 0], il[m, 1] = last_on, n - 1
        m += 1
    return code[:m], fl[:m], il[:m]


def _consts() -> FloatArray:
    """The constants :func:`walk_path` reads, in its order."""
    return np.array(
        [
            PRE_START_M,
            DIRECTION_HYSTERESIS_M,
            FORWARD_SLACK_M,
            PLAUSIBLE_SPEED_MPS,
            BACK_SLACK_M,
            SHORTCUT_MIN_SAVED_M,
        ]
    )


def spike_steps(ks: FloatArray, kept: IntArray, x: FloatArray, y: FloatArray) -> FloatArray:
    """Per kept fix on the route whose fix before is off it and the one before that on it: the
    straight distance between the two on-route fixes (:func:`math.hypot`, as the reference); NaN
    elsewhere."""
    out = np.full(len(ks), np.nan)
    on = np.isfinite(ks)
    at = np.flatnonzero(on[2:] & ~on[1:-1] & on[:-2]) + 2
    if len(at):
        a, b = kept[at - 2], kept[at]
        out[at] = list(map(math.hypot, (x[b] - x[a]).tolist(), (y[b] - y[a]).tolist()))
    return out


def read_path_compiled(kernel: Any, kept: list[int], ks: FloatArray, moved: list[float], kt: FloatArray,
                       knd: FloatArray, x: FloatArray, y: FloatArray, dropout_s: float, *, skip_min_m: float,
                       wrong_way_min_m: float, off_threshold_m: float) -> PathRuns:  # fmt: skip
    """:func:`offcourse.sections.read_path` by the compiled :func:`walk_path` (``kernel``): the same
    :class:`~offcourse.sections.PathRuns`. ``ks``, ``kt``, ``knd`` as arrays; ``x``, ``y`` every fix's
    position (indexed by ``kept``)."""
    k_arr = np.asarray(kept, dtype=np.int64)
    code, fl, il = kernel(ks, np.asarray(moved, dtype=np.float64), kt, knd, spike_steps(ks, k_arr, x, y),
                          dropout_s, skip_min_m, wrong_way_min_m, off_threshold_m, _consts())  # fmt: skip
    out: list[list[Any]] = [[] for _ in range(8)]
    names = ("", "", "", "skip", "shortcut", "", "wrong_way", "off")
    for c, (a, b, dist, near), (j0, j1) in zip(code.tolist(), fl.tolist(), il.tolist(), strict=True):
        if c in (FORWARD, UNVERIFIED, BACKWARD, SPAN):
            out[c].append((a, b))
        elif c == WRONG:
            out[c].append(Section(names[c], a, b, kept[j0], kept[j1], dist))
        else:
            out[c].append(Section(names[c], a, b, kept[j0], kept[j1], dist, near))
    return PathRuns(out[FORWARD], out[UNVERIFIED], out[BACKWARD], out[JUMP], out[SHORTCUT], out[SPAN], out[WRONG],
                    out[OFF])  # fmt: skip

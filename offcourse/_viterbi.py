"""The compiled form of hindsight's Viterbi search (:func:`offcourse.rematch._viterbi`).

:func:`viterbi_flat` restates the plain-Python search over flat arrays (the passes of fix ``i`` are
``[ptr[i]:ptr[i + 1]]`` of ``cs``/``cd``), with the same operations in the same order, so that
numba (no fast-math) computes the same bits; the list form in :mod:`offcourse.rematch` stays the
reference, and the tests compare the two. :func:`compiled` compiles it with numba on first use
(cached on disk), or returns None without numba.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

_PRE = -2
_OFF = -1


def _round_half_even(v: float) -> float:
    """``round(v)`` of Python (half to even), as a float."""
    f = math.floor(v)
    r = v - f
    if r > 0.5:
        return f + 1.0
    if r < 0.5:
        return f
    return f if f % 2.0 == 0.0 else f + 1.0


def viterbi_flat(
    ptr: npt.NDArray[np.int64],
    cs: npt.NDArray[np.float64],
    cd: npt.NDArray[np.float64],
    moved: npt.NDArray[np.float64],
    sigma: float,
    consts: npt.NDArray[np.float64],
) -> npt.NDArray[np.int64]:
    """Best state per fix, as :func:`offcourse.rematch._viterbi` (``consts``: its constants, see
    :func:`offcourse.rematch._viterbi_constants`)."""
    start_per_m, off_cost, off_per_m, leave_cost = consts[0], consts[1], consts[2], consts[3]
    fwd_slack, fwd_per_m, cap = consts[4], consts[5], consts[6]
    back_slack, back_per_m, lag_per_m = consts[7], consts[8], consts[9]
    bin_m = consts[10]
    max_h = int(consts[11])
    n = len(ptr) - 1
    states = np.full(n, _OFF, dtype=np.int64)
    if n == 0:
        return states
    inv2s2 = 1.0 / (2.0 * sigma * sigma)
    back = np.full(len(cs), _PRE, dtype=np.int64)
    back_off = np.zeros((n, max_h), dtype=np.int64)
    width = 1
    for i in range(n):
        width = max(width, ptr[i + 1] - ptr[i])
    prev_c = np.empty(width)
    cur_c = np.empty(width)
    lo, hi = ptr[0], ptr[1]
    for j in range(lo, hi):
        s, d = cs[j], cd[j]
        prev_c[j - lo] = d * d * inv2s2 + start_per_m * s
    pre_c = off_cost
    off_c = np.empty(max_h)
    off_ex = np.empty(max_h)
    off_om = np.empty(max_h)
    n_off = 0
    m = max_h + width
    nxt_c = np.empty(m)
    nxt_ex = np.empty(m)
    nxt_om = np.empty(m)
    nxt_bp = np.empty(m, dtype=np.int64)
    order = np.empty(m, dtype=np.int64)
    keys = np.empty(max_h)
    p_lo, p_hi = lo, hi
    for i in range(1, n):
        g = moved[i]
        lo, hi = ptr[i], ptr[i + 1]
        for j in range(lo, hi):
            s, d = cs[j], cd[j]
            best = pre_c + start_per_m * s
            arg = _PRE
            for k in range(p_hi - p_lo):
                ds = s - cs[p_lo + k]
                if ds >= 0.0:
                    c = 0.0
                    over = ds - g - fwd_slack
                    if over > 0.0:
                        c = min(fwd_per_m * over, cap)
                    excess = g - ds - fwd_slack
                    if excess > 0.0:
                        c += lag_per_m * excess
                else:
                    behind = -ds - back_slack
                    c = back_per_m * behind if behind > 0.0 else 0.0
                c = prev_c[k] + c
                if c < best:
                    best = c
                    arg = k
            for h in range(n_off):
                om = off_om[h] + g
                ds = s - off_ex[h]
                if ds >= 0.0:
                    c = 0.0
                    over = ds - om - fwd_slack
                    if over > 0.0:
                        c = min(fwd_per_m * over, cap)
                else:
                    behind = -ds - back_slack
                    c = back_per_m * behind if behind > 0.0 else 0.0
                c = off_c[h] + c
                if c < best:
                    best = c
                    arg = -(h + 3)
            cur_c[j - lo] = best + d * d * inv2s2
            back[j] = arg
        # off the route now: stay off (each hypothesis), or leave from one of the previous candidates
        step_off = off_cost + off_per_m * g
        cnt = 0
        for h in range(n_off):
            nxt_c[cnt], nxt_ex[cnt], nxt_om[cnt], nxt_bp[cnt] = off_c[h] + step_off, off_ex[h], off_om[h] + g, -(h + 3)
            cnt += 1
        for k in range(p_hi - p_lo):
            nxt_c[cnt], nxt_ex[cnt], nxt_om[cnt], nxt_bp[cnt] = prev_c[k] + leave_cost + step_off, cs[p_lo + k], g, k
            cnt += 1
        # stable sort by cost (insertion: equal costs keep their order, as list.sort does)
        for a in range(cnt):
            order[a] = a
            b = a
            while b > 0 and nxt_c[order[b - 1]] > nxt_c[a]:
                order[b] = order[b - 1]
                b -= 1
            order[b] = a
        n_off = 0
        for a in range(cnt):
            o = order[a]
            key = _round_half_even(nxt_ex[o] / bin_m)
            dup = False
            for h in range(n_off):
                if keys[h] == key:
                    dup = True
                    break
            if dup:
                continue
            keys[n_off] = key
            off_c[n_off], off_ex[n_off], off_om[n_off] = nxt_c[o], nxt_ex[o], nxt_om[o]
            back_off[i, n_off] = nxt_bp[o]
            n_off += 1
            if n_off == max_h:
                break
        pre_c += step_off
        for k in range(hi - lo):
            prev_c[k] = cur_c[k]
        p_lo, p_hi = lo, hi
    # backtrack
    best_end = pre_c
    k = _PRE
    for h in range(n_off):
        if off_c[h] < best_end:
            best_end = off_c[h]
            k = -(h + 3)
    for j in range(p_hi - p_lo):
        if prev_c[j] < best_end:
            best_end = prev_c[j]
            k = j
    for i in range(n - 1, -1, -1):
        if k >= 0:
            states[i] = k
            k = back[ptr[i] + k]
        elif k == _PRE:
            states[i] = _PRE
        else:
            states[i] = _OFF
            k = back_off[i, -k - 3]
    return states


_COMPILED: list[Any] = []


def compiled() -> Callable[..., npt.NDArray[np.int64]] | None:
    """:func:`viterbi_flat` compiled with numba (once per process, cached on disk); None without numba."""
    if not _COMPILED:
        try:
            import numba
        except ImportError:
            _COMPILED.append(None)
        else:
            rh = numba.njit(cache=True, nogil=True)(_round_half_even)
            glb = dict(viterbi_flat.__globals__)
            glb["_round_half_even"] = rh
            import types

            fn = types.FunctionType(viterbi_flat.__code__, glb, "viterbi_flat", viterbi_flat.__defaults__)
            _COMPILED.append(numba.njit(cache=True, nogil=True)(fn))
    return _COMPILED[0]  # type: ignore[no-any-return]

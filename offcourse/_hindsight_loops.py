"""The compiled form of hindsight's two walks over every fix: the moving fixes and the pauses.

:func:`moving_flat` restates :func:`offcourse.rematch.moving_fixes` (which fixes the Viterbi search
matches: those at least ``MIN_STEP_M`` from the last one kept) and :func:`pauses_flat` the anchor walk
of :func:`offcourse.timeline.find_pauses`, over flat arrays, for numba. The plain-Python forms stay the
reference (and run wherever numba is not loaded); the tests compare the two bit for bit.

Both decide by distance thresholds that the reference computes with :func:`math.hypot`, which numba
does not reproduce to the last bit (it is CPython's own correctly rounded algorithm, not libm's). The
kernels compare the squared distance instead, with a band of a relative 1e-9 around the squared
threshold: outside it both comparisons agree whatever the last bits (``dx*dx + dy*dy`` is within a few
units in the last place of the true square, ``math.hypot`` within one of the true distance); a step
inside the band (one in 10^9 metres, never seen in practice) makes the kernel say so, and the caller
runs the reference instead. The distances themselves (``moved``) are then computed with
:func:`math.hypot` as the reference does, for the kept fixes only.

:func:`compiled` compiles them with numba on first use (cached on disk), or gives None without numba;
:func:`use_compiled` says where they pay (numba already loaded, a long recording).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = [
    "BAND",
    "COMPILED_LOADED_MIN_FIXES",
    "COMPILED_MIN_FIXES",
    "Kernels",
    "compiled",
    "grid_pairs",
    "moving_flat",
    "nearest_of_passes",
    "pauses_flat",
    "project_pairs",
    "use_compiled",
    "warm_up",
]

BAND = 1e-9
"""Relative band around a squared distance threshold inside which the kernels defer to the reference."""
COMPILED_MIN_FIXES = 100_000
"""The kernels are loaded (from numba's cache on disk, 50-90 ms the five) once numba is loaded in the
process (by the engine's kernel, the Viterbi search's or a batch worker's warm-up) and the walks in
Python have gone over this many fixes in it (each walk of each check counts: a check of 25,000
fixes), where the Python walks cost 2-3 µs a fix in all. Numba is never imported for them alone
(0.4-1 s)."""
COMPILED_LOADED_MIN_FIXES = 2000
"""Once the kernels are loaded, they run from this many fixes."""
_python_fixes = [0]
"""Fixes walked in Python so far in this process, by the callers of :func:`use_compiled`."""

NO_FIX, STOP = 0, 1
"""Kinds of pause in :func:`pauses_flat`'s output."""


def moving_flat(ok: npt.NDArray[np.int64], x: npt.NDArray[np.float64], y: npt.NDArray[np.float64],
                min_step_m: float) -> tuple[npt.NDArray[np.int64], bool]:  # fmt: skip
    """The indices ``ok`` (fixes with a position, in order) of the fixes kept by
    :func:`offcourse.rematch.moving_fixes`, the last fix included; and whether a step fell inside the
    band (then the result is not to be used)."""
    n = len(ok)
    kept = np.empty(n + 1, dtype=np.int64)
    if n == 0:
        return kept[:0], False
    hi = min_step_m * min_step_m * (1.0 + BAND)
    lo = min_step_m * min_step_m * (1.0 - BAND)
    m = 1
    kept[0] = ok[0]
    lx, ly = x[ok[0]], y[ok[0]]
    for j in range(1, n):
        i = ok[j]
        dx = x[i] - lx
        dy = y[i] - ly
        d2 = dx * dx + dy * dy
        if d2 >= hi:
            kept[m] = i
            m += 1
            lx, ly = x[i], y[i]
        elif d2 > lo:
            return kept[:m], True
    if kept[m - 1] != ok[n - 1]:
        kept[m] = ok[n - 1]
        m += 1
    return kept[:m], False


def pauses_flat(t: npt.NDArray[np.float64], x: npt.NDArray[np.float64], y: npt.NDArray[np.float64],
                radius_m: float, no_fix_min_s: float, stop_min_s: float
                ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], bool]:  # fmt: skip
    """The pauses of :func:`offcourse.timeline.find_pauses` over its fixes with a time and a position
    (``t``, ``x``, ``y``), in the order the reference finds them: per pause its kind (:data:`NO_FIX`
    or :data:`STOP`) and a row of ``ends``: the fixes whose times start and end it, and the fix whose
    place is its place;
    and whether a step fell inside the band (then the result is not to be used)."""
    n = len(t)
    kind = np.empty(2 * n + 1, dtype=np.int64)
    ends = np.empty((2 * n + 1, 3), dtype=np.int64)  # start fix, end fix, place fix
    m = 0
    if n < 2:
        return kind[:0], ends[:0], False
    hi = radius_m * radius_m * (1.0 + BAND)
    lo = radius_m * radius_m * (1.0 - BAND)
    a = 0
    last = 0  # the fix whose time is last_t
    for i in range(1, n):
        if t[i] <= t[last]:
            continue
        dx = x[i] - x[a]
        dy = y[i] - y[a]
        d2 = dx * dx + dy * dy
        if d2 > hi:
            far = True
        elif d2 >= lo:
            return kind[:m], ends[:m], True
        else:
            far = False
        if far and t[i] - t[last] >= no_fix_min_s:
            kind[m] = NO_FIX
            ends[m, 0], ends[m, 1], ends[m, 2] = last, i, i
            m += 1
        if far:
            if t[i - 1] - t[a] >= stop_min_s:
                kind[m] = STOP
                ends[m, 0], ends[m, 1], ends[m, 2] = a, i - 1, a
                m += 1
            a = i
        last = i
    if t[last] - t[a] >= stop_min_s:
        kind[m] = STOP
        ends[m, 0], ends[m, 1], ends[m, 2] = a, last, a
        m += 1
    return kind[:m], ends[:m], False


def project_pairs(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], pi: npt.NDArray[np.int64],
                  si: npt.NDArray[np.int64], ax: npt.NDArray[np.float64], ay: npt.NDArray[np.float64],
                  dx: npt.NDArray[np.float64], dy: npt.NDArray[np.float64], ln: npt.NDArray[np.float64],
                  cum: npt.NDArray[np.float64], radius_m: float, tolerance_m: float
                  ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_],
                             npt.NDArray[np.int64]]:  # fmt: skip
    """Per pair (point ``pi``, segment ``si``): the route metres and distance of the point projected on
    the segment (:func:`offcourse.passes._project`, the same operations in the same order), whether
    the distance is within the radius, and the pairs whose distance is within ``tolerance_m`` of the
    radius (which :meth:`offcourse.nearby.SegmentGrid.within` must decide; see its ``decide``)."""
    m = len(pi)
    s = np.empty(m)
    d = np.empty(m)
    keep = np.empty(m, dtype=np.bool_)
    unsure = np.empty(m, dtype=np.int64)
    nu = 0
    for k in range(m):
        g = si[k]
        px, py = x[pi[k]], y[pi[k]]
        sax, say, sdx, sdy, sln = ax[g], ay[g], dx[g], dy[g], ln[g]
        l2 = sln * sln
        t = ((px - sax) * sdx + (py - say) * sdy) / (l2 if l2 > 0 else 1.0)
        if t < 0.0:
            t = 0.0
        elif t > 1.0:
            t = 1.0
        ex = sax + t * sdx - px
        ey = say + t * sdy - py
        s[k] = cum[g] + t * sln
        dk = np.sqrt(ex * ex + ey * ey)
        d[k] = dk
        keep[k] = dk <= radius_m
        if abs(dk - radius_m) <= tolerance_m:
            unsure[nu] = k
            nu += 1
    return s, d, keep, unsure[:nu]


def grid_pairs(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], cell_m: float, gx0: int, gy0: int,
               gx_span: int, ny: int, cells: npt.NDArray[np.int64], starts: npt.NDArray[np.int64],
               segs: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:  # fmt: skip
    """:meth:`offcourse.nearby.SegmentGrid.pairs` (the grid as :meth:`~offcourse.nearby.SegmentGrid.arrays`
    gives it): the same pairs, in the same order, by the same arithmetic."""
    n = len(x)
    lo = np.zeros(n, dtype=np.int64)
    cnt = np.zeros(n, dtype=np.int64)
    total = 0
    nc = len(cells)
    if nc == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    for p in range(n):
        fx = np.floor(x[p] / cell_m) - gx0
        fy = np.floor(y[p] / cell_m) - gy0
        if not (fx >= 0 and fx <= gx_span and fy >= 0 and fy < ny):  # False for NaN
            continue
        code = np.int64(fx) * ny + np.int64(fy)
        at = np.searchsorted(cells, code)
        if at == nc or cells[at] != code:
            continue
        lo[p] = starts[at]
        cnt[p] = starts[at + 1] - starts[at]
        total += cnt[p]
    pi = np.empty(total, dtype=np.int64)
    si = np.empty(total, dtype=np.int64)
    k = 0
    for p in range(n):
        for q in range(lo[p], lo[p] + cnt[p]):
            pi[k] = p
            si[k] = segs[q]
            k += 1
    return pi, si


def nearest_of_passes(pi: npt.NDArray[np.int64], s: npt.NDArray[np.float64], d: npt.NDArray[np.float64],
                      keep: npt.NDArray[np.bool_], gap_m: float
                      ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:  # fmt: skip
    """The passes of the kept pairs (sorted by point, then segment): a new pass where the point changes
    or the route metres jump more than ``gap_m`` from the kept pair before; per pass its point and the
    route metres and distance of its nearest pair (the first of equals)."""
    m = len(pi)
    bp = np.empty(m, dtype=np.int64)
    bs = np.empty(m)
    bd = np.empty(m)
    nb = -1
    prev_p = -1
    prev_s = 0.0
    for k in range(m):
        if not keep[k]:
            continue
        p, sk, dk = pi[k], s[k], d[k]
        if nb < 0 or p != prev_p or sk - prev_s > gap_m:
            nb += 1
            bp[nb], bs[nb], bd[nb] = p, sk, dk
        elif dk < bd[nb]:
            bs[nb], bd[nb] = sk, dk
        prev_p, prev_s = p, sk
    return bp[: nb + 1], bs[: nb + 1], bd[: nb + 1]


_COMPILED: list[Any] = []


class Kernels(NamedTuple):
    """The functions of this module, compiled."""

    moving: Callable[..., Any]
    pauses: Callable[..., Any]
    project_pairs: Callable[..., Any]
    grid_pairs: Callable[..., Any]
    nearest_of_passes: Callable[..., Any]
    walk_path: Callable[..., Any]
    """:func:`offcourse._path_walk.walk_path`."""


def compiled() -> Kernels | None:
    """The functions of this module compiled with numba (once per process, cached on disk); None
    without numba."""
    if not _COMPILED:
        try:
            import numba
        except ImportError:
            _COMPILED.append(None)
        else:
            import types

            from . import _path_walk

            jit = numba.njit(cache=True, nogil=True)
            glb = dict(_path_walk.walk_path.__globals__)
            glb["_close_run"] = jit(_path_walk._close_run)
            walk = types.FunctionType(_path_walk.walk_path.__code__, glb, "walk_path")
            plain = (moving_flat, pauses_flat, project_pairs, grid_pairs, nearest_of_passes)
            kernels = Kernels(*(jit(f) for f in plain), jit(walk))  # type: ignore[call-arg]
            _COMPILED.append(kernels)
    return _COMPILED[0]  # type: ignore[no-any-return]


def use_compiled(n_fixes: int) -> Kernels | None:
    """The compiled kernels where they pay, else None (run the reference): from
    :data:`COMPILED_LOADED_MIN_FIXES` fixes once loaded; loaded once numba is loaded in this process
    and the Python walks have gone over :data:`COMPILED_MIN_FIXES` fixes."""
    if n_fixes < COMPILED_LOADED_MIN_FIXES:
        return None
    if _COMPILED:
        return _COMPILED[0]  # type: ignore[no-any-return]
    if "numba" not in sys.modules:
        return None
    _python_fixes[0] += n_fixes
    return compiled() if _python_fixes[0] >= COMPILED_MIN_FIXES else None


def warm_up() -> bool:
    """Load the kernels now (a batch worker, before its first file): each run once on a few fixes,
    with the types hindsight gives them, so that numba loads them from its cache here. Returns
    whether they are loaded (False without numba)."""
    kernels = compiled()
    if kernels is None:
        return False
    from ._path_walk import _consts

    f = np.arange(4, dtype=np.float64) * 10.0
    i = np.arange(4, dtype=np.int64)
    kernels.moving(i, f, f, 8.0)
    kernels.pauses(f, f, f, 25.0, 60.0, 120.0)
    pi, si = kernels.grid_pairs(f, f, 50.0, 0, 0, 1, 1, i, i, i)
    s, d, keep, _ = kernels.project_pairs(f, f, pi, si, f, f, f, f, f, f, 50.0, 1e-6)
    kernels.nearest_of_passes(i, s, d, keep, 100.0)
    kernels.walk_path(f, f, f, f, f, 60.0, 200.0, 150.0, 50.0, _consts())
    return True

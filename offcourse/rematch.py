"""Hindsight's Viterbi search: the whole recording matched again to the route, costs by distance.

The match step of hindsight (:mod:`offcourse.coverage`; pipeline read → project → match → detect →
report): the cheapest path through the recording over the passes of the route near each fix
(:mod:`offcourse.passes`) plus an "off the route" state, whose costs weigh *distance*, not the
number of fixes (:func:`moving_fixes` keeps the fixes at least :data:`MIN_STEP_M` apart), so a fix
every second and a fix every minute give the same path:

- staying on the route costs the fix's squared offset over twice the noise variance (the noise
  level is estimated from the recording itself, see :func:`noise_sigma_m`);
- moving forward along the route costs nothing while the progress matches the distance moved,
  a little per metre of progress the runner could not have run (capped: a skip is one event);
- moving backwards along the route costs per metre (running a section the wrong way is
  possible, but must be what the fixes say);
- being off the route costs per fix (that of a fix 2.45 noise sigmas off) and per metre moved.

The costs and the plain-Python search (:func:`_viterbi`, the reference) are here;
:mod:`offcourse._viterbi` is its compiled form, which :func:`match` runs for long recordings.
Reading the matched path is :mod:`offcourse.sections`.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import numpy.typing as npt

from . import _hindsight_loops as _hl
from . import _viterbi as _vk
from .passes import CANDIDATE_RADIUS_M

__all__ = ["FORWARD_SLACK_M", "MIN_STEP_M", "match", "moving_fixes", "noise_sigma_m"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MIN_STEP_M = 8.0
"""Fixes nearer than this to the last fix kept add no evidence of movement and are not matched
(a fix every second at a walk, a watch standing on a table): distance, not fix count."""
OFF_COST = 3.0
OFF_COST_PER_M = 0.15
"""Cost of a step off the route: per fix (that of a fix 2.45 noise sigmas off) and per metre
moved, so that a sparse recording (a fix every 20-60 s) weighs a stretch off the route as a dense
one does, against the per-metre costs of moving along the route."""
LEAVE_COST = 2.0
"""Cost of leaving the route once (an off stretch must be worth it)."""
FORWARD_SLACK_M = 25.0
"""Progress this much beyond the distance moved is noise (the route's drawing, GPS error)."""
FORWARD_COST_PER_M = 0.02
"""Cost per metre of progress the runner could not have run."""
SKIP_COST_CAP = 20.0
"""A forward jump is one event: its cost stops growing here."""
BACK_SLACK_M = 2.0
"""Backward progress this small between two fixes is rounding (a step of the path costs from here on:
a slack per step would let a long backward run through for free)."""
BACK_COST_PER_M = 0.1
"""Cost per metre run backwards along the route."""
LAG_COST_PER_M = 0.05
"""Cost per metre moved beyond the progress made (zig-zags, moving beside the route)."""
START_COST_PER_M = 0.01
"""Joining the route costs this per metre from its start: where a fix is near several passes (a
loop's start and finish, laps drawn on top of each other) the runner is taken to be on the first."""
MAX_OFF_HYPOTHESES = 8
OFF_HYPOTHESIS_BIN_M = 50.0
"""Off the route, the path keeps the cheapest hypotheses of where the runner left, one per this many metres."""
COMPILED_MIN_FIXES = 40_000
"""Hindsight's Viterbi search loads its compiled form (numba, when installed) once this process has
matched this many fixes (kept ones, at least :data:`MIN_STEP_M` apart) in Python: about 16 µs a fix
against 0.4-1 s to load numba, so a long recording or a batch of them (a race field) pays for it."""
COMPILED_LOADED_MIN_FIXES = 2000
"""Once numba is loaded in the process, the compiled form runs from this many fixes kept (its own
cached kernel loads in about 20 ms)."""
_python_fixes = [0]
"""Fixes matched in Python so far in this process."""
SIGMA_MIN_M, SIGMA_MAX_M = 8.0, 20.0
"""Bounds of the noise level estimated from the recording."""


def noise_sigma_m(nearest_m: FloatArray) -> float:
    """The recording's noise level, from the offsets of the fixes near the route.

    GPS error drifts (canopy, multipath): what matters for telling two passes of the route apart is
    how far the fixes wander, so the level is the 90th percentile of the offsets read as that of a
    2-D normal error (the 90th percentile of a Rayleigh distribution is 2.15 sigma), within
    [:data:`SIGMA_MIN_M`, :data:`SIGMA_MAX_M`].

    >>> noise_sigma_m(np.array([3.0, 4.0, 5.0, 200.0])), noise_sigma_m(np.full(10, 43.0))
    (8.0, 20.0)
    """
    d = nearest_m[np.isfinite(nearest_m) & (nearest_m <= CANDIDATE_RADIUS_M)]
    if len(d) == 0:
        return SIGMA_MIN_M
    return float(min(max(float(np.quantile(d, 0.9)) / 2.15, SIGMA_MIN_M), SIGMA_MAX_M))


def _step_cost(ds: float, moved: float, lag: bool = True) -> float:
    """Cost of moving ``ds`` along the route while the runner moved ``moved`` metres.

    ``lag``: charge movement beyond the progress made (off for a return from off the route,
    whose movement the off-route steps have paid for already).
    """
    if ds >= 0.0:
        c = 0.0
        over = ds - moved - FORWARD_SLACK_M
        if over > 0.0:
            c = min(FORWARD_COST_PER_M * over, SKIP_COST_CAP)
        excess = moved - ds - FORWARD_SLACK_M
        if lag and excess > 0.0:
            c += LAG_COST_PER_M * excess
        return c
    back = -ds - BACK_SLACK_M
    return BACK_COST_PER_M * back if back > 0.0 else 0.0


_PRE = -2
"""State of the path before it ever reached the route (a recording that starts away from it)."""
_OFF = -1
"""State of the path off the route after having been on it."""


def _use_compiled(n_kept: int) -> bool:
    """Whether to run the Viterbi search of ``n_kept`` fixes compiled (same result either way)."""
    if "numba" in sys.modules:
        return n_kept >= COMPILED_LOADED_MIN_FIXES
    return n_kept >= COMPILED_LOADED_MIN_FIXES and _python_fixes[0] + n_kept >= COMPILED_MIN_FIXES


def _viterbi_constants() -> FloatArray:
    """The constants of :func:`_viterbi`, in the order :func:`offcourse._viterbi.viterbi_flat` reads them."""
    return np.array(
        [
            START_COST_PER_M,
            OFF_COST,
            OFF_COST_PER_M,
            LEAVE_COST,
            FORWARD_SLACK_M,
            FORWARD_COST_PER_M,
            SKIP_COST_CAP,
            BACK_SLACK_M,
            BACK_COST_PER_M,
            LAG_COST_PER_M,
            OFF_HYPOTHESIS_BIN_M,
            float(MAX_OFF_HYPOTHESES),
        ]
    )


def _viterbi(cs: list[list[float]], cd: list[list[float]], moved: list[float], sigma: float) -> list[int]:
    """Best state per kept fix: the index of its candidate, :data:`_OFF` or :data:`_PRE`.

    Off the route the path keeps several hypotheses, one per place it left the route (up to
    :data:`MAX_OFF_HYPOTHESES`, the cheapest): coming back is priced from where the runner left,
    over the distance run meanwhile, like any other step along the route, so laps and passes that
    lie on top of each other stay apart across a stretch off the route. Before the route (a
    recording that starts away from it) joining it anywhere costs only :data:`START_COST_PER_M`
    per metre from the start.
    """
    n = len(cs)
    inv2s2 = 1.0 / (2.0 * sigma * sigma)
    prev_s: list[float] = cs[0]
    prev_c: list[float] = [d * d * inv2s2 + START_COST_PER_M * s for s, d in zip(cs[0], cd[0], strict=True)]
    pre_c = OFF_COST
    # off hypotheses: (cost, exit route metres, distance moved since, back-pointer into the previous step:
    # a candidate index k >= 0, or -(h + 3) for off hypothesis h of the previous step)
    offs: list[tuple[float, float, float, int]] = []
    back: list[list[int]] = [[_PRE] * len(cs[0])]
    back_off: list[list[int]] = [[]]
    # the step costs of _step_cost, inlined (the same operations in the same order: the same bits)
    fwd_slack, fwd_per_m, cap = FORWARD_SLACK_M, FORWARD_COST_PER_M, SKIP_COST_CAP
    back_slack, back_per_m, lag_per_m, start_per_m = BACK_SLACK_M, BACK_COST_PER_M, LAG_COST_PER_M, START_COST_PER_M
    for i in range(1, n):
        g = moved[i]
        cur_s, cur_d = cs[i], cd[i]
        bp: list[int] = []
        cost: list[float] = []
        prev = list(enumerate(zip(prev_s, prev_c, strict=True)))
        back_from = [(-(h + 3), oc, ex, om + g) for h, (oc, ex, om, _) in enumerate(offs)]
        for s, d in zip(cur_s, cur_d, strict=True):
            best, arg = pre_c + start_per_m * s, _PRE
            for k, (ps, pc) in prev:
                ds = s - ps
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
                c = pc + c
                if c < best:
                    best, arg = c, k
            for h, oc, ex, om in back_from:
                ds = s - ex
                if ds >= 0.0:
                    c = 0.0
                    over = ds - om - fwd_slack
                    if over > 0.0:
                        c = min(fwd_per_m * over, cap)
                else:
                    behind = -ds - back_slack
                    c = back_per_m * behind if behind > 0.0 else 0.0
                c = oc + c
                if c < best:
                    best, arg = c, h
            cost.append(best + d * d * inv2s2)
            bp.append(arg)
        # off the route now: stay off (each hypothesis), or leave from one of the previous candidates
        step_off = OFF_COST + OFF_COST_PER_M * g
        nxt = [(oc + step_off, ex, om + g, -(h + 3)) for h, (oc, ex, om, _) in enumerate(offs)]
        nxt += [(pc + LEAVE_COST + step_off, ps, g, k) for k, (ps, pc) in enumerate(zip(prev_s, prev_c, strict=True))]
        nxt.sort(key=lambda o: o[0])
        offs = []
        seen: set[int] = set()
        for o in nxt:
            key = round(o[1] / OFF_HYPOTHESIS_BIN_M)
            if key in seen:
                continue
            seen.add(key)
            offs.append(o)
            if len(offs) == MAX_OFF_HYPOTHESES:
                break
        pre_c += step_off
        back.append(bp)
        back_off.append([o[3] for o in offs])
        prev_s, prev_c = cur_s, cost
    # backtrack
    states = [_OFF] * n
    best_end, k = pre_c, _PRE
    for h, o in enumerate(offs):
        if o[0] < best_end:
            best_end, k = o[0], -(h + 3)
    for j, c in enumerate(prev_c):
        if c < best_end:
            best_end, k = c, j
    for i in range(n - 1, -1, -1):
        if k >= 0:
            states[i] = k
            k = back[i][k]
        elif k == _PRE:
            states[i] = _PRE  # and so back to the first fix
        else:
            states[i] = _OFF
            k = back_off[i][-k - 3]
    return states


def moving_fixes(ok: IntArray, x: FloatArray, y: FloatArray) -> tuple[list[int], list[float]]:
    """The fixes the search matches: of the fixes with a position (indices ``ok`` into ``x``/``y``),
    those at least :data:`MIN_STEP_M` from the last one kept, and the last fix; with the distance
    moved from the one kept before (0 for the first).

    A long recording is walked by the compiled form (:func:`offcourse._hindsight_loops.moving_flat`,
    where :func:`~offcourse._hindsight_loops.use_compiled` says it pays): the same fixes, and the same
    distances (:func:`math.hypot` of the same differences); else by :func:`_moving_fixes`.
    """
    kernels = _hl.use_compiled(len(ok))
    if kernels is not None:
        k_arr, unsure = kernels.moving(ok, x, y, MIN_STEP_M)
        if not unsure:
            kl = k_arr.tolist()
            dx = (x[k_arr[1:]] - x[k_arr[:-1]]).tolist()
            dy = (y[k_arr[1:]] - y[k_arr[:-1]]).tolist()
            return kl, [0.0, *map(math.hypot, dx, dy)]
    return _moving_fixes(ok, x.tolist(), y.tolist())


def _moving_fixes(ok: IntArray, xl: list[float], yl: list[float]) -> tuple[list[int], list[float]]:
    """:func:`moving_fixes` in plain Python (the reference)."""
    kept: list[int] = []
    moved: list[float] = []
    lx = ly = math.nan
    for i in ok.tolist():
        if not kept:
            kept.append(i)
            moved.append(0.0)
            lx, ly = xl[i], yl[i]
            continue
        step = math.hypot(xl[i] - lx, yl[i] - ly)
        if step >= MIN_STEP_M:
            kept.append(i)
            moved.append(step)
            lx, ly = xl[i], yl[i]
    if kept and kept[-1] != int(ok[-1]):
        i = int(ok[-1])
        kept.append(i)
        moved.append(math.hypot(xl[i] - lx, yl[i] - ly))
    return kept, moved


def match(kptr: IntArray, ks_flat: FloatArray, kd_flat: FloatArray, moved: list[float], sigma: float) -> IntArray:
    """Best state per kept fix (:func:`_viterbi`), compiled or in Python as :func:`_use_compiled` says
    (the same result either way). The passes of kept fix ``j`` are ``[kptr[j]:kptr[j + 1]]`` of the
    route metres ``ks_flat`` and offsets ``kd_flat``; ``moved`` as :func:`moving_fixes` gives it."""
    n_kept = len(moved)
    kernel = _vk.compiled() if _use_compiled(n_kept) else None
    if kernel is not None:
        st = kernel(kptr, ks_flat, kd_flat, np.array(moved, dtype=np.float64), sigma, _viterbi_constants())
    else:
        ls, ld, lp = ks_flat.tolist(), kd_flat.tolist(), kptr.tolist()
        cs = [ls[lp[j] : lp[j + 1]] for j in range(n_kept)]
        cd = [ld[lp[j] : lp[j + 1]] for j in range(n_kept)]
        st = np.array(_viterbi(cs, cd, moved, sigma), dtype=np.int64)
        _python_fixes[0] += n_kept
    return st

"""The vectorised parts of hindsight give exactly what the plain-Python forms they replaced gave.

The reference forms are kept here (the per-point lists of passes, the per-fix Viterbi steps) and
compared bit for bit with :mod:`offcourse.passes`, :mod:`offcourse.rematch` and
:mod:`offcourse.coverage` on small synthetic geometry in metres.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from offcourse import _viterbi as _vk
from offcourse import coverage as cov
from offcourse import passes, rematch
from offcourse.match import RouteIndex

from . import synth

# eight legs 10 m apart (switchbacks): a point between them is near eight passes
SWITCHBACKS = [(0.0, 0.0)]
for _k in range(8):
    SWITCHBACKS += [(300.0 if _k % 2 == 0 else 0.0, 10.0 * _k), (300.0 if _k % 2 == 0 else 0.0, 10.0 * (_k + 1))]


def candidates_reference(
    index: RouteIndex, x: np.ndarray, y: np.ndarray
) -> tuple[list[list[float]], list[list[float]]]:
    """The plain form: per point, lists of the route metres and offsets of its passes."""
    n = len(x)
    out_s: list[list[float]] = [[] for _ in range(n)]
    out_d: list[list[float]] = [[] for _ in range(n)]
    if n == 0:
        return out_s, out_d
    pi, si = passes._tree(index).query(shapely.points(x, y), predicate="dwithin", distance=passes.CANDIDATE_RADIUS_M)
    if len(pi) == 0:
        return out_s, out_d
    order = np.lexsort((si, pi))
    pi, si = pi[order], si[order].astype(np.int64)
    s, d = passes._project(index, si, x[pi], y[pi])
    new = np.ones(len(pi), dtype=bool)
    new[1:] = (pi[1:] != pi[:-1]) | (s[1:] - s[:-1] > 2.0 * passes.CANDIDATE_RADIUS_M)
    group = np.cumsum(new) - 1
    o2 = np.lexsort((d, group))
    first = np.ones(len(o2), dtype=bool)
    first[1:] = group[o2][1:] != group[o2][:-1]
    best = o2[first]
    for p, sv, dv in zip(pi[best].tolist(), s[best].tolist(), d[best].tolist(), strict=True):
        out_s[p].append(sv)
        out_d[p].append(dv)
    for p in range(n):
        if len(out_d[p]) > passes.MAX_CANDIDATES:
            keep = sorted(range(len(out_d[p])), key=out_d[p].__getitem__)[: passes.MAX_CANDIDATES]
            out_s[p] = [out_s[p][k] for k in keep]
            out_d[p] = [out_d[p][k] for k in keep]
    return out_s, out_d


def as_lists(ptr: np.ndarray, flat: np.ndarray) -> list[list[float]]:
    return [flat[a:b].tolist() for a, b in zip(ptr[:-1].tolist(), ptr[1:].tolist(), strict=True)]


def test_a_point_among_eight_switchback_legs_keeps_the_six_nearest_from_the_nearest_on() -> None:
    idx = RouteIndex(synth.route(SWITCHBACKS))
    ptr, s, d = passes.candidates(idx, np.array([150.0, 150.0]), np.array([33.0, 500.0]))
    assert ptr.tolist() == [0, 6, 6]
    # legs at y = 30, 40, 20, 50, 10, 60 (offsets 3, 7, 13, 17, 23, 27 m); leg k starts 310 k m along
    assert np.round(d, 6).tolist() == [3.0, 7.0, 13.0, 17.0, 23.0, 27.0]
    assert np.round(s, 6).tolist() == [310.0 * k + 150.0 for k in (3, 4, 2, 5, 1, 6)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_candidates_are_those_of_the_plain_form_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # a wandering route that crosses itself, and switchbacks
    heading = np.cumsum(rng.normal(0, 0.6, 300))
    xy = np.column_stack([np.cumsum(15 * np.cos(heading)), np.cumsum(15 * np.sin(heading))])
    counts: list[int] = []
    for path in (list(map(tuple, xy.tolist())), SWITCHBACKS):
        idx = RouteIndex(synth.route(path))
        lo, hi = np.min(path, axis=0) - 80, np.max(path, axis=0) + 80
        x, y = rng.uniform(lo[0], hi[0], 2000), rng.uniform(lo[1], hi[1], 2000)
        ref_s, ref_d = candidates_reference(idx, x, y)
        ptr, s, d = passes.candidates(idx, x, y)
        assert as_lists(ptr, s) == ref_s
        assert as_lists(ptr, d) == ref_d
        counts += [len(v) for v in ref_d]
    assert {0, 1, 2, passes.MAX_CANDIDATES} <= set(counts)  # no pass, one, several, crowded


def test_nearest_part_of_the_route_is_that_of_the_plain_form_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    idx = RouteIndex(synth.route(SWITCHBACKS))
    x, y = rng.uniform(-100, 400, 3000), rng.uniform(-100, 180, 3000)
    x[5], y[7] = np.nan, np.nan
    h = cov.hindsight(idx, x, y)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    ref_s, ref_d = candidates_reference(idx, x[ok], y[ok])
    want_s, want_d = np.full(len(x), np.nan), np.full(len(x), np.nan)
    for j, (cs_j, cd_j) in enumerate(zip(ref_s, ref_d, strict=True)):
        if cd_j:
            k = min(range(len(cd_j)), key=cd_j.__getitem__)
            want_s[ok[j]], want_d[ok[j]] = cs_j[k], cd_j[k]
        else:
            want_s[ok[j]], want_d[ok[j]] = (
                float(v[0]) for v in passes.nearest_to_route(idx, x[ok[j] : ok[j] + 1], y[ok[j] : ok[j] + 1])
            )
    assert np.array_equal(h.nearest_route_m, want_s, equal_nan=True)
    assert np.array_equal(h.nearest_m, want_d, equal_nan=True)
    assert np.isnan(want_d).sum() == 2 and (want_d > passes.CANDIDATE_RADIUS_M).sum() > 100


def viterbi_reference(cs: list[list[float]], cd: list[list[float]], moved: list[float], sigma: float) -> list[int]:
    """The plain form (each step priced by ``rematch._step_cost``)."""
    n = len(cs)
    inv2s2 = 1.0 / (2.0 * sigma * sigma)
    prev_s: list[float] = cs[0]
    prev_c: list[float] = [d * d * inv2s2 + rematch.START_COST_PER_M * s for s, d in zip(cs[0], cd[0], strict=True)]
    pre_c = rematch.OFF_COST
    # off hypotheses: (cost, exit route metres, distance moved since, back-pointer into the previous step:
    # a candidate index k >= 0, or -(h + 3) for off hypothesis h of the previous step)
    offs: list[tuple[float, float, float, int]] = []
    back: list[list[int]] = [[rematch._PRE] * len(cs[0])]
    back_off: list[list[int]] = [[]]
    for i in range(1, n):
        g = moved[i]
        cur_s, cur_d = cs[i], cd[i]
        bp: list[int] = []
        cost: list[float] = []
        for s, d in zip(cur_s, cur_d, strict=True):
            best, arg = pre_c + rematch.START_COST_PER_M * s, rematch._PRE
            for k, (ps, pc) in enumerate(zip(prev_s, prev_c, strict=True)):
                c = pc + rematch._step_cost(s - ps, g)
                if c < best:
                    best, arg = c, k
            for h, (oc, ex, om, _) in enumerate(offs):
                c = oc + rematch._step_cost(s - ex, om + g, lag=False)
                if c < best:
                    best, arg = c, -(h + 3)
            cost.append(best + d * d * inv2s2)
            bp.append(arg)
        # off the route now: stay off (each hypothesis), or leave from one of the previous candidates
        step_off = rematch.OFF_COST + rematch.OFF_COST_PER_M * g
        nxt = [(oc + step_off, ex, om + g, -(h + 3)) for h, (oc, ex, om, _) in enumerate(offs)]
        nxt += [
            (pc + rematch.LEAVE_COST + step_off, ps, g, k)
            for k, (ps, pc) in enumerate(zip(prev_s, prev_c, strict=True))
        ]
        nxt.sort(key=lambda o: o[0])
        offs = []
        seen: set[int] = set()
        for o in nxt:
            key = round(o[1] / rematch.OFF_HYPOTHESIS_BIN_M)
            if key in seen:
                continue
            seen.add(key)
            offs.append(o)
            if len(offs) == rematch.MAX_OFF_HYPOTHESES:
                break
        pre_c += step_off
        back.append(bp)
        back_off.append([o[3] for o in offs])
        prev_s, prev_c = cur_s, cost
    # backtrack
    states = [rematch._OFF] * n
    best_end, k = pre_c, rematch._PRE
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
        elif k == rematch._PRE:
            states[i] = rematch._PRE  # and so back to the first fix
        else:
            states[i] = rematch._OFF
            k = back_off[i][-k - 3]
    return states


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_viterbi_is_that_of_the_plain_form_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    heading = np.cumsum(rng.normal(0, 0.5, 400))
    xy = np.column_stack([np.cumsum(12 * np.cos(heading)), np.cumsum(12 * np.sin(heading))])
    idx = RouteIndex(synth.route(list(map(tuple, xy.tolist()))))
    # along the route there and back, with noise and a stretch far off
    s = np.concatenate([np.linspace(0, idx.length_m, 600), np.linspace(idx.length_m, 0.3 * idx.length_m, 300)])
    x = np.interp(s, idx.cum, np.append(idx.ax, idx.ax[-1] + idx.dx[-1])) + rng.normal(0, 8, len(s))
    y = np.interp(s, idx.cum, np.append(idx.ay, idx.ay[-1] + idx.dy[-1])) + rng.normal(0, 8, len(s))
    x[200:260] += 400.0
    ok = np.arange(len(x))
    ptr, fs, fd = passes.candidates(idx, x, y)
    cs = [fs[ptr[p] : ptr[p + 1]].tolist() for p in ok]
    cd = [fd[ptr[p] : ptr[p + 1]].tolist() for p in ok]
    moved = [0.0, *np.hypot(np.diff(x), np.diff(y)).tolist()]
    kernel = _vk.compiled()
    for sigma in (8.0, 13.7, 20.0):
        states = rematch._viterbi(cs, cd, moved, sigma)
        assert states == viterbi_reference(cs, cd, moved, sigma)
        assert {rematch._OFF, 0} <= set(states)
        flat = (ptr, fs, fd, np.array(moved), sigma, rematch._viterbi_constants())
        assert _vk.viterbi_flat(*flat).tolist() == states  # the restated form, in Python
        if kernel is not None:
            assert kernel(*flat).tolist() == states  # and compiled


@pytest.mark.parametrize(
    ("v", "want"), [(2.5, 2.0), (3.5, 4.0), (-0.5, 0.0), (-1.5, -2.0), (0.49999999999999994, 0.0), (7.2, 7.0)]
)
def test_round_half_even_is_pythons_round(v: float, want: float) -> None:
    assert _vk._round_half_even(v) == want == round(v)

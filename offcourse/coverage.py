"""Hindsight: the runner's progress along the route over the whole recording, and what it covered.

The live engine (:mod:`offcourse.detect`) must decide as each fix arrives. After the run the
whole recording is known, so :func:`hindsight` matches it again with the benefit of both
directions of time: a Viterbi search over the passes of the route near each fix (plus an
"off the route" state), whose costs weigh *distance*, not the number of fixes, so a fix every
second and a fix every minute give the same path:

- staying on the route costs the fix's squared offset over twice the noise variance (the noise
  level is estimated from the recording itself, see :func:`noise_sigma_m`);
- moving forward along the route costs nothing while the progress matches the distance moved,
  a little per metre of progress the runner could not have run (capped: a skip is one event);
- moving backwards along the route costs per metre (running a section the wrong way is
  possible, but must be what the fixes say);
- being off the route costs per fix (that of a fix 2.45 noise sigmas off) and per metre moved.

From the matched path it measures, independently of the live alerts:

- **coverage**: the parts of the route run in order and in the right direction (forward runs
  of the path, with 150 m of hysteresis against noise); a stretch crossed in a dropout (no fix)
  at a plausible running speed is *unverified*: not a skip, not covered either;
- **skips**: a jump forward along the route's geometry farther than the runner moved;
- **shortcuts**: off the route and back on further on, having run less than the route;
- **wrong-way sections**: backward runs of the path of at least ``wrong_way_min_m``;
- the **distance to the nearest part of the route** of every fix (what the runner was really
  off), beside the live engine's offset from the part it expected.

Examples
--------
>>> import numpy as np
>>> from offcourse.model import Route
>>> from offcourse.match import RouteIndex
>>> from offcourse.project import LocalProjection
>>> p = LocalProjection(7.0, 46.0)
>>> lon, lat = p.inverse(np.array([0.0, 2000.0]), np.array([0.0, 0.0]))
>>> idx = RouteIndex(Route.from_arrays(lon=lon, lat=lat, projection=p))
>>> x = np.concatenate([np.arange(0.0, 600.0, 10.0), np.arange(1200.0, 2001.0, 10.0)])  # jumps 600 m
>>> h = hindsight(idx, x, np.zeros_like(x), 1.6e9 + np.arange(len(x)) * 3.0)
>>> [(round(a), round(b)) for a, b in h.coverage.intervals], [(round(k.from_m), round(k.to_m)) for k in h.skips]
([(0, 590), (1200, 2000)], [(590, 1200)])
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from . import _viterbi as _vk
from .match import RouteIndex
from .nearby import SegmentGrid

__all__ = [
    "Coverage",
    "Hindsight",
    "Section",
    "hindsight",
    "is_shortcut",
    "nearest_to_route",
    "noise_sigma_m",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CANDIDATE_RADIUS_M = 50.0
"""Passes of the route within this distance of a fix are the places it may be matched to (the
default off threshold: a fix farther than that from every part of the route is off it)."""
MAX_CANDIDATES = 6
"""At most this many passes (the nearest) per fix."""
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
DIRECTION_HYSTERESIS_M = 150.0
"""A change of direction along the route counts once the runner has gone this far the other way."""
PLAUSIBLE_SPEED_MPS = 7.0
"""Across a dropout, progress along the route at up to this speed is taken as run (unverified)."""
DROPOUT_MAX_S = 180.0
"""...and never more than this: a recording of two fixes an hour apart saw nothing between them."""
DROPOUT_S = 60.0
"""No fix for this long (or three times the recording's usual interval, if more) is a dropout."""
PRE_START_M = 200.0
"""Running the route backwards to within this much of its start, before any forward running, is the
way to the start line, not a wrong way."""
SHORTCUT_MIN_SAVED_M = 50.0
"""A shortcut saved at least this much (less is within the noise of the distances measured)."""
JOIN_WRONG_WAY_M = 300.0
"""Wrong-way sections that continue one another within this much route are one."""
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


@dataclass(frozen=True)
class Section:
    """A stretch of route found in hindsight. ``from_m``/``to_m`` are route metres; ``i0``/``i1``
    the fix indices (into the recording) where it starts and ends."""

    kind: str
    """``skip``, ``shortcut`` or ``wrong_way``."""
    from_m: float
    to_m: float
    i0: int
    i1: int
    distance_m: float
    """Distance the runner moved over the section (straight steps between fixes)."""
    max_nearest_m: float = 0.0
    """Largest distance of its fixes to the nearest part of the route."""


@dataclass(frozen=True)
class Coverage:
    """Which parts of the route were run, in order and in the right direction.

    Rule: ``complete`` when the covered intervals reach from the start to the finish with every
    gap shorter than ``gap_tolerance_m`` (GPS noise, a short dropout); a skipped 300 m breaks it.
    """

    length_m: float
    intervals: tuple[tuple[float, float], ...]
    """Route metres run forward, merged and sorted."""
    unverified: tuple[tuple[float, float], ...]
    """Parts crossed in a dropout (no fix for a while) at a plausible speed: not a skip, but not
    counted as covered either (nobody saw them run)."""
    backwards: tuple[tuple[float, float], ...]
    """Route metres run in the wrong direction."""
    near_m: float
    """Route metres that some fix came within the candidate radius of (any order, any direction)."""
    gap_tolerance_m: float
    joined_m: float | None = None
    """Where the runner was first matched on the route (in either direction)."""
    left_m: float | None = None
    """Where the runner was last matched on the route."""

    @property
    def covered_m(self) -> float:
        return float(sum(b - a for a, b in self.intervals))

    @property
    def fraction(self) -> float:
        return self.covered_m / self.length_m if self.length_m > 0 else 0.0

    @property
    def gaps(self) -> tuple[tuple[float, float], ...]:
        """Route metres not covered, at least ``gap_tolerance_m`` long."""
        return _complement(self.intervals, self.length_m, self.gap_tolerance_m)

    @property
    def first_route_m(self) -> float | None:
        return self.intervals[0][0] if self.intervals else None

    @property
    def last_route_m(self) -> float | None:
        return self.intervals[-1][1] if self.intervals else None

    @property
    def complete(self) -> bool:
        return bool(self.intervals) and not self.gaps


@dataclass(frozen=True)
class Hindsight:
    """The matched path of a whole recording and what it shows."""

    route_m: FloatArray
    """Per fix: matched distance along the route; NaN off the route, unmatched or without a position."""
    nearest_m: FloatArray
    """Per fix: distance to the nearest part of the route (any pass); NaN without a position."""
    nearest_route_m: FloatArray
    """Per fix: where along the route that nearest part is."""
    coverage: Coverage
    skips: tuple[Section, ...]
    shortcuts: tuple[Section, ...]
    wrong_ways: tuple[Section, ...]
    offs: tuple[Section, ...]
    """Stretches off the route farther than the off threshold: exit and rejoin route metres (rejoin
    NaN when the runner never came back), fix indices, distance moved, largest distance."""
    sigma_m: float
    """The noise level the match assumed (estimated from the recording)."""
    dropouts: tuple[tuple[int, int], ...]
    """Index pairs of consecutive fixes with no fix between them for at least :data:`DROPOUT_S`."""


def _segments(index: RouteIndex) -> npt.NDArray[np.object_]:
    xy0 = np.column_stack([index.ax, index.ay])
    xy1 = xy0 + np.column_stack([index.dx, index.dy])
    return shapely.linestrings(np.stack([xy0, xy1], axis=1))  # type: ignore[no-any-return]


def _tree(index: RouteIndex) -> shapely.STRtree:
    tree = getattr(index, "_hindsight_tree", None)
    if tree is None:
        tree = shapely.STRtree(_segments(index))
        index._hindsight_tree = tree  # type: ignore[attr-defined]  # built once per route, shared
    return tree


def _project(
    index: RouteIndex, segs: npt.NDArray[np.int64], x: FloatArray, y: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Route metres and distance of points (x, y) projected on segments ``segs`` (vectorised)."""
    ax, ay, dx, dy, ln = index.ax[segs], index.ay[segs], index.dx[segs], index.dy[segs], index.seg_len[segs]
    l2 = ln * ln
    t = np.clip(((x - ax) * dx + (y - ay) * dy) / np.where(l2 > 0, l2, 1.0), 0.0, 1.0)
    ex, ey = ax + t * dx - x, ay + t * dy - y
    return index.cum[segs] + t * ln, np.sqrt(ex * ex + ey * ey)


def nearest_to_route(index: RouteIndex, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Distance along the route of the nearest point of the route, and the distance to it, per point.

    Vectorised with shapely's STRtree; NaN where the point has no position.

    >>> import numpy as np
    >>> from offcourse.model import Route
    >>> from offcourse.project import LocalProjection
    >>> p = LocalProjection(7.0, 46.0)
    >>> lon, lat = p.inverse(np.array([0.0, 1000.0, 1000.0]), np.array([0.0, 0.0, 500.0]))
    >>> idx = RouteIndex(Route.from_arrays(lon=lon, lat=lat, projection=p))
    >>> s, d = nearest_to_route(idx, np.array([300.0, 1100.0, np.nan]), np.array([40.0, 200.0, 0.0]))
    >>> np.round(s).tolist(), np.round(d).tolist()
    ([300.0, 1200.0, nan], [40.0, 100.0, nan])
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    s = np.full(len(x), np.nan)
    d = np.full(len(x), np.nan)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if len(ok):
        pts = shapely.points(x[ok], y[ok])
        pi, si = _tree(index).query_nearest(pts, all_matches=False)
        s[ok[pi]], d[ok[pi]] = _project(index, si.astype(np.int64), x[ok[pi]], y[ok[pi]])
    return s, d


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


def _candidates(index: RouteIndex, x: FloatArray, y: FloatArray) -> tuple[IntArray, FloatArray, FloatArray]:
    """Per point, the passes of the route within :data:`CANDIDATE_RADIUS_M`: route metres and offsets.

    Flat arrays: point ``p``'s passes are ``[ptr[p]:ptr[p + 1]]`` of the route metres and offsets, in
    route order (of the first segment of the pass), or, for a point near more than
    :data:`MAX_CANDIDATES` passes, the nearest of them from the nearest on.

    The points are taken in blocks of :data:`CANDIDATE_BLOCK` (each point's passes are its own
    business): the arrays of a block stay in the processor's cache and their memory is reused.
    """
    n = len(x)
    ptr = np.zeros(n + 1, dtype=np.int64)
    none = np.empty(0, dtype=np.float64)
    if n == 0:
        return ptr, none, none
    grid = index.segment_grid(CANDIDATE_RADIUS_M)
    parts = [_candidates_block(index, grid, x[a : a + CANDIDATE_BLOCK], y[a : a + CANDIDATE_BLOCK])
             for a in range(0, n, CANDIDATE_BLOCK)]  # fmt: skip
    ptr[1:] = np.cumsum(np.concatenate([c for c, _, _ in parts]))
    if ptr[-1] == 0:
        return ptr, none, none
    return ptr, np.concatenate([s for _, s, _ in parts]), np.concatenate([d for _, _, d in parts])


CANDIDATE_BLOCK = 4096
"""Points per block of :func:`_candidates`."""


def _candidates_block(
    index: RouteIndex, grid: SegmentGrid, x: FloatArray, y: FloatArray
) -> tuple[IntArray, FloatArray, FloatArray]:
    """:func:`_candidates` of a block of points: the number of passes per point, their route metres
    and offsets (flat)."""
    n = len(x)
    none = np.empty(0, dtype=np.float64)
    # the segments within the radius of each point, sorted by point then segment (exactly those of
    # shapely's STRtree dwithin query over the segments, see offcourse.nearby)
    pi, si = grid.pairs(x, y)
    px, py = x[pi], y[pi]
    s, d = _project(index, si, px, py)
    keep = grid.decide(px, py, si, d)
    pi, si, s, d = pi[keep], si[keep], s[keep], d[keep]
    if len(pi) == 0:
        return np.zeros(n, dtype=np.int64), none, none
    # one pass = a run of segments of one point whose nearest points lie close along the route
    new = np.ones(len(pi), dtype=bool)
    new[1:] = (pi[1:] != pi[:-1]) | (s[1:] - s[:-1] > 2.0 * CANDIDATE_RADIUS_M)
    group = np.cumsum(new) - 1
    # the nearest point of each pass (the first of equals; the passes in group order: by point,
    # then along the route)
    at_min = np.flatnonzero(d == np.minimum.reduceat(d, np.flatnonzero(new))[group])
    first = np.ones(len(at_min), dtype=bool)
    first[1:] = group[at_min][1:] != group[at_min][:-1]
    best = at_min[first]
    bp, bs, bd = pi[best].astype(np.int64), s[best], d[best]
    counts = np.bincount(bp, minlength=n)
    crowded = np.flatnonzero(counts > MAX_CANDIDATES)
    if len(crowded):
        # more passes than MAX_CANDIDATES: the nearest ones, from the nearest on (stable by offset)
        start = np.concatenate(([0], np.cumsum(counts)))
        rank = np.arange(len(bp), dtype=np.int64) - start[bp]
        for p in crowded.tolist():
            a, b = int(start[p]), int(start[p + 1])
            rank[a + np.argsort(bd[a:b], kind="stable")] = np.arange(b - a)
        keep = rank < MAX_CANDIDATES
        o3 = np.lexsort((rank[keep], bp[keep]))
        bp, bs, bd = bp[keep][o3], bs[keep][o3], bd[keep][o3]
        counts = np.bincount(bp, minlength=n)
    return counts, bs, bd


def is_shortcut(bypassed_m: float, ran_m: float, skip_min_m: float) -> bool:
    """Left the route and came back further on having run less than the route: the one rule
    for a shortcut, wherever it is decided (hindsight, the live engine's excursions, joined ones).

    >>> is_shortcut(380.0, 290.0, 200.0), is_shortcut(380.0, 350.0, 200.0), is_shortcut(150.0, 0.0, 200.0)
    (True, False, False)
    """
    return bypassed_m >= skip_min_m and bypassed_m - ran_m >= SHORTCUT_MIN_SAVED_M


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


def _skips(
    explained: tuple[tuple[float, float], ...],
    run_any: tuple[tuple[float, float], ...],
    jumps: list[Section],
    length_m: float,
    skip_min_m: float,
    kept: list[int],
    ks: list[float],
    moved: list[float],
    kt: list[float] | None = None,
    pace_mps: float = 0.0,
) -> list[Section]:
    """Skipped sections: stretches of route of at least ``skip_min_m`` that nobody ran (in either
    direction), that no excursion or shortcut explains, between parts that were run. A runner who
    visits another part of the route and comes back skipped nothing; one who cuts switchbacks
    lands on each leg in turn and skips the sum of the bends.

    Each is timed by the forward jump of the path across it (or, failing one, by the on-route fixes
    before and after it). With times (``kt``, the kept fixes' times) and the runner's pace
    (``pace_mps``), route that the runner had the time to run at their pace, from the last fix seen at
    the gap's start to the first seen past its end, is not skipped: sparse fixes (a watch saving
    power, a dropout) across switchbacks land on a later leg although the runner ran them all.
    """
    if not run_any:
        return []
    lo_run, hi_run = run_any[0][0], run_any[-1][1]
    on = [(j, v) for j, v in enumerate(ks) if math.isfinite(v)]
    csum = np.concatenate(([0.0], np.cumsum(moved)))
    out: list[Section] = []
    for a, b in _complement(explained, length_m, skip_min_m):
        if a < lo_run or b > hi_run:
            continue  # before the first or after the last part run: a late join or a stop
        # the first crossing in time: the last fix at or before the gap, then the first one landing
        # just past it (a visit to another part of the route further on is not the way across)
        j0 = j1 = ja = -1
        for j, v in on:
            if v <= a + FORWARD_SLACK_M:
                j0 = j
                if v >= a - FORWARD_SLACK_M:
                    ja = j  # seen at the gap's start
            elif b - FORWARD_SLACK_M <= v <= b + 2.0 * CANDIDATE_RADIUS_M and j0 >= 0:
                j1 = j
                break
        if j1 < 0:
            continue
        ran = float(csum[j1 + 1] - csum[j0 + 1])
        k = next((k for k in jumps if k.i0 == kept[j0] and k.i1 == kept[j1]), None)
        if k is not None:
            ran = min(ran, k.distance_m)  # a ride: only what could have been run counts
        could = ran
        if kt is not None and ja >= 0:
            took = kt[j1] - kt[ja]
            could = max(ran, pace_mps * took) if math.isfinite(took) else ran
        if (b - a) - could < skip_min_m:
            continue  # the runner went the long way round (another part of the route): no cut
        out.append(Section("skip", a, b, kept[j0], kept[j1], ran, 0.0))
    return out


def _spike(step_in_m: float, step_out_m: float, dt_in_s: float, dt_out_s: float) -> bool:
    """A fix reached from the fix before, or left for the fix after, faster than anyone runs
    (:data:`PLAUSIBLE_SPEED_MPS`, with :data:`FORWARD_SLACK_M` for the error of both fixes); without
    times, never."""
    fast_in = math.isfinite(dt_in_s) and step_in_m > PLAUSIBLE_SPEED_MPS * max(dt_in_s, 0.0) + FORWARD_SLACK_M
    fast_out = math.isfinite(dt_out_s) and step_out_m > PLAUSIBLE_SPEED_MPS * max(dt_out_s, 0.0) + FORWARD_SLACK_M
    return fast_in or fast_out


def _join_wrong_ways(ww: list[Section], gap_m: float) -> list[Section]:
    """Wrong-way sections that continue one another (a break in the path between them) are one."""
    out: list[Section] = []
    for w in ww:
        if out and abs(w.from_m - out[-1].to_m) <= gap_m:
            p = out[-1]
            out[-1] = Section("wrong_way", p.from_m, min(p.to_m, w.to_m), p.i0, w.i1, p.distance_m + w.distance_m)
        else:
            out.append(w)
    return out


def _gap_tolerance(length_m: float, skip_min_m: float) -> float:
    """The largest gap in coverage that still counts as covered: ``skip_min_m``, or a tenth of a
    short route (a 200 m loop is not finished at half way).

    >>> _gap_tolerance(10_000.0, 200.0), _gap_tolerance(200.0, 200.0)
    (200.0, 25.0)
    """
    return min(skip_min_m, max(0.1 * length_m, FORWARD_SLACK_M))


def _merge(ivs: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    out: list[list[float]] = []
    for a, b in sorted((min(a, b), max(a, b)) for a, b in ivs):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out if b > a)


def _near_m(passes_m: FloatArray, length_m: float) -> float:
    """Route metres within :data:`CANDIDATE_RADIUS_M` of some pass: ``_merge`` of the intervals
    ``s ± radius`` summed over the route, vectorised (all intervals have the same width, so sorted by
    start they are sorted by end too); the same floats as the loop.

    >>> _near_m(np.array([0.0, 10.0, 500.0]), 1000.0) == 10.0 + CANDIDATE_RADIUS_M + 2 * CANDIDATE_RADIUS_M
    True
    """
    if not len(passes_m):
        return 0.0
    s = np.sort(passes_m)
    a, b = s - CANDIDATE_RADIUS_M, s + CANDIDATE_RADIUS_M
    first = np.flatnonzero(np.concatenate(([True], a[1:] > b[:-1])))
    last = np.concatenate((first[1:] - 1, [len(s) - 1]))
    lo, hi = np.maximum(a[first], 0.0), np.minimum(b[last], length_m)
    keep = (b[last] > a[first]) & (hi > lo)
    return float(sum((hi[keep] - lo[keep]).tolist()))


def _complement(ivs: tuple[tuple[float, float], ...], length_m: float, min_m: float) -> tuple[tuple[float, float], ...]:
    gaps: list[tuple[float, float]] = []
    pos = 0.0
    for a, b in ivs:
        if a - pos >= min_m and a > pos:
            gaps.append((pos, a))
        pos = max(pos, b)
    if length_m - pos >= min_m and length_m > pos:
        gaps.append((pos, length_m))
    return tuple(gaps)


def hindsight(
    index: RouteIndex,
    x: FloatArray,
    y: FloatArray,
    epoch_s: FloatArray | None = None,
    *,
    skip_min_m: float = 200.0,
    wrong_way_min_m: float = 150.0,
    off_threshold_m: float = 50.0,
) -> Hindsight:
    """Match a whole recording to the route in hindsight; see the module docstring.

    Parameters
    ----------
    index : RouteIndex
    x, y : ndarray
        The fixes in the route's projection, metres, in recorded order; NaN where a fix has no position.
    epoch_s : ndarray, optional
        UTC seconds per fix (NaN or absent: judged by distance alone; dropouts cannot be told).
    skip_min_m, wrong_way_min_m : float
        A skip or shortcut bypasses at least this much route; a wrong-way section is at least this long.
    off_threshold_m : float
        An off stretch whose fixes never come farther than this from the route is noise, not a shortcut.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n_all = len(x)
    t_all = np.full(n_all, np.nan) if epoch_s is None else np.asarray(epoch_s, dtype=np.float64)
    L = index.length_m
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    # the passes near every fix; the nearest of them is the nearest part of the route, and only
    # fixes with none need the (slower) nearest-anywhere search
    ptr, flat_s, flat_d = _candidates(index, x[ok], y[ok])
    near_s = np.full(n_all, np.nan)
    near_d = np.full(n_all, np.nan)
    count = np.diff(ptr)
    has = count > 0
    if len(flat_d):
        # the nearest pass of each fix (the first of equals); sorted by fix, then offset, stably
        by_near = np.lexsort((flat_d, np.repeat(np.arange(len(ok)), count)))
        nearest = by_near[ptr[:-1][has]]
        near_s[ok[has]], near_d[ok[has]] = flat_s[nearest], flat_d[nearest]
    fi = ok[~has]
    if len(fi):
        near_s[fi], near_d[fi] = nearest_to_route(index, x[fi], y[fi])
    sigma = noise_sigma_m(near_d)
    # keep the fixes that moved at least MIN_STEP_M from the last one kept
    pos_in_ok = np.full(n_all, -1, dtype=np.int64)
    pos_in_ok[ok] = np.arange(len(ok))
    kept: list[int] = []
    moved: list[float] = []
    lx = ly = math.nan
    xl, yl = x.tolist(), y.tolist()
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
    route_m = np.full(n_all, np.nan)
    dropouts: list[tuple[int, int]] = []
    tf = t_all[np.isfinite(t_all)]
    dropout_s = DROPOUT_S
    if len(tf) > 1 and len(ok) > 1:
        to = t_all[ok]
        dt = np.diff(to)
        fin = dt[np.isfinite(dt) & (dt > 0)]
        if len(fin):
            dropout_s = min(max(DROPOUT_S, 3.0 * float(np.median(fin))), DROPOUT_MAX_S)
        for j in np.flatnonzero(np.isfinite(dt) & (dt >= dropout_s)).tolist():
            dropouts.append((int(ok[j]), int(ok[j + 1])))
    if not kept:
        cov = Coverage(L, (), (), (), 0.0, _gap_tolerance(L, skip_min_m))
        return Hindsight(route_m, near_d, near_s, cov, (), (), (), (), sigma, tuple(dropouts))
    # the passes of the kept fixes, flat: those of kept fix j are [kptr[j]:kptr[j + 1]]
    sel = pos_in_ok[kept]
    kcount = count[sel]
    kptr = np.concatenate(([0], np.cumsum(kcount))).astype(np.int64)
    take = np.repeat(ptr[sel] - kptr[:-1], kcount) + np.arange(int(kptr[-1]))
    ks_flat, kd_flat = flat_s[take], flat_d[take]
    kernel = _vk.compiled() if _use_compiled(len(kept)) else None
    if kernel is not None:
        st = kernel(kptr, ks_flat, kd_flat, np.array(moved, dtype=np.float64), sigma, _viterbi_constants())
    else:
        ls, ld, lp = ks_flat.tolist(), kd_flat.tolist(), kptr.tolist()
        cs = [ls[lp[j] : lp[j + 1]] for j in range(len(kept))]
        cd = [ld[lp[j] : lp[j + 1]] for j in range(len(kept))]
        st = np.array(_viterbi(cs, cd, moved, sigma), dtype=np.int64)
        _python_fixes[0] += len(kept)
    on_route = st >= 0
    ks_arr = np.full(len(kept), np.nan)
    ks_arr[on_route] = ks_flat[kptr[:-1][on_route] + st[on_route]]
    ks = ks_arr.tolist()
    route_m[kept] = ks_arr
    kt = t_all[kept].tolist()
    knd = near_d[kept].tolist()
    # near coverage: route metres some fix came near (any order, any direction)
    near_m = _near_m(ks_flat, L)

    forward: list[tuple[float, float]] = []
    unverified: list[tuple[float, float]] = []
    backwards: list[tuple[float, float]] = []
    jumps: list[Section] = []
    shortcuts: list[Section] = []
    excursion_spans: list[tuple[float, float]] = []
    wrong: list[Section] = []
    # directional runs of the path
    run_dir = 0  # +1 forward, -1 backward, 0 not known yet
    run_start = run_ext = math.nan
    run_i0 = run_iext = 0
    run_moved = 0.0  # distance moved since the run's start
    moved_at_ext = 0.0

    def close_run() -> None:
        if not math.isfinite(run_start):
            return
        if run_dir >= 0:
            if run_ext > run_start:
                forward.append((run_start, run_ext))
        elif run_start - run_ext > 0:
            if not forward and run_ext <= PRE_START_M and run_start <= PRE_START_M + DIRECTION_HYSTERESIS_M * 4:
                return  # walking back to the start line before the start: not a wrong way
            backwards.append((run_ext, run_start))
            if run_start - run_ext >= wrong_way_min_m:
                wrong.append(Section("wrong_way", run_start, run_ext, kept[run_i0], kept[run_iext], moved_at_ext))

    offs: list[Section] = []
    last_on = -1
    off_moved = 0.0
    off_max = 0.0
    for j, s in enumerate(ks):
        if not math.isfinite(s):
            if last_on >= 0:
                off_moved += moved[j]
                off_max = max(off_max, knd[j] if math.isfinite(knd[j]) else 0.0)
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
        timed = math.isfinite(dt) and dt > 0  # times going backwards say nothing about speed
        jump = ds - g
        broke = False
        if was_off and last_on == j - 2 and _spike(moved[j - 1], moved[j], kt[j - 1] - kt[last_on], kt[j] - kt[j - 1]):
            # one fix off, that no runner reaches from the fix before or leaves for the fix after: a
            # position spike, not a stretch off the route (the path is judged as if it were not there)
            g = math.hypot(xl[kept[j]] - xl[kept[last_on]], yl[kept[j]] - yl[kept[last_on]])
            jump = ds - g
            was_off = False
        if was_off and off_max > off_threshold_m:
            # a real excursion: the route between exit and rejoin was not run (whatever it cost)
            offs.append(Section("off", ps, s, kept[last_on], kept[j], g, off_max))
            if ds > 0 and is_shortcut(ds, g, skip_min_m):
                shortcuts.append(Section("shortcut", ps, s, kept[last_on], kept[j], g, off_max))
            elif ds > 0:
                excursion_spans.append((ps, s))  # lost, came back further on: explained, not a cut
            broke = True
        elif ds > 0 and timed and ds > PLAUSIBLE_SPEED_MPS * dt + FORWARD_SLACK_M:
            # farther along the route than anyone runs in the time: a skip (or a ride); what the
            # runner could have run in that time is all the distance that counts
            ran = min(g, PLAUSIBLE_SPEED_MPS * dt)
            jumps.append(Section("skip", ps, s, kept[last_on], kept[j], ran, max(knd[last_on], knd[j])))
            broke = True
        elif ds > 0 and jump > max(FORWARD_SLACK_M, 0.5 * g) + FORWARD_SLACK_M:
            # farther along the route than the runner moved in a straight line
            if timed:
                # sparse fixes (a watch's power-saving mode) or a dropout: the runner had the time
                if dt >= dropout_s:
                    # a dropout: not a skip, but not seen run either (not in the coverage)
                    unverified.append((ps, s))
                    broke = True
            else:
                jumps.append(Section("skip", ps, s, kept[last_on], kept[j], g, max(knd[last_on], knd[j])))
                broke = True
        elif was_off and ds < -BACK_SLACK_M:
            # back on the route behind where the runner left it: run afresh (a wrong way is run on
            # the route, not concluded across a stretch off it)
            broke = True
        if broke:
            close_run()
            run_dir, run_start, run_ext, run_i0, run_iext, run_moved, moved_at_ext = 0, s, s, j, j, 0.0, 0.0
        else:
            run_moved += g
            if run_dir == 0:
                if s - run_start >= FORWARD_SLACK_M:
                    run_dir = 1
                elif run_start - s >= FORWARD_SLACK_M:
                    run_dir = -1
                run_ext, run_iext, moved_at_ext = s, j, run_moved
            elif run_dir > 0:
                if s > run_ext:
                    run_ext, run_iext, moved_at_ext = s, j, run_moved
                elif run_ext - s >= DIRECTION_HYSTERESIS_M:
                    close_run()
                    # the backward run began at the peak
                    run_dir, run_start, run_i0 = -1, run_ext, run_iext
                    run_moved = run_moved - moved_at_ext
                    run_ext, run_iext, moved_at_ext = s, j, run_moved
            else:
                if s < run_ext:
                    run_ext, run_iext, moved_at_ext = s, j, run_moved
                elif s - run_ext >= DIRECTION_HYSTERESIS_M:
                    close_run()
                    run_dir, run_start, run_i0 = 1, run_ext, run_iext
                    run_moved = run_moved - moved_at_ext
                    run_ext, run_iext, moved_at_ext = s, j, run_moved
        last_on = j
        off_moved = 0.0
        off_max = 0.0
    close_run()
    if last_on >= 0 and last_on < len(ks) - 1 and off_max > off_threshold_m:
        # off the route at the end and never back
        offs.append(Section("off", ks[last_on], math.nan, kept[last_on], kept[-1], off_moved, off_max))
    run_any = _merge(forward + unverified + backwards)
    explained = _merge(list(run_any) + excursion_spans + [(k.from_m, k.to_m) for k in shortcuts])
    on_t = [kt[j] for j, v in enumerate(ks) if math.isfinite(v) and math.isfinite(kt[j])]
    span_s = on_t[-1] - on_t[0] if len(on_t) > 1 else 0.0
    pace = sum(b - a for a, b in _merge(forward)) / span_s if span_s > 0 else 0.0
    skips = _skips(explained, run_any, jumps, L, skip_min_m, kept, ks, moved, kt, pace)
    cov = Coverage(
        length_m=L,
        intervals=_merge(forward),
        unverified=_merge(unverified),
        backwards=_merge(backwards),
        near_m=float(near_m),
        gap_tolerance_m=_gap_tolerance(L, skip_min_m),
        joined_m=next((v for v in ks if math.isfinite(v)), None),
        left_m=next((v for v in reversed(ks) if math.isfinite(v)), None),
    )
    return Hindsight(
        route_m=route_m,
        nearest_m=near_d,
        nearest_route_m=near_s,
        coverage=cov,
        skips=tuple(skips),
        shortcuts=tuple(shortcuts),
        wrong_ways=tuple(_join_wrong_ways(wrong, JOIN_WRONG_WAY_M)),
        offs=tuple(offs),
        sigma_m=sigma,
        dropouts=tuple(dropouts),
    )

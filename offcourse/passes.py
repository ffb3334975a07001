"""Where the route passes near each fix: the places hindsight may match a fix to.

The match step of hindsight (:mod:`offcourse.coverage`, pipeline read → project → match → detect →
report) starts here: for every fix of the recording, the *passes* of the route within
:data:`CANDIDATE_RADIUS_M` (a route that comes back past the same place has several), each as its
nearest point's route metres and offset (:func:`candidates`, on :class:`offcourse.nearby.SegmentGrid`);
the nearest part of the route anywhere (:func:`nearest_to_route`, shapely's STRtree), for the fixes
near none; and the route metres some fix came near (:func:`near_m`). The Viterbi search over the
passes is :mod:`offcourse.rematch`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import shapely

from . import _hindsight_loops as _hl
from .match import RouteIndex
from .nearby import SegmentGrid

__all__ = ["CANDIDATE_RADIUS_M", "MAX_CANDIDATES", "TWO_WAY_M", "candidates", "near_m", "nearest_to_route", "two_way"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CANDIDATE_RADIUS_M = 50.0
"""Passes of the route within this distance of a fix are the places it may be matched to (the
default off threshold: a fix farther than that from every part of the route is off it)."""
MAX_CANDIDATES = 6
"""At most this many passes (the nearest) per fix."""


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


def candidates(index: RouteIndex, x: FloatArray, y: FloatArray) -> tuple[IntArray, FloatArray, FloatArray]:
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
    kernels = _hl.use_compiled(n)
    parts = [_candidates_block(index, grid, x[a : a + CANDIDATE_BLOCK], y[a : a + CANDIDATE_BLOCK], kernels)
             for a in range(0, n, CANDIDATE_BLOCK)]  # fmt: skip
    ptr[1:] = np.cumsum(np.concatenate([c for c, _, _ in parts]))
    if ptr[-1] == 0:
        return ptr, none, none
    return ptr, np.concatenate([s for _, s, _ in parts]), np.concatenate([d for _, _, d in parts])


CANDIDATE_BLOCK = 4096
"""Points per block of :func:`candidates`."""


def _candidates_block(
    index: RouteIndex, grid: SegmentGrid, x: FloatArray, y: FloatArray, kernels: _hl.Kernels | None = None
) -> tuple[IntArray, FloatArray, FloatArray]:
    """:func:`candidates` of a block of points: the number of passes per point, their route metres
    and offsets (flat). With ``kernels``, the pairs are projected and read into passes compiled
    (:func:`offcourse._hindsight_loops.project_pairs` and ``nearest_of_passes``: the same numbers)."""
    n = len(x)
    none = np.empty(0, dtype=np.float64)
    # the segments within the radius of each point, sorted by point then segment (exactly those of
    # shapely's STRtree dwithin query over the segments, see offcourse.nearby)
    if kernels is not None:
        pi, si = kernels.grid_pairs(x, y, *grid.arrays())
        route = (index.ax, index.ay, index.dx, index.dy, index.seg_len, index.cum)
        s, d, keep, unsure = kernels.project_pairs(x, y, pi, si, *route, grid.radius_m, grid.tolerance_m)
        if len(unsure):
            keep[unsure] = grid.within(x[pi[unsure]], y[pi[unsure]], si[unsure])
        bp, bs, bd = kernels.nearest_of_passes(pi, s, d, keep, 2.0 * CANDIDATE_RADIUS_M)
    else:
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
    if len(bp) == 0:
        return np.zeros(n, dtype=np.int64), none, none
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


def near_m(passes_m: FloatArray, length_m: float) -> float:
    """Route metres within :data:`CANDIDATE_RADIUS_M` of some pass: :func:`offcourse.intervals.merge` of
    the intervals ``s ± radius`` summed over the route, vectorised (all intervals have the same width,
    so sorted by start they are sorted by end too); the same floats as the loop.

    >>> near_m(np.array([0.0, 10.0, 500.0]), 1000.0) == 10.0 + CANDIDATE_RADIUS_M + 2 * CANDIDATE_RADIUS_M
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


TWO_WAY_M = 15.0
"""A part of the route with another pass this near running the other way (an out-and-back's two legs,
a lollipop's stem) is *two-way*: a runner there may be on either, so the direction they ran it in
cannot be told from the fixes."""
TWO_WAY_STEP_M = 25.0
"""The route is looked at every this many metres for :func:`two_way`."""


def two_way(index: RouteIndex, intervals: Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """The parts of the route ``intervals`` (route metres) beside another pass of the route, within
    :data:`TWO_WAY_M`, that runs the other way (their directions more than 120 degrees apart).

    Looked at every :data:`TWO_WAY_STEP_M` (the middle of each step stands for it); the pass itself and
    the route within :data:`CANDIDATE_RADIUS_M` twice of it along the route are not "another pass".

    Out 1,000 m and back 5 m beside the way out; then a loop (one way only) from route metre 2,005:

    >>> from offcourse.model import Route
    >>> from offcourse.project import LocalProjection
    >>> p = LocalProjection(7.0, 46.0)
    >>> lon, lat = p.inverse(np.array([0.0, 1000.0, 1000.0, 0.0, 0.0, -500.0, -500.0, 0.0]),
    ...                      np.array([0.0, 0.0, 5.0, 5.0, 500.0, 500.0, 0.0, 0.0]))
    >>> index = RouteIndex(Route.from_arrays(lon=lon, lat=lat, projection=p))
    >>> [(round(a), round(b)) for a, b in two_way(index, [(100.0, 600.0), (2100.0, 2600.0)])]
    [(100, 600)]
    """

    def segment(route_m: FloatArray) -> IntArray:
        return np.clip(np.searchsorted(index.cum, route_m, side="right") - 1, 0, len(index.seg_len) - 1)

    out: list[tuple[float, float]] = []
    for a, b in intervals:
        if not (math.isfinite(a) and math.isfinite(b)) or b <= a:
            continue
        n = math.ceil((b - a) / TWO_WAY_STEP_M)
        edges = np.linspace(a, b, n + 1)
        s = 0.5 * (edges[:-1] + edges[1:])
        ptr, ps, pd = candidates(index, *index.route.point_at(s))
        owner = np.repeat(np.arange(n), np.diff(ptr))
        mine, other = segment(s)[owner], segment(ps)
        dot = index.dx[mine] * index.dx[other] + index.dy[mine] * index.dy[other]
        norm = index.seg_len[mine] * index.seg_len[other]
        against = (pd <= TWO_WAY_M) & (np.abs(ps - s[owner]) > 2 * CANDIDATE_RADIUS_M) & (dot < -0.5 * norm)
        flag = np.zeros(n, dtype=bool)
        flag[owner[against]] = True
        runs = np.flatnonzero(np.diff(np.concatenate(([0], flag.astype(np.int8), [0]))))
        out.extend((float(edges[i]), float(edges[j])) for i, j in zip(runs[::2], runs[1::2], strict=True))
    return tuple(out)

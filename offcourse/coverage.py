"""Hindsight: the runner's progress along the route over the whole recording, and what it covered.

The live engine (:mod:`offcourse.detect`) must decide as each fix arrives. After the run the
whole recording is known, so :func:`hindsight` matches it again with the benefit of both
directions of time, and measures from the matched path, independently of the live alerts:

- **coverage** (:class:`Coverage`): the parts of the route run in order and in the right direction
  (forward runs of the path, with 150 m of hysteresis against noise); a stretch crossed in a
  dropout (no fix) at a plausible running speed is *unverified*: not a skip, not covered either;
- **skips**: a jump forward along the route's geometry farther than the runner moved;
- **shortcuts**: off the route and back on further on, having run less than the route;
- **wrong-way sections**: backward runs of the path of at least ``wrong_way_min_m``;
- the **distance to the nearest part of the route** of every fix (what the runner was really
  off), beside the live engine's offset from the part it expected.

This module holds the results (:class:`Coverage`, :class:`Hindsight`) and the one function that
runs hindsight's own pipeline, each step in its module: the passes of the route near each fix
(:mod:`offcourse.passes`) → the Viterbi search over them, whose costs weigh *distance*, not the
number of fixes (:mod:`offcourse.rematch`, compiled in :mod:`offcourse._viterbi`) → the matched
path read into runs, skips, shortcuts, wrong-way and off-route sections (:mod:`offcourse.sections`,
on :mod:`offcourse.intervals`). The walks over every fix (the pass search's projection, the moving
fixes, the path's runs; :mod:`offcourse._hindsight_loops`, :mod:`offcourse._path_walk`) run compiled
in a process that has numba loaded and has walked enough fixes in Python (a batch worker: from its
warm-up), with the same results bit for bit. :func:`offcourse.report.check` runs it after the live engine, and
:mod:`offcourse.review` confirms the engine's findings with it.

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

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from . import _hindsight_loops as _hl
from ._path_walk import read_path_compiled
from .intervals import complement, merge
from .match import RouteIndex
from .passes import candidates, near_m, nearest_to_route
from .rematch import FORWARD_SLACK_M, match, moving_fixes, noise_sigma_m
from .sections import JOIN_WRONG_WAY_M, Section, join_wrong_ways, read_path, skipped_sections
from .timeline import no_fix_s

__all__ = ["Coverage", "Hindsight", "hindsight"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

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
    def ran(self) -> tuple[tuple[float, float], ...]:
        """Route metres run in either direction, merged."""
        return merge(list(self.intervals) + list(self.backwards))

    @property
    def fraction(self) -> float:
        return self.covered_m / self.length_m if self.length_m > 0 else 0.0

    @property
    def gaps(self) -> tuple[tuple[float, float], ...]:
        """Route metres not covered, at least ``gap_tolerance_m`` long."""
        return complement(self.intervals, self.length_m, self.gap_tolerance_m)

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
    """Index pairs of consecutive fixes with no fix between them for at least
    :func:`offcourse.timeline.no_fix_s` (what the report calls a pause without fixes: 60 s, or three
    usual fix intervals, at most 180 s)."""


def _gap_tolerance(length_m: float, skip_min_m: float) -> float:
    """The largest gap in coverage that still counts as covered: ``skip_min_m``, or a tenth of a
    short route (a 200 m loop is not finished at half way).

    >>> _gap_tolerance(10_000.0, 200.0), _gap_tolerance(200.0, 200.0)
    (200.0, 25.0)
    """
    return min(skip_min_m, max(0.1 * length_m, FORWARD_SLACK_M))


def _first_minimum(starts: IntArray, counts: IntArray, d: FloatArray) -> IntArray:
    """Per group ``d[starts[k]:starts[k] + counts[k]]`` (consecutive, none empty, no NaN), the index of
    its smallest value, the first of equals (as a stable sort by group, then value, puts first).

    >>> _first_minimum(np.array([0, 3]), np.array([3, 2]), np.array([5.0, 2.0, 2.0, 7.0, 1.0])).tolist()
    [1, 4]
    """
    owner = np.repeat(np.arange(len(starts)), counts)
    at_min = np.flatnonzero(d == np.minimum.reduceat(d, starts)[owner])
    first = np.ones(len(at_min), dtype=bool)
    first[1:] = owner[at_min][1:] != owner[at_min][:-1]
    return at_min[first]


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
    ptr, flat_s, flat_d = candidates(index, x[ok], y[ok])
    near_s = np.full(n_all, np.nan)
    near_d = np.full(n_all, np.nan)
    count = np.diff(ptr)
    has = count > 0
    if len(flat_d):
        # the nearest pass of each fix (the first of equals)
        nearest = _first_minimum(ptr[:-1][has], count[has], flat_d)
        near_s[ok[has]], near_d[ok[has]] = flat_s[nearest], flat_d[nearest]
    fi = ok[~has]
    if len(fi):
        near_s[fi], near_d[fi] = nearest_to_route(index, x[fi], y[fi])
    sigma = noise_sigma_m(near_d)
    # keep the fixes that moved at least MIN_STEP_M from the last one kept
    pos_in_ok = np.full(n_all, -1, dtype=np.int64)
    pos_in_ok[ok] = np.arange(len(ok))
    kept, moved = moving_fixes(ok, x, y)
    route_m = np.full(n_all, np.nan)
    dropouts: list[tuple[int, int]] = []
    tf = t_all[np.isfinite(t_all)]
    dropout_s = no_fix_s(t_all[ok])
    if len(tf) > 1 and len(ok) > 1:
        dt = np.diff(t_all[ok])
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
    st = match(kptr, ks_flat, kd_flat, moved, sigma)
    on_route = st >= 0
    ks_arr = np.full(len(kept), np.nan)
    ks_arr[on_route] = ks_flat[kptr[:-1][on_route] + st[on_route]]
    on_k = np.flatnonzero(np.isfinite(ks_arr))
    ks = ks_arr.tolist()
    route_m[kept] = ks_arr
    kt_arr = t_all[kept]
    kt = kt_arr.tolist()
    knd_arr = near_d[kept]
    # near coverage: route metres some fix came near (any order, any direction)
    near = near_m(ks_flat, L)
    limits = {"skip_min_m": skip_min_m, "wrong_way_min_m": wrong_way_min_m, "off_threshold_m": off_threshold_m}
    kernels = _hl.use_compiled(len(kept))
    if kernels is not None:
        path = read_path_compiled(kernels.walk_path, kept, ks_arr, moved, kt_arr, knd_arr, x, y, dropout_s, **limits)
    else:
        path = read_path(kept, ks, moved, kt, knd_arr.tolist(), x.tolist(), y.tolist(), dropout_s, **limits)
    forward, unverified, backwards = path.forward, path.unverified, path.backwards
    run_any = merge(forward + unverified + backwards)
    explained = merge(list(run_any) + path.excursion_spans + [(k.from_m, k.to_m) for k in path.shortcuts])
    on_t = np.flatnonzero(np.isfinite(ks_arr) & np.isfinite(kt_arr))
    span_s = kt[on_t[-1]] - kt[on_t[0]] if len(on_t) > 1 else 0.0
    pace = sum(b - a for a, b in merge(forward)) / span_s if span_s > 0 else 0.0
    skips = skipped_sections(explained, run_any, path.jumps, L, skip_min_m, kept, ks_arr, moved, kt, pace)
    cov = Coverage(
        length_m=L,
        intervals=merge(forward),
        unverified=merge(unverified),
        backwards=merge(backwards),
        near_m=float(near),
        gap_tolerance_m=_gap_tolerance(L, skip_min_m),
        joined_m=ks[on_k[0]] if len(on_k) else None,
        left_m=ks[on_k[-1]] if len(on_k) else None,
    )
    return Hindsight(
        route_m=route_m,
        nearest_m=near_d,
        nearest_route_m=near_s,
        coverage=cov,
        skips=tuple(skips),
        shortcuts=tuple(path.shortcuts),
        wrong_ways=tuple(join_wrong_ways(path.wrong, JOIN_WRONG_WAY_M)),
        offs=tuple(path.offs),
        sigma_m=sigma,
        dropouts=tuple(dropouts),
    )

"""Progress along the route: where on the route is each fix, given where the runner was.

:class:`RouteIndex` prepares a :class:`~offcourse.model.Route` for matching: its
segments in metres and a uniform grid over them. Two queries serve the
detector:

- :meth:`RouteIndex.nearest_in_window` — the nearest point of the route among
  the segments between two distances along it. The detector asks it for a
  window around the runner's current progress, so that where the route comes
  back near itself (out-and-back, laps, switchbacks 15 m apart) the fix is
  matched to the pass the runner is on, never simply to the globally nearest
  point.
- :meth:`RouteIndex.passes_near` — every distinct pass of the route within a
  radius of a point, one nearest point per pass. The detector uses it to
  acquire the route at the start, to find where a runner who left the route
  rejoins it, and to notice that the runner is on another part of the route
  (a skipped section, a loop run the wrong way).

Examples
--------
>>> import numpy as np
>>> from offcourse.model import Route
>>> from offcourse.project import LocalProjection
>>> p = LocalProjection(7.0, 46.0)
>>> lon, lat = p.inverse(np.array([0.0, 1000.0, 1000.0, 0.0]), np.array([0.0, 0.0, 20.0, 20.0]))
>>> idx = RouteIndex(Route.from_arrays(lon=lon, lat=lat, projection=p))   # out 1 km, back 20 m to the side
>>> s, d, _ = idx.nearest_in_window(100.0, 12.0, 0.0, 500.0)   # on the way out
>>> round(s), round(d)
(100, 12)
>>> [(round(s), round(d)) for s, d, _ in idx.passes_near(100.0, 12.0, 30.0)]
[(100, 12), (1920, 8)]
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np

from .geometry import GRID_SPAN, best_in_window, project_on_segments
from .model import Route
from .nearby import SegmentGrid

__all__ = ["RouteIndex"]


class RouteIndex:
    """A route's segments in metres with a grid index, built once per route and shared.

    Parameters
    ----------
    route : Route
    cell_m : float
        Grid cell size in metres.
    """

    def __init__(self, route: Route, cell_m: float = 100.0) -> None:
        self.route = route
        self.cell_m = float(cell_m)
        x, y, cum = route.x, route.y, route.cum_m
        self.ax = x[:-1].copy()
        self.ay = y[:-1].copy()
        self.dx = np.diff(x)
        self.dy = np.diff(y)
        self.seg_len = np.hypot(self.dx, self.dy)
        self.cum = cum
        self.length_m = float(cum[-1])
        self._cum_list: list[float] = cum.tolist()
        # plain lists for the per-fix scalar path (numpy scalar indexing is slow)
        self._ax: list[float] = self.ax.tolist()
        self._ay: list[float] = self.ay.tolist()
        self._dx: list[float] = self.dx.tolist()
        self._dy: list[float] = self.dy.tolist()
        self._ln: list[float] = self.seg_len.tolist()
        ele = route.ele_m
        if np.isfinite(ele).any():
            idx = np.arange(len(ele))
            ok = np.isfinite(ele)
            ele = np.interp(idx, idx[ok], ele[ok])
            self.cum_ascent_m = np.concatenate(([0.0], np.cumsum(np.maximum(np.diff(ele), 0.0))))
        else:
            self.cum_ascent_m = np.zeros(len(cum))
        self._nseg = len(self.ax)
        # uniform grid: every segment is listed in each cell its bounding box touches
        c = self.cell_m
        x0 = np.minimum(x[:-1], x[1:])
        x1 = np.maximum(x[:-1], x[1:])
        y0 = np.minimum(y[:-1], y[1:])
        y1 = np.maximum(y[:-1], y[1:])
        ix0 = np.floor(x0 / c).astype(np.int64)
        ix1 = np.floor(x1 / c).astype(np.int64)
        iy0 = np.floor(y0 / c).astype(np.int64)
        iy1 = np.floor(y1 / c).astype(np.int64)
        grid: dict[tuple[int, int], list[int]] = {}
        for k in range(self._nseg):
            for gx in range(int(ix0[k]), int(ix1[k]) + 1):
                for gy in range(int(iy0[k]), int(iy1[k]) + 1):
                    grid.setdefault((gx, gy), []).append(k)
        self._grid = {key: np.array(v, dtype=np.int64) for key, v in grid.items()}
        self._grid_arrays: tuple[Any, Any, Any] | None = None
        self._segment_grids: dict[float, SegmentGrid] = {}

    def segment_grid(self, radius_m: float) -> SegmentGrid:
        """The segments in a :class:`~offcourse.nearby.SegmentGrid` for queries of ``radius_m`` (all
        points at once, as shapely's ``dwithin`` answers them); built on first use, then kept."""
        grid = self._segment_grids.get(radius_m)
        if grid is None:
            grid = SegmentGrid(self.ax, self.ay, self.dx, self.dy, radius_m)
            self._segment_grids[radius_m] = grid
        return grid

    def grid_arrays(self) -> tuple[Any, Any, Any]:
        """The grid as flat arrays for compiled code: sorted cell codes, starts, segment ids.

        See :func:`offcourse.geometry.nearest_offset`; built on first use, then kept.
        """
        if self._grid_arrays is None:
            half = GRID_SPAN // 2
            keys = sorted(self._grid)
            codes = np.array([(gx + half) * GRID_SPAN + gy + half for gx, gy in keys], dtype=np.int64)
            lists = [self._grid[k] for k in keys]
            starts = np.concatenate(([0], np.cumsum([len(v) for v in lists]))).astype(np.int64)
            segs = np.concatenate(lists).astype(np.int64) if lists else np.zeros(0, dtype=np.int64)
            self._grid_arrays = (codes, starts, segs)
        return self._grid_arrays

    # -- scalar helpers -------------------------------------------------------------------------
    def seg_at(self, s: float) -> int:
        """Index of the segment holding distance ``s`` along the route (clamped)."""
        k = bisect.bisect_right(self._cum_list, s) - 1
        return min(max(k, 0), self._nseg - 1)

    def _nearest_on(self, segs: Any, x: float, y: float) -> tuple[Any, Any, Any]:
        ln = self.seg_len[segs]
        f, d = project_on_segments(x, y, self.ax[segs], self.ay[segs], self.dx[segs], self.dy[segs], ln)
        return self.cum[segs] + f * ln, d, segs

    # -- queries --------------------------------------------------------------------------------
    def nearest_in_window(
        self,
        x: float,
        y: float,
        s_lo: float,
        s_hi: float,
        s_pred: float = 0.0,
        weight: float = 0.0,
        back_weight: float | None = None,
        band: float = 0.0,
    ) -> tuple[float, float, int]:
        """Best point of the route between distances ``s_lo`` and ``s_hi`` along it.

        The best point minimises ``offset + weight * (route_m - s_pred)`` ahead of
        ``s_pred`` and ``offset + back_weight * (s_pred - route_m)`` behind it: with
        zero weights it is the nearest point; small weights keep the match on the
        pass the runner is expected on where two passes are almost equally near
        (switchbacks, the turn of an out-and-back). ``band`` metres ahead of ``s_pred``
        cost nothing (the distance the runner may have run since the last fix: the
        forward cost starts beyond it). Returns ``(route_m, offset_m, segment)``; ties go to the
        segment nearest the start of the window.
        """
        bw = weight if back_weight is None else back_weight
        k0 = self.seg_at(s_lo)
        k1 = self.seg_at(s_hi)
        if weight > 0 and bw > 0:  # the pruned search (see best_in_window), outwards from s_pred
            s_pred = min(max(s_pred, s_lo), s_hi)
            kp = min(max(self.seg_at(s_pred), k0), k1)
            ax, ay, dx, dy, ln, cum = self._ax, self._ay, self._dx, self._dy, self._ln, self._cum_list
            return best_in_window(x, y, ax, ay, dx, dy, ln, cum, k0, k1, kp, s_pred, weight, bw, band)
        if k1 - k0 < 8:  # a handful of segments: plain Python beats numpy's call overhead
            # a forward scan from the window's start: its pruning only skips segments wholly ahead
            # whose continuity cost alone reaches the best so far, so it is the plain nearest
            return best_in_window(
                x, y, self._ax, self._ay, self._dx, self._dy, self._ln, self._cum_list, k0, k1, k0, s_pred, weight, bw,
                band,
            )  # fmt: skip
        s, d, segs = self._nearest_on(np.arange(k0, k1 + 1), x, y)
        if weight or bw:
            s_far = s_pred + band
            cost = np.where(s > s_far, weight * (s - s_far), np.where(s < s_pred, bw * (s_pred - s), 0.0))
            i = int(np.argmin(d + cost))
        else:
            i = int(np.argmin(d))
        return float(s[i]), float(d[i]), int(segs[i])

    def ascent_between(self, s0: float, s1: float) -> float:
        """Climb in metres along the route from ``s0`` to ``s1`` (0 without elevation)."""
        a0, a1 = np.interp([s0, s1], self.cum, self.cum_ascent_m)
        return float(max(a1 - a0, 0.0))

    def segments_near(self, x: float, y: float, radius_m: float) -> Any:
        """Indices of segments in the grid cells within ``radius_m`` of (x, y), sorted, unique."""
        c = self.cell_m
        gx0, gx1 = math.floor((x - radius_m) / c), math.floor((x + radius_m) / c)
        gy0, gy1 = math.floor((y - radius_m) / c), math.floor((y + radius_m) / c)
        if (gx1 - gx0 + 1) * (gy1 - gy0 + 1) > max(self._nseg, 64):
            # a radius wider than the route's grid (a fix reporting an accuracy of kilometres):
            # every segment is cheaper than every cell
            return np.arange(self._nseg, dtype=np.int64)
        found = [
            self._grid[(gx, gy)] for gx in range(gx0, gx1 + 1) for gy in range(gy0, gy1 + 1) if (gx, gy) in self._grid
        ]
        if not found:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(found)) if len(found) > 1 else found[0]

    def passes_near(
        self, x: float, y: float, radius_m: float, gap_m: float | None = None
    ) -> list[tuple[float, float, int]]:
        """Every distinct pass of the route within ``radius_m`` of (x, y), in order along the route.

        Segments within the radius whose nearest points are no more than
        ``gap_m`` apart along the route (default ``2 * radius_m``) form one pass;
        each pass gives its nearest point ``(route_m, offset_m, segment)``.
        """
        segs = self.segments_near(x, y, radius_m)
        if len(segs) == 0:
            return []
        s, d, segs = self._nearest_on(segs, x, y)
        keep = d <= radius_m
        if not keep.any():
            return []
        s, d, segs = s[keep], d[keep], segs[keep]
        gap = 2.0 * radius_m if gap_m is None else gap_m
        out: list[tuple[float, float, int]] = []
        start = 0
        for i in range(1, len(segs) + 1):
            if i == len(segs) or s[i] - s[i - 1] > gap:
                j = start + int(np.argmin(d[start:i]))
                out.append((float(s[j]), float(d[j]), int(segs[j])))
                start = i
        return out

    def nearest_global(self, x: float, y: float, max_radius_m: float = 51_200.0) -> tuple[float, float, int] | None:
        """Globally nearest point of the route, searching outwards up to ``max_radius_m``; None when farther."""
        r = self.cell_m
        while r <= min(max_radius_m, 16.0 * self.cell_m):
            passes = self.passes_near(x, y, r)
            if passes:
                return min(passes, key=lambda p: p[1])
            r *= 2.0
        # farther out the grid has more cells than the route has segments: scan them all at once
        s, d, segs = self._nearest_on(np.arange(self._nseg), x, y)
        i = int(np.argmin(d))
        if d[i] > max_radius_m:
            return None
        return float(s[i]), float(d[i]), int(segs[i])

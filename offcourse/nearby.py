"""Which route segments lie within a fixed distance of many points at once: a uniform grid, in numpy.

:class:`SegmentGrid` answers the question hindsight asks of every fix of a recording (the passes of
the route within :data:`offcourse.passes.CANDIDATE_RADIUS_M`) for all fixes in one go. It gives
exactly the pairs shapely's ``STRtree.query(points, predicate="dwithin", distance=r)`` gives over
the segments' linestrings: the same envelope test and the same point-to-segment arithmetic as GEOS
(``Distance::pointToSegment``, the distance between envelopes first), on the same coordinates
(each segment from ``a`` to ``a + d``). shapely stays the reference in the tests; this is the fast
path (no geometry objects, no tree walk per point).

How: every segment is listed in each grid cell within the radius of it (a long segment is cut into
pieces no longer than a cell, so a straight kilometre costs a few cells per cell length, not its
bounding box), so a point needs look only in its own cell; those segments are then tested exactly.
The pairs come out sorted by point, then by segment.

Examples
--------
>>> import numpy as np
>>> g = SegmentGrid(np.array([0.0, 100.0]), np.array([0.0, 0.0]), np.array([100.0, 0.0]),
...                 np.array([0.0, 100.0]), radius_m=50.0)
>>> pi, si = g.query(np.array([50.0, 150.0, 120.0, np.nan]), np.array([50.0, 0.0, 300.0, 0.0]))
>>> pi.tolist(), si.tolist()
([0, 0, 1, 1], [0, 1, 0, 1])
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["SegmentGrid"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

REGISTER_MARGIN_M = 1.0
"""Segments are listed in the cells within the radius plus this much of them: rounding in the cell
arithmetic can then never leave out a segment the exact test would take (it only adds a few to test)."""


class SegmentGrid:
    """Segments ``(ax, ay) -> (ax + dx, ay + dy)`` in a uniform grid, for queries of one radius.

    Parameters
    ----------
    ax, ay, dx, dy : ndarray
        Start and direction of each segment, metres.
    radius_m : float
        The distance the queries ask for.
    cell_m : float, optional
        Grid cell size (default: the radius; smaller cells list more segments, larger ones test more).
    """

    def __init__(
        self,
        ax: FloatArray,
        ay: FloatArray,
        dx: FloatArray,
        dy: FloatArray,
        radius_m: float,
        cell_m: float | None = None,
    ) -> None:
        self.radius_m = float(radius_m)
        self.cell_m = float(cell_m) if cell_m is not None else max(self.radius_m, 1.0)
        self.ax = np.ascontiguousarray(ax, dtype=np.float64)
        self.ay = np.ascontiguousarray(ay, dtype=np.float64)
        # the segments' end points as shapely holds them (a + d, not the route's next vertex)
        self.bx = self.ax + np.asarray(dx, dtype=np.float64)
        self.by = self.ay + np.asarray(dy, dtype=np.float64)
        self.minx, self.maxx = np.minimum(self.ax, self.bx), np.maximum(self.ax, self.bx)
        self.miny, self.maxy = np.minimum(self.ay, self.by), np.maximum(self.ay, self.by)
        big = np.abs(np.concatenate([self.minx, self.maxx, self.miny, self.maxy]))
        size = float(big[np.isfinite(big)].max(initial=0.0)) + self.cell_m + self.radius_m
        self.tolerance_m = 1e-9 * (size + 1.0)
        """Any two ways of computing a distance from the coordinates (up to a few thousand roundings of
        numbers of this size, far more than any formula has) agree within this much: a distance
        farther than this from the radius decides alone (see :meth:`decide`)."""
        self._build()

    def _build(self) -> None:
        c, reach = self.cell_m, self.radius_m + REGISTER_MARGIN_M
        n = len(self.ax)
        ok = np.isfinite(self.minx) & np.isfinite(self.maxx) & np.isfinite(self.miny) & np.isfinite(self.maxy)
        seg_ids = np.flatnonzero(ok)
        # cut long segments into pieces at most one cell long; each piece lists its dilated box
        length = np.hypot(self.bx[seg_ids] - self.ax[seg_ids], self.by[seg_ids] - self.ay[seg_ids])
        pieces = np.maximum(np.ceil(length / c), 1.0).astype(np.int64)
        pid = np.repeat(seg_ids, pieces)
        first = np.repeat(np.cumsum(pieces) - pieces, pieces)
        k = np.arange(len(pid), dtype=np.int64) - first
        m = np.repeat(pieces, pieces).astype(np.float64)
        ax, ay = self.ax[pid], self.ay[pid]
        ddx, ddy = self.bx[pid] - ax, self.by[pid] - ay
        x0, x1 = ax + ddx * (k / m), ax + ddx * ((k + 1) / m)
        y0, y1 = ay + ddy * (k / m), ay + ddy * ((k + 1) / m)
        gx0 = np.floor((np.minimum(x0, x1) - reach) / c).astype(np.int64)
        gx1 = np.floor((np.maximum(x0, x1) + reach) / c).astype(np.int64)
        gy0 = np.floor((np.minimum(y0, y1) - reach) / c).astype(np.int64)
        gy1 = np.floor((np.maximum(y0, y1) + reach) / c).astype(np.int64)
        if len(pid) == 0:
            self._gx0 = self._gy0 = 0
            self._ny = 1
            self._cells = np.zeros(0, dtype=np.int64)
            self._starts = np.zeros(1, dtype=np.int64)
            self._segs = np.zeros(0, dtype=np.int64)
            return
        self._gx0, self._gy0 = int(gx0.min()), int(gy0.min())
        self._gx1, self._gy1 = int(gx1.max()), int(gy1.max())
        self._ny = self._gy1 - self._gy0 + 1
        wx, wy = gx1 - gx0 + 1, gy1 - gy0 + 1
        cnt = wx * wy
        owner = np.repeat(np.arange(len(pid), dtype=np.int64), cnt)
        off = np.arange(int(cnt.sum()), dtype=np.int64) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        cx = gx0[owner] + off // wy[owner] - self._gx0
        cy = gy0[owner] + off % wy[owner] - self._gy0
        code = cx * self._ny + cy
        key = np.unique(code * max(n, 1) + pid[owner])  # sorted by cell, then segment; no duplicates
        code, seg = np.divmod(key, max(n, 1))
        new = np.ones(len(code), dtype=bool)
        new[1:] = code[1:] != code[:-1]
        self._cells = code[new]
        self._starts = np.append(np.flatnonzero(new), len(code)).astype(np.int64)
        self._segs = seg.astype(np.int64)

    def pairs(self, x: FloatArray, y: FloatArray) -> tuple[IntArray, IntArray]:
        """Pairs (point, segment) that may be within the radius: every pair that is, and some more;
        sorted by point, then segment. Points with NaN coordinates have none."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        empty = np.zeros(0, dtype=np.int64)
        if len(x) == 0 or len(self._cells) == 0:
            return empty, empty
        c = self.cell_m
        with np.errstate(invalid="ignore"):
            fx = np.floor(x / c) - self._gx0
            fy = np.floor(y / c) - self._gy0
        inside = (fx >= 0) & (fx <= self._gx1 - self._gx0) & (fy >= 0) & (fy < self._ny)  # False for NaN
        pts = np.flatnonzero(inside)
        code = fx[pts].astype(np.int64) * self._ny + fy[pts].astype(np.int64)
        at = np.searchsorted(self._cells, code)
        at[at == len(self._cells)] = 0
        hit = self._cells[at] == code
        pts, at = pts[hit], at[hit]
        lo = self._starts[at]
        cnt = self._starts[at + 1] - lo
        total = int(cnt.sum())
        if total == 0:
            return empty, empty
        pi = np.repeat(pts, cnt)
        si = self._segs[np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(total, dtype=np.int64)]
        return pi, si

    def arrays(self) -> tuple[float, int, int, int, int, IntArray, IntArray, IntArray]:
        """The grid for compiled code (:func:`offcourse._hindsight_loops.grid_pairs`): cell size, first
        cell column and row, the columns' span, the rows, the sorted cell codes, where each cell's
        segments start (one more, the end) and the segments."""
        span = self._gx1 - self._gx0 if len(self._cells) else 0
        return self.cell_m, self._gx0, self._gy0, span, self._ny, self._cells, self._starts, self._segs

    def decide(self, px: FloatArray, py: FloatArray, si: IntArray, d: FloatArray) -> npt.NDArray[np.bool_]:
        """Whether each point is within the radius of segment ``si``, given ``d``, its distance to the
        segment computed any reasonable way (within :attr:`tolerance_m` of the exact one): the exact
        test (:meth:`within`) runs only where ``d`` is that near the radius."""
        r, tol = self.radius_m, self.tolerance_m
        keep: npt.NDArray[np.bool_] = d <= r
        unsure = np.flatnonzero(np.abs(d - r) <= tol)
        if len(unsure):
            keep[unsure] = self.within(px[unsure], py[unsure], si[unsure])
        return keep

    def query(self, x: FloatArray, y: FloatArray) -> tuple[IntArray, IntArray]:
        """Pairs (point, segment) with the segment within the radius of the point, as shapely's
        ``dwithin`` finds them; sorted by point, then segment. Points with NaN coordinates have none."""
        pi, si = self.pairs(x, y)
        px, py = np.asarray(x, dtype=np.float64)[pi], np.asarray(y, dtype=np.float64)[pi]
        ax, ay = self.ax[si], self.ay[si]
        vx, vy = self.bx[si] - ax, self.by[si] - ay
        len2 = vx * vx + vy * vy
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.clip(((px - ax) * vx + (py - ay) * vy) / np.where(len2 > 0, len2, 1.0), 0.0, 1.0)
        ex, ey = ax + t * vx - px, ay + t * vy - py
        keep = self.decide(px, py, si, np.sqrt(ex * ex + ey * ey))
        return pi[keep], si[keep]

    def within(self, px: FloatArray, py: FloatArray, si: IntArray) -> npt.NDArray[np.bool_]:
        """Whether each point ``(px, py)`` is within the radius of segment ``si``, as GEOS decides it.

        The tree's envelope test (the point's envelope grown by the radius meets the segment's),
        the distance between the envelopes, then ``Distance::pointToSegment`` (projection parameter
        ``r``, the end point's distance outside [0, 1], ``|s| * sqrt(len2)`` inside), each with
        GEOS's own operations in its order, so that a point on the radius falls where GEOS puts it.
        """
        r = self.radius_m
        minx, maxx, miny, maxy = self.minx[si], self.maxx[si], self.miny[si], self.maxy[si]
        keep = (minx <= px + r) & (maxx >= px - r) & (miny <= py + r) & (maxy >= py - r)
        # the distance between the envelopes as GEOS computes it (Envelope::distanceSquared: the
        # span of both less their widths; a point's envelope has none), rounding included
        ex = np.maximum(np.maximum(maxx, px) - np.minimum(minx, px) - (maxx - minx), 0.0)
        ey = np.maximum(np.maximum(maxy, py) - np.minimum(miny, py) - (maxy - miny), 0.0)
        keep &= np.sqrt(ex * ex + ey * ey) <= r
        idx = np.flatnonzero(keep)
        px, py, si = px[idx], py[idx], si[idx]
        ax, ay, bx, by = self.ax[si], self.ay[si], self.bx[si], self.by[si]
        vx, vy = bx - ax, by - ay
        len2 = vx * vx + vy * vy
        same = (ax == bx) & (ay == by)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = ((px - ax) * vx + (py - ay) * vy) / len2
            s = ((ay - py) * vx - (ax - px) * vy) / len2
            inner = np.abs(s) * np.sqrt(len2)
        qx, qy = px - ax, py - ay
        da = np.sqrt(qx * qx + qy * qy)
        qx, qy = px - bx, py - by
        db = np.sqrt(qx * qx + qy * qy)
        d = np.where(same | (t <= 0.0), da, np.where(t >= 1.0, db, inner))
        keep[idx] = d <= r
        return keep

"""Plane geometry in metres, written once: the point-to-segment projection and the position check.

Every place that projects a point onto the route's segments uses these functions: the route's
own :meth:`~offcourse.model.Route.nearest`, :class:`~offcourse.match.RouteIndex` and the
compiled kernel of the alert engine (:mod:`offcourse.detect._kernel`, which compiles the scalar
functions here with numba). So the Python engine and the compiled one compute the same bits.

Distances are square roots of sums of squares (not ``hypot``) in the scalar functions, in the
same order everywhere, with no fused multiply-add: the compiled kernel reproduces them bit for bit.

Examples
--------
>>> project_on_segment(5.0, 3.0, 0.0, 0.0, 10.0, 0.0, 10.0)
(0.5, 3.0)
>>> valid_position(7.0, 46.0), valid_position(0.0, 0.0), valid_position(200.0, 46.0)
(True, False, False)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

__all__ = [
    "GRID_SPAN",
    "best_in_window",
    "continuity_cost",
    "nearest_offset",
    "project_on_segment",
    "project_on_segments",
    "segment_gap",
    "segment_offset",
    "segment_offset_sq",
    "segments_within",
    "valid_position",
    "valid_positions",
]


def segment_gap(
    x: float, y: float, ax: float, ay: float, dx: float, dy: float, length_m: float
) -> tuple[float, float, float]:
    """The one projection of the point (x, y) onto the segment from (ax, ay) along (dx, dy), ``length_m`` long.

    Returns
    -------
    (fraction, ex, ey) : tuple of float
        Where the nearest point of the segment lies, as a fraction of its length in [0, 1] (0 for a
        segment of zero length), and the vector from the point to it. Every distance to a segment in
        offcourse is computed from these (:func:`project_on_segment`, :func:`segment_offset`).
    """
    l2 = length_m * length_m
    f = ((x - ax) * dx + (y - ay) * dy) / l2 if l2 > 0 else 0.0
    f = 0.0 if f < 0.0 else (1.0 if f > 1.0 else f)
    return f, ax + f * dx - x, ay + f * dy - y


def project_on_segment(
    x: float, y: float, ax: float, ay: float, dx: float, dy: float, length_m: float
) -> tuple[float, float]:
    """:func:`segment_gap` as ``(fraction, offset_m)``, the offset a square root of the sum of squares."""
    f, ex, ey = segment_gap(x, y, ax, ay, dx, dy, length_m)
    return f, math.sqrt(ex * ex + ey * ey)


def project_on_segments(
    x: float, y: float, ax: FloatArray, ay: FloatArray, dx: FloatArray, dy: FloatArray, length_m: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """:func:`segment_gap` for one point and many segments (numpy arrays): fractions and offsets.

    The same arithmetic, vectorised (a separate form because numpy needs no branch); the offsets are
    ``hypot``, as :func:`segment_offset` gives them for one segment.
    """
    l2 = length_m * length_m
    f = np.clip(((x - ax) * dx + (y - ay) * dy) / np.where(l2 > 0, l2, 1.0), 0.0, 1.0)
    return f, np.hypot(ax + f * dx - x, ay + f * dy - y)


def best_in_window(
    x: float,
    y: float,
    ax: Any,
    ay: Any,
    dx: Any,
    dy: Any,
    ln: Any,
    cum: Any,
    k0: int,
    k1: int,
    kp: int,
    s_pred: float,
    weight: float,
    back_weight: float,
    band: float,
) -> tuple[float, float, int]:
    """The segment point between segments ``k0`` and ``k1`` minimising offset plus continuity cost.

    The cost is ``offset + weight * (s - (s_pred + band))`` ahead of ``s_pred + band``, ``offset +
    back_weight * (s_pred - s)`` behind ``s_pred``, and the offset alone in between (``band`` >= 0:
    the distance the runner may have run since the last fix; both weights > 0). The scan starts at
    segment ``kp`` (the one holding ``s_pred``) and goes outwards: a segment wholly ahead of the band
    costs at least ``weight`` times its distance beyond it (offsets are never negative), one wholly
    behind at least ``back_weight`` times its distance behind, so each side stops at the first
    segment that cannot beat the best so far. Ties go to the segment nearest the start of the window.

    The segment columns (``ax`` ... ``cum``, as in :class:`~offcourse.match.RouteIndex`) may be lists
    (fast scalar indexing in Python) or numpy arrays (the compiled kernel).

    Returns
    -------
    (route_m, offset_m, segment) : tuple
    """
    best_c = math.inf
    best_s = 0.0
    best_d = 0.0
    best_k = kp
    s_far = s_pred + band
    for k in range(kp, k1 + 1):
        if k > kp and weight * (cum[k] - s_far) >= best_c:
            break
        lk = ln[k]
        f, ex, ey = segment_gap(x, y, ax[k], ay[k], dx[k], dy[k], lk)
        d = math.sqrt(ex * ex + ey * ey)
        sk = cum[k] + f * lk
        c = d + continuity_cost(sk, s_pred, s_far, weight, back_weight)
        if c < best_c:
            best_c, best_s, best_d, best_k = c, sk, d, k
    for k in range(kp - 1, k0 - 1, -1):
        if back_weight * (s_pred - cum[k + 1]) >= best_c:
            break
        lk = ln[k]
        f, ex, ey = segment_gap(x, y, ax[k], ay[k], dx[k], dy[k], lk)
        d = math.sqrt(ex * ex + ey * ey)
        sk = cum[k] + f * lk
        c = d + continuity_cost(sk, s_pred, s_far, weight, back_weight)
        if c <= best_c:  # ties go to the segment nearest the start of the window
            best_c, best_s, best_d, best_k = c, sk, d, k
    return best_s, best_d, best_k


def continuity_cost(s: float, s_pred: float, s_far: float, weight: float, back_weight: float) -> float:
    """The continuity cost of :func:`best_in_window` at ``s`` along the route: ``weight`` per metre
    beyond ``s_far``, ``back_weight`` per metre behind ``s_pred``, nothing in between."""
    if s > s_far:
        return weight * (s - s_far)
    if s < s_pred:
        return back_weight * (s_pred - s)
    return 0.0


def valid_position(lon: float, lat: float) -> bool:
    """A usable position: finite, in range, and not the receiver's (0, 0) before it has a fix."""
    return (
        math.isfinite(lon)
        and math.isfinite(lat)
        and abs(lat) <= 90
        and abs(lon) <= 180
        and not (lon == 0.0 and lat == 0.0)
    )


def valid_positions(lon: FloatArray, lat: FloatArray) -> Any:
    """:func:`valid_position` for arrays: a boolean mask."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return (
            np.isfinite(lon)
            & np.isfinite(lat)
            & (np.abs(lat) <= 90)
            & (np.abs(lon) <= 180)
            & ~((lon == 0.0) & (lat == 0.0))
        )


def segment_offset(x: float, y: float, ax: float, ay: float, dx: float, dy: float, length_m: float) -> float:
    """One offset of :func:`project_on_segments`, to the bit (``hypot``, as numpy gives it)."""
    _, ex, ey = segment_gap(x, y, ax, ay, dx, dy, length_m)
    return float(np.hypot(ex, ey))


def segment_offset_sq(x: float, y: float, ax: float, ay: float, dx: float, dy: float, length_m: float) -> float:
    """The square of :func:`segment_offset`, cheaply (no ``hypot``), to a few ulps: for ranking only."""
    _, ex, ey = segment_gap(x, y, ax, ay, dx, dy, length_m)
    return ex * ex + ey * ey


GRID_SPAN = 2**31
"""Cell codes of :func:`nearest_offset`: ``(gx + GRID_SPAN // 2) * GRID_SPAN + gy + GRID_SPAN // 2``."""


def nearest_offset(
    x: float,
    y: float,
    ax: Any,
    ay: Any,
    dx: Any,
    dy: Any,
    ln: Any,
    codes: Any,
    starts: Any,
    segs: Any,
    cell_m: float,
    max_ring: int,
) -> float:
    """Distance from (x, y) to the nearest segment, exactly (the minimum of :func:`segment_offset`).

    The segments are found through a grid of ``cell_m`` cells: cell code ``codes[i]`` (sorted, see
    :data:`GRID_SPAN`) lists the segments ``segs[starts[i]:starts[i + 1]]`` whose bounding box
    touches it. Rings of cells are searched outwards from the point's cell: once the best distance is
    at most the radius the rings cover, it is the nearest; beyond ``max_ring`` rings every segment
    is scanned.
    """
    half = GRID_SPAN // 2
    cx = math.floor(x / cell_m)
    cy = math.floor(y / cell_m)
    best = math.inf
    if abs(cx) < half // 2 and abs(cy) < half // 2:
        for r in range(max_ring + 1):
            for gx in range(cx - r, cx + r + 1):
                edge = gx == cx - r or gx == cx + r
                step = 1 if edge else 2 * r
                gy = cy - r
                while gy <= cy + r:
                    code = (gx + half) * GRID_SPAN + gy + half
                    i = np.searchsorted(codes, code)
                    if i < codes.shape[0] and codes[i] == code:
                        for j in range(starts[i], starts[i + 1]):
                            k = segs[j]
                            d = segment_offset(x, y, ax[k], ay[k], dx[k], dy[k], ln[k])
                            best = min(best, d)
                    gy += step
            if best <= r * cell_m:
                return best
    for k in range(ax.shape[0]):
        best = min(best, segment_offset(x, y, ax[k], ay[k], dx[k], dy[k], ln[k]))
    return best


def segments_within(
    x: float,
    y: float,
    radius_m: float,
    ax: Any,
    ay: Any,
    dx: Any,
    dy: Any,
    ln: Any,
    codes: Any,
    starts: Any,
    segs: Any,
    cell_m: float,
    max_ring: int,
    mark: Any,
    stamp: int,
    out: Any,
) -> int:
    """Write to ``out`` the segments at most ``radius_m`` from (x, y) (by :func:`segment_offset`); returns their count.

    The grid is that of :func:`nearest_offset`; beyond ``max_ring`` rings every segment is checked.
    ``mark`` (one integer per segment) and a ``stamp`` not used before in it keep each segment once.
    """
    half = GRID_SPAN // 2
    cx = math.floor(x / cell_m)
    cy = math.floor(y / cell_m)
    rings = math.floor(radius_m / cell_m) + 1
    n = 0
    if rings <= max_ring and abs(cx) < half // 2 and abs(cy) < half // 2:
        for gx in range(cx - rings, cx + rings + 1):
            for gy in range(cy - rings, cy + rings + 1):
                code = (gx + half) * GRID_SPAN + gy + half
                i = np.searchsorted(codes, code)
                if i < codes.shape[0] and codes[i] == code:
                    for j in range(starts[i], starts[i + 1]):
                        k = segs[j]
                        if mark[k] != stamp:
                            mark[k] = stamp
                            if segment_offset(x, y, ax[k], ay[k], dx[k], dy[k], ln[k]) <= radius_m:
                                out[n] = k
                                n += 1
        return n
    for k in range(ax.shape[0]):
        if segment_offset(x, y, ax[k], ay[k], dx[k], dy[k], ln[k]) <= radius_m:
            out[n] = k
            n += 1
    return n

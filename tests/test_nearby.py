"""The grid search of :mod:`offcourse.nearby` finds exactly the pairs shapely's STRtree ``dwithin`` finds.

shapely is the reference: the segments as linestrings from ``a`` to ``a + d``, queried with
``predicate="dwithin"``. Compared on tiny geometry in metres with exact answers, on points placed on
the radius to within 1e-6 m and to the last bits, on a route that doubles back on itself, on long and
zero-length segments, and on the real route/recording pairs of ``bench/real_pairs.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely

from offcourse import passes
from offcourse.match import RouteIndex
from offcourse.nearby import SegmentGrid

from . import synth
from .test_coverage_speed import SWITCHBACKS, as_lists, candidates_reference

REPO = Path(__file__).resolve().parents[1]
R = passes.CANDIDATE_RADIUS_M


def shapely_pairs(ax: np.ndarray, ay: np.ndarray, dx: np.ndarray, dy: np.ndarray, x: np.ndarray, y: np.ndarray):
    """The reference: shapely's STRtree over the segments, ``dwithin`` R, sorted by point then segment."""
    xy0 = np.column_stack([ax, ay])
    tree = shapely.STRtree(shapely.linestrings(np.stack([xy0, xy0 + np.column_stack([dx, dy])], axis=1)))
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))  # shapely raises on a NaN point
    pi, si = tree.query(shapely.points(x[ok], y[ok]), predicate="dwithin", distance=R)
    o = np.lexsort((si, pi))
    return ok[pi[o]], si[o].astype(np.int64)


def grid_of(path: list[tuple[float, float]], **kw: float) -> tuple[SegmentGrid, tuple[np.ndarray, ...]]:
    a = np.array(path, dtype=float)
    seg = (a[:-1, 0], a[:-1, 1], np.diff(a[:, 0]), np.diff(a[:, 1]))
    return SegmentGrid(*seg, radius_m=R, **kw), seg


def assert_same(grid: SegmentGrid, seg: tuple[np.ndarray, ...], x: np.ndarray, y: np.ndarray) -> int:
    want = shapely_pairs(*seg, x, y)
    got = grid.query(x, y)
    assert got[0].tolist() == want[0].tolist()
    assert got[1].tolist() == want[1].tolist()
    # the exact test alone (every pair through GEOS's arithmetic) says the same
    pi, si = grid.pairs(x, y)
    keep = grid.within(x[pi], y[pi], si)
    assert pi[keep].tolist() == want[0].tolist() and si[keep].tolist() == want[1].tolist()
    return len(want[0])


def on_the_radius(seg: tuple[np.ndarray, ...], rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Points at R (plus a tiny offset) from random segments: beside them, beyond their ends, on their axis."""
    ax, ay, dx, dy = seg
    k = rng.integers(0, len(ax), n)
    t = rng.uniform(-0.3, 1.3, n)
    ln = np.hypot(dx[k], dy[k])
    ln[ln == 0] = 1.0
    eps = rng.choice([0.0, 1e-6, -1e-6, 1e-9, -1e-9, 1e-12, -1e-12, 3e-14, -3e-14], n)
    side = rng.choice([-1.0, 1.0], n)
    x = ax[k] + t * dx[k] - side * dy[k] / ln * (R + eps)
    y = ay[k] + t * dy[k] + side * dx[k] / ln * (R + eps)
    ang = rng.uniform(0, 2 * np.pi, n)
    end = rng.random(n) < 0.4  # around an end point
    x[end] = ax[k][end] + np.cos(ang[end]) * (R + eps[end])
    y[end] = ay[k][end] + np.sin(ang[end]) * (R + eps[end])
    axis = rng.random(n) < 0.1  # straight east of a vertex
    x[axis] = ax[k][axis] + (R + eps[axis])
    y[axis] = ay[k][axis]
    return x, y


def test_tiny_route_exact_answers() -> None:
    # east 100 m, then north 100 m
    grid, seg = grid_of([(0.0, 0.0), (100.0, 0.0), (100.0, 100.0)])
    x = np.array([50.0, 50.0, 50.0, 150.0, 150.0 + 1e-6, -50.0, -50.0 - 1e-6, 100.0, 40.0, np.nan, 50.0])
    y = np.array([50.0, 50.0 + 1e-6, 50.0 - 1e-6, 50.0, 50.0, 0.0, 0.0, 160.0, 60.0, 0.0, np.nan])
    pi, si = grid.query(x, y)
    # (50, 50): exactly R from the first leg, 50 m from the second (x = 100): on both
    # (150, 50): R east of the second leg; (-50, 0): R west of the start; (100, 160): 60 m past the end
    assert list(zip(pi.tolist(), si.tolist(), strict=True)) == [
        (0, 0), (0, 1), (1, 1), (2, 0), (2, 1), (3, 1), (5, 0)
    ]  # fmt: skip
    assert_same(grid, seg, x, y)


def test_nan_and_far_points_have_no_pairs() -> None:
    grid, _ = grid_of([(0.0, 0.0), (100.0, 0.0)])
    pi, si = grid.query(np.array([np.nan, 1e7, -1e7, 50.0, np.inf]), np.array([0.0, 0.0, 0.0, np.nan, 0.0]))
    assert pi.tolist() == [] and si.tolist() == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_points_on_the_radius_fall_where_geos_puts_them(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # a wandering route far from the origin (large coordinates round more), with short and long legs
    heading = np.cumsum(rng.normal(0, 0.8, 200))
    step = rng.choice([0.5, 15.0, 400.0], 200)
    path = np.column_stack([np.cumsum(step * np.cos(heading)), np.cumsum(step * np.sin(heading))])
    path += rng.uniform(-2e5, 2e5, 2)
    grid, seg = grid_of(list(map(tuple, path.tolist())))
    x, y = on_the_radius(seg, rng, 20_000)
    assert assert_same(grid, seg, x, y) > 5000


def test_a_route_that_doubles_back_on_itself() -> None:
    # out and back on the same line, then again 30 m to the side, with whole-metre vertices
    path = [(0.0, 0.0), (500.0, 0.0), (0.0, 0.0), (0.0, 30.0), (500.0, 30.0), (250.0, 30.0)]
    grid, seg = grid_of(path)
    rng = np.random.default_rng(4)
    xr, yr = on_the_radius(seg, rng, 3000)
    x = np.concatenate([rng.uniform(-80, 580, 3000), xr])
    y = np.concatenate([rng.uniform(-80, 110, 3000), yr])
    pi, si = grid.query(np.array([250.0]), np.array([10.0]))
    assert pi.tolist() == [0, 0, 0, 0]
    assert si.tolist() == [0, 1, 3, 4]  # both ways along y = 0, both along y = 30
    assert assert_same(grid, seg, x, y) > 6000


def test_long_and_zero_length_segments() -> None:
    # a 30 km diagonal (cut into pieces: its bounding box holds 176,000 cells of 50 m), a repeated vertex
    path = [(0.0, 0.0), (0.0, 0.0), (21_000.0, 21_000.0), (21_000.0, 21_050.0), (21_000.0, 21_050.0)]
    grid, seg = grid_of(path)
    assert len(grid._segs) < 10 * 30_000 / grid.cell_m  # a few cells per cell length
    rng = np.random.default_rng(5)
    s = rng.uniform(-100, 30_000, 5000)
    x = s / np.sqrt(2) + rng.normal(0, 40, 5000)
    y = s / np.sqrt(2) + rng.normal(0, 40, 5000)
    xr, yr = on_the_radius(seg, rng, 5000)
    assert assert_same(grid, seg, np.concatenate([x, xr]), np.concatenate([y, yr])) > 5000


@pytest.mark.parametrize("cell_m", [7.0, 100.0, 333.0])
def test_any_cell_size_gives_the_same_pairs(cell_m: float) -> None:
    grid, seg = grid_of(SWITCHBACKS, cell_m=cell_m)
    rng = np.random.default_rng(6)
    x, y = rng.uniform(-100, 400, 4000), rng.uniform(-100, 180, 4000)
    assert assert_same(grid, seg, x, y) > 4000


def test_candidates_on_a_route_that_doubles_back_are_those_of_shapely() -> None:
    idx = RouteIndex(synth.route([(0.0, 0.0), (600.0, 0.0), (0.0, 0.0), (0.0, 40.0), (600.0, 40.0)]))
    rng = np.random.default_rng(8)
    x, y = rng.uniform(-80, 680, 4000), rng.uniform(-80, 120, 4000)
    ref_s, ref_d = candidates_reference(idx, x, y)
    ptr, s, d = passes.candidates(idx, x, y)
    assert as_lists(ptr, s) == ref_s and as_lists(ptr, d) == ref_d
    assert max(len(v) for v in ref_d) >= 3  # out, back and the parallel leg


def _real_pairs() -> list[dict[str, str]]:
    pairs: list[dict[str, str]] = json.loads((REPO / "bench" / "real_pairs.json").read_text(encoding="utf-8"))
    return pairs


@pytest.mark.skipif(not (REPO / "../shared/data").is_dir(), reason="the real corpus (../shared/data) is absent")
def test_real_routes_and_recordings_give_the_pairs_of_shapely() -> None:
    import offcourse
    from offcourse.errors import OffcourseError
    from offcourse.report import project_track

    compared = 0
    for p in _real_pairs():
        try:
            route = offcourse.read_route(REPO / p["route"], track=0)
            track = offcourse.read_track(REPO / p["track"])
        except OffcourseError:
            continue  # an unreadable pair (its error is the check's result, not ours)
        idx = RouteIndex(route)
        x, y = project_track(route, track)
        grid = idx.segment_grid(R)
        seg = (idx.ax, idx.ay, idx.dx, idx.dy)
        n = assert_same(grid, seg, x, y)
        ok = np.flatnonzero(np.isfinite(x))
        ref_s, ref_d = candidates_reference(idx, x[ok], y[ok])
        ptr, s, d = passes.candidates(idx, x[ok], y[ok])
        assert as_lists(ptr, s) == ref_s and as_lists(ptr, d) == ref_d
        compared += n > 0
    assert compared >= 20

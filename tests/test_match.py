"""Progress matching: the pruned window search gives the same answer as scanning the whole window."""

from __future__ import annotations

import numpy as np
import pytest

from offcourse.match import RouteIndex
from tests.synth import route


def cost(s: float | np.ndarray, s_pred: float, w: float, bw: float, band: float = 0.0) -> np.ndarray:
    """The continuity cost written out: w per metre beyond s_pred + band, bw per metre behind s_pred."""
    s = np.asarray(s, dtype=float)
    return np.where(s > s_pred + band, w * (s - s_pred - band), np.where(s < s_pred, bw * (s_pred - s), 0.0))


def full_scan(
    idx: RouteIndex, x: float, y: float, lo: float, hi: float, s_pred: float, w: float, bw: float, band: float = 0.0
) -> float:
    k0, k1 = idx.seg_at(lo), idx.seg_at(hi)
    s, d, _ = idx._nearest_on(np.arange(k0, k1 + 1), x, y)
    return float(np.min(d + cost(s, s_pred, w, bw, band)))


@pytest.mark.parametrize("seed", range(5))
def test_pruned_window_search_equals_full_scan(seed: int) -> None:
    rng = np.random.default_rng(seed)
    heading = np.cumsum(rng.normal(0, 0.6, 400))  # a twisting trail, vertices every 0-20 m
    step = rng.uniform(0.5, 20.0, 400)
    xy = np.column_stack([np.cumsum(step * np.cos(heading)), np.cumsum(step * np.sin(heading))])
    idx = RouteIndex(route([(float(a), float(b)) for a, b in xy]))
    for _ in range(300):
        s_pred = rng.uniform(0, idx.length_m)
        lo, hi = s_pred - rng.uniform(0, 100), s_pred + rng.uniform(0, 400)
        px, py = idx.route.point_at(s_pred + rng.normal(0, 50))
        x, y = float(px) + rng.normal(0, 30), float(py) + rng.normal(0, 30)
        band = float(rng.choice([0.0, rng.uniform(0, 300)]))
        s, d, _ = idx.nearest_in_window(x, y, lo, hi, s_pred, 0.3, 1.0, band)
        sp = min(max(s_pred, lo), hi)
        got = d + float(cost(s, sp, 0.3, 1.0, band))
        assert got == pytest.approx(full_scan(idx, x, y, lo, hi, sp, 0.3, 1.0, band), abs=1e-9)


@pytest.mark.parametrize(
    ("band", "expected"),
    [(0.0, (60.0, 20.0)), (86.0, (60.0, 20.0)), (87.0, (170.0, 10.0)), (130.0, (170.0, 10.0))],
)
def test_the_band_the_runner_may_have_run_costs_nothing(band: float, expected: tuple[float, float]) -> None:
    """A U: out along y = 0 for 100 m, 30 m across, back along y = 30. From progress 50 m, the fix
    (60, 20) is 20 m from the way out (at 60 m: cost 20 once the band reaches it) and 10 m from the
    way back (at 170 m: 10 + 0.3 * (120 - band)). The way back wins past a band of 86.67 m."""
    idx = RouteIndex(route([(0, 0), (100, 0), (100, 30), (0, 30)]))
    s, d, _ = idx.nearest_in_window(60.0, 20.0, 0.0, 230.0, 50.0, 0.3, 1.0, band)
    assert (round(s, 6), round(d, 6)) == expected  # the route went through lon/lat and back: 1e-9 m


def test_nearest_global_far_from_the_route_is_quick_and_exact() -> None:
    """Beyond a few grid cells the search scans all segments at once (it visited a million grid
    cells, ~10 s, for a recording made 50 km away): the same answer as brute force."""
    from tests.synth import route

    idx = RouteIndex(route([(0.0, 0.0), (1000.0, 0.0), (1000.0, 1000.0)]))
    s, d, k = idx.nearest_global(30_000.0, 500.0, max_radius_m=51_200.0)  # type: ignore[misc]
    assert (round(s), round(d), k) == (1500, 29000, 1)
    assert idx.nearest_global(80_000.0, 0.0, max_radius_m=51_200.0) is None
    s, d, k = idx.nearest_global(400.0, 150.0)  # type: ignore[misc]  # near: still the grid
    assert (round(s), round(d), k) == (400, 150, 0)

"""The independent labeller's rules on tiny synthetic geometry (metres near 45° N).

Run: ``python -m pytest -p no:cacheprovider -o addopts="" bench/tests``
(the project's pytest settings ignore ``bench/``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

import label_real as lr

LAT0 = 45.0
M_LAT = 111_132.0  # metres per degree of latitude near 45°
M_LON = 78_847.0  # metres per degree of longitude at 45°


def line(*xy: tuple[float, float], step: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """A polyline through the points (metres), a vertex every ``step`` m."""
    xs: list[float] = []
    ys: list[float] = []
    for (x0, y0), (x1, y1) in itertools.pairwise(xy):
        n = max(1, round(np.hypot(x1 - x0, y1 - y0) / step))
        f = np.arange(n) / n
        xs += list(x0 + f * (x1 - x0))
        ys += list(y0 + f * (y1 - y0))
    xs.append(xy[-1][0])
    ys.append(xy[-1][1])
    return np.array(xs), np.array(ys)


def lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x / M_LON, LAT0 + y / M_LAT


def label(route: tuple[np.ndarray, np.ndarray], track: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    rlon, rlat = lonlat(*route)
    tlon, tlat = lonlat(*track)
    return lr.label_pair(rlon, rlat, tlon, tlat, np.arange(len(tlon), dtype=float) * 3.0)


STRAIGHT = line((0, 0), (2000, 0))


def test_on_course() -> None:
    lab = label(STRAIGHT, line((0, 5), (2000, 5)))
    assert lab["verdict"] == "on_course"
    assert lab["coverage"]["fraction"] == pytest.approx(1.0, abs=0.01)
    assert lab["excursions"] == []


def test_backwards_is_wrong_way() -> None:
    lab = label(STRAIGHT, line((2000, 0), (0, 0)))
    assert lab["verdict"] == "wrong_way"
    assert lab["coverage"]["fraction"] < 0.02
    assert lab["wrong_way"][0]["from_km"] == pytest.approx(2.0, abs=0.05)  # within R of the first fix
    assert lab["wrong_way"][0]["to_km"] == pytest.approx(0.0, abs=0.03)


def test_sparse_fixes_on_a_straight_road_cover_it() -> None:
    lab = label(STRAIGHT, line((0, 0), (2000, 0), step=200.0))
    assert lab["verdict"] == "on_course"
    assert lab["coverage"]["fraction"] == pytest.approx(1.0, abs=0.01)


def test_out_and_back_route_followed_and_turned_early() -> None:
    route = line((0, 0), (1000, 0), (1000, 20), (0, 20))  # out, 20 m across, back
    full = label(route, line((0, 0), (1000, 0), (1000, 20), (0, 20)))
    assert full["verdict"] == "on_course"
    assert full["coverage"]["fraction"] == pytest.approx(1.0, abs=0.01)
    early = label(route, line((0, 0), (500, 0), (500, 20), (0, 20)))  # turned at 500 m
    # covered 0-530 m out (R = 30 m) and 1490-2020 m back: the 960 m between were skipped
    assert early["verdict"] == "cut"
    assert early["skipped"] == [{"from_km": pytest.approx(0.53, abs=0.02), "to_km": pytest.approx(1.49, abs=0.02)}]


def test_shortcut_across_a_u() -> None:
    route = line((0, 0), (0, 1000), (500, 1000), (500, 0), (1000, 0))
    lab = label(route, line((0, 0), (0, 300), (500, 300), (500, 0), (1000, 0)))
    assert lab["verdict"] == "cut"
    [e] = lab["excursions"]
    assert e["kind"] == "shortcut"
    assert e["exit_km"] == pytest.approx(0.3, abs=0.06)
    assert e["rejoin_km"] == pytest.approx(2.2, abs=0.06)
    assert e["max_offset_m"] == pytest.approx(250.0, abs=6.0)


def test_there_and_back_off_the_route_is_lost() -> None:
    lab = label(STRAIGHT, line((0, 0), (1000, 0), (1000, 200), (1000, 0), (2000, 0)))
    assert lab["verdict"] == "lost"
    [e] = lab["excursions"]
    assert e["kind"] == "off_course"
    assert e["exit_km"] == pytest.approx(1.0, abs=0.06)
    assert e["rejoin_km"] == pytest.approx(1.0, abs=0.06)
    assert e["max_offset_m"] == pytest.approx(200.0, abs=6.0)


def test_stop_join_and_far_away() -> None:
    assert label(STRAIGHT, line((0, 0), (1200, 0)))["verdict"] == "did_not_finish"
    assert label(STRAIGHT, line((500, 0), (1500, 0)))["verdict"] == "partial"
    assert label(STRAIGHT, line((500, 0), (2000, 0)))["verdict"] == "cut"
    far = label(STRAIGHT, line((0, 400), (2000, 400)))
    assert far["verdict"] == "not_this_route"
    assert far["coverage"]["fraction"] == 0.0


def test_lis_chain_is_monotone() -> None:
    k = np.array([0, 1, 2, 3, 4, 5])
    j = np.array([0, 5, 1, 2, 9, 3])
    c = lr.lis_chain(k.astype(float), j.astype(float))
    assert len(c) == 4
    assert list(k[c]) == sorted(k[c])
    assert list(j[c]) in ([0, 1, 2, 3], [0, 1, 2, 9])


def test_narrow_hairpin_is_not_wrong_way() -> None:
    route = line((0, 0), (1000, 0), (1000, 35), (0, 35))  # legs 35 m apart: both within R of each other
    for tip in (0.0, 40.0):  # the recording turns where the route does, or 40 m further
        lab = label(route, line((0, 3), (1000 + tip, 3), (1000 + tip, 32), (0, 32)))
        assert lab["wrong_way"] == []
        assert lab["verdict"] == "on_course"
        assert lab["coverage"]["fraction"] == pytest.approx(1.0, abs=0.02)

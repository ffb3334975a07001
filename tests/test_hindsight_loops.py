"""Hindsight's fast forms give exactly what the plain-Python references give.

- the compiled walks over every fix (:mod:`offcourse._hindsight_loops`): the moving fixes of
  :func:`offcourse.rematch.moving_fixes` and the pauses of :func:`offcourse.timeline.find_pauses`,
  against the plain-Python walks (``_moving_fixes``, ``_find_pauses``), bit for bit, on tiny
  synthetic cases with exact answers, on random walks with stops, dropouts and times out of order,
  and on the real recordings of ``../shared/data``;
- the vectorised search for the crossing of a skipped gap (:func:`offcourse.sections._crossing`)
  against its loop;
- the geodesic length of a track, computed once.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from offcourse import _hindsight_loops as hl
from offcourse import rematch, sections, timeline
from offcourse.model import Track
from offcourse.project import LocalProjection
from tests.conftest import NO_CORPUS, SHARED_DATA, manifest_rows

numba = pytest.importorskip("numba")  # the compiled forms need it; the references run without


@pytest.fixture
def compiled_from_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the compiled walks for any number of fixes."""
    assert hl.compiled() is not None
    monkeypatch.setattr(hl, "COMPILED_MIN_FIXES", 1)


def _moving_both(x: np.ndarray, y: np.ndarray) -> tuple[tuple[list[int], list[float]], tuple[list[int], list[float]]]:
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    xl, yl = x.tolist(), y.tolist()
    return rematch.moving_fixes(ok, xl, yl, x, y), rematch._moving_fixes(ok, xl, yl)


def _pauses_both(t: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[tuple[timeline.Pause, ...], ...]:
    near_s = np.arange(len(t), dtype=np.float64) * 3.0
    near_d = np.where(np.arange(len(t)) % 7 == 0, 150.0, 20.0)  # some pauses far from the route
    fast = timeline.find_pauses(t, x, y, near_s, near_d)
    ok = np.flatnonzero(np.isfinite(t) & np.isfinite(x))

    def where(i: int) -> float | None:
        k = int(ok[i])
        return float(near_s[k]) if near_d[k] <= 100.0 else None

    ref = timeline._find_pauses(ok, t, x, y, where) if len(ok) >= 2 else ()
    return fast, ref


def test_moving_fixes_tiny_exact(compiled_from_one: None) -> None:
    # steps of 5 m: every other fix is 10 m from the last kept; the last fix is kept whatever its step
    x = np.array([0.0, 5.0, 10.0, 15.0, 20.0, 23.0, np.nan, 24.0])
    y = np.zeros_like(x)
    fast, ref = _moving_both(x, y)
    assert fast == ref == ([0, 2, 4, 7], [0.0, 10.0, 10.0, 4.0])


def test_moving_fixes_step_on_the_threshold_defers_to_the_reference(compiled_from_one: None) -> None:
    # a step of exactly MIN_STEP_M lies in the band: the kernel says so, the reference decides (kept)
    x = np.array([0.0, rematch.MIN_STEP_M, 20.0])
    ok = np.arange(3, dtype=np.int64)
    kernel = hl.compiled()
    assert kernel is not None
    _, unsure = kernel[0](ok, x, np.zeros(3), rematch.MIN_STEP_M)
    assert unsure
    fast, ref = _moving_both(x, np.zeros(3))
    assert fast == ref == ([0, 1, 2], [0.0, 8.0, 12.0])


def test_pauses_tiny_exact(compiled_from_one: None) -> None:
    # 200 s standing at x=0 (a stop), a run to 300 m, 90 s without a fix and 100 m further (no_fix)
    t = np.array([0.0, 100.0, 200.0, 210.0, 220.0, 310.0, 320.0])
    x = np.array([0.0, 3.0, 1.0, 100.0, 200.0, 300.0, 330.0])
    fast, ref = _pauses_both(t, x, np.zeros_like(t))
    assert fast == ref
    assert [(p.kind, p.start_epoch_s, p.end_epoch_s) for p in fast] == [
        ("stop", 0.0, 200.0),
        ("no_fix", 220.0, 310.0),
    ]
    assert fast[0].route_m is None and fast[1].route_m == 15.0  # fix 0 is 150 m from the route


def test_pauses_radius_on_the_threshold_defers_to_the_reference(compiled_from_one: None) -> None:
    t = np.array([0.0, 150.0, 160.0])
    x = np.array([0.0, timeline.STOP_RADIUS_M, 60.0])  # exactly the radius: not farther, still stopped
    kernel = hl.compiled()
    assert kernel is not None
    assert kernel[1](t, x, np.zeros(3), timeline.STOP_RADIUS_M, timeline.NO_FIX_MIN_S, timeline.STOP_MIN_S)[2]
    fast, ref = _pauses_both(t, x, np.zeros(3))
    assert fast == ref
    assert [(p.kind, p.start_epoch_s, p.end_epoch_s) for p in fast] == [("stop", 0.0, 150.0)]


def _random_run(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A walk with stops (steps of centimetres), fast and slow stretches, dropouts, missing
    positions, and times repeated or out of order."""
    rng = np.random.default_rng(seed)
    speed = rng.choice([0.05, 0.5, 3.0, 12.0], size=n // 50 + 1, p=[0.2, 0.2, 0.5, 0.1]).repeat(50)[:n]
    heading = np.cumsum(rng.normal(0.0, 0.3, n))
    x = np.cumsum(speed * np.cos(heading)) + rng.normal(0.0, 2.0, n)
    y = np.cumsum(speed * np.sin(heading)) + rng.normal(0.0, 2.0, n)
    dt = rng.choice([1.0, 0.0, 5.0, 90.0, -3.0], size=n, p=[0.9, 0.03, 0.04, 0.02, 0.01])
    t = 1.6e9 + np.cumsum(dt)
    x[rng.random(n) < 0.02] = np.nan
    t[rng.random(n) < 0.01] = np.nan
    return t, x, y


@pytest.mark.parametrize("seed", range(12))
def test_random_runs_bit_for_bit(seed: int, compiled_from_one: None) -> None:
    t, x, y = _random_run(seed, 3000)
    fast, ref = _moving_both(x, y)
    assert fast == ref
    assert len(ref[0]) > 100  # the walk moves
    p_fast, p_ref = _pauses_both(t, x, y)
    assert p_fast == p_ref
    assert {p.kind for p in p_ref} == {"stop", "no_fix"}  # both kinds exercised


def test_without_numba_loaded_the_reference_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hl, "COMPILED_MIN_FIXES", 1)
    monkeypatch.delitem(sys.modules, "numba")
    assert hl.use_compiled(10**6) is None


def _real_tracks() -> list[str]:
    rows = [r for r in manifest_rows() if r["kind"] in ("fit-activity", "gpx-track", "tcx")]
    rows = [r for r in rows if r["points"].isdigit() and int(r["points"]) >= 300]
    return [r["local_path"] for r in rows][::3]


@pytest.mark.parametrize("rel", _real_tracks() or ["(none)"])
def test_real_recordings_bit_for_bit(rel: str, compiled_from_one: None) -> None:
    from offcourse import read_track
    from offcourse.errors import OffcourseError

    if not (SHARED_DATA / rel).exists():
        pytest.skip(NO_CORPUS)
    try:
        track = read_track(SHARED_DATA / rel)
    except OffcourseError as exc:
        pytest.skip(f"not readable: {exc}")
    ok = np.isfinite(track.lon) & np.isfinite(track.lat)
    if ok.sum() < 2:
        pytest.skip("no positions")
    p = LocalProjection(float(np.median(track.lon[ok])), float(np.median(track.lat[ok])))
    x, y = p.forward(track.lon, track.lat)
    fast, ref = _moving_both(x, y)
    assert fast == ref and len(ref[0]) >= 2
    p_fast, p_ref = _pauses_both(track.epoch_s, x, y)
    assert p_fast == p_ref


def test_crossing_tiny_exact() -> None:
    # kept fixes on the route at 0, 90, 100 (the gap starts at 100), a visit at 900, then 310 past the gap
    on = [(0, 0.0), (1, 90.0), (3, 100.0), (4, 900.0), (6, 310.0), (7, 320.0)]
    j = np.array([a for a, _ in on], dtype=np.int64)
    v = np.array([b for _, b in on])
    assert sections._crossing(j, v, 100.0, 300.0) == sections._crossing_loop(on, 100.0, 300.0) == (3, 6, 3)
    # never past the gap: no crossing
    assert sections._crossing(j[:4], v[:4], 100.0, 300.0) == sections._crossing_loop(on[:4], 100.0, 300.0)
    assert sections._crossing(j[:4], v[:4], 100.0, 300.0)[1] == -1


@pytest.mark.parametrize("seed", range(6))
def test_crossing_random_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    v = np.cumsum(rng.normal(8.0, 30.0, n))
    v[rng.random(n) < 0.05] += rng.normal(0.0, 2000.0)  # visits elsewhere on the route
    j = np.sort(rng.choice(2 * n, size=n, replace=False)).astype(np.int64)
    on = list(zip(j.tolist(), v.tolist(), strict=True))
    found = 0
    for a in rng.uniform(v.min(), v.max(), 60).tolist():
        b = a + float(rng.uniform(50.0, 600.0))
        got = sections._crossing(j, v, a, b)
        assert got == sections._crossing_loop(on, a, b)
        found += got[1] >= 0
    assert found > 0


def test_track_length_computed_once() -> None:
    t = Track.from_arrays(lon=[0.0, 0.001, 0.002, 0.003], lat=[0.0, 0.0, 0.0, 0.0], segment_starts=[0, 2])
    first = t.length_m()
    assert first == float(t.step_m().sum()) and math.isclose(first, 2 * 111.319, rel_tol=1e-4)
    assert t.length_m() == first and t.__dict__["_length_m"] == first

"""Hindsight's fast forms give exactly what the plain-Python references give.

- the compiled walks over every fix (:mod:`offcourse._hindsight_loops`): the moving fixes of
  :func:`offcourse.rematch.moving_fixes` and the pauses of :func:`offcourse.timeline.find_pauses`,
  against the plain-Python walks (``_moving_fixes``, ``_find_pauses``), bit for bit, on tiny
  synthetic cases with exact answers, on random walks with stops, dropouts and times out of order,
  and on the real recordings of ``../shared/data``;
- the compiled projection of the fixes on the route's segments and their reading into passes
  (:func:`offcourse.passes.candidates`) against numpy's, and hindsight as a whole on real pairs;
- the compiled walk of the matched path into runs and breaks (:mod:`offcourse._path_walk`) against
  :func:`offcourse.sections.read_path`;
- the vectorised search for the crossing of a skipped gap (:func:`offcourse.sections._crossing`)
  against its loop;
- the geodesic length of a track, computed once.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from typing import Any

import numpy as np
import pytest

from offcourse import _hindsight_loops as hl
from offcourse import _path_walk, coverage, passes, rematch, sections, timeline
from offcourse.match import RouteIndex
from offcourse.model import Track
from offcourse.project import LocalProjection
from offcourse.report import project_track
from tests import synth
from tests.conftest import NO_CORPUS, REPO, SHARED_DATA, manifest_rows

numba = pytest.importorskip("numba")  # the compiled forms need it; the references run without


@pytest.fixture
def compiled_from_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the compiled walks for any number of fixes."""
    assert hl.compiled() is not None
    monkeypatch.setattr(hl, "COMPILED_MIN_FIXES", 1)
    monkeypatch.setattr(hl, "COMPILED_LOADED_MIN_FIXES", 1)


def _moving_both(x: np.ndarray, y: np.ndarray) -> tuple[tuple[list[int], list[float]], tuple[list[int], list[float]]]:
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    xl, yl = x.tolist(), y.tolist()
    return rematch.moving_fixes(ok, x, y), rematch._moving_fixes(ok, xl, yl)


def _pauses_both(t: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[tuple[timeline.Pause, ...], ...]:
    near_s = np.arange(len(t), dtype=np.float64) * 3.0
    near_d = np.where(np.arange(len(t)) % 7 == 0, 150.0, 20.0)  # some pauses far from the route
    fast = timeline.find_pauses(t, x, y, near_s, near_d)
    ok = np.flatnonzero(np.isfinite(t) & np.isfinite(x))

    def where(i: int) -> float | None:
        k = int(ok[i])
        return float(near_s[k]) if near_d[k] <= 100.0 else None

    ref = timeline._find_pauses(ok, t, x, y, where, timeline.no_fix_s(t[ok])) if len(ok) >= 2 else ()
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
    # 200 s standing at x=0 (a stop), a run to 300 m, 90 s without a fix and 100 m further (no_fix:
    # the recording's usual interval is 10 s)
    t = np.array([0.0, 100.0, 200.0, 210.0, 220.0, 310.0, 320.0, 330.0, 340.0, 350.0])
    x = np.array([0.0, 3.0, 1.0, 100.0, 200.0, 300.0, 330.0, 360.0, 390.0, 420.0])
    fast, ref = _pauses_both(t, x, np.zeros_like(t))
    assert fast == ref
    assert [(p.kind, p.start_epoch_s, p.end_epoch_s) for p in fast] == [
        ("stop", 0.0, 200.0),
        ("no_fix", 220.0, 310.0),
    ]
    assert fast[0].route_m is None and fast[1].route_m == 15.0  # fix 0 is 150 m from the route
    # a fix a minute: 90 s without one is less than three intervals, no pause
    sparse = np.array([0.0, 60.0, 120.0, 210.0, 270.0])
    fast, ref = _pauses_both(sparse, sparse * 3.0, np.zeros_like(sparse))
    assert fast == ref == ()


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


def test_the_kernels_load_only_where_they_pay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hl, "_COMPILED", [])
    monkeypatch.setattr(hl, "_python_fixes", [0])
    monkeypatch.setattr(hl, "COMPILED_MIN_FIXES", 50_000)
    with monkeypatch.context() as m:
        m.delitem(sys.modules, "numba")
        assert hl.use_compiled(10**6) is None and hl._python_fixes == [0]  # never numba for them alone
    assert hl.use_compiled(1999) is None and hl._python_fixes == [0]  # too short to count
    assert hl.use_compiled(30_000) is None and hl._python_fixes == [30_000]  # Python so far
    assert hl.use_compiled(30_000) is not None  # 60,000 walked in Python: loaded
    assert hl.use_compiled(2000) is not None and hl._python_fixes == [60_000]


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


def _candidates_both(idx: RouteIndex, x: np.ndarray, y: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    """passes.candidates compiled and in numpy: the same arrays, bit for bit."""
    assert hl.compiled() is not None
    monkeypatch.setattr(hl, "COMPILED_LOADED_MIN_FIXES", 1)
    fast = passes.candidates(idx, x, y)
    monkeypatch.setattr(hl, "COMPILED_LOADED_MIN_FIXES", 10**12)
    ref = passes.candidates(idx, x, y)
    for a, b in zip(fast, ref, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_candidates_tiny_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    # a hairpin: legs y = 0 and y = 10, 300 m long; (150, 5) is near both, (150, 70) near none
    idx = RouteIndex(synth.route([(0.0, 0.0), (300.0, 0.0), (300.0, 10.0), (0.0, 10.0)]))
    x, y = np.array([150.0, 150.0, 320.0]), np.array([5.0, 70.0, 5.0])
    _candidates_both(idx, x, y, monkeypatch)
    monkeypatch.setattr(hl, "COMPILED_LOADED_MIN_FIXES", 1)
    ptr, s, d = passes.candidates(idx, x, y)
    assert ptr.tolist() == [0, 2, 2, 3]
    assert np.round(s, 6).tolist() == [150.0, 460.0, 305.0] and np.round(d, 6).tolist() == [5.0, 5.0, 20.0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_candidates_random_and_on_the_radius_bit_for_bit(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    heading = np.cumsum(rng.normal(0, 0.6, 300))
    path = np.column_stack([np.cumsum(15 * np.cos(heading)), np.cumsum(15 * np.sin(heading))])
    idx = RouteIndex(synth.route(list(map(tuple, path.tolist()))))
    lo, hi = path.min(axis=0) - 80, path.max(axis=0) + 80
    x, y = rng.uniform(lo[0], hi[0], 3000), rng.uniform(lo[1], hi[1], 3000)
    # points on the radius of a segment's middle, to the last bits: the exact test decides them
    k = rng.integers(0, len(idx.ax), 600)
    nx, ny = -idx.dy[k] / idx.seg_len[k], idx.dx[k] / idx.seg_len[k]
    r = passes.CANDIDATE_RADIUS_M * (1.0 + rng.choice([-2e-16, 0.0, 2e-16, 1e-12], 600))
    x = np.concatenate([x, idx.ax[k] + 0.5 * idx.dx[k] + r * nx])
    y = np.concatenate([y, idx.ay[k] + 0.5 * idx.dy[k] + r * ny])
    grid = idx.segment_grid(passes.CANDIDATE_RADIUS_M)
    pi, si = grid.pairs(x, y)
    kernels = hl.compiled()
    assert kernels is not None
    route = (idx.ax, idx.ay, idx.dx, idx.dy, idx.seg_len, idx.cum)
    unsure = kernels.project_pairs(x, y, pi, si, *route, grid.radius_m, grid.tolerance_m)[3]
    assert len(unsure) > 100  # the exact test is exercised
    _candidates_both(idx, x, y, monkeypatch)
    _candidates_both(synth_switchbacks_index(), x / 3.0, y / 5.0, monkeypatch)


def synth_switchbacks_index() -> RouteIndex:
    legs = [(0.0, 0.0)]
    for k in range(8):
        legs += [(300.0 if k % 2 == 0 else 0.0, 10.0 * k), (300.0 if k % 2 == 0 else 0.0, 10.0 * (k + 1))]
    return RouteIndex(synth.route(legs))


def _real_pairs() -> list[dict[str, str]]:
    pairs: list[dict[str, str]] = json.loads((REPO / "bench" / "real_pairs.json").read_text(encoding="utf-8"))
    return pairs[::4]


@pytest.mark.parametrize("pair", _real_pairs(), ids=lambda p: p["name"])
def test_real_hindsight_compiled_and_python_bit_for_bit(pair: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Hindsight of real recordings on their routes: every array and finding the same, the walks and
    the pass search compiled or not."""
    import offcourse

    if not (REPO / pair["route"]).exists() or not (REPO / pair["track"]).exists():
        pytest.skip(NO_CORPUS)
    route = offcourse.read_route(REPO / pair["route"], track=0)
    track = offcourse.read_track(REPO / pair["track"])
    idx = RouteIndex(route)
    x, y = project_track(route, track)
    out = []
    assert hl.compiled() is not None
    for start in (1, 10**12):
        monkeypatch.setattr(hl, "COMPILED_LOADED_MIN_FIXES", start)
        h = coverage.hindsight(idx, x, y, track.epoch_s)
        p = timeline.find_pauses(track.epoch_s, x, y, h.nearest_route_m, h.nearest_m)
        out.append(repr((h, p)) + repr([h.route_m.tolist(), h.nearest_m.tolist(), h.nearest_route_m.tolist()]))
    assert out[0] == out[1]


def _random_path(seed: int, n: int) -> dict[str, Any]:
    """A matched path with every kind of stretch: forward and backward runs, noise, stretches off the
    route (short ones: position spikes), jumps along the route, dropouts, times missing or backwards."""
    rng = np.random.default_rng(seed)
    ks: list[float] = []
    jumps: list[int] = []
    s = float(rng.uniform(0.0, 300.0))
    while len(ks) < n:
        mode = rng.choice(["fwd", "back", "off", "spike", "jump", "noise"], p=[0.4, 0.12, 0.13, 0.1, 0.1, 0.15])
        k = int(rng.integers(1, 4)) if mode == "spike" else int(rng.integers(3, 40))
        for _ in range(k):
            if mode == "off" or mode == "spike":
                ks.append(math.nan)
                continue
            if mode == "jump":
                s += float(rng.uniform(80.0, 1500.0))
                jumps.append(len(ks))
                mode = "fwd"
            s += {"fwd": 10.0, "back": -10.0, "noise": 0.0}[mode] + float(rng.normal(0.0, 6.0))
            ks.append(s)
    n_all = 3 * n
    kept = np.sort(rng.choice(n_all, size=n, replace=False)).tolist()
    moved = rng.uniform(0.0, 20.0, n)
    moved[rng.random(n) < 0.05] = rng.uniform(200.0, 900.0)
    moved[0] = 0.0
    dt = rng.choice([3.0, 1.0, 120.0, -2.0], size=n, p=[0.85, 0.08, 0.05, 0.02])
    at = np.array([j for j in jumps if j < n], dtype=np.int64)
    dt[at[rng.random(len(at)) < 0.5]] = 120.0  # a dropout across a jump: unverified, when plausible
    kt = 1.6e9 + np.cumsum(dt)
    kt[rng.random(n) < 0.03] = np.nan
    knd = rng.uniform(0.0, 220.0, n)
    knd[rng.random(n) < 0.03] = np.nan
    x, y = rng.uniform(-2000.0, 2000.0, n_all), rng.uniform(-2000.0, 2000.0, n_all)
    return {"kept": kept, "ks": np.array(ks[:n]), "moved": moved.tolist(), "kt": kt, "knd": knd, "x": x, "y": y}


@pytest.mark.parametrize("seed", range(10))
def test_read_path_compiled_is_the_reference_bit_for_bit(seed: int) -> None:
    kernels = hl.compiled()
    assert kernels is not None
    p = _random_path(seed, 6000)
    kinds: set[str] = set()
    for limits in ((200.0, 150.0, 50.0), (100.0, 60.0, 10.0), (400.0, 300.0, 120.0)):
        opts = dict(zip(("skip_min_m", "wrong_way_min_m", "off_threshold_m"), limits, strict=True))
        args = (p["kept"], p["ks"].tolist(), p["moved"], p["kt"].tolist(), p["knd"].tolist())
        ref = sections.read_path(*args, p["x"].tolist(), p["y"].tolist(), 60.0, **opts)
        fast = _path_walk.read_path_compiled(
            kernels.walk_path, p["kept"], p["ks"], p["moved"], p["kt"], p["knd"], p["x"], p["y"], 60.0, **opts
        )
        assert repr(fast) == repr(ref)
        kinds |= {f.name for f in dataclasses.fields(ref) if getattr(ref, f.name)}
    assert kinds == {f.name for f in dataclasses.fields(sections.PathRuns)}  # every list exercised


def test_read_path_tiny_exact() -> None:
    # forward 0 -> 400, one fix off 100 m (not a spike: 3 s apart), back at 700 having moved 200 m: a shortcut
    kernels = hl.compiled()
    assert kernels is not None
    ks = np.array([0.0, 100.0, 200.0, 300.0, 400.0, math.nan, 700.0, 800.0])
    moved = [0.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0]
    kt = 1.6e9 + 60.0 * np.arange(8.0)
    knd = np.array([0.0, 0, 0, 0, 0, 100.0, 0, 0])
    kept = list(range(8))
    xy = np.zeros(8)
    opts = {"skip_min_m": 200.0, "wrong_way_min_m": 150.0, "off_threshold_m": 50.0}
    fast = _path_walk.read_path_compiled(kernels.walk_path, kept, ks, moved, kt, knd, xy, xy, 60.0, **opts)
    ref = sections.read_path(kept, ks.tolist(), moved, kt.tolist(), knd.tolist(), [0.0] * 8, [0.0] * 8, 60.0, **opts)
    assert repr(fast) == repr(ref)
    assert fast.forward == [(0.0, 400.0), (700.0, 800.0)]
    assert fast.shortcuts == [sections.Section("shortcut", 400.0, 700.0, 4, 6, 200.0, 100.0)]


def test_a_batch_worker_loads_the_kernels_at_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hl, "_COMPILED", [])
    monkeypatch.setattr(hl, "_python_fixes", [0])
    assert hl.use_compiled(2000) is None  # not yet: 2000 fixes walked in Python do not pay the load
    assert hl.warm_up()
    assert hl.use_compiled(2000) is not None and hl._python_fixes == [2000]


def test_grid_pairs_are_those_of_the_grid() -> None:
    kernels = hl.compiled()
    assert kernels is not None
    idx = synth_switchbacks_index()
    grid = idx.segment_grid(passes.CANDIDATE_RADIUS_M)
    rng = np.random.default_rng(5)
    x, y = rng.uniform(-400.0, 700.0, 4000), rng.uniform(-300.0, 400.0, 4000)  # some outside the grid
    x[::97], y[::89] = np.nan, np.nan
    x[1::50] = np.round(x[1::50] / grid.cell_m) * grid.cell_m  # on cell borders
    pi, si = kernels.grid_pairs(x, y, *grid.arrays())
    ref_pi, ref_si = grid.pairs(x, y)
    assert pi.tolist() == ref_pi.tolist() and si.tolist() == ref_si.tolist() and len(pi) > 4000
    assert kernels.grid_pairs(x[:0], y[:0], *grid.arrays())[0].tolist() == []

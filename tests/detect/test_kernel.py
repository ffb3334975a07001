"""The compiled path for quiet fixes (offcourse.detect._kernel) gives exactly the engine's events and state.

The kernel's plain-Python form is checked against the engine without numba; the compiled kernel
(when numba is installed) against both.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from offcourse.detect import Monitor, Options
from offcourse.detect import _kernel as _fast
from offcourse.match import RouteIndex
from offcourse.read import read_route, read_track
from offcourse.report import check
from tests.conftest import REPO
from tests.synth import route


def needs_numba() -> None:
    pytest.importorskip("numba")
    if not _fast.available():
        pytest.skip("the compiled kernel is switched off here")


def _wandering_route(rng: np.random.Generator, n_v: int = 400) -> np.ndarray:
    heading = np.cumsum(rng.normal(0, 0.25, n_v))
    x = np.concatenate(([0.0], np.cumsum(20.0 * np.cos(heading))))
    y = np.concatenate(([0.0], np.cumsum(20.0 * np.sin(heading))))
    return np.column_stack([x, y])


def _noisy_run(seed: int) -> tuple[object, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A route and a run along it with GPS noise, spikes, a dropout, a detour, a backtrack and bad fixes."""
    rng = np.random.default_rng(seed)
    xy = _wandering_route(rng)
    r = route([tuple(p) for p in xy])
    n = 3000
    s = np.cumsum(rng.uniform(1.5, 3.5, n))
    s = np.minimum(s, r.length_m)
    back = slice(1200, 1300)  # turns round for 100 fixes: a wrong-way section
    s[back] = s[1199] - np.cumsum(np.full(100, 2.5))
    s[1300:] = s[1300:] - s[1300] + s[back.stop - 1] + np.cumsum(np.full(n - 1300, 2.6))
    s = np.clip(s, 0, r.length_m)
    px, py = r.point_at(s)
    k = np.arange(200)
    px[600:800] += 180.0 * np.sin(np.pi * k / 200)  # a detour
    a = math.exp(-1 / 30)
    e = np.zeros((n, 2))
    w = rng.normal(0, 8.0 * math.sqrt(1 - a * a), (n, 2))
    for i in range(1, n):
        e[i] = a * e[i - 1] + w[i]
    x, y = px + e[:, 0], py + e[:, 1]
    t = 1.7e9 + np.arange(n, dtype=float)
    spikes = rng.choice(n, 15, replace=False)
    x[spikes] += rng.uniform(-300, 300, 15)
    t[2000:2180] += 0.0
    x[2000:2180] = np.nan  # a dropout
    t[900] = t[899]  # a duplicated time
    t[950] = t[940]  # out of order
    ele = 500 + 50 * np.sin(s / 700.0) + rng.normal(0, 2, n)
    hacc = np.where(rng.random(n) < 0.1, rng.uniform(5, 40, n), np.nan)
    return r, t, x, y, ele, hacc


def _state(m: Monitor) -> str:
    return json.dumps(m.state(), sort_keys=True)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_compiled_path_gives_the_engines_events_and_state_bit_for_bit(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    needs_numba()
    r, t, x, y, ele, hacc = _noisy_run(seed)
    idx = RouteIndex(r)
    slow, fast = Monitor(r, index=idx), Monitor(r, index=idx)
    ev_slow = slow.push_arrays(t, x, y, ele, hacc, compiled=False)
    done = [0]
    real = _fast.follow_run

    def counting(*args):  # type: ignore[no-untyped-def]
        j = real(*args)
        done[0] += j - args[5]
        return j

    monkeypatch.setattr(_fast, "follow_run", counting)
    ev_fast = fast.push_arrays(t, x, y, ele, hacc, compiled=True)
    assert done[0] > 0.5 * len(t)  # most fixes went through the compiled path
    assert ev_fast == ev_slow
    assert _state(fast) == _state(slow)
    kinds = {e.kind for e in ev_slow}
    assert {"started", "off_course", "back_on_course"} <= kinds  # the run exercises the engine, not only the fast path


def test_compiled_path_one_fix_at_a_time_is_the_same_as_push() -> None:
    """push_arrays in small chunks (a companion app pushing batches) equals push() of each fix."""
    needs_numba()
    r, t, x, y, ele, hacc = _noisy_run(7)
    whole = Monitor(r)
    expected = whole.push_arrays(t, x, y, ele, hacc, compiled=False)
    chunked = Monitor(r)
    got = []
    for a in range(0, len(t), 97):
        part = slice(a, a + 97)
        got += chunked.push_arrays(t[part], x[part], y[part], ele[part], hacc[part], compiled=True)
    assert got == expected
    assert _state(chunked) == _state(whole)


def test_state_saved_after_the_compiled_path_restores_exactly() -> None:
    needs_numba()
    r, t, x, y, ele, hacc = _noisy_run(8)
    ref = Monitor(r)
    expected = ref.push_arrays(t, x, y, ele, hacc, compiled=False)
    first = Monitor(r)
    got = first.push_arrays(t[:1500], x[:1500], y[:1500], ele[:1500], hacc[:1500], compiled=True)
    second = Monitor.restore(r, json.loads(json.dumps(first.state())))
    got += second.push_arrays(t[1500:], x[1500:], y[1500:], ele[1500:], hacc[1500:], compiled=True)
    assert got == expected


def test_the_real_sample_gives_the_same_report_either_way() -> None:
    r = read_route(REPO / "routes" / "allermuir-hill-race.gpx")
    trk = read_track(REPO / "samples" / "allermuir-wrong-turn.gpx")
    a, b = check(r, trk, compiled=False), check(r, trk, compiled=True)
    assert a.events == b.events and len(a.excursions) == 1
    assert a.distance_m == b.distance_m


def test_options_without_continuity_cost_stay_in_python() -> None:
    """The compiled window search assumes positive continuity weights; otherwise the engine does it all."""
    r, t, x, y, ele, hacc = _noisy_run(9)
    o = Options(continuity_weight=0.0)
    a = Monitor(r, o).push_arrays(t, x, y, ele, hacc, compiled=True)
    b = Monitor(r, o).push_arrays(t, x, y, ele, hacc, compiled=False)
    assert a == b


def test_switched_off_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFCOURSE_NO_NUMBA", "1")
    assert not _fast.available()


def test_arrays_of_different_lengths_are_refused() -> None:
    r = route([(0.0, 0.0), (1000.0, 0.0)])
    with pytest.raises(ValueError, match="length"):
        Monitor(r).push_arrays([0.0, 1.0], [0.0], [0.0])


def test_a_numba_that_cannot_compile_or_cache_here_falls_back_to_python(monkeypatch: pytest.MonkeyPatch) -> None:
    numba = pytest.importorskip("numba")

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("cannot cache function: no locator available")

    monkeypatch.setattr(numba, "njit", broken)
    monkeypatch.setattr(_fast, "_tried", False)
    monkeypatch.setattr(_fast, "_kernel", None)
    assert not _fast.available()
    r, t, x, y, ele, hacc = _noisy_run(11)
    got = Monitor(r).push_arrays(t, x, y, ele, hacc, compiled=True)
    assert got == Monitor(r).push_arrays(t, x, y, ele, hacc, compiled=False)


@pytest.fixture
def python_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel's plain-Python form in place of the compiled one: no numba needed."""
    monkeypatch.setattr(_fast, "_kernel", None)
    monkeypatch.setattr(_fast, "available", lambda: True)


@pytest.mark.parametrize("seed", [1, 2, 3, 12])
def test_the_kernels_python_form_gives_the_engines_events_and_state_bit_for_bit(
    seed: int, python_kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    r, t, x, y, ele, hacc = _noisy_run(seed)
    slow, fast = Monitor(r), Monitor(r)
    ev_slow = slow.push_arrays(t, x, y, ele, hacc, compiled=False)
    done = [0]
    real = _fast.follow_run_py

    def counting(*args):  # type: ignore[no-untyped-def]
        j = real(*args)
        done[0] += j - args[14]
        return j

    monkeypatch.setattr(_fast, "follow_run_py", counting)
    ev_fast = fast.push_arrays(t, x, y, ele, hacc, compiled=True)
    assert done[0] > 0.5 * len(t)  # most fixes went through the kernel
    assert ev_fast == ev_slow
    assert _state(fast) == _state(slow)


def test_the_kernel_builds_on_the_engines_own_steps() -> None:
    """No arithmetic restated: the kernel calls the step functions and the geometry by name."""
    from offcourse.detect import _kernel_suspect

    names = set(_fast.follow_run_py.__code__.co_names)
    assert {"kernel_takes", "odometer", "learn_noise", "running_speed", "cover", "window_match"} <= names
    assert "best_in_window" in _kernel_suspect.window_match.__code__.co_names
    assert "sqrt" not in names and "exp" not in names
    sus = set(_kernel_suspect.suspect_run_py.__code__.co_names)
    assert {"evidence", "evidence_weight", "plausible", "burst_s", "error_sigma", "other_part_near"} <= sus
    assert "sqrt" not in sus and "exp" not in sus and "expm1" not in sus


def _half_off_run(
    seed: int, far_m: float = 1500.0
) -> tuple[object, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The noisy run with a long excursion far from the route (up to ``far_m``) over half its fixes."""
    r, t, x, y, ele, hacc = _noisy_run(seed)
    k = np.arange(1400)
    x = x.copy()
    x[1000:2400] += far_m * np.sin(np.pi * k / 1400)
    return r, t, x, y, ele, hacc


@pytest.mark.parametrize("far_m", [1500.0, 6000.0])
@pytest.mark.parametrize("way", ["python form", "compiled"])
def test_the_off_course_kernel_gives_the_engines_events_and_state(
    way: str, far_m: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    if way == "compiled":
        needs_numba()
    else:
        monkeypatch.setattr(_fast, "_kernel", None)
        monkeypatch.setattr(_fast, "available", lambda: True)
    r, t, x, y, ele, hacc = _half_off_run(4, far_m)
    slow, fast = Monitor(r), Monitor(r)
    ev_slow = slow.push_arrays(t, x, y, ele, hacc, compiled=False) + slow.close()
    done = [0]
    real = _fast.off_run

    def counting(*args):  # type: ignore[no-untyped-def]
        j = real(*args)
        done[0] += j - args[6]
        return j

    monkeypatch.setattr(_fast, "off_run", counting)
    ev_fast = fast.push_arrays(t, x, y, ele, hacc, compiled=True) + fast.close()
    assert done[0] > 0.3 * len(t)  # the fixes far off went through the off-course kernel
    assert ev_fast == ev_slow
    assert _state(fast) == _state(slow)
    assert "off_course" in {e.kind for e in ev_slow}


def test_the_grid_search_finds_the_nearest_segment_to_the_bit() -> None:
    from offcourse.geometry import nearest_offset, project_on_segments

    rng = np.random.default_rng(5)
    r = route([tuple(p) for p in _wandering_route(rng)])
    idx = RouteIndex(r)
    codes, starts, segs = idx.grid_arrays()
    pts = np.concatenate([rng.uniform(-3000, 3000, (300, 2)), rng.uniform(-40000, 40000, (20, 2))])
    for px, py in pts:
        _, d = project_on_segments(float(px), float(py), idx.ax, idx.ay, idx.dx, idx.dy, idx.seg_len)
        got = nearest_offset(
            float(px), float(py), idx.ax, idx.ay, idx.dx, idx.dy, idx.seg_len, codes, starts, segs, idx.cell_m, 16
        )
        assert got == float(d.min())


def test_the_compiled_path_is_loaded_only_for_a_long_track_and_then_used_from_a_short_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loading numba costs more than it saves below COMPILED_MIN_FIXES; once loaded, it costs nothing."""
    from offcourse.detect.options import COMPILED_LOADED_MIN_FIXES, COMPILED_MIN_FIXES

    calls: list[int] = []
    monkeypatch.setattr(_fast, "available", lambda: calls.append(1) or True)
    monkeypatch.setattr(_fast, "follow_run", lambda *a: a[5])  # the kernel takes no fix: the engine does
    monkeypatch.setattr(_fast, "off_run", lambda *a: a[6])
    r = route([(0, 0), (2000, 0)])
    n = COMPILED_LOADED_MIN_FIXES
    t, x, y = np.arange(n, dtype=float), np.linspace(0, 1900, n), np.zeros(n)
    monkeypatch.setattr(_fast, "_kernel", None)
    Monitor(r).push_arrays(t, x, y)
    assert calls == []  # not loaded, a short track: Python
    monkeypatch.setattr(_fast, "_kernel", object())
    Monitor(r).push_arrays(t, x, y)
    assert calls == [1]  # loaded: used
    assert COMPILED_MIN_FIXES == 30_000 > n


@pytest.mark.parametrize("way", ["python form", "compiled"])
def test_a_runner_crossing_another_leg_far_from_the_exit_stays_off_in_the_kernel(
    way: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A U-shaped route, legs 400 m apart: the runner leaves the first leg at 1 km, walks north across
    the second (4.4 km further along the route: no rejoin, Excursion._rejoins_far_away), turns back
    and rejoins where they left. The kernel takes the fixes on the far leg as the engine does."""
    if way == "compiled":
        needs_numba()
    else:
        monkeypatch.setattr(_fast, "_kernel", None)
        monkeypatch.setattr(_fast, "available", lambda: True)
    from tests.synth import walk

    r = route([(0, 0), (3000, 0), (3000, 400), (0, 400)])
    path = walk([(0, 0), (1000, 0), (1000, 600), (1000, 0), (2900, 0)], speed_mps=1.0)
    t, x, y = 1.7e9 + path[:, 0], path[:, 1], path[:, 2]
    nan = np.full(len(t), np.nan)
    slow, fast = Monitor(r), Monitor(r)
    ev_slow = slow.push_arrays(t, x, y, nan, nan, compiled=False) + slow.close()
    python_fixes: list[float] = []
    real_push = fast._push_xy

    def counting(t_: float, *a: float) -> list[object]:
        python_fixes.append(t_)
        return real_push(t_, *a)  # type: ignore[return-value]

    monkeypatch.setattr(fast, "_push_xy", counting)
    ev_fast = fast.push_arrays(t, x, y, nan, nan, compiled=True) + fast.close()
    assert ev_fast == ev_slow
    assert _state(fast) == _state(slow)
    kinds = [e.kind for e in ev_slow]
    assert kinds.count("off_course") == 1 and kinds.count("back_on_course") == 1
    back = next(e for e in ev_slow if e.kind == "back_on_course")
    assert abs(back.rejoin_route_m - 1000.0) < 30.0  # rejoined where they left, not on the far leg
    # within 30 m of the far leg (y 370..430): 60 fixes at 1 m/s, twice; the engine took none of them
    on_far_leg = {float(tt) for tt, yy in zip(t, y, strict=True) if abs(yy - 400.0) < 30.0}
    assert len(on_far_leg) >= 100
    assert len(on_far_leg & set(python_fixes)) <= 3


def _bursty_run(seed: int) -> tuple[object, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """An L-shaped 5 km route walked at 3 m/s with GPS noise, four multipath-like bursts (out to
    50-65 m and back within 40 s) and one real excursion (300 m out and back)."""
    from tests.synth import walk

    rng = np.random.default_rng(seed)
    r = route([(0, 0), (3000, 0), (3000, 2000)])
    path = walk([(0, 0), (3000, 0), (3000, 2000)], speed_mps=3.0)
    t, x, y = 1.7e9 + path[:, 0], path[:, 1].copy(), path[:, 2].copy()
    k = np.arange(40)
    for a, size in ((150, 50.0), (400, 55.0), (650, 60.0), (900, 65.0)):
        y[a : a + 40] += size * np.sin(np.pi * k / 40)
    x[1200:1400] -= 300.0 * np.sin(np.pi * np.arange(200) / 200)  # on the second leg: out west and back
    a_ = math.exp(-1 / 30)
    e = np.zeros((len(t), 2))
    w = rng.normal(0, 5.0 * math.sqrt(1 - a_ * a_), (len(t), 2))
    for i in range(1, len(t)):
        e[i] = a_ * e[i - 1] + w[i]
    nan = np.full(len(t), np.nan)
    return r, t, x + e[:, 0], y + e[:, 1], nan, nan


@pytest.mark.parametrize("way", ["python form", "compiled"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_suspect_kernel_gives_the_engines_events_and_state(
    way: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fixes between the first off the route and the alert (or the return) go through the suspect
    kernel: bursts of error that never become an alert, and the first metres of real excursions."""
    if way == "compiled":
        needs_numba()
    else:
        monkeypatch.setattr(_fast, "_kernel", None)
        monkeypatch.setattr(_fast, "available", lambda: True)
    r, t, x, y, ele, hacc = _bursty_run(seed)
    slow, fast = Monitor(r), Monitor(r)
    ev_slow = slow.push_arrays(t, x, y, ele, hacc, compiled=False) + slow.close()
    done = [0]
    real = _fast.suspect_run

    def counting(*args):  # type: ignore[no-untyped-def]
        j = real(*args)
        done[0] += j - args[6]
        return j

    monkeypatch.setattr(_fast, "suspect_run", counting)
    ev_fast = fast.push_arrays(t, x, y, ele, hacc, compiled=True) + fast.close()
    assert done[0] >= 12  # fixes under suspicion went through the kernel
    assert ev_fast == ev_slow
    assert _state(fast) == _state(slow)
    assert [e.kind for e in ev_slow].count("off_course") >= 1


@pytest.mark.parametrize("way", ["python form", "compiled"])
def test_the_off_course_kernel_rejoins_sparse_fixes_as_the_engine_does(
    way: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fixes a minute apart: the rejoin window grows with the time since the first fix back, in both."""
    if way == "compiled":
        needs_numba()
    else:
        monkeypatch.setattr(_fast, "_kernel", None)
        monkeypatch.setattr(_fast, "available", lambda: True)
    from tests.synth import walk

    r = route([(20.0 * i, 0.0) for i in range(451)])
    path = walk([(0, 0), (1200, 0), (1200, 600), (1200, 0), (8900, 0)], speed_mps=3.0, step_s=60.0)
    t, x, y = 1.7e9 + path[:, 0], path[:, 1], path[:, 2]
    slow, fast = Monitor(r), Monitor(r)
    ev_slow = slow.push_arrays(t, x, y, compiled=False) + slow.close()
    ev_fast = fast.push_arrays(t, x, y, compiled=True) + fast.close()
    assert ev_fast == ev_slow
    assert _state(fast) == _state(slow)
    assert [e.kind for e in ev_slow].count("back_on_course") == 1


@pytest.mark.parametrize("leg_gap_m", [104.0, 106.0])
def test_compiled_path_beside_another_leg_is_the_engines_bit_for_bit(leg_gap_m: float) -> None:
    """Suspect fixes within the off threshold of another part of the route (no evidence, no alert)
    or just beyond it: the suspect kernel hands the first to the engine and gives the same events."""
    needs_numba()
    from offcourse.detect import Options
    from tests.synth import PROJ, route, walk

    r = route([(0, 0), (2000, 0), (2000, leg_gap_m), (0, leg_gap_m)])
    rows = walk([(0, 0), (500, 0), (500, 55), (800, 55), (800, 0), (2000, 0), (2000, leg_gap_m), (0, leg_gap_m)])
    t = 1_700_000_000.0 + rows[:, 0]
    lon, lat = PROJ.inverse(rows[:, 1], rows[:, 2])
    x, y = r.projection.forward(lon, lat)
    o = Options(noise_gain=0.0)
    idx = RouteIndex(r)
    slow, fast = Monitor(r, o, index=idx), Monitor(r, o, index=idx)
    ev_slow, ev_fast = [], []
    for part in (slice(0, 250), slice(250, None)):  # the state mid-way: the runner beside the other leg
        ev_slow += slow.push_arrays(t[part], x[part], y[part], None, None, compiled=False)
        ev_fast += fast.push_arrays(t[part], x[part], y[part], None, None, compiled=True)
        assert ev_fast == ev_slow
        assert _state(fast) == _state(slow)
    assert ("off_course" in {e.kind for e in ev_slow}) is (leg_gap_m > 105.0)

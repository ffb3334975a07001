"""``Monitor.push`` with bad fixes: out of time order, duplicated, without a position, at (0, 0), infinite time.

Documented in :mod:`offcourse.detect`: such fixes are ignored and counted in
:attr:`~offcourse.detect.Monitor.ignored_fixes`. So a clean synthetic run with bad fixes inserted
must give exactly the events, and the state, of the clean run, with ``ignored_fixes`` larger by the
number inserted, through every way of pushing: :meth:`~offcourse.detect.Monitor.push`,
:meth:`~offcourse.detect.Monitor.push_projected`, :meth:`~offcourse.detect.Monitor.push_arrays`
(Python and compiled paths) and :func:`offcourse.check`. And whatever the numbers, ``push`` raises
nothing but an :class:`~offcourse.errors.OffcourseError`.
"""

from __future__ import annotations

import json
import math
from contextlib import suppress
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offcourse import check
from offcourse.detect import Event, Fix, Monitor
from offcourse.errors import OffcourseError
from offcourse.model import Metadata, Track
from tests.hang import Hang, time_limit
from tests.synth import PROJ, fixes, route, walk

ROUTE = route([(0, 0), (2000, 0)])
# a wrong turn: 200 m to the side from 800 m to 1100 m along the route
RUN = walk([(0, 0), (800, 0), (800, 200), (1100, 200), (1100, 0), (2000, 0)], step_s=2.0)
CLEAN = fixes(RUN)
NAN = math.nan
INF = math.inf


def push_all(fs: list[Fix]) -> tuple[Monitor, list[Event]]:
    m = Monitor(ROUTE)
    events = [e for f in fs for e in m.push(f)]
    return m, events + m.close()


CLEAN_MONITOR, CLEAN_EVENTS = push_all(CLEAN)


def state_without_ignored(m: Monitor) -> dict[str, Any]:
    s = json.loads(json.dumps(m.state(), allow_nan=False))  # strict JSON: NaN is null
    s["state"].pop("ignored")
    s["state"].pop("ignored_by_reason")
    return s


def test_the_clean_run() -> None:
    assert [e.kind for e in CLEAN_EVENTS] == ["started", "off_course", "back_on_course", "finished"]
    assert CLEAN_MONITOR.ignored_fixes == 0


# -- the bad fixes, each made from the fix before it (`prev`) and the one after it (`nxt`) -------------------

KINDS: dict[str, Any] = {
    "back_in_time": lambda prev, nxt: Fix(prev.epoch_s - 30.0, prev.lon, prev.lat),
    "far_back_in_time_far_away": lambda prev, nxt: Fix(prev.epoch_s - 1e6, prev.lon + 0.5, prev.lat - 0.3),
    "duplicated": lambda prev, nxt: Fix(prev.epoch_s, prev.lon, prev.lat),
    "duplicated_time_elsewhere": lambda prev, nxt: Fix(prev.epoch_s, prev.lon + 0.01, prev.lat),
    "nan_lon": lambda prev, nxt: Fix((prev.epoch_s + nxt.epoch_s) / 2, NAN, prev.lat),
    "nan_lat": lambda prev, nxt: Fix((prev.epoch_s + nxt.epoch_s) / 2, prev.lon, NAN),
    "nan_position": lambda prev, nxt: Fix((prev.epoch_s + nxt.epoch_s) / 2, NAN, NAN),
    "infinite_lon": lambda prev, nxt: Fix((prev.epoch_s + nxt.epoch_s) / 2, INF, prev.lat),
    "null_island": lambda prev, nxt: Fix((prev.epoch_s + nxt.epoch_s) / 2, 0.0, 0.0),
    "latitude_95": lambda prev, nxt: Fix((prev.epoch_s + nxt.epoch_s) / 2, prev.lon, 95.0),
    "longitude_200": lambda prev, nxt: Fix((prev.epoch_s + nxt.epoch_s) / 2, 200.0, prev.lat),
    "nan_time": lambda prev, nxt: Fix(NAN, prev.lon, prev.lat),
    "infinite_time": lambda prev, nxt: Fix(INF, prev.lon, prev.lat),
    "minus_infinite_time": lambda prev, nxt: Fix(-INF, prev.lon, prev.lat),
}


def inject(clean: list[Fix], where: list[tuple[int, str]]) -> list[Fix]:
    """``clean`` with a bad fix of the given kind after each given index (never before the first fix)."""
    extra: dict[int, list[Fix]] = {}
    for i, kind in where:
        i = max(1, min(i, len(clean) - 2))
        extra.setdefault(i, []).append(KINDS[kind](clean[i], clean[i + 1]))
    out: list[Fix] = []
    for i, f in enumerate(clean):
        out.append(f)
        out.extend(extra.get(i, []))
    return out


def project(fs: list[Fix]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times and projected positions of the fixes; NaN where the position is not valid (as check does)."""
    t = np.array([f.epoch_s for f in fs])
    lon = np.array([f.lon for f in fs])
    lat = np.array([f.lat for f in fs])
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180) & ((lon != 0) | (lat != 0))
    x = np.full(len(fs), NAN)
    y = np.full(len(fs), NAN)
    x[ok], y[ok] = PROJ.forward(lon[ok], lat[ok])
    return t, x, y


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_of_bad_fix_is_ignored_everywhere_in_the_run(kind: str) -> None:
    where = [(i, kind) for i in range(1, len(CLEAN) - 1, 37)]
    m, events = push_all(inject(CLEAN, where))
    assert events == CLEAN_EVENTS
    assert m.ignored_fixes == len(where)
    assert state_without_ignored(m) == state_without_ignored(CLEAN_MONITOR)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where=st.lists(st.tuples(st.integers(0, len(CLEAN)), st.sampled_from(sorted(KINDS))), min_size=1, max_size=40))
def test_bad_fixes_anywhere_change_nothing_but_the_count(where: list[tuple[int, str]]) -> None:
    bad = inject(CLEAN, where)
    m, events = push_all(bad)
    assert events == CLEAN_EVENTS
    assert m.ignored_fixes == len(where)
    t, x, y = project(bad)
    p = Monitor(ROUTE)
    projected = [
        e for ti, xi, yi in zip(t.tolist(), x.tolist(), y.tolist(), strict=True) for e in p.push_projected(ti, xi, yi)
    ]
    assert projected + p.close() == CLEAN_EVENTS and p.ignored_fixes == len(where)
    a = Monitor(ROUTE)
    assert a.push_arrays(t, x, y, compiled=False) + a.close() == CLEAN_EVENTS
    assert a.ignored_fixes == len(where)


@pytest.mark.parametrize("compiled", [False, True])
def test_push_arrays_with_bad_fixes_equals_the_clean_run(compiled: bool) -> None:
    from offcourse import _fast

    if compiled and not _fast.available():
        pytest.skip("numba is not installed: no compiled path")
    where = [(i, kind) for k, kind in enumerate(sorted(KINDS)) for i in range(5 + k, len(CLEAN) - 1, 53)]
    t, x, y = project(inject(CLEAN, where))
    m = Monitor(ROUTE)
    events = m.push_arrays(t, x, y, compiled=compiled) + m.close()
    assert events == CLEAN_EVENTS
    assert m.ignored_fixes == len(where)
    assert state_without_ignored(m) == state_without_ignored(CLEAN_MONITOR)


def test_check_of_a_track_with_bad_fixes_equals_the_clean_run() -> None:
    where = [(i, kind) for k, kind in enumerate(sorted(KINDS)) for i in range(3 + k, len(CLEAN) - 1, 61)]
    bad = inject(CLEAN, where)
    track = Track.from_arrays(
        epoch_s=[f.epoch_s for f in bad], lon=[f.lon for f in bad], lat=[f.lat for f in bad], meta=Metadata("memory")
    )
    report = check(ROUTE, track)
    assert list(report.events) == CLEAN_EVENTS
    assert report.ignored_fixes == len(where)


def test_a_bad_first_fix_is_ignored_and_the_run_starts_with_the_next() -> None:
    for kind in ("nan_position", "null_island", "nan_time", "infinite_time", "latitude_95"):
        first = KINDS[kind](CLEAN[0], CLEAN[1])
        m, events = push_all([first, *CLEAN])
        assert events == CLEAN_EVENTS, kind
        assert m.ignored_fixes == 1


def test_a_fix_earlier_than_every_fix_so_far_is_ignored_even_after_a_gap() -> None:
    m = Monitor(ROUTE)
    for f in CLEAN[:100]:
        m.push(f)
    before = state_without_ignored(m)
    assert m.push(Fix(CLEAN[0].epoch_s - 1.0, CLEAN[100].lon, CLEAN[100].lat)) == []
    assert m.push(Fix(CLEAN[99].epoch_s, CLEAN[100].lon, CLEAN[100].lat)) == []
    assert m.ignored_fixes == 2 and state_without_ignored(m) == before
    assert m.push(CLEAN[100]) == [] and m.ignored_fixes == 2


@pytest.mark.parametrize("which", ["lon", "lat", "both", "epoch_s"])
def test_a_fix_with_none_is_ignored_like_nan(which: str) -> None:
    m = Monitor(ROUTE)
    for f in CLEAN[:50]:
        m.push(f)
    prev, nxt = CLEAN[49], CLEAN[50]
    t = (prev.epoch_s + nxt.epoch_s) / 2
    fix = {
        "lon": Fix(t, None, prev.lat),  # type: ignore[arg-type]
        "lat": Fix(t, prev.lon, None),  # type: ignore[arg-type]
        "both": Fix(t, None, None),  # type: ignore[arg-type]
        "epoch_s": Fix(None, prev.lon, prev.lat),  # type: ignore[arg-type]
    }[which]
    try:
        assert m.push(fix) == []
    except OffcourseError:
        return  # a typed error would do too
    assert m.ignored_fixes == 1


# -- anything at all ----------------------------------------------------------------------------------------

ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)
NEAR = st.floats(-1e4, 1e4)
NO_POSITION = st.sampled_from(
    [
        (NAN, 46.0),
        (7.0, NAN),
        (NAN, NAN),
        (INF, 46.0),
        (7.0, -INF),
        (0.0, 0.0),
        (200.0, 46.0),
        (7.0, 95.0),
        (-1e308, 1e308),
    ]
)


@st.composite
def wild_fixes(draw: st.DrawFn) -> Fix:
    """Fixes within 10 km of the route, anywhere on Earth, or without a valid position, at any time.

    Accuracies of any size: one of kilometres used to make the engine hang (see the test below).
    """
    where = draw(st.sampled_from(["near", "anywhere", "none"]))
    if where == "near":
        x, y = draw(NEAR), draw(NEAR)
        lon, lat = (float(v[0]) for v in PROJ.inverse([x], [y]))
    elif where == "anywhere":
        lon, lat = draw(st.floats(-180, 180)), draw(st.floats(-90, 90))
    else:
        lon, lat = draw(NO_POSITION)
    t = draw(st.one_of(st.floats(1.7e9, 1.7e9 + 1e4), ANY_FLOAT))
    return Fix(t, lon, lat, draw(st.one_of(st.just(NAN), ANY_FLOAT)), draw(HACC))


# accuracies of any size, or not finite
HACC = st.one_of(st.just(NAN), st.floats(-1e3, 500.0), st.floats(500.0, 1e8), st.sampled_from([INF, -INF]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.integers(0, len(CLEAN)), wild=st.lists(wild_fixes(), max_size=40))
def test_push_raises_nothing_but_typed_errors_and_keeps_a_restorable_state(prefix: int, wild: list[Fix]) -> None:
    m = Monitor(ROUTE)
    for f in CLEAN[:prefix]:
        m.push(f)
    with time_limit(20.0):
        for f in wild:
            try:
                events = m.push(f)
            except OffcourseError:
                continue
            assert all(isinstance(e, Event) for e in events)
        with suppress(OffcourseError):
            m.close()
    assert 0 <= m.ignored_fixes <= len(wild)
    saved = json.loads(json.dumps(m.state()))
    assert json.dumps(Monitor.restore(ROUTE, saved).state()) == json.dumps(m.state())


def test_fixes_far_away_while_off_course_do_not_hang() -> None:
    # regression: Monitor._offset_anywhere let the search radius grow 4x per fix (0.5 s, 10 s, 175 s, ... for
    # the 5th, 6th, 7th fix 4,450 km away); fixed in match.RouteIndex.nearest_global (commit 39d74fa)
    m = Monitor(ROUTE)
    rows = walk([(0, 0), (800, 0), (800, 400)])
    fs = fixes(rows)
    for f in fs:
        m.push(f)
    assert m.phase == "off"
    t = fs[-1].epoch_s
    try:
        with time_limit(3.0):
            for k in range(1, 11):  # a glitch the receiver repeats, or a lift home: 4,450 km south
                m.push(Fix(t + k, 7.0, 6.0))
    except Hang:
        pytest.fail(f"10 fixes far from the route took more than 3 s (offset now {m.offset_m:.0f} m)")
    assert m.offset_m > 4_000_000


def test_a_fix_with_a_huge_reported_accuracy_does_not_hang() -> None:
    m = Monitor(ROUTE)
    fs = fixes(walk([(0, 0), (800, 0), (800, 400)]))
    for f in fs[:-1]:
        m.push(f)
    assert m.phase == "off"
    f = fs[-1]
    try:
        with time_limit(3.0):
            m.push(Fix(f.epoch_s, f.lon, f.lat, NAN, 1e7))
    except Hang:
        pytest.fail("one fix with an accuracy of 10,000 km took more than 3 s")

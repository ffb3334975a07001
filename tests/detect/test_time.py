"""Time outliers: one fix stamped in the future must not make the engine ignore every later fix.

A clock glitch or a GPS week rollover stamps one fix an hour, or 1024 weeks, late. The engine
holds a fix late by more than ``TIME_JUMP_S`` until the next one: a next fix earlier than it (but
after the last accepted one) shows its stamp was wrong, and it is dropped (``time_outlier``); a
next fix later still shows the clock jumped, and both are taken. So the wrong turn after the
glitch is found, with exactly the events of the clean run, whichever way the fixes are pushed.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from offcourse.detect import Event, Fix, Monitor, _kernel
from offcourse.detect.options import TIME_JUMP_S
from tests.synth import PROJ, fixes, route, walk

ROUTE = route([(0, 0), (2000, 0)])
# a wrong turn: 200 m to the side from 800 m to 1100 m along the route
RUN = fixes(walk([(0, 0), (800, 0), (800, 200), (1100, 200), (1100, 0), (2000, 0)], step_s=2.0))
HOUR = 3600.0
ROLLOVER = 1024 * 7 * 86400.0


def push_all(fs: list[Fix]) -> tuple[Monitor, list[Event]]:
    m = Monitor(ROUTE)
    return m, [e for f in fs for e in m.push(f)] + m.close()


CLEAN_MONITOR, CLEAN = push_all(RUN)


def without(i: int) -> list[Event]:
    """The events of the clean run without fix ``i``: what dropping that fix must give."""
    return push_all(RUN[:i] + RUN[i + 1 :])[1]


def with_late_stamp(i: int, late_s: float) -> list[Fix]:
    fs = list(RUN)
    fs[i] = replace(fs[i], epoch_s=fs[i].epoch_s + late_s)
    return fs


def arrays(fs: list[Fix]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y = PROJ.forward(np.array([f.lon for f in fs]), np.array([f.lat for f in fs]))
    return np.array([f.epoch_s for f in fs], dtype=float), x, y


def test_the_clean_run_has_a_wrong_turn() -> None:
    assert [e.kind for e in CLEAN] == ["started", "off_course", "back_on_course", "finished"]


@pytest.mark.parametrize("late_s", [HOUR, ROLLOVER], ids=["an hour", "1024 weeks"])
@pytest.mark.parametrize("i", [100, 250, 399], ids=["before the turn", "while off", "the last fix"])
def test_one_fix_stamped_in_the_future_is_dropped_and_the_wrong_turn_still_found(i: int, late_s: float) -> None:
    m, events = push_all(with_late_stamp(i, late_s))
    if i == len(RUN) - 1:  # nothing after it says its time is wrong: taken, as any last fix
        assert events[:3] == CLEAN[:3] and m.ignored_fixes == 0
        return
    assert events == without(i)
    assert [e.kind for e in events] == [e.kind for e in CLEAN]
    assert m.ignored_fixes == 1 and m.ignored_by_reason["time_outlier"] == 1


def test_the_fixes_after_a_future_stamp_are_not_ignored_as_out_of_order() -> None:
    """Issue 13.2: the engine took the late stamp and ignored every later fix, missing the wrong turn."""
    m, events = push_all(with_late_stamp(100, HOUR))
    assert m.ignored_by_reason["out_of_order"] == 0
    assert [e.kind for e in events].count("off_course") == 1


@pytest.mark.parametrize("way", ["python", "kernel in python", "compiled"])
def test_push_arrays_drops_the_outlier_too(way: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if way == "kernel in python":
        monkeypatch.setattr(_kernel, "_kernel", None)
        monkeypatch.setattr(_kernel, "available", lambda: True)
    elif way == "compiled":
        pytest.importorskip("numba")
        if not _kernel.available():
            pytest.skip("compiled kernel switched off")
    t, x, y = arrays(with_late_stamp(100, ROLLOVER))
    m = Monitor(ROUTE)
    events = m.push_arrays(t, x, y, compiled=way != "python") + m.close()
    assert events == without(100)
    assert m.ignored_by_reason["time_outlier"] == 1


def test_a_real_clock_jump_is_followed() -> None:
    """Every fix from 100 on an hour later: the clock jumped; nothing is dropped."""
    fs = [replace(f, epoch_s=f.epoch_s + HOUR) if k >= 100 else f for k, f in enumerate(RUN)]
    m, events = push_all(fs)
    assert m.ignored_fixes == 0
    assert [e.kind for e in events] == [e.kind for e in CLEAN]
    assert events[1].epoch_s == CLEAN[1].epoch_s + HOUR


def test_a_gap_under_the_jump_limit_is_not_held() -> None:
    m = Monitor(ROUTE)
    for f in RUN[:10]:
        m.push(f)
    m.push(replace(RUN[10], epoch_s=RUN[9].epoch_s + TIME_JUMP_S))
    assert m._st.pending is None


def test_a_state_saved_while_a_late_fix_is_held_restores_and_drops_it() -> None:
    fs = with_late_stamp(100, HOUR)
    m = Monitor(ROUTE)
    got = [e for f in fs[:101] for e in m.push(f)]
    saved = json.loads(json.dumps(m.state(), allow_nan=False))
    assert saved["state"]["pending"] is not None
    m = Monitor.restore(ROUTE, saved)
    got += [e for f in fs[101:] for e in m.push(f)] + m.close()
    assert got == without(100)


def test_fixes_between_the_last_accepted_and_the_held_one_are_kept_in_order() -> None:
    """After a held fix, a fix older than the last accepted one is out of order; the held one waits."""
    fs = with_late_stamp(100, HOUR)
    fs.insert(101, replace(RUN[50], lon=RUN[99].lon, lat=RUN[99].lat))  # back in time
    m, events = push_all(fs)
    assert events == without(100)
    assert m.ignored_by_reason == {**m.ignored_by_reason, "out_of_order": 1, "time_outlier": 1}

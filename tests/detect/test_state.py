"""The saved state: strict JSON, versioned, tied to its route's shape, every field validated.

A state from another route, of another version, or tampered with is refused with one
:class:`~offcourse.errors.InvalidStateError` (never AttributeError, KeyError, TypeError,
OverflowError, nor a monitor that silently never alerts); a state saved and restored at any point
continues with exactly the events of an uninterrupted run (a stateful hypothesis test drives this).
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from offcourse.detect import Event, Fix, Monitor
from offcourse.detect.state import _V3_ONLY as V3_ONLY
from offcourse.errors import InvalidStateError, InvalidTrackError, OffcourseError
from tests.synth import fixes, route, walk

ROUTE = route([(0, 0), (2000, 0)])
# a wrong turn: 200 m to the side from 800 m to 1100 m along the route
RUN = fixes(walk([(0, 0), (800, 0), (800, 200), (1100, 200), (1100, 0), (2000, 0)], step_s=2.0))


def strict(m: Monitor) -> dict[str, Any]:
    """The state through a strict JSON store (as a phone's JSON library would keep it)."""
    data: dict[str, Any] = json.loads(json.dumps(m.state(), allow_nan=False))
    return data


def run(fs: list[Fix], m: Monitor | None = None) -> tuple[Monitor, list[Event]]:
    m = m or Monitor(ROUTE)
    return m, [e for f in fs for e in m.push(f)]


def test_the_state_is_strict_json_at_every_fix_and_restores_to_the_same_events() -> None:
    _, expected = run(RUN)
    m = Monitor(ROUTE)
    got: list[Event] = []
    for f in RUN:
        got += m.push(f)
        m = Monitor.restore(ROUTE, strict(m))
    assert got == expected
    assert [e.kind for e in got] == ["started", "off_course", "back_on_course", "finished"]


def test_unknown_numbers_are_null_and_round_trip_exactly() -> None:
    m, _ = run(RUN[:10])
    s = strict(m)
    assert s["version"] == 3
    assert s["state"]["exit_t"] is None and s["state"]["alert_t"] is None  # NaN in the engine
    again = Monitor.restore(ROUTE, s)
    assert math.isnan(again._st.exit_t)
    assert json.dumps(again.state(), allow_nan=False) == json.dumps(m.state(), allow_nan=False)


def test_infinite_offsets_are_strings_and_round_trip() -> None:
    m = Monitor(ROUTE)
    m._st.d = math.inf
    s = strict(m)
    assert s["state"]["d"] == "Infinity"
    assert Monitor.restore(ROUTE, s)._st.d == math.inf


@pytest.mark.parametrize(
    "other",
    [
        [(2000, 0), (0, 0)],  # the same course reversed
        [(0, 500), (2000, 500)],  # shifted 500 m north
        [(0, 0), (0, 2000)],  # rotated a quarter turn
    ],
    ids=["reversed", "shifted", "rotated"],
)
def test_the_state_of_the_same_course_reversed_shifted_or_rotated_is_refused(other: list[tuple[float, float]]) -> None:
    m, _ = run(RUN[:200])
    r = route(other)
    assert len(r) == len(ROUTE) and abs(r.length_m - ROUTE.length_m) < 1e-6  # same count and length
    with pytest.raises(InvalidStateError, match="another route"):
        Monitor.restore(r, strict(m))


def test_invalid_state_error_is_still_an_invalid_track_error() -> None:
    with pytest.raises(InvalidTrackError):
        Monitor.restore(route([(0, 0), (10, 0), (10, 10)]), strict(Monitor(ROUTE)))


def as_version_1(s: dict[str, Any]) -> dict[str, Any]:
    """What offcourse 0.1 saved: NaN for unknown numbers, no fingerprint, no v2 fields."""
    v1 = copy.deepcopy(s)
    v1["version"] = 1
    del v1["route_fingerprint"]
    for k in ("ignored_by_reason", "pending", "near_t", "near_m", *V3_ONLY):
        del v1["state"][k]
    text = json.dumps(v1).replace("null", "NaN")
    out: dict[str, Any] = json.loads(text)
    return out


def same_but_distances(a: list[Event], b: list[Event]) -> None:
    """Events equal but for the distances: an older state has no smoothed position, the filter starts afresh."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        dx, dy = x.to_dict(), y.to_dict()
        for k in ("distance_m", "extra_distance_m"):
            if k in dx:
                assert dx.pop(k) == pytest.approx(dy.pop(k), abs=5.0)
        assert dx == dy


def test_a_version_1_state_still_restores_and_continues_with_the_same_events() -> None:
    _, expected = run(RUN)
    first, got = run(RUN[:150])
    second = Monitor.restore(ROUTE, as_version_1(strict(first)))
    _, rest = run(RUN[150:], second)
    same_but_distances(got + rest, expected)
    assert second.state()["version"] == 3


def as_version_2(state: dict[str, Any]) -> dict[str, Any]:
    """A version 3 state as version 2 had it: without the error model's change and interval, the CUSUM
    and the smoothed position."""
    v2 = json.loads(json.dumps(state))
    v2["version"] = 2
    for k in V3_ONLY:
        del v2["state"][k]
    out: dict[str, Any] = v2
    return out


def test_a_version_2_state_still_restores_with_a_fresh_error_model_and_the_same_events() -> None:
    _, expected = run(RUN)
    first, got = run(RUN[:150])
    second = Monitor.restore(ROUTE, as_version_2(strict(first)))
    assert (second._st.step_ms, second._st.interval_s, second._st.cusum) == (0.0, 0.0, 0.0)
    assert math.isnan(second._st.kx)
    _, rest = run(RUN[150:], second)
    same_but_distances(got + rest, expected)
    assert second.state()["version"] == 3


def test_a_version_2_state_with_a_version_3_field_is_refused() -> None:
    v2 = as_version_2(strict(Monitor(ROUTE)))
    v2["state"]["cusum"] = 0.0
    with pytest.raises(InvalidStateError, match=r"missing \[\], unknown \['cusum'\]"):
        Monitor.restore(ROUTE, v2)


def test_another_version_names_the_versions_read() -> None:
    s = strict(Monitor(ROUTE))
    s["version"] = 4
    with pytest.raises(InvalidStateError, match=r"version 4 .*versions 1 to 3"):
        Monitor.restore(ROUTE, s)


def _set(path: str, value: Any) -> Any:
    def mutate(s: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        d: Any = s
        for p in parents:
            d = d[p]
        d[last] = value

    return mutate


def _delete(path: str) -> Any:
    def mutate(s: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        d: Any = s
        for p in parents:
            d = d[p]
        del d[last]

    return mutate


HOSTILE = {
    "phase bogus": _set("state.phase", "bogus"),
    "phase missing": _delete("state.phase"),
    "phase a number": _set("state.phase", 3),
    "time a string": _set("state.t", "noon"),
    "time far future": _set("state.t", 1e300),
    "time huge integer": _set("state.t", 10**400),
    "count negative": _set("state.n_fixes", -1),
    "count a float": _set("state.off_count", 1.5),
    "count huge": _set("state.back_count", 10**400),
    "bool a number": _set("state.wrong_way", 1),
    "speed zero": _set("state.speed_mps", 0),
    "noise huge": _set("state.noise_ms", 1e12),
    "progress past the route": _set("state.s", 1e9),
    "covered reversed pair": _set("state.covered", [[500.0, 100.0]]),
    "covered overlapping": _set("state.covered", [[0.0, 500.0], [400.0, 600.0]]),
    "covered not a list": _set("state.covered", {"a": 1}),
    "ring item short": _set("state.ring", [[1.0, 2.0]]),
    "ring too long": _set("state.ring", [[1.7e9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]] * 241),
    "reasons missing one": _set("state.ignored_by_reason", {"spike": 0}),
    "reasons do not add up": _set("state.ignored", 5),
    "pending malformed": _set("state.pending", [1.0]),
    "unknown state key": _set("state.extra", 1),
    "state a list": _set("state", []),
    "options extra key": _set("options.colour", 1),
    "options negative": _set("options.off_threshold_m", -1),
    "options a string": _set("options.jitter_m", "8"),
    "options no hysteresis": _set("options.back_on_threshold_m", 60.0),
    "options missing": _delete("options"),
    "fingerprint wrong": _set("route_fingerprint", "0" * 64),
    "length a string": _set("route_length_m", "2000"),
    "version missing": _delete("version"),
    "version true": _set("version", True),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_state_is_one_typed_error(name: str) -> None:
    m, _ = run(RUN[:420])  # off course, with a ring, covered stretches and an exit
    s = strict(m)
    HOSTILE[name](s)
    with pytest.raises(InvalidStateError):
        Monitor.restore(ROUTE, s)


@pytest.mark.parametrize("state", [None, [], "state", 3, {"version": 2}])
def test_not_a_state_at_all_is_one_typed_error(state: Any) -> None:
    with pytest.raises(InvalidStateError):
        Monitor.restore(ROUTE, state)


# -- stateful: a monitor saved, restored, fed bad fixes and hostile states, against a clean run --------

BAD_FIXES = st.sampled_from(
    [
        lambda f: Fix(f.epoch_s - 30.0, f.lon, f.lat),  # out of order
        lambda f: Fix(f.epoch_s, f.lon, f.lat),  # duplicated time
        lambda f: Fix(math.nan, f.lon, f.lat),
        lambda f: Fix(f.epoch_s + 0.5, math.nan, f.lat),
        lambda f: Fix(f.epoch_s + 0.5, 0.0, 0.0),
        lambda f: Fix(1e300, f.lon, f.lat),
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=3),
)


class SavedAndRestored(RuleBasedStateMachine):
    """Push the run's fixes in order, with bad fixes, saves, restores and hostile states between."""

    def __init__(self) -> None:
        super().__init__()
        self.i = 0
        self.m = Monitor(ROUTE)
        self.ref = Monitor(ROUTE)
        self.got: list[Event] = []
        self.expected: list[Event] = []

    @precondition(lambda self: self.i < len(RUN))
    @rule(n=st.integers(1, 40))
    def push_good(self, n: int) -> None:
        for f in RUN[self.i : self.i + n]:
            self.got += self.m.push(f)
            self.expected += self.ref.push(f)
        self.i = min(self.i + n, len(RUN))

    @precondition(lambda self: self.i > 0)
    @rule(bad=BAD_FIXES)
    def push_bad(self, bad: Any) -> None:
        # a bad fix is ignored: nothing to compare but that it raises nothing untyped
        self.got += self.m.push(bad(RUN[self.i - 1]))

    @rule()
    def save_and_restore(self) -> None:
        self.m = Monitor.restore(ROUTE, strict(self.m))

    @rule(data=st.data())
    def restore_hostile(self, data: st.DataObject) -> None:
        s = strict(self.m)
        section = data.draw(st.sampled_from(["state", "options", "top"]))
        target = s if section == "top" else s[section]
        key = data.draw(st.sampled_from(sorted(target)))
        if data.draw(st.booleans()):
            target[key] = data.draw(SCALARS)
        else:
            del target[key]
        try:
            restored = Monitor.restore(ROUTE, s)
        except InvalidStateError:
            return
        except OffcourseError as e:  # pragma: no cover - the test's point
            raise AssertionError(f"not an InvalidStateError: {e!r}") from e
        # accepted: the change was harmless, or a value the engine could hold; it must still run
        probe = copy.deepcopy(restored)
        for f in RUN[self.i : self.i + 3]:
            probe.push(f)

    @invariant()
    def same_events_as_a_clean_run(self) -> None:
        assert self.got == self.expected

    def teardown(self) -> None:
        if self.i >= len(RUN):
            assert self.m.close() == self.ref.close()
            assert [e.kind for e in self.expected][:2] == ["started", "off_course"]


SavedAndRestored.TestCase.settings = settings(
    max_examples=40, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_saved_and_restored_monitor = SavedAndRestored.TestCase

"""What an app pushes: times as numbers, datetimes or ISO strings; swapped coordinates; before the start.

Issue 16.3: a ``datetime`` used to be dropped without a word, swapped longitude/latitude gave no
event and no error, and nothing told the app how far the runner was from the route.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from offcourse.detect import Event, Fix, Monitor, NotOnRoute, Started
from offcourse.errors import InvalidFixError
from tests.synth import PROJ, fixes, route, walk

ROUTE = route([(0, 0), (2000, 0)])
RUN = fixes(walk([(0, 0), (800, 0), (800, 200), (1100, 200), (1100, 0), (2000, 0)], step_s=2.0))


def push_all(fs: list[Fix], m: Monitor | None = None) -> tuple[Monitor, list[Event]]:
    m = m or Monitor(ROUTE)
    return m, [e for f in fs for e in m.push(f)] + m.close()


_, CLEAN = push_all(RUN)
PLUS2 = timezone(timedelta(hours=2))


def as_time(f: Fix, form: str) -> Fix:
    when = datetime.fromtimestamp(float(f.epoch_s), UTC)
    value: object = {
        "int": int(f.epoch_s),
        "aware utc": when,
        "aware +02:00": when.astimezone(PLUS2),
        "iso Z": when.isoformat().replace("+00:00", "Z"),
        "iso +02:00": when.astimezone(PLUS2).isoformat(),
        "numeric string": repr(float(f.epoch_s)),
        "numpy": np.float64(f.epoch_s),
    }[form]
    return replace(f, epoch_s=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("form", ["int", "aware utc", "aware +02:00", "iso Z", "iso +02:00", "numeric string", "numpy"])
def test_times_in_any_form_give_the_same_events(form: str) -> None:
    m, events = push_all([as_time(f, form) for f in RUN])
    assert events == CLEAN and m.ignored_fixes == 0


@pytest.mark.parametrize("naive", [datetime(2023, 11, 14, 22, 13, 20), "2023-11-14T22:13:20"])
def test_a_time_without_a_zone_is_a_typed_error_naming_the_fix(naive: object) -> None:
    with pytest.raises(InvalidFixError, match=r"2023-11-14T22:13:20 has no time zone.*Monitor\(tz="):
        Monitor(ROUTE).push(replace(RUN[0], epoch_s=naive))  # type: ignore[arg-type]


def test_a_time_without_a_zone_is_read_in_the_zone_given() -> None:
    naive = [replace(f, epoch_s=as_time(f, "aware +02:00").epoch_s.replace(tzinfo=None)) for f in RUN]  # type: ignore[union-attr]
    _, events = push_all(naive, Monitor(ROUTE, tz=PLUS2))
    assert events == CLEAN


def test_a_time_that_is_no_time_is_ignored_and_counted() -> None:
    m = Monitor(ROUTE)
    for f in RUN[:5]:
        m.push(f)
    assert m.push(replace(RUN[5], epoch_s="half past eight")) == []  # type: ignore[arg-type]
    assert m.ignored_by_reason["no_time"] == 1


# -- swapped coordinates -------------------------------------------------------------------------------


def test_swapped_longitude_and_latitude_are_a_typed_error_saying_so() -> None:
    f = RUN[0]
    with pytest.raises(InvalidFixError, match="longitude and latitude look swapped") as info:
        Monitor(ROUTE).push(Fix(f.epoch_s, f.lat, f.lon))
    assert "km from the route" in str(info.value)


def test_a_fix_far_away_but_not_swapped_is_only_not_on_the_route_yet() -> None:
    m = Monitor(ROUTE)
    assert m.push(Fix(RUN[0].epoch_s, -70.0, 40.0)) == []  # New England, for a route in Switzerland
    assert m.phase == "waiting"
    assert m.approach is not None and m.approach.distance_m > 5e6


def test_swapped_fixes_after_the_start_are_spikes_not_errors() -> None:
    m = Monitor(ROUTE)
    for f in RUN[:10]:
        m.push(f)
    f = RUN[10]
    assert m.push(Fix(f.epoch_s, f.lat, f.lon)) == []
    assert m.ignored_by_reason["spike"] == 1


# -- before the start --------------------------------------------------------------------------------------


def test_approach_gives_distance_bearing_and_where_along_the_route() -> None:
    m = Monitor(ROUTE)
    lon, lat = PROJ.inverse(np.array([3000.0]), np.array([-1000.0]))
    m.push(Fix(1_700_000_000.0, float(lon[0]), float(lat[0])))
    a = m.approach
    assert a is not None
    assert a.distance_m == pytest.approx(math.hypot(1000, 1000), abs=1e-6)
    assert a.bearing_deg == pytest.approx(315.0, abs=1e-6)  # north-west, to the route's end
    assert a.route_m == pytest.approx(2000.0, abs=1e-6)
    assert a.to_start_m == pytest.approx(math.hypot(3000, 1000), abs=1e-6)


def test_not_on_route_events_are_rare_and_stop_at_the_start() -> None:
    """From 2 km south of the start, walking north to it, then along the route."""
    rows = walk([(0, -2000), (0, 0), (2000, 0)], step_s=2.0)
    m, events = push_all(fixes(rows), Monitor(ROUTE, approach_events=True))
    near = [e for e in events if isinstance(e, NotOnRoute)]
    first = near[0]
    assert (first.distance_m, first.bearing_deg, first.route_m, first.to_start_m) == pytest.approx(
        (2000.0, 0.0, 0.0, 2000.0), abs=1e-6
    )
    assert len(near) < len(rows) / 10  # not one per fix
    for a, b in itertools.pairwise(near):
        assert b.epoch_s - a.epoch_s >= 60.0 or abs(b.distance_m - a.distance_m) >= 0.2 * a.distance_m
    started = next(i for i, e in enumerate(events) if isinstance(e, Started))
    assert all(not isinstance(e, NotOnRoute) for e in events[started:])
    assert isinstance(events[started], Started) and events[started].route_m == pytest.approx(0.0, abs=1.0)
    assert m.approach is None


def test_without_approach_events_nothing_changes() -> None:
    rows = walk([(0, -2000), (0, 0), (2000, 0)], step_s=2.0)
    _, events = push_all(fixes(rows))
    assert [e.kind for e in events] == ["started", "finished"]


def test_a_late_joiner_learns_where_they_joined() -> None:
    """Issue 11: joining the route at km 1 gives Started at about km 1 ("joined the route at km 1.1").

    Away from the start the engine follows the runner once they have run ``relock_time_s`` (30 s)
    and ``relock_progress_m`` (60 m) along the route: at 3 m/s, 90 m from where they joined.
    """
    rows = walk([(1000, -300), (1000, 0), (2000, 0)], step_s=2.0)
    _, events = push_all(fixes(rows), Monitor(ROUTE, approach_events=True))
    started = [e for e in events if isinstance(e, Started)]
    assert len(started) == 1 and 1000.0 + 60.0 <= started[0].route_m <= 1000.0 + 90.0 + 6.0

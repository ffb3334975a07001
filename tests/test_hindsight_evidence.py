"""Hindsight's evidence on an excursion: glitches withdrawn, real departures kept, spikes, skips, wrong ways.

Exact expectations on tiny synthetic geometry in metres (a straight 2 km route, a runner at 3 m/s, a
fix a second unless said otherwise).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from offcourse import Track, check
from offcourse.confirm import live_wrong_ways
from offcourse.coverage import hindsight
from offcourse.detect import Monitor, WrongDirection, WrongDirectionEnd, steps
from offcourse.detect.options import BURST_MAX_S
from offcourse.report import Report
from offcourse.sections import skipped_sections
from tests.detect.test_error_model import STRAIGHT, T0, _multipath
from tests.synth import PROJ, walk


def _check(rows: np.ndarray) -> Report:
    lon, lat = PROJ.inverse(rows[:, 1], rows[:, 2])
    return check(STRAIGHT, Track.from_arrays(epoch_s=T0 + rows[:, 0], lon=lon, lat=lat))


def test_a_detour_is_unpaid_when_the_time_lost_is_nearer_none_than_its_cost() -> None:
    # 60 m on in 20 s at 3 m/s (none lost) while the fixes drew 150 m: 30 s of detour never paid
    assert steps.detour_unpaid(60.0, 20.0, 150.0, 3.0)
    # out 80 m and back where they left: 55 s lost, the detour's cost 53.3 s
    assert not steps.detour_unpaid(0.0, 55.0, 160.0, 3.0)
    # a bulge beside the route: 500 m on in 200 s with 600 m run: 33.3 s lost, exactly its cost
    assert not steps.detour_unpaid(500.0, 200.0, 600.0, 3.0)
    # the midpoint: lost 10 s, the detour would cost 20 s: a tie is not a glitch
    assert not steps.detour_unpaid(30.0, 20.0, 90.0, 3.0)
    assert steps.detour_unpaid(31.0, 20.0, 90.0, 3.0)
    assert not steps.detour_unpaid(60.0, 20.0, 150.0, 0.0)  # pace unknown


def test_a_multipath_ramp_the_live_engine_kept_is_withdrawn_in_hindsight_as_a_glitch() -> None:
    """70 m sideways for 36 s while the runner runs on: alerted at 114 s; back 45 s after the first fix
    off (longer than BURST_MAX_S, so the live engine keeps it); the fixes past 50 m span 104-142 s (38 s,
    within a burst), progress went on at 3 m/s (no time lost) and the 253 m drawn would have cost 40 s."""
    rep = _check(_multipath(hold_s=36))
    assert [type(e).__name__ for e in rep.events] == ["Started", "OffCourse", "BackOnCourse", "Finished"]
    assert rep.excursions == ()
    (exc, why), = rep.withdrawn
    assert exc.alert_epoch_s == T0 + 114.0
    assert exc.withdrawn_epoch_s is None  # by hindsight
    assert why.startswith("a glitch: 132 m along the route in 44 s, the runner's pace (3.0 m/s)")
    assert why.endswith("would have cost 40 s, and 0 s were lost: the receiver's error, not a runner")


def test_an_offset_held_longer_than_an_error_burst_is_kept() -> None:
    """Held 40 s: the fixes past 50 m span 104-146 s, 42 s > BURST_MAX_S (40 s)."""
    assert BURST_MAX_S == 40.0
    rep = _check(_multipath(hold_s=40))
    assert [e.kind for e in rep.excursions] == ["off_course"]
    assert rep.withdrawn == ()


def test_a_real_80_m_out_and_back_at_running_pace_is_kept() -> None:
    rep = _check(walk([(0, 0), (600, 0), (600, 80), (600, 0), (2000, 0)]))
    (e,) = rep.excursions
    assert e.kind == "off_course"
    assert e.exit_route_m == pytest.approx(600.0, abs=1e-6) and e.rejoin_route_m == pytest.approx(600.0, abs=1e-6)
    assert e.max_offset_m == pytest.approx(79.0, abs=1e-6)  # the fix at the turn is 1 s from it
    # 160 m run off the route; the distance counts steps of at least jitter_m (8 m) from the last one
    assert e.extra_distance_m == pytest.approx(156.0, abs=0.5)
    assert rep.withdrawn == ()


def test_a_real_fork_at_a_shallow_angle_is_kept() -> None:
    """10 degrees off for 600 m (104 m off at the far end), then back: 18.2 m extra in truth (1200 m
    against 1200 cos 10 degrees); measured 44.7 m (the jitter filter's steps of at least 8 m and the
    exit and rejoin placed where the fork is 15 m from the route, 85 m along it)."""
    a = math.radians(10.0)
    rows = walk([(0, 0), (600, 0), (600 + 600 * math.cos(a), 600 * math.sin(a)), (600 + 1200 * math.cos(a), 0),
                 (2000, 0)])
    rep = _check(rows)
    (e,) = rep.excursions
    assert e.kind == "off_course"
    assert e.max_offset_m == pytest.approx(104.2, abs=0.1)
    assert e.extra_distance_m == pytest.approx(44.7, abs=0.1)
    assert rep.withdrawn == ()


def test_a_lone_fix_no_runner_reaches_is_a_spike_not_a_stretch_off_the_route() -> None:
    """A fix every 30 s along the straight route; one of them 300 m off: more than 300 m from the fix
    before in 30 s is faster than anyone runs (7 m/s * 30 s + 25 m = 235 m). 150 m off (175 m from the
    fix before) a runner could reach: a stretch off the route."""
    rows = walk([(0, 0), (2000, 0)], step_s=30.0)
    index = Monitor(STRAIGHT).index
    spiked = rows.copy()
    spiked[10, 2] = 300.0
    h = hindsight(index, spiked[:, 1], spiked[:, 2], T0 + spiked[:, 0])
    assert h.offs == ()
    assert h.coverage.intervals == ((0.0, pytest.approx(1980.0)),)
    reachable = rows.copy()
    reachable[10, 2] = 150.0  # 90 m on and 150 m out: 175 m in 30 s, within 235 m
    h = hindsight(index, reachable[:, 1], reachable[:, 2], T0 + reachable[:, 0])
    (off,) = h.offs
    assert off.max_nearest_m == pytest.approx(150.0)


def test_route_the_runner_had_the_time_to_run_at_their_pace_is_not_skipped() -> None:
    """Seen at 3147 m (t = 1406 s), then a fix matched 29 m back (t = 1528 s), then at 3464 m (t = 1548 s):
    317 m in 20 s from the fix before is no run, but in 142 s from the last fix at the gap's start it is
    (284 m at 2 m/s, leaving 33 m < 200 m). Without times it is a 317 m skip."""
    ks = [0.0, 1000.0, 2000.0, 3147.0, 3118.0, 3464.0, 3518.0, 4000.0]
    kt = [0.0, 500.0, 1000.0, 1406.0, 1528.0, 1548.0, 1569.0, 1800.0]
    moved = [0.0, 1000.0, 1000.0, 1147.0, 29.0, 70.0, 50.0, 480.0]
    kept = list(range(len(ks)))
    run = ((0.0, 3147.0), (3464.0, 4000.0))
    args = (run, run, [], 4000.0, 200.0, kept, ks, moved)
    (sk,) = skipped_sections(*args)
    assert (sk.from_m, sk.to_m, sk.i0, sk.i1) == (3147.0, 3464.0, 4, 5)
    assert skipped_sections(*args, kt, 2.0) == []
    assert len(skipped_sections(*args, kt, 0.5)) == 1  # 71 m in 142 s at 0.5 m/s: 246 m not run


def test_wrong_ways_the_live_engine_saw_overlapping_in_time_are_one_span() -> None:
    ev = [
        WrongDirection(epoch_s=966.0, start_epoch_s=914.0, from_route_m=2649.0),
        WrongDirectionEnd(
            epoch_s=1047.0, start_epoch_s=914.0, from_route_m=2406.0, to_route_m=2649.0, distance_m=214.0
        ),
        WrongDirection(epoch_s=1047.0, start_epoch_s=1013.0, from_route_m=5312.0),
        WrongDirectionEnd(
            epoch_s=2157.0, start_epoch_s=1013.0, from_route_m=2163.0, to_route_m=5312.0, distance_m=2608.0
        ),
        WrongDirection(epoch_s=3000.0, start_epoch_s=2990.0, from_route_m=700.0),
    ]
    t = np.array([0.0, 3600.0])
    assert live_wrong_ways(ev, t) == [(914.0, 2157.0, 2163.0, 5312.0), (2990.0, 3600.0, 0.0, 700.0)]


def test_out_along_a_shallow_fork_and_back_rejoins_where_the_runner_turned_forward_again() -> None:
    """Out 500 m along a fork at 10 degrees from x = 600 m and back the same way: 1000 m extra. Coming back,
    the runner comes within the back-on threshold about 140 m from the fork (25 m / tan 10 degrees) and is
    taken back on the route there (x = 740 m); they then run back along it to x = 600 m and turn forward
    again. That turn is the rejoin, and the 2 x 139 m run back and forth there are extra distance too."""
    a = math.radians(10.0)
    rep = _check(walk([(0, 0), (600, 0), (600 + 500 * math.cos(a), 500 * math.sin(a)), (600, 0), (2000, 0)]))
    (e,) = rep.excursions
    assert e.kind == "off_course"
    assert e.rejoin_route_m == pytest.approx(601.0, abs=0.5)
    assert e.end_epoch_s == T0 + 533.0  # 200 s at 3 m/s to x = 600 m, then 333 s out and back
    assert e.extra_distance_m == pytest.approx(1000.0, abs=25.0)  # 1020.8: the exit placed 85 m up the fork
    live = next(ev for ev in rep.events if type(ev).__name__ == "BackOnCourse")
    assert live.extra_distance_m == pytest.approx(743.1, abs=0.5)  # what the live engine measured
    assert e.extra_distance_m - live.extra_distance_m == pytest.approx(2 * (live.rejoin_route_m - e.rejoin_route_m))


def test_the_route_followed_in_hindsight_counts_runs_on_it_not_hops_between_passes_or_stretches_off() -> None:
    """Runs 100-120 m and 130-140 m either side of a fix 80 m off, then a hop to 3000 m in 1 s (another
    pass of the route nearby, faster than anyone runs: 7 m/s + 25 m), then 3000-3010 m: 20 + 10 + 10 m."""
    from offcourse.confirm import along_route_m
    from offcourse.coverage import Coverage, Hindsight

    nan = math.nan
    route_m = np.array([100.0, 110.0, 120.0, nan, 130.0, 140.0, 3000.0, 3010.0])
    near = np.array([5.0, 5.0, 5.0, 80.0, 5.0, 5.0, 5.0, 5.0])
    h = Hindsight(route_m, near, route_m, Coverage(4000.0, (), (), (), 0.0, 200.0), (), (), (), (), 8.0, ())
    t = np.arange(8.0)
    assert along_route_m(h, t, np.ones(8, dtype=bool), 50.0) == 40.0
    assert along_route_m(h, t, np.ones(8, dtype=bool), 100.0) == 50.0  # 80 m is within: one run 100-140 m


def test_a_runner_seen_at_the_start_then_far_along_skipped_what_they_could_not_run() -> None:
    """An 8 km route. One fix at 2 m (t = 0), nothing for 447 s, then a run from 5470 m to the end at
    2 m/s: 5470 m in 447 s is no run (894 m at their pace), so the route from the first fix seen to
    5470 m is a skipped section, and the verdict counts it once (not again as a late join). Seen
    first at 5470 m, the same run joined late: no skipped section."""
    from offcourse.findings import cut_sections
    from tests.synth import route

    r = route([(20.0 * i, 0.0) for i in range(401)])
    t = np.concatenate(([0.0], 447.0 + np.arange(0.0, 1265.0, 5.0)))
    x = np.concatenate(([2.0], 5470.0 + 2.0 * (t[1:] - 447.0)))
    lon, lat = PROJ.inverse(x, np.zeros(len(x)))
    rep = check(r, Track.from_arrays(epoch_s=T0 + t, lon=lon, lat=lat))
    (sk,) = [e for e in rep.excursions if e.kind == "skipped_section"]
    assert sk.exit_route_m == pytest.approx(2.0, abs=1.0) and sk.rejoin_route_m == pytest.approx(5470.0, abs=5.0)
    assert rep.verdict.kind == "cut"
    cut = cut_sections(rep.excursions, rep.coverage, rep.finished)
    assert sum(b - a for a, b, _ in cut) == pytest.approx(5468.0, abs=6.0)
    late = check(r, Track.from_arrays(epoch_s=T0 + t[1:], lon=lon[1:], lat=lat[1:]))
    assert [e.kind for e in late.excursions] == []

"""The streaming engine on tiny synthetic geometry in metres, with exact expected events."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from offcourse.detect import (
    BackOnCourse,
    Finished,
    Fix,
    Monitor,
    NeverRejoined,
    OffCourse,
    Options,
    SkippedSection,
    Started,
    WrongDirection,
    WrongDirectionEnd,
)
from tests.synth import fixes, route, walk

STRAIGHT = route([(0, 0), (2000, 0)])


def run(r, rows, options=None):  # type: ignore[no-untyped-def]
    m = Monitor(r, options)
    events = [e for f in fixes(rows) for e in m.push(f)]
    return m, events + m.close()


def kinds(events) -> list[str]:  # type: ignore[no-untyped-def]
    return [type(e).__name__ for e in events]


def test_clean_run_starts_and_finishes_with_nothing_else() -> None:
    m, ev = run(STRAIGHT, walk([(0, 0), (2000, 0)]))
    assert kinds(ev) == ["Started", "Finished"]
    assert m.covered_m() == pytest.approx(1900, abs=5)


@pytest.mark.parametrize(("offset_m", "alert"), [(49.0, False), (51.0, True)])
def test_off_threshold_plus_minus_one_metre(offset_m: float, alert: bool) -> None:
    """A runner parallel to the route at threshold ± 1 m (off threshold 50 m, noise adaptation off)."""
    options = Options(noise_gain=0.0)
    assert options.off_threshold_m == 50.0
    rows = walk([(0, 0), (500, 0), (500, offset_m), (1500, offset_m), (1500, 0), (2000, 0)])
    _, ev = run(STRAIGHT, rows, options)
    assert ("OffCourse" in kinds(ev)) is alert


def test_noisy_fixes_raise_the_off_threshold() -> None:
    """Offsets of ±24 m on the route (canopy) raise the threshold: a 60 m excursion then is noise."""
    rows = walk([(0, 0), (2000, 0)])
    rows[:, 2] = np.where(np.arange(len(rows)) % 2 == 0, 24.0, -24.0)
    detour = (rows[:, 1] > 1000) & (rows[:, 1] < 1300)
    rows[detour, 2] = 60.0
    _, plain = run(STRAIGHT, rows, Options(noise_gain=0.0))
    _, adaptive = run(STRAIGHT, rows)
    assert "OffCourse" in kinds(plain)
    assert kinds(adaptive) == ["Started", "Finished"]


def test_detour_out_and_back_same_way_costs_its_length() -> None:
    _, ev = run(STRAIGHT, walk([(0, 0), (600, 0), (600, 200), (600, 0), (2000, 0)]))
    assert kinds(ev) == ["Started", "OffCourse", "BackOnCourse", "Finished"]
    off, back = ev[1], ev[2]
    assert isinstance(off, OffCourse) and isinstance(back, BackOnCourse)
    assert off.exit_route_m == pytest.approx(600, abs=1)
    assert back.rejoin_route_m == pytest.approx(600, abs=1)
    assert back.max_offset_m == pytest.approx(200, abs=3)
    assert back.extra_distance_m == pytest.approx(400, abs=20)
    t0 = 1_700_000_000.0
    departed, passed_50_m = t0 + 200.0, t0 + 200.0 + 50.0 / 3.0
    assert 0 <= off.exit_epoch_s - departed <= 6  # the last fix within exit_offset_m (15 m)
    # the alert: min_off_time_s (4 s) after the first fix beyond 50 m
    assert 0 < off.epoch_s - passed_50_m <= 10
    assert back.time_lost_s == pytest.approx(400 / 3, abs=10)


def test_detour_rejoining_further_on() -> None:
    _, ev = run(STRAIGHT, walk([(0, 0), (600, 0), (600, 150), (1200, 150), (1200, 0), (2000, 0)]))
    back = next(e for e in ev if isinstance(e, BackOnCourse))
    assert back.exit_route_m == pytest.approx(600, abs=1)
    assert back.rejoin_route_m == pytest.approx(1200, abs=1)
    assert back.extra_distance_m == pytest.approx(300, abs=20)  # 150 + 600 + 150 - 600


def test_shortcut_across_a_bend_has_negative_extra_distance() -> None:
    bend = route([(0, 0), (1000, 0), (1000, 600), (2000, 600)])
    _, ev = run(bend, walk([(0, 0), (700, 0), (1000, 300), (1000, 600), (2000, 600)]))
    back = next(e for e in ev if isinstance(e, BackOnCourse))
    true_extra = math.hypot(300, 300) - 600  # the hypotenuse instead of two legs
    assert back.extra_distance_m == pytest.approx(true_extra, abs=40)
    assert back.extra_distance_m < 0


def test_never_came_back() -> None:
    _, ev = run(STRAIGHT, walk([(0, 0), (800, 0), (800, 900)]))
    assert kinds(ev) == ["Started", "OffCourse", "NeverRejoined"]
    nr = ev[-1]
    assert isinstance(nr, NeverRejoined)
    assert nr.exit_route_m == pytest.approx(800, abs=1)
    assert nr.distance_m == pytest.approx(900, abs=20)


def test_single_fix_spike_of_300_m_is_ignored() -> None:
    rows = walk([(0, 0), (2000, 0)])
    rows[300, 2] = 300.0
    m, ev = run(STRAIGHT, rows)
    assert kinds(ev) == ["Started", "Finished"]
    assert m.ignored_fixes == 1


def test_multipath_drift_40_m_for_30_s_is_no_alarm() -> None:
    rows = walk([(0, 0), (2000, 0)])
    rows[300:330, 2] = 40.0 * np.sin(np.linspace(0, np.pi, 30))
    _, ev = run(STRAIGHT, rows)
    assert kinds(ev) == ["Started", "Finished"]


def test_dropout_of_five_minutes_then_on_route_is_no_alarm() -> None:
    rows = walk([(0, 0), (2000, 0)])
    rows = np.delete(rows, np.s_[100:400], axis=0)
    _, ev = run(STRAIGHT, rows)
    assert kinds(ev) == ["Started", "Finished"]


def test_first_fixes_at_null_island_and_far_away_are_ignored() -> None:
    m = Monitor(STRAIGHT)
    assert m.push(Fix(1.0, 0.0, 0.0)) == []
    assert m.push(Fix(2.0, 120.0, -30.0)) == []
    ev = [e for f in fixes(walk([(0, 0), (2000, 0)]), t0=10.0) for e in m.push(f)]
    assert kinds(ev) == ["Started", "Finished"]


def test_walk_to_the_start_is_not_an_excursion() -> None:
    rows = walk([(-300, 400), (0, 0), (2000, 0)])
    _, ev = run(STRAIGHT, rows)
    assert kinds(ev) == ["Started", "Finished"]
    assert isinstance(ev[0], Started) and ev[0].route_m < 100


def test_out_and_back_turning_early_is_a_skipped_section() -> None:
    ob = route([(0, 0), (1000, 0), (1000, 10), (0, 10)])
    _, ev = run(ob, walk([(0, 0), (600, 0), (600, 10), (0, 10)]))
    assert kinds(ev) == ["Started", "SkippedSection", "Finished"]
    sk = ev[1]
    assert isinstance(sk, SkippedSection)
    assert sk.from_route_m == pytest.approx(600, abs=15)
    assert sk.to_route_m == pytest.approx(1410, abs=15)  # 1000 + 10 + 400


def test_out_and_back_run_in_full_has_no_wrong_way() -> None:
    ob = route([(0, 0), (1000, 0), (1000, 10), (0, 10)])
    _, ev = run(ob, walk([(0, 0), (1000, 0), (1000, 10), (0, 10)]))
    assert kinds(ev) == ["Started", "Finished"]


LOLLIPOP = route([(0, 0), (500, 0), (500, -200), (900, -200), (900, 200), (500, 200), (500, 0), (0, 0)])


def test_lollipop_loop_run_the_wrong_way() -> None:
    _, ev = run(LOLLIPOP, walk([(0, 0), (500, 0), (500, 200), (900, 200), (900, -200), (500, -200), (500, 0), (0, 0)]))
    assert "WrongDirection" in kinds(ev) and "WrongDirectionEnd" in kinds(ev)
    assert "SkippedSection" not in kinds(ev) and "OffCourse" not in kinds(ev)
    end = next(e for e in ev if isinstance(e, WrongDirectionEnd))
    assert end.from_route_m == pytest.approx(500, abs=80)
    assert end.to_route_m == pytest.approx(2100, abs=80)
    assert any(isinstance(e, WrongDirection) for e in ev)


def test_lollipop_cutting_the_loop_is_a_skipped_section() -> None:
    _, ev = run(LOLLIPOP, walk([(0, 0), (500, 0), (0, 0)]))
    assert kinds(ev) == ["Started", "SkippedSection", "Finished"]
    sk = ev[1]
    assert isinstance(sk, SkippedSection)
    assert sk.from_route_m == pytest.approx(500, abs=20)
    assert sk.to_route_m == pytest.approx(2100, abs=60)


def test_switchbacks_15_m_apart_progress_never_goes_back() -> None:
    pts: list[tuple[float, float]] = []
    for i in range(10):
        pts += [(0, i * 15), (60, i * 15)] if i % 2 == 0 else [(60, i * 15), (0, i * 15)]
    sb = route(pts)
    m = Monitor(sb)
    peak = 0.0
    for f in fixes(walk(pts, 1.5)):
        ev = m.push(f)
        assert not any(isinstance(e, OffCourse | WrongDirection | SkippedSection) for e in ev)
        assert m.route_m >= peak - 15.0
        peak = max(peak, m.route_m)
    assert isinstance(ev[-1] if ev else None, Finished | type(None))
    assert peak > sb.length_m - 100


def test_out_of_order_duplicate_and_invalid_fixes_are_ignored() -> None:
    m = Monitor(STRAIGHT)
    fs = fixes(walk([(0, 0), (300, 0)]))
    for f in fs[:50]:
        m.push(f)
    assert m.push(fs[10]) == []  # back in time
    assert m.push(fs[49]) == []  # duplicate time
    assert m.push(Fix(fs[50].epoch_s, float("nan"), 46.0)) == []
    assert m.push(Fix(fs[51].epoch_s, 7.0, 95.0)) == []
    assert m.ignored_fixes == 4


def test_options_are_frozen_and_validated() -> None:
    o = Options()
    with pytest.raises(AttributeError):
        o.off_threshold_m = 10.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="hysteresis"):
        Options(off_threshold_m=20.0, back_on_threshold_m=30.0)


def test_state_save_and_restore_at_every_fix_gives_identical_events() -> None:
    rows = walk([(0, 0), (600, 0), (600, 200), (600, 0), (1200, 0), (1200, 150), (1600, 150), (1600, 0), (2000, 0)])
    fs = fixes(rows)
    reference = Monitor(STRAIGHT)
    expected = [e for f in fs for e in reference.push(f)] + reference.close()
    m = Monitor(STRAIGHT)
    got = []
    for f in fs:
        m = Monitor.restore(STRAIGHT, json.loads(json.dumps(m.state())))
        got.extend(m.push(f))
    m = Monitor.restore(STRAIGHT, json.loads(json.dumps(m.state())))
    got.extend(m.close())
    assert got == expected
    assert kinds(expected).count("BackOnCourse") == 2


def test_restore_rejects_state_of_another_route() -> None:
    from offcourse.errors import InvalidTrackError

    m = Monitor(STRAIGHT)
    with pytest.raises(InvalidTrackError):
        Monitor.restore(route([(0, 0), (10, 0), (10, 10)]), m.state())


def test_engine_imports_without_the_cli() -> None:
    import subprocess
    import sys

    code = (
        "import sys, offcourse.detect; "
        "print(sorted(m for m in sys.modules if m.startswith(('offcourse.cli', 'matplotlib'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_batch_check_and_live_push_give_identical_events() -> None:
    from offcourse import check, read_route, read_track
    from offcourse.report import fixes_of
    from tests.conftest import REPO

    route = read_route(REPO / "routes" / "allermuir-hill-race.gpx")
    track = read_track(REPO / "samples" / "allermuir-wrong-turn.gpx")
    live = Monitor(route)
    events = [e for f in fixes_of(track) for e in live.push(f)] + live.close()
    assert list(check(route, track).events) == events
    assert "BackOnCourse" in kinds(events)


def test_stopping_one_lap_short_at_the_finish_line_is_a_skipped_lap() -> None:
    lap = [(0.0, 0.0), (400.0, 0.0), (400.0, 300.0), (0.0, 300.0), (0.0, 0.0)]  # 1400 m loop
    three_laps = route(lap + lap[1:] + lap[1:])
    _, ev = run(three_laps, walk(lap + lap[1:]))  # two laps, then stops at the finish line
    assert kinds(ev) == ["Started", "SkippedSection"]
    sk = ev[1]
    assert isinstance(sk, SkippedSection)
    assert sk.from_route_m == pytest.approx(2800, abs=10)
    assert sk.to_route_m == pytest.approx(4200, abs=1e-6)


def test_abandoning_mid_route_is_not_a_skipped_section() -> None:
    _, ev = run(STRAIGHT, walk([(0, 0), (1200, 0)]))
    assert kinds(ev) == ["Started"]


def test_leaving_at_the_finish_line_one_lap_short_is_a_skipped_lap_not_an_excursion() -> None:
    lap = [(0.0, 0.0), (400.0, 0.0), (400.0, 300.0), (0.0, 300.0), (0.0, 0.0)]  # 1400 m loop
    three_laps = route(lap + lap[1:] + lap[1:])
    # two laps, then walks 300 m away from the finish line (to the car park) and stops
    _, ev = run(three_laps, walk(lap + lap[1:] + [(0.0, -300.0)]))
    assert kinds(ev) == ["Started", "OffCourse", "SkippedSection"]  # the live alert, then the lap not run
    sk = ev[2]
    assert isinstance(sk, SkippedSection)
    assert sk.from_route_m == pytest.approx(2800, abs=10)
    assert sk.to_route_m == pytest.approx(4200, abs=1e-6)


def test_leaving_mid_route_and_never_coming_back_is_never_rejoined() -> None:
    _, ev = run(STRAIGHT, walk([(0, 0), (1000, 0), (1000, -300)]))
    assert kinds(ev) == ["Started", "OffCourse", "NeverRejoined"]
    assert ev[2].exit_route_m == pytest.approx(1000, abs=20)


# A parallel out-and-back: out along y = 0, back along y = GAP. The runner leaves the out leg at
# x = 500, runs the return leg back the wrong way beside their own leg, and rejoins it further on.
def _beside_the_other_leg(gap_m: float, cross_m: float):  # type: ignore[no-untyped-def]
    r = route([(0, 0), (2000, 0), (2000, gap_m), (0, gap_m)])
    legs = [(0, 0), (500, 0), (500 + cross_m, gap_m), (1100, gap_m), (1100 + cross_m, 0), (2000, 0), (2000, gap_m)]
    _, ev = run(r, walk([*legs, (0, gap_m)]))
    diag = math.hypot(cross_m, gap_m)
    true_extra = (2 * diag + 1100 - 500 - cross_m) - (1100 + cross_m - 500)
    return ev, true_extra


def test_running_the_far_leg_back_beside_your_own_is_one_excursion() -> None:
    """Legs 140 m apart: crossing, the runner is 70 m from both (off the route) and is alerted."""
    ev, true_extra = _beside_the_other_leg(gap_m=140.0, cross_m=50.0)
    assert kinds(ev) == ["Started", "OffCourse", "BackOnCourse", "Finished"]
    back = ev[2]
    assert back.exit_route_m == pytest.approx(500, abs=15)
    assert back.rejoin_route_m == pytest.approx(1150, abs=15)  # not where the runner reached the other leg
    assert back.extra_distance_m == pytest.approx(true_extra, abs=20)


def test_crossing_to_a_leg_100_m_away_never_leaves_the_route() -> None:
    """Legs 100 m apart: crossing, the runner is never more than 50 m from one leg or the other, so
    never off the route: the live alert is the wrong way along the other leg (as with legs 60 m
    apart), and the stretch closes as one excursion when they rejoin their own leg."""
    ev, true_extra = _beside_the_other_leg(gap_m=100.0, cross_m=50.0)
    assert kinds(ev) == ["Started", "WrongDirection", "BackOnCourse", "Finished"]
    back = ev[2]
    assert back.exit_route_m == pytest.approx(500, abs=15)
    assert back.rejoin_route_m == pytest.approx(1150, abs=15)
    assert back.extra_distance_m == pytest.approx(true_extra, abs=20)


def test_running_the_near_leg_back_beside_your_own_is_one_excursion_alerted_as_wrong_way() -> None:
    """Legs 60 m apart: the runner is on the other leg before the alert: the live alert is
    WrongDirection, and the excursion closes as one off-course excursion when they rejoin their leg."""
    ev, true_extra = _beside_the_other_leg(gap_m=60.0, cross_m=20.0)
    assert kinds(ev) == ["Started", "WrongDirection", "BackOnCourse", "Finished"]
    back = ev[2]
    assert back.exit_route_m == pytest.approx(500, abs=15)
    assert back.rejoin_route_m == pytest.approx(1120, abs=15)
    assert back.alert_epoch_s == ev[1].epoch_s
    assert back.extra_distance_m == pytest.approx(true_extra, abs=30)


def test_standing_on_the_other_leg_then_coming_back_raises_no_alert() -> None:
    """An aid station across the other leg of an out-and-back, 60 m away: the runner is on the
    route's geometry all along (another part of it), so no off-course alert; nor when they walk
    back, their offset falling below the off threshold."""
    r = route([(0, 0), (2000, 0), (2000, 60), (0, 60)])
    there = walk([(0, 0), (500, 0), (500, 60)])
    t0 = there[-1, 0]
    stand = np.column_stack([t0 + np.arange(1, 121), np.full(120, 500.0), np.full(120, 60.0)])
    back = walk([(500, 60), (500, 0), (2000, 0), (2000, 60), (0, 60)])
    back[:, 0] += stand[-1, 0] + 1
    _, ev = run(r, np.vstack([there, stand, back]))
    assert kinds(ev) == ["Started", "Finished"]


def test_walking_on_another_part_of_the_route_holds_the_alert_until_it_is_decided() -> None:
    """Off the expected pass but along another part: no OffCourse while a skip or wrong way is decided."""
    ev, _ = _beside_the_other_leg(gap_m=60.0, cross_m=20.0)
    assert "OffCourse" not in kinds(ev)


def test_the_noise_margin_of_the_off_threshold_starts_above_the_floor() -> None:
    """RMS offset 12 m on the route: 50 + 4.5 * 12 - 40 = 64 m (the floor absorbs 4.5 * 8.9 m)."""
    from offcourse.detect.steps import thresholds

    o = Options()
    assert (o.noise_gain, o.noise_floor_m) == (4.5, 40.0)
    off, back = thresholds(o.off_threshold_m, o.back_on_threshold_m, 0.0, o.noise_gain, 144.0, o.noise_floor_m)
    assert (off, back) == pytest.approx((64.0, 25.0))
    off, _ = thresholds(o.off_threshold_m, o.back_on_threshold_m, 0.0, o.noise_gain, 64.0, o.noise_floor_m)
    assert off == 50.0  # RMS 8 m: 36 m of margin, within the floor


@pytest.mark.parametrize(("offset_m", "alert"), [(60.0, False), (72.0, True)])
def test_a_runner_beside_a_noisy_route_is_alerted_past_the_grown_threshold(offset_m: float, alert: bool) -> None:
    """Offsets of ±12 m on the route (RMS 12 m: threshold 64 m); a stretch parallel to it 60 m off is
    within the noise, one 72 m off is alerted (with the old 25 m floor the threshold was 79 m)."""
    rows = walk([(0, 0), (2000, 0)])
    rows[:, 2] = np.where(np.arange(len(rows)) % 2 == 0, 12.0, -12.0)
    detour = (rows[:, 1] > 1000) & (rows[:, 1] < 1300)
    rows[detour, 2] = offset_m
    _, ev = run(STRAIGHT, rows)
    assert ("OffCourse" in kinds(ev)) is alert


@pytest.mark.parametrize("step_s", [1.0, 30.0, 60.0])
def test_a_runner_back_on_the_route_with_sparse_fixes_rejoins(step_s: float) -> None:
    """A fix a minute apart is 180 m along the route at 3 m/s, beyond window_ahead_m (120 m): the
    rejoin search looks as far ahead as the runner may have gone since the first fix back
    (max_speed_mps times the time), so they rejoin where they came back instead of staying "off
    course" to the end."""
    r = route([(20.0 * i, 0.0) for i in range(451)])  # a vertex every 20 m, as route files have
    _, ev = run(r, walk([(0, 0), (1200, 0), (1200, 600), (1200, 0), (8900, 0)], speed_mps=3.0, step_s=step_s))
    back = [e for e in ev if isinstance(e, BackOnCourse)]
    assert len(back) == 1, kinds(ev)
    assert back[0].rejoin_route_m == pytest.approx(1200, abs=3.0 * step_s + 1)
    assert back[0].extra_distance_m == pytest.approx(1200, abs=0.1 * 1200 + 3.0 * step_s)
    assert "NeverRejoined" not in kinds(ev)


@pytest.mark.parametrize("step_s", [1.0, 30.0, 60.0])
def test_running_back_along_the_route_with_sparse_fixes_is_a_wrong_way_not_an_excursion(step_s: float) -> None:
    """Out 1500 m, back to 500 m, then on to the end, at 3 m/s: a fix a minute apart is 180 m along
    the route, beyond window_ahead_m (120 m); the other part the runner is on is followed as far as
    they may have gone since the last fix (max_speed_mps times the time), either way."""
    r = route([(20.0 * i, 0.0) for i in range(151)])
    _, ev = run(r, walk([(0, 0), (1500, 0), (500, 0), (3000, 0)], speed_mps=3.0, step_s=step_s))
    assert "OffCourse" not in kinds(ev)
    assert kinds(ev)[:3] == ["Started", "WrongDirection", "WrongDirectionEnd"]
    ww = next(e for e in ev if isinstance(e, WrongDirectionEnd))
    assert ww.from_route_m == pytest.approx(500, abs=3.0 * step_s + 1)


@pytest.mark.parametrize(("jump_m", "spike"), [(183.0, False), (185.0, True)])
def test_a_jump_beyond_the_runners_own_pace_is_held_as_a_spike(jump_m: float, spike: bool) -> None:
    """A walker at 1.6 m/s with a fix every 30 s: a jump is possible up to PACE_FACTOR (1.6) times
    their pace, at least PACE_MIN_MPS (3 m/s), i.e. 4.8 m/s x 30 s + spike_slack_m (40 m) = 184 m,
    well below max_speed_mps (12 m/s: 400 m). One fix thrown sideways that far, the next back on
    the route: a spike, left out of the distance, at 185 m; a fix at 183 m is followed."""
    r = route([(20.0 * i, 0.0) for i in range(201)])
    rows = walk([(0, 0), (3900, 0)], speed_mps=1.6, step_s=30.0)
    k = 40  # 1920 m along, 48 m after the fix before
    rows[k, 2] = math.sqrt(jump_m**2 - 48.0**2)
    m, ev = run(r, rows)
    assert m.state()["state"]["ignored_by_reason"]["spike"] == (1 if spike else 0)
    assert "OffCourse" not in kinds(ev)

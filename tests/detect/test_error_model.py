"""The receiver's error model, the sequential test of leaving the route and motion plausibility.

Exact expectations on tiny synthetic geometry in metres: the step functions of
:mod:`offcourse.detect.steps` one by one, then the engine on a straight route.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from offcourse.detect import AlertWithdrawn, Monitor, OffCourse, Options, steps
from offcourse.detect.options import EVIDENCE_H, NOISE_CLIP, PACE_FACTOR, PLAUSIBLE_SLACK_SIGMAS, SIGMA_MIN_M
from tests.synth import fixes, route, walk

STRAIGHT = route([(0, 0), (2000, 0)])
T0 = 1_700_000_000.0


def run(rows: np.ndarray, options: Options | None = None) -> list[object]:
    m = Monitor(STRAIGHT, options)
    return [e for f in fixes(rows, T0) for e in m.push(f)] + list(m.close())


def test_the_noise_level_change_and_interval_are_learned_from_fixes_on_the_route() -> None:
    a = 1.0 - math.exp(-1.0 / 60.0)
    # first change: the interval starts at dt; the means move by a share a of the way
    assert steps.learn_noise(0.0, 0.0, 0.0, 4.0, 2.0, 1.0, 25.0, 60.0) == (a * 16.0, a * 4.0, 1.0)
    # a fix off the route (above the limit) teaches nothing; after one off, only the level is learned
    assert steps.learn_noise(9.0, 1.0, 1.0, 30.0, 2.0, 1.0, 25.0, 60.0) == (9.0, 1.0, 1.0)
    assert steps.learn_noise(9.0, 1.0, 1.0, 3.0, 30.0, 1.0, 25.0, 60.0) == (9.0, 1.0, 1.0)


def test_one_fix_adds_at_most_the_clip_times_the_level_so_far() -> None:
    a = 1.0 - math.exp(-1.0 / 60.0)
    assert NOISE_CLIP == 2.25
    # level 36 m² (6 m): a fix 20 m off counts as 2.25 * 36 = 81 m², one 8 m off as itself (64 m²)
    assert steps.learn_noise(36.0, 0.0, 0.0, 20.0, 0.0, 1.0, 25.0, 60.0)[0] == 36.0 + a * (81.0 - 36.0)
    assert steps.learn_noise(36.0, 0.0, 0.0, 8.0, 0.0, 1.0, 25.0, 60.0)[0] == 36.0 + a * (64.0 - 36.0)
    # below the floor the clip is that of SIGMA_MIN_M: 2.25 * 16 = 36 m² from a level of 1 m²
    assert steps.learn_noise(1.0, 0.0, 0.0, 20.0, 0.0, 1.0, 25.0, 60.0)[0] == 1.0 + a * (36.0 - 1.0)
    # a fix 20 s after the last weighs more, still clipped: one such fix no longer doubles the level
    b = 1.0 - math.exp(-20.0 / 60.0)
    level = steps.learn_noise(53.0, 0.0, 20.0, 25.0, 9.0, 20.0, 25.0, 60.0)[0]
    assert level == 53.0 + b * (2.25 * 53.0 - 53.0)
    assert math.sqrt(level) < 1.2 * math.sqrt(53.0)


def test_the_clipped_level_settles_below_the_mean_square_of_gaussian_offsets() -> None:
    """A Huber scale estimate without its consistency factor: offsets of RMS 10 m are learned as a
    level of about 0.62 of 100 m² (RMS 7.9 m); at 3 m the clip is the floor's (6 m) and rarely bites."""

    def settled(sigma_m: float) -> float:
        rng = np.random.default_rng(7)
        level, seen = sigma_m * sigma_m, []
        for i, d in enumerate(np.abs(rng.normal(0.0, sigma_m, 20_000))):
            level = steps.learn_noise(level, 0.0, 0.0, float(d), 0.0, 1.0, math.inf, 60.0)[0]
            if i >= 1000:
                seen.append(level)
        return float(np.mean(seen)) / (sigma_m * sigma_m)

    assert settled(10.0) == pytest.approx(0.62, abs=0.02)
    assert settled(3.0) == pytest.approx(0.915, abs=0.02)


def test_a_slow_departure_does_not_raise_the_off_threshold_on_its_way_out() -> None:
    """A runner drifting off at 0.3 m/s sideways (a shallow fork) after a clean kilometre: the
    fixes between 0 and 25 m off are learned as error only a little at a time, so the alert comes
    as the runner passes 50 m (plus the sequential test's few fixes), not at 70 m and more."""
    rows = walk([(0, 0), (1000, 0), (1000 + 10 * 200 / 3, 200)], speed_mps=3.0)
    events = run(rows)
    (alert,) = [e for e in events if isinstance(e, OffCourse)]
    assert 50.0 < alert.offset_m < 60.0
    # what the unclipped estimate did on this track: the level learned from the fixes 0-25 m off
    level = 0.0
    last = 0.0
    for d in np.clip((rows[:, 1] - 1000.0) * 0.3 / 3.0, 0.0, None):
        if d <= 25.0:
            level += (1.0 - math.exp(-1.0 / 60.0)) * (d * d - level)
            last = d
    assert last == pytest.approx(25.0, abs=0.5)
    assert 4.5 * math.sqrt(level) - 40.0 > 20.0  # it raised the off threshold by more than 20 m


def test_the_correlation_time_of_a_gauss_markov_error_is_recovered() -> None:
    v, tau, dt = 100.0, 30.0, 5.0
    step_ms = 2.0 * v * (1.0 - math.exp(-dt / tau))
    assert steps.correlation_time(v, step_ms, dt) == pytest.approx(30.0, rel=1e-12)
    assert steps.correlation_time(v, 0.0, dt) == math.inf  # nothing moved
    assert steps.correlation_time(v, 2.0 * v, dt) == 0.0  # as far apart as independent offsets
    assert steps.correlation_time(0.0, 0.0, 0.0) == math.inf  # nothing known yet
    assert steps.burst_s(v, step_ms, dt) == pytest.approx(30.0, rel=1e-12)
    assert steps.burst_s(v, 0.0, dt) == 40.0  # at most BURST_MAX_S
    assert steps.burst_s(v, 2.0 * v, dt) == 10.0  # at least BURST_MIN_S


def test_the_error_scale_is_the_rms_offset_or_half_the_reported_accuracy_never_below_the_floor() -> None:
    assert steps.error_sigma(0.0, math.nan) == SIGMA_MIN_M == 4.0
    assert steps.error_sigma(100.0, math.nan) == 10.0
    assert steps.error_sigma(100.0, 30.0) == 15.0


def test_evidence_adds_the_capped_excess_in_error_scales_and_implausible_fixes_add_none() -> None:
    assert steps.evidence(1.0, 60.0, 50.0, 5.0, True, 1.0) == 3.0  # 1 + 2
    assert steps.evidence(1.0, 90.0, 50.0, 5.0, True, 1.0) == 4.0  # 1 + at most 3
    assert steps.evidence(1.0, 60.0, 50.0, 5.0, False, 1.0) == 1.0  # implausible: nothing added
    assert steps.evidence(1.0, 40.0, 50.0, 5.0, False, 1.0) == 0.0  # below the threshold: taken away, not below 0
    assert steps.evidence(0.0, 52.0, 50.0, 4.0, True, 4.0) == 2.0  # a sparse fix weighs more


def test_a_fix_after_a_longer_interval_weighs_as_the_independent_information_it_carries() -> None:
    assert steps.evidence_weight(1.0, 30.0) == 1.0
    assert steps.evidence_weight(10.0, math.inf) == 10.0
    assert steps.evidence_weight(10.0, 0.0) == 1.0
    assert steps.evidence_weight(10.0, 30.0) == pytest.approx((1 - math.exp(-10 / 30)) / (1 - math.exp(-1 / 30)))


def test_plausible_means_within_reach_of_the_exit_at_the_runners_pace() -> None:
    # 50 m from the exit: 5 s at 3 m/s reach 1.6 * 3 * 5 + 3 * 4 = 36 m; 10 s reach 60 m
    assert (PACE_FACTOR, PLAUSIBLE_SLACK_SIGMAS) == (1.6, 3.0)
    assert not steps.plausible(30.0, 40.0, 0.0, 0.0, 5.0, 3.0, 4.0)
    assert steps.plausible(30.0, 40.0, 0.0, 0.0, 10.0, 3.0, 4.0)
    # a walker (1 m/s) is given the reach of a runner at 3 m/s: 1.6 * 3 * 9 + 3 * 1 = 46.2 m, then 51 m
    assert not steps.plausible(30.0, 40.0, 0.0, 0.0, 9.0, 1.0, 1.0)
    assert steps.plausible(30.0, 40.0, 0.0, 0.0, 10.0, 1.0, 1.0)
    assert steps.plausible(30.0, 40.0, math.nan, math.nan, 0.0, 3.0, 4.0)  # exit unknown


def test_a_steady_departure_is_confirmed_by_the_sequential_test_in_four_fixes() -> None:
    """Off at right angles at 3 m/s from x = 600 m. The fixes 3 to 24 m off on the way out are learned
    as error, each at most NOISE_CLIP times the level so far (sigma about 4.5 m, floored at
    SIGMA_MIN_M); past 50 m the fixes at 54, 57 and 60 m add their excess in error scales and the
    third reaches EVIDENCE_H (5): 3.3 s after passing 50 m (with every fix learned in full, sigma
    5.5 m: the fourth, 4.3 s; the old rule, 4 s after the first fix off: 5 s)."""
    assert EVIDENCE_H == 5.0
    m = Monitor(STRAIGHT)
    rows = walk([(0, 0), (600, 0), (600, 300), (600, 0), (2000, 0)])
    ev = [e for f in fixes(rows[:222], T0) for e in m.push(f)]
    off = next(e for e in ev if isinstance(e, OffCourse))
    assert off.epoch_s == T0 + 220.0
    assert off.offset_m == pytest.approx(60.0, abs=1e-6)
    assert off.exit_epoch_s == T0 + 205.0  # the last fix within 15 m
    d = np.arange(1, 9) * 3.0  # 3 ... 24 m: learned
    a = 1.0 - math.exp(-1.0 / 60.0)
    noise_ms = 0.0
    for x in d:
        noise_ms += a * (min(x * x, NOISE_CLIP * max(noise_ms, SIGMA_MIN_M**2)) - noise_ms)
    assert m._st.noise_ms == pytest.approx(noise_ms, rel=1e-9)
    sigma = max(math.sqrt(noise_ms), SIGMA_MIN_M)
    assert sum(min((x - 50.0) / sigma, 3.0) for x in (54.0, 57.0)) < EVIDENCE_H
    assert sum(min((x - 50.0) / sigma, 3.0) for x in (54.0, 57.0, 60.0)) >= EVIDENCE_H


def _multipath(hold_s: int, offset_m: float = 70.0) -> np.ndarray:
    """Progress goes on at 3 m/s along the route while the fixes jump sideways: up over 5 s, held, down over 5 s."""
    rows = walk([(0, 0), (2000, 0)])
    k = np.arange(len(rows))
    up = np.clip((k - 100) / 5.0, 0.0, 1.0)
    down = np.clip((k - 105 - hold_s) / 5.0, 0.0, 1.0)
    rows[:, 2] = offset_m * (up - down)
    return rows


def test_a_sideways_jump_while_progress_goes_on_at_running_pace_is_error_not_a_runner() -> None:
    """70 m off for 5 s with the runner still moving on at 3 m/s: no runner gets there that fast (the
    fixed dwell rule before the sequential test, two fixes off for 4 s, raised and withdrew an alert)."""
    ev = run(_multipath(hold_s=5))
    assert [type(e).__name__ for e in ev] == ["Started", "Finished"]


def test_a_sideways_offset_that_lasts_longer_than_an_error_burst_may_is_alerted() -> None:
    """Held for a minute: long enough for a runner to have gone there, longer than BURST_MAX_S."""
    ev = run(_multipath(hold_s=60))
    assert "OffCourse" in [type(e).__name__ for e in ev]


def test_a_single_fix_off_is_not_confirmed_however_far() -> None:
    """One fix 51 m off (within the speed check's reach of 12 m/s + 40 m): at most 3 error scales."""
    rows = walk([(0, 0), (2000, 0)])
    rows[300, 2] = 51.0
    ev = run(rows)
    assert [type(e).__name__ for e in ev] == ["Started", "Finished"]


def test_an_alert_the_following_fixes_show_to_be_error_is_withdrawn_live() -> None:
    """70 m off for 10 s: by then a runner could have got there, so the alert is raised (t = 114 s); the
    fixes come back at t = 119 s where running on at 3 m/s from the exit (t = 101 s, x = 303 m) takes the
    runner (x = 357 m), 15 s after the first fix off: the alert is withdrawn, no excursion."""
    ev = run(_multipath(hold_s=10))
    assert [type(e).__name__ for e in ev] == ["Started", "OffCourse", "AlertWithdrawn", "Finished"]
    off, gone = ev[1], ev[2]
    assert isinstance(off, OffCourse) and isinstance(gone, AlertWithdrawn)
    assert off.epoch_s == T0 + 114.0
    assert gone.kind == "alert_withdrawn"
    assert gone.alert_epoch_s == off.epoch_s
    assert gone.exit_epoch_s == T0 + 101.0
    assert gone.epoch_s == T0 + 124.0  # min_back_on_fixes (3) and min_back_on_time_s (5 s) after t = 119 s
    assert gone.rejoin_route_m == pytest.approx(357.0, abs=1e-6)
    assert gone.max_offset_m == pytest.approx(70.0, abs=1e-6)


def test_a_short_detour_out_and_back_is_not_withdrawn() -> None:
    """Out 75 m and back at the same place: progress did not go on at running pace."""
    ev = run(walk([(0, 0), (600, 0), (600, 75), (600, 0), (2000, 0)]))
    assert [type(e).__name__ for e in ev] == ["Started", "OffCourse", "BackOnCourse", "Finished"]


def test_steps_ran_on() -> None:
    # exit at 300 m at t = 0, back at 354 m at t = 18 (pace 3 m/s: 54 m expected; 27 + 12 m allowed)
    assert steps.ran_on(300.0, 0.0, 354.0, 18.0, 3.0, 3.0, 4.0)
    assert steps.ran_on(300.0, 0.0, 393.0, 18.0, 3.0, 3.0, 4.0)  # 93 - 54 = 39 = 27 + 12: just in
    assert not steps.ran_on(300.0, 0.0, 394.0, 18.0, 3.0, 3.0, 4.0)
    assert not steps.ran_on(300.0, 0.0, 300.0, 18.0, 3.0, 3.0, 4.0)  # came back where they left
    assert not steps.ran_on(300.0, 0.0, 450.0, 50.0, 3.0, 3.0, 4.0)  # off for 47 s: longer than a burst


def test_check_lists_an_alert_withdrawn_live_with_its_times_and_no_excursion() -> None:
    from offcourse import Track, check
    from tests.synth import PROJ

    rows = _multipath(hold_s=10)
    lon, lat = PROJ.inverse(rows[:, 1], rows[:, 2])
    track = Track.from_arrays(epoch_s=T0 + rows[:, 0], lon=lon, lat=lat)
    rep = check(STRAIGHT, track)
    assert [e.kind for e in rep.excursions] == []
    ((exc, why),) = rep.withdrawn
    assert exc.alert_epoch_s == T0 + 114.0 and exc.withdrawn_epoch_s == T0 + 124.0
    assert why.startswith("withdrawn live: back on the route at 0.36 km")


def test_check_json_says_when_and_by_whom_an_alert_was_withdrawn() -> None:
    from offcourse import Track, check
    from offcourse.contract import iso_utc, report_to_dict
    from tests.synth import PROJ

    rows = _multipath(hold_s=10)
    lon, lat = PROJ.inverse(rows[:, 1], rows[:, 2])
    d = report_to_dict(check(STRAIGHT, Track.from_arrays(epoch_s=T0 + rows[:, 0], lon=lon, lat=lat)))
    (w,) = d["withdrawn_alerts"]
    assert w["alert_time"] == iso_utc(T0 + 114.0)
    assert w["withdrawn_time"] == iso_utc(T0 + 124.0)
    assert w["withdrawn_by"] == "live"
    assert d["excursions"] == []


@pytest.mark.parametrize(("leg_gap_m", "alert"), [(104.0, False), (106.0, True)])
def test_no_alert_within_the_off_threshold_of_another_part_of_the_route(leg_gap_m: float, alert: bool) -> None:
    """Out along y = 0, back along y = ``leg_gap_m``; the runner leaves the out leg at x = 500 and runs
    300 m at y = 55: 55 m from the leg they are on, and 49 m (no alert: not off the route, only
    beside another part of it, which the search for another part judges) or 51 m from the return leg."""
    options = Options(noise_gain=0.0)
    assert options.off_threshold_m == 50.0 and options.back_on_threshold_m == 25.0
    r = route([(0, 0), (2000, 0), (2000, leg_gap_m), (0, leg_gap_m)])
    rows = walk([(0, 0), (500, 0), (500, 55), (800, 55), (800, 0), (2000, 0), (2000, leg_gap_m), (0, leg_gap_m)])
    m = Monitor(r, options)
    events = [e for f in fixes(rows, T0) for e in m.push(f)] + list(m.close())
    assert any(isinstance(e, OffCourse) for e in events) is alert

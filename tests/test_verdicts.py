"""Verdicts from coverage (issue 11): tiny synthetic geometry in metres with exact expected answers,
and the bundled real sample thinned to a fix every 5 to 60 s."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from offcourse import Verdict, check, read_route, read_track
from offcourse.model import Metadata, Route, Track
from offcourse.report import Report, report_to_dict, report_to_text

from . import synth

T0 = 1_700_000_000.0
REPO = Path(__file__).resolve().parents[1]
STRAIGHT = [(0.0, 0.0), (3000.0, 0.0)]


def run(path: list[tuple[float, float]], *, speed_mps: float = 3.0, step_s: float = 1.0, times: bool = True) -> Track:
    rows = synth.walk(path, speed_mps, step_s)
    lon, lat = synth.PROJ.inverse(rows[:, 1], rows[:, 2])
    epoch = T0 + rows[:, 0] if times else np.full(len(rows), np.nan)
    return Track.from_arrays(lon=lon, lat=lat, epoch_s=epoch, meta=Metadata("memory", path="run"))


def thin(track: Track, every_s: float) -> Track:
    """Keep one fix every ``every_s`` seconds (as a watch's power-saving mode records)."""
    t = track.epoch_s
    keep = np.concatenate(([True], np.diff(np.floor((t - t[0]) / every_s)) > 0))
    keep[-1] = True
    return Track.from_arrays(
        lon=track.lon[keep], lat=track.lat[keep], epoch_s=t[keep], ele_m=track.ele_m[keep], meta=track.meta
    )


def kinds(report: Report) -> list[str]:
    return [e.kind for e in report.excursions]


def test_a_clean_run_is_on_course_with_the_whole_route_covered() -> None:
    r = check(synth.route(STRAIGHT), run(STRAIGHT))
    assert r.verdict.kind == "on_course" and r.completed and r.finished
    assert r.coverage.fraction == pytest.approx(1.0, abs=0.01) and r.coverage.gaps == ()
    assert "start to finish" in r.verdict.reason and not r.excursions


def test_a_run_30_km_away_is_not_this_route_never_on_course() -> None:
    r = check(synth.route(STRAIGHT), run([(0.0, 30_000.0), (3000.0, 30_000.0)]))
    assert r.verdict.kind == "not_this_route" and not r.completed
    assert "30.0 km" in r.verdict.reason
    text = report_to_text(r)
    assert "NOT THIS ROUTE" in text and "stayed on the route" not in text


def test_joining_mid_route_and_running_it_backwards_is_wrong_way() -> None:
    r = check(synth.route(STRAIGHT), run([(2500.0, 0.0), (500.0, 0.0)]))
    assert r.verdict.kind == "wrong_way" and not r.completed
    (w,) = r.excursions
    assert w.kind == "wrong_direction"
    assert w.exit_route_m == pytest.approx(2500.0, abs=30.0) and w.rejoin_route_m == pytest.approx(500.0, abs=30.0)
    assert r.coverage.covered_m < 50.0


TWO_WAY = [(0.0, 0.0), (3000.0, 0.0), (3000.0, 4.0), (0.0, 4.0)]
"""Out 3 km and back 4 m beside the way out: route m 2,000 is (2000, 0), m 4,004 is (1000, 4)."""


def test_joining_an_out_and_back_and_running_towards_the_start_is_a_partial_run_whose_direction_is_not_judged() -> None:
    # from (2000, 2) to (1000, 2): the way out backwards (km 2.0 back to 1.0), or the way back forwards
    # (km 4.0 to 5.0): the fixes cannot tell which. The match reads the way back; the verdict says
    # where the runner joined it and that the direction is not judged, on the part run
    r = check(synth.route(TWO_WAY), run([(2000.0, 2.0), (1000.0, 2.0)]))
    assert r.verdict.kind == "partial" and not r.completed
    (a, b), = r.coverage.intervals
    assert a == pytest.approx(4004.0, abs=30.0) and b == pytest.approx(5004.0, abs=30.0)
    assert "joined the route at km 4.0" in r.verdict.reason
    (note,) = r.verdict.details
    assert note.startswith("direction not judged: the route runs both ways where the runner was (km 4.0-5.0)")
    # the same run on a route that goes out only: run the wrong way, and nothing said of two ways
    one_way = check(synth.route(TWO_WAY[:2]), run([(2000.0, 2.0), (1000.0, 2.0)]))
    assert one_way.verdict.kind == "wrong_way" and not any("both ways" in d for d in one_way.verdict.details)


def test_a_wrong_way_alert_where_the_route_runs_both_ways_is_withdrawn_for_a_mid_route_join() -> None:
    # the same run 8 m beside the way out (10 m from the way back): the match reads the way out run
    # backwards and the live engine alerted a wrong way; with nothing before it to say which leg the
    # runner was on, the alert is withdrawn with its reason and the verdict is partial
    r = check(synth.route(TWO_WAY), run([(2000.0, -8.0), (1000.0, -8.0)]))
    assert r.verdict.kind == "partial"
    assert not [e for e in r.excursions if e.kind == "wrong_direction"]
    ((w, why),) = r.withdrawn
    assert w.kind == "wrong_direction" and "where the route runs both ways" in why
    assert any(d.startswith("direction not judged") for d in r.verdict.details)


LOLLIPOP = [(6000.0, 0.0), (6300.0, 0.0), (6300.0, 300.0), (6000.0, 300.0), (6000.0, 4.0)]
"""The loop of a lollipop whose stem runs out along y = 0 and back along y = 4 (6 km each way)."""


def test_a_loop_run_backwards_is_a_wrong_way_even_when_most_of_the_run_is_on_a_two_way_stem() -> None:
    # joined on the loop (one way only), 600 m of it backwards to the junction, then 5.7 km down the
    # stem (two ways): the loop says which way the runner went; the stem does not take it back
    route = synth.route([(0.0, 0.0), *LOLLIPOP, (0.0, 4.0)])
    r = check(route, run([(6300.0, 300.0), (6300.0, 0.0), (6000.0, 0.0), (300.0, 0.0)]))
    assert r.verdict.kind == "wrong_way"
    (w,) = [e for e in r.excursions if e.kind == "wrong_direction"]
    assert w.exit_route_m == pytest.approx(6600.0, abs=30.0) and w.rejoin_route_m == pytest.approx(6000.0, abs=30.0)
    assert not any("both ways" in d for d in r.verdict.details)


def test_a_recording_that_starts_130_m_from_the_route_and_walks_to_it_is_judged_from_there() -> None:
    r = check(synth.route(STRAIGHT), run([(0.0, 130.0), (0.0, 0.0), (3000.0, 0.0)]))
    assert r.verdict.kind == "on_course" and r.coverage.fraction > 0.99 and not r.excursions


def test_joining_a_route_near_its_end_is_never_completed() -> None:
    near_end = check(synth.route(STRAIGHT), run([(2700.0, 0.0), (2950.0, 0.0)]))
    assert near_end.verdict.kind == "cut" and not near_end.completed and near_end.coverage.fraction < 0.1
    assert "joined the route at km 2.7" in near_end.verdict.reason
    middle = check(synth.route(STRAIGHT), run([(2000.0, 0.0), (2300.0, 0.0)]))
    assert middle.verdict.kind == "partial" and not middle.completed
    assert "joined the route at km 2.0" in middle.verdict.reason


def test_joining_mid_route_and_finishing_is_a_cut_of_the_part_before() -> None:
    r = check(synth.route(STRAIGHT), run([(1200.0, 0.0), (3000.0, 0.0)]))
    assert r.verdict.kind == "cut" and "joined the route at km 1.2" in r.verdict.reason


U = [(0.0, 0.0), (1000.0, 0.0), (1000.0, 800.0), (0.0, 800.0)]  # 2,800 m


def test_a_shortcut_is_its_own_kind_with_route_bypassed_and_distance_saved() -> None:
    route = synth.route(U)
    r = check(route, run([(0.0, 0.0), (500.0, 0.0), (500.0, 800.0), (0.0, 800.0)]))
    (sc,) = r.excursions
    assert sc.kind == "shortcut" and sc.time_lost_s is None and sc.extra_distance_m is None
    assert sc.route_bypassed_m == pytest.approx(1800.0, abs=60.0)
    assert sc.distance_saved_m == pytest.approx(1000.0, abs=80.0)
    assert sc.max_offset_m == pytest.approx(400.0, abs=10.0)  # the middle of the U: 400 m from both sides
    assert r.verdict.kind == "cut" and "shortcut" in r.verdict.reason and not r.completed
    assert not re.search(r"(time lost|extra distance|saved) -", report_to_text(r))
    d = report_to_dict(r)["excursions"][0]
    assert d["kind"] == "shortcut" and d["time_lost_s"] is None and d["distance_saved_m"] > 900


def test_severity_puts_cuts_first_then_wrong_way_then_lost_then_clean() -> None:
    order = ["on_course", "lost", "cut", "did_not_finish", "wrong_way", "not_this_route"]
    ranked = sorted(order, key=lambda k: Verdict(k, "").severity)
    assert ranked[:3] == ["cut", "wrong_way", "lost"] and ranked.index("lost") < ranked.index("on_course")


OUT_AND_BACK = [(0.0, 0.0), (2000.0, 0.0), (2000.0, 30.0), (0.0, 30.0)]  # legs 30 m apart: 4,030 m


def test_turning_early_on_an_out_and_back_is_a_skip_on_route_geometry() -> None:
    r = check(synth.route(OUT_AND_BACK), run([(0.0, 0.0), (800.0, 0.0), (800.0, 30.0), (0.0, 30.0)]))
    skips = [e for e in r.excursions if e.kind == "skipped_section"]
    assert len(skips) == 1 and not [e for e in r.excursions if e.kind == "off_course"]
    assert skips[0].exit_route_m == pytest.approx(800.0, abs=60.0)
    assert skips[0].rejoin_route_m == pytest.approx(3230.0, abs=60.0)
    assert r.verdict.kind == "cut"


def test_off_course_is_measured_to_the_nearest_part_of_the_route() -> None:
    # legs 200 m apart; the runner leaves the way out at x=500 to y=120 (80 m from the way back)
    route = synth.route([(0.0, 0.0), (2000.0, 0.0), (2000.0, 200.0), (0.0, 200.0)])
    path = [(0.0, 0.0), (500.0, 0.0), (500.0, 120.0), (700.0, 120.0), (700.0, 0.0), (2000.0, 0.0), (2000.0, 200.0)]
    r = check(route, run([*path, (0.0, 200.0)]))
    (e,) = [e for e in r.excursions if e.kind == "off_course"]
    assert e.max_offset_m == pytest.approx(100.0, abs=3.0)  # at y = 100: 100 m from both legs, never more
    assert e.expected_offset_m is not None and e.expected_offset_m >= e.max_offset_m


@pytest.mark.parametrize("every_s", [5, 10, 20, 30, 60])
def test_thinned_synthetic_runs_keep_their_verdicts(every_s: int) -> None:
    clean = check(synth.route(STRAIGHT), thin(run(STRAIGHT), every_s))
    assert clean.verdict.kind == "on_course" and not clean.excursions
    skip = check(synth.route(OUT_AND_BACK), thin(run([(0.0, 0.0), (800.0, 0.0), (800.0, 30.0), (0.0, 30.0)]), every_s))
    assert skip.verdict.kind == "cut"


def test_switchbacks_sampled_every_20_s_within_40_m_are_on_course() -> None:
    # ten legs of 150 m, 30 m apart; the runner stays within 20 m of the route, a fix every 20 s
    legs: list[tuple[float, float]] = []
    for k in range(10):
        y = 30.0 * k
        legs += [(0.0, y), (150.0, y)] if k % 2 == 0 else [(150.0, y), (0.0, y)]
    route = synth.route(legs)
    wobble = [(x + (15.0 if i % 3 == 0 else -10.0), y) for i, (x, y) in enumerate(legs)]
    r = check(route, thin(run(wobble), 20))
    assert r.verdict.kind == "on_course", r.verdict.reason
    assert not [e for e in r.excursions if e.kind != "off_course" or (e.max_offset_m or 0) > 50.0]


@pytest.mark.parametrize("every_s", [1, 5, 10, 20, 30, 60])
def test_the_real_wrong_turn_sample_keeps_its_verdict_when_thinned(every_s: int) -> None:
    route = read_route(REPO / "routes" / "allermuir-hill-race.gpx")
    track = read_track(REPO / "samples" / "allermuir-wrong-turn.gpx")
    r = check(route, thin(track, every_s) if every_s > 1 else track)
    assert r.verdict.kind == "lost" and r.finished
    (e,) = r.excursions
    assert e.kind == "off_course" and e.exit_route_m == pytest.approx(3000.0, abs=150.0)
    assert r.coverage.fraction > 0.95


def test_the_last_fix_2_5_m_before_the_finish_is_a_finish() -> None:
    r = check(synth.route(STRAIGHT), run([(0.0, 0.0), (2997.5, 0.0)]))
    assert r.finished and r.verdict.kind == "on_course"


def test_a_night_stop_inside_an_excursion_is_a_pause_not_time_lost() -> None:
    route = synth.route(STRAIGHT)
    out = synth.walk([(0.0, 0.0), (1000.0, 0.0), (1000.0, 100.0)])
    stop = np.column_stack([out[-1, 0] + np.arange(1.0, 7201.0, 10.0), np.full(720, 1000.0), np.full(720, 100.0)])
    back = synth.walk([(1000.0, 100.0), (1000.0, 0.0), (3000.0, 0.0)])
    back[:, 0] += stop[-1, 0] + 1.0
    rows = np.vstack([out, stop, back])
    lon, lat = synth.PROJ.inverse(rows[:, 1], rows[:, 2])
    r = check(route, Track.from_arrays(lon=lon, lat=lat, epoch_s=T0 + rows[:, 0]))
    (e,) = r.excursions
    assert e.kind == "off_course" and e.time_lost_s is not None and e.time_lost_s < 180.0
    assert r.time_off_course_s < 180.0
    (p,) = [p for p in r.pauses if p.duration_s > 3600]
    assert p.kind == "stop" and p.duration_s == pytest.approx(7200.0, abs=40.0)


def test_fixes_out_of_time_order_are_a_warning() -> None:
    track = run(STRAIGHT)
    t = track.epoch_s.copy()
    t[100:105] -= 50.0  # five fixes stamped in the past
    shuffled = Track.from_arrays(lon=track.lon, lat=track.lat, epoch_s=t, meta=track.meta)
    r = check(synth.route(STRAIGHT), shuffled)
    assert r.ignored_fixes == 5 and r.verdict.kind == "on_course"
    assert not any("ignored" in w for w in r.warnings)  # 5 of 1,000: below the share that is worth a word
    t[100:160] -= 500.0
    r = check(synth.route(STRAIGHT), Track.from_arrays(lon=track.lon, lat=track.lat, epoch_s=t, meta=track.meta))
    assert any("fixes ignored" in w for w in r.warnings)
    assert any("fixes ignored" in w for w in report_to_dict(r)["warnings"])


def test_the_route_given_as_the_recording_is_a_warning() -> None:
    route = read_route(REPO / "routes" / "allermuir-hill-race.gpx")
    as_track = read_track(REPO / "routes" / "allermuir-hill-race.gpx")
    r = check(route, as_track)
    assert any("route itself" in w for w in r.warnings)
    assert any("planned route" in w or "route itself" in w for w in report_to_text(r).splitlines())


def test_a_course_file_as_the_recording_is_a_warning() -> None:
    route = read_route(REPO / "routes" / "cptr003-course.fit")
    course = read_track(REPO / "routes" / "cptr003-course.fit")
    assert course.meta.kind == "course"
    r = check(route, course)
    assert any("course file" in w for w in r.warnings)


def test_the_finish_of_a_loop_is_located_at_its_end() -> None:
    route = read_route(REPO / "routes" / "allermuir-hill-race.gpx")
    cps = {c.name: c.route_m for c in route.checkpoints}
    assert cps["Start"] == pytest.approx(0.0, abs=1.0)
    assert cps["Finish"] == pytest.approx(route.length_m, abs=1.0)
    assert [c.route_m for c in route.checkpoints] == sorted(c.route_m for c in route.checkpoints)


def test_a_loop_with_start_and_finish_at_one_place() -> None:
    loop = [(0.0, 0.0), (1000.0, 0.0), (1000.0, 500.0), (0.0, 500.0), (0.0, 0.0)]
    from offcourse.model import Waypoint

    lon, lat = synth.PROJ.inverse(np.array([0.0, 0.0, 1000.0]), np.array([0.0, 0.0, 250.0]))
    wps = (
        Waypoint(float(lon[0]), float(lat[0]), "Start"),
        Waypoint(float(lon[2]), float(lat[2]), "Halfway"),
        Waypoint(float(lon[1]), float(lat[1]), "Finish"),
    )
    r = Route.from_track(_track_of(loop), wps, projection=synth.PROJ)
    got = [(c.name, round(c.route_m)) for c in r.checkpoints]
    assert got == [("Start", 0), ("Halfway", 1250), ("Finish", 3000)]


def _track_of(xy: list[tuple[float, float]]) -> Track:
    a = np.array(xy)
    lon, lat = synth.PROJ.inverse(a[:, 0], a[:, 1])
    return Track.from_arrays(lon=lon, lat=lat)


def test_check_says_why_its_length_differs_from_the_recorded_one() -> None:
    route = read_route(REPO / "routes" / "allermuir-hill-race.gpx")
    track = read_track(REPO / "samples" / "allermuir-wrong-turn.gpx")
    r = check(route, track)
    text = report_to_text(r)
    recorded = track.length_m()
    if abs(recorded - r.distance_m) > max(50.0, 0.02 * recorded):
        assert f"{recorded / 1000:.2f} km as recorded" in text and "filtered" in text
    assert report_to_dict(r)["track"]["recorded_length_m"] == pytest.approx(recorded, abs=0.1)


def test_a_200_m_loop_is_not_finished_at_half_way() -> None:
    loop = [(0.0, 0.0), (50.0, 0.0), (50.0, 50.0), (0.0, 50.0), (0.0, 0.0)]
    half = check(synth.route(loop), run([(0.0, 0.0), (50.0, 0.0), (50.0, 52.0)], speed_mps=1.0))
    assert not half.finished and not half.completed and half.verdict.kind == "did_not_finish"
    full = check(synth.route(loop), run(loop, speed_mps=1.0))
    assert full.finished and full.verdict.kind == "on_course"


def test_ten_seconds_of_swapped_longitude_and_latitude_are_a_glitch_not_an_excursion() -> None:
    track = run(STRAIGHT)
    lon, lat = track.lon.copy(), track.lat.copy()
    lon[500:510], lat[500:510] = track.lat[500:510], track.lon[500:510]  # 10 s of lon/lat swapped
    r = check(synth.route(STRAIGHT), Track.from_arrays(lon=lon, lat=lat, epoch_s=track.epoch_s, meta=track.meta))
    assert not [e for e in r.excursions if e.kind == "off_course"] and r.extra_distance_m < 100.0
    assert r.verdict.kind == "on_course"


def test_a_ride_along_one_long_straight_segment_is_a_skip() -> None:
    # 1,500 m along the route's only segment in 10 s (150 m/s): no runner; the path moved as far as
    # the route did, so only the time tells
    rows = np.vstack([synth.walk([(0.0, 0.0), (1000.0, 0.0)]), synth.walk([(2500.0, 0.0), (3000.0, 0.0)])])
    rows[334:, 0] = rows[333, 0] + 10.0 + np.arange(len(rows) - 334)
    lon, lat = synth.PROJ.inverse(rows[:, 1], rows[:, 2])
    r = check(synth.route(STRAIGHT), Track.from_arrays(lon=lon, lat=lat, epoch_s=T0 + rows[:, 0]))
    (skip,) = [e for e in r.excursions if e.kind == "skipped_section"]
    assert skip.exit_route_m == pytest.approx(1000.0, abs=30.0) and skip.rejoin_route_m == pytest.approx(2500.0, abs=30)
    assert r.verdict.kind == "cut"


def test_a_route_file_with_several_tracks_uses_the_first_or_the_one_chosen_and_says_so() -> None:
    from offcourse.errors import InvalidRouteError
    from tests.conftest import corpus_file

    lake = corpus_file("tkrajina+gpxpy/test_files__cerknicko-jezero.gpx")  # 7 tracks with km between them
    first = read_route(lake)
    assert first.meta.extra["track_used"] == 1 and any("the first was used" in w for w in first.meta.extra["warnings"])
    second = read_route(lake, track=2)
    assert second.meta.extra["track_used"] == 2 and second.length_m != first.length_m
    joined = read_route(lake, track=0)
    assert joined.length_m > first.length_m + second.length_m
    with pytest.raises(InvalidRouteError, match="no track 9: the file holds 7"):
        read_route(lake, track=9)
    # three tracks that continue one another are one route, and the warning says they were joined
    multi = read_route(corpus_file("TrailrunningVienna+Trail365/src__Trail365.Seeds__GpxTracks__MultiFile3Sample.gpx"))
    assert any("continue one another: joined" in w for w in multi.meta.extra["warnings"])


def test_batch_and_check_take_the_route_track_chosen(tmp_path: Path) -> None:
    from offcourse import batch
    from offcourse.cli import main

    # a route file with two separate tracks: the way out (km 0-3) and, 5 km away, another route
    def trk(xy: list[tuple[float, float]]) -> str:
        a = np.array(xy)
        lon, lat = synth.PROJ.inverse(a[:, 0], a[:, 1])
        pts = "".join(f'<trkpt lat="{la:.7f}" lon="{lo:.7f}"/>' for lo, la in zip(lon, lat, strict=True))
        return f"<trk><trkseg>{pts}</trkseg></trk>"

    gpx = '<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
    gpx += trk([(0.0, 0.0), (3000.0, 0.0)]) + trk([(0.0, 5000.0), (3000.0, 5000.0)]) + "</gpx>"
    route = tmp_path / "two.gpx"
    route.write_text(gpx)
    rows = synth.walk(STRAIGHT)
    lon, lat = synth.PROJ.inverse(rows[:, 1], rows[:, 2])
    run_gpx = tmp_path / "run.gpx"
    stamps = [f"2023-11-14T22:{13 + int(t) // 60:02d}:{int(t) % 60:02d}Z" for t in rows[:, 0]]
    pts = "".join(
        f'<trkpt lat="{la:.7f}" lon="{lo:.7f}"><time>{ts}</time></trkpt>'
        for ts, lo, la in zip(stamps, lon, lat, strict=True)
    )
    head = '<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
    run_gpx.write_text(f"{head}<trk><trkseg>{pts}</trkseg></trk></gpx>")
    first = batch.run_batch(route, batch.expand_inputs([run_gpx]), jobs=1, cache_path=None).rows[0]
    second = batch.run_batch(route, batch.expand_inputs([run_gpx]), jobs=1, cache_path=None, route_track=2).rows[0]
    assert first["verdict"] == "on_course" and second["verdict"] == "not_this_route"
    assert main(["check", "--route-track", "2", "--format", "json", str(route), str(run_gpx)]) == 0


SQUARE = [(0.0, 0.0), (500.0, 0.0), (500.0, 500.0), (0.0, 500.0), (0.0, 0.0)]
"""One lap of 2,000 m: route m 300 is (300, 0), 1,700 is (0, 300)."""


def test_a_cut_across_the_second_lap_is_a_shortcut_of_that_lap_not_a_repeat_of_the_first() -> None:
    # lap 1, then lap 2 to (300, 0), across the corner to (0, 300) and on to the finish: where it
    # comes back is route m 1,700 (lap 1, 600 m behind the exit, which the live engine takes: the
    # nearer) and 3,700 (lap 2, 1,400 m ahead); what the runner did next (lap 2's last 300 m to the
    # finish, no third lap) says lap 2: one cut, not a repeat and a lap skipped at the end
    route = synth.route([*SQUARE, *SQUARE[1:]])
    r = check(route, run([*SQUARE, (300.0, 0.0), (0.0, 300.0), (0.0, 0.0)]))
    (sc,) = r.excursions
    assert sc.kind == "shortcut"
    assert sc.exit_route_m == pytest.approx(2300.0, abs=40.0)
    assert sc.rejoin_route_m == pytest.approx(3700.0, abs=40.0)
    cut = float(np.hypot(300.0, 300.0))  # 424 m across
    assert sc.route_bypassed_m == pytest.approx(1400.0, abs=60.0)
    assert sc.distance_saved_m == pytest.approx(1400.0 - cut, abs=60.0)
    assert r.verdict.kind == "cut"


def test_the_corners_sparse_fixes_cut_at_an_exit_are_completed_at_the_runners_pace() -> None:
    # out 150 m at right angles at x = 600 m and back, 300 m extra. A fix every 30 s: the last fix on
    # the route is at x = 540 m (t = 180 s), the next 30 m out at x = 600 m (t = 210 s); the straight
    # step between them (67.1 m) cuts the corner the runner ran (60 m along the route, then 30 m out):
    # completed as far as the runner's pace over the 30 s allows, at most 90 - 67.1 = 22.9 m. The
    # rejoin fix is at the corner itself (x = 600 m, t = 300 s): nothing to complete there; the
    # turn 150 m out is cut too, which no exit or rejoin explains (fixes at 120 m out either side).
    route = synth.route(STRAIGHT)
    path = [(0.0, 0.0), (600.0, 0.0), (600.0, 150.0), (600.0, 0.0), (3000.0, 0.0)]
    (dense,) = check(route, run(path)).excursions
    assert dense.extra_distance_m == pytest.approx(300.0, abs=1.0)
    track = thin(run(path), 30.0)
    (e,) = check(route, track).excursions
    # the steps between fixes: to 30 m out, 120 m out (t = 240 s), 90 m out on the way back (t = 270 s)
    # and the rejoin fix (t = 300 s), less the 60 m of route from x = 540 m
    chords = float(np.hypot(60.0, 30.0)) + 90.0 + 30.0 + 90.0
    assert e.exit_route_m == pytest.approx(540.0, abs=0.01) and e.rejoin_route_m == pytest.approx(600.0, abs=0.01)
    assert chords - 60.0 < e.extra_distance_m <= chords - 60.0 + 22.92  # 217.1 m plus the corner
    assert e.distance_m is not None and e.extra_distance_m == pytest.approx(e.distance_m - 60.0, abs=0.01)


def minute_fixes(offsets: list[float]) -> Track:
    """A fix a minute, 150 m apart along the x axis, ``offsets`` metres aside."""
    xy = np.array([(150.0 * k, float(o)) for k, o in enumerate(offsets)])
    lon, lat = synth.PROJ.inverse(xy[:, 0], xy[:, 1])
    return Track.from_arrays(lon=lon, lat=lat, epoch_s=T0 + 60.0 * np.arange(len(xy)), meta=Metadata("memory"))


BULGE = [54.0, 96, 155, 190, 237, 277, 323, 371, 327, 151]
"""Out to 371 m and back, from x = 1,500 m to x = 2,850 m (at a fix a minute, 150 m apart)."""


def test_an_exit_the_live_engine_dated_back_into_gps_drift_is_moved_to_where_hindsight_saw_the_runner_leave() -> None:
    # fixes 16, 28 and 22 m aside at x = 1,050-1,350 m (drift, or the start of a slow departure), then a
    # bulge out to 371 m and back at x = 3,000 m. The live engine dates the departure back to the last
    # fix on the line (x = 900 m, t = 360 s): its evidence began to grow there. Hindsight, with the
    # fixes that came after, keeps the runner on the route to x = 1,350 m (t = 540 s): the exit moves
    # there, and the 451 m run along the route before it is no longer extra distance
    offsets = [0.0] * 7 + [16, 28, 22, *BULGE, 0] + [0.0] * 10
    (e,) = check(synth.route([(0.0, 0.0), (6000.0, 0.0)]), minute_fixes(offsets)).excursions
    assert e.kind == "off_course"
    assert e.exit_route_m == pytest.approx(1350.0, abs=0.01) and e.start_epoch_s == T0 + 540.0
    assert e.rejoin_route_m == pytest.approx(3000.0, abs=0.01) and e.end_epoch_s == T0 + 1200.0
    xy = np.array([(150.0 * k, float(o)) for k, o in enumerate(offsets)])
    steps = float(np.hypot(np.diff(xy[9:21, 0]), np.diff(xy[9:21, 1])).sum())  # the fixes from x = 1,350 m on
    assert e.distance_m == pytest.approx(steps, abs=0.1)  # the route's own projection: a centimetre apart
    assert e.extra_distance_m == pytest.approx(steps - 1650.0, abs=0.1)


def test_a_rejoin_the_live_engine_dated_late_in_gps_drift_is_moved_to_where_hindsight_saw_the_runner_back() -> None:
    # the same bulge, then 20, 30 and 25 m aside at x = 3,000-3,300 m before the line: hindsight has the
    # runner back at x = 3,000 m (t = 1,200 s); the live engine, waiting for progress along the route,
    # at x = 3,450 m. The excursion ends at hindsight's fix, its extra distance without the 450 m run
    # along the route after it (the old end: 965 m extra, for about 200 m run)
    offsets = [0.0] * 7 + [16, 28, 22, *BULGE, 20, 30, 25, 0] + [0.0] * 10
    (e,) = check(synth.route([(0.0, 0.0), (6000.0, 0.0)]), minute_fixes(offsets)).excursions
    assert e.exit_route_m == pytest.approx(1350.0, abs=0.01) and e.start_epoch_s == T0 + 540.0
    assert e.rejoin_route_m == pytest.approx(3000.0, abs=0.01) and e.end_epoch_s == T0 + 1200.0
    xy = np.array([(150.0 * k, float(o)) for k, o in enumerate(offsets)])
    steps = float(np.hypot(np.diff(xy[9:21, 0]), np.diff(xy[9:21, 1])).sum())
    # plus the corner the step from (2850, 151) back to the route cuts (:func:`review._corners`): at most
    # 150 m along the route and 151 m out, 301 m, against that step's 199 m
    assert e.distance_m is not None and steps <= e.distance_m <= steps + 301.0 - float(np.hypot(150.0, 131.0))
    assert e.extra_distance_m == pytest.approx(e.distance_m - 1650.0, abs=0.1)


def test_a_slow_departure_at_a_fix_a_minute_keeps_the_exit_where_the_runner_began_to_leave() -> None:
    # 15, 30, 45, 60, 80 m aside fix by fix from x = 1,050 m: a fork at a shallow angle, not drift.
    # Hindsight's match takes the first fixes (up to 45 m off) to be on the route; the exit stays at the
    # last fix on the line (x = 900 m, t = 360 s), where the runner began to leave
    offsets = [0.0] * 7 + [15, 30, 45, 60, 80, 110, 155, 190, 237, 277, 323, 371, 327, 151, 0] + [0.0] * 10
    (e,) = check(synth.route([(0.0, 0.0), (6000.0, 0.0)]), minute_fixes(offsets)).excursions
    assert e.exit_route_m == pytest.approx(900.0, abs=0.01) and e.start_epoch_s == T0 + 360.0

"""Ground truth of the benchmark generator on tiny hand-built cases, and the files it writes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import fitdecode
import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

import geometry  # noqa: E402
import readers  # noqa: E402
import scenarios as sc  # noqa: E402
import writers  # noqa: E402

T0 = 1_700_000_000.0
SPEED = 2.0


def straight(length: float = 1000.0) -> sc.Course:
    return sc.Course(geometry.resample(np.array([[0.0, 0.0], [length, 0.0]]), 2.0), "test")


def detour(points: list[tuple[float, float]], s_exit: float, s_rejoin: float | None, pattern: str = "t") -> sc.Leg:
    xy = geometry.resample(np.array(points, dtype=float), 2.0)
    return sc.Leg("detour", xy, tag={"pattern": pattern, "s_exit": s_exit, "s_rejoin": s_rejoin})


def truth_of(course: sc.Course, legs: list[sc.Leg]) -> dict:
    run = sc.assemble(legs, sc.Pace(v_flat=SPEED))
    return sc.compute_truth(course, sc.publish(course, None), run, T0)


def test_rectangular_detour_has_exact_extra_distance() -> None:
    c = straight()
    legs = [
        sc.course_leg(c, 0, 400),
        detour([(400, 0), (400, 100), (600, 100), (600, 0)], 400, 600, "rejoin_ahead"),
        sc.course_leg(c, 600, 1000),
    ]
    t = truth_of(c, legs)
    assert len(t["excursions"]) == 1
    e = t["excursions"][0]
    assert e["class"] == "required"
    assert e["distance_m"] == pytest.approx(400.0, abs=0.5)
    assert e["extra_distance_m"] == pytest.approx(200.0, abs=0.5)
    assert e["max_offset_m"] == pytest.approx(100.0, abs=0.5)
    assert (e["exit_route_m"], e["rejoin_route_m"]) == (pytest.approx(400.0), pytest.approx(600.0))
    # leaves the trail by 5 m after 405 m, passes 50 m after 450 m, back within 5 m after 795 m
    assert e["start_epoch"] - T0 == pytest.approx(405 / SPEED, abs=1.5)
    assert e["t50_epoch"] - T0 == pytest.approx(450 / SPEED, abs=1.5)
    assert e["end_epoch"] - T0 == pytest.approx(795 / SPEED, abs=1.5)
    assert t["completed"] is True
    assert t["skipped"] == [] and t["wrong_way"] == []


def test_clean_run_has_no_excursion() -> None:
    c = straight()
    t = truth_of(c, [sc.course_leg(c, 0, 1000)])
    assert t["excursions"] == [] and t["skipped"] == [] and t["wrong_way"] == [] and t["ambiguous"] == []
    assert t["completed"] is True
    assert t["route_length_m"] == pytest.approx(1000.0)


def test_out_and_back_detour_costs_twice_its_length() -> None:
    c = straight()
    legs = [sc.course_leg(c, 0, 500), detour([(500, 0), (500, 150), (500, 0)], 500, 500), sc.course_leg(c, 500, 1000)]
    e = truth_of(c, legs)["excursions"][0]
    assert e["extra_distance_m"] == pytest.approx(300.0, abs=0.5)
    assert e["exit_route_m"] == e["rejoin_route_m"]


def test_rejoining_behind_adds_the_rerun_section() -> None:
    c = straight()
    legs = [
        sc.course_leg(c, 0, 600),
        detour([(600, 0), (600, 100), (400, 100), (400, 0)], 600, 400, "rejoin_behind"),
        sc.course_leg(c, 400, 1000),
    ]
    e = truth_of(c, legs)["excursions"][0]
    assert e["distance_m"] == pytest.approx(400.0, abs=0.5)
    assert e["extra_distance_m"] == pytest.approx(600.0, abs=0.5)


def test_shortcut_has_negative_extra_distance() -> None:
    # a U-shaped course: 300 m up, 200 m across, 300 m down; the runner cuts straight across the bottom
    c = sc.Course(geometry.resample(np.array([[0, 0], [0, 300], [200, 300], [200, 0], [200, -500]], float), 2.0), "u")
    legs = [sc.course_leg(c, 0, 0), detour([(0, 0), (200, 0)], 0.0, 800.0, "shortcut"), sc.course_leg(c, 800, c.length)]
    e = truth_of(c, legs)["excursions"][0]
    assert e["extra_distance_m"] == pytest.approx(200.0 - 800.0, abs=0.5)


def test_never_coming_back_leaves_rejoin_and_extra_null() -> None:
    c = straight()
    legs = [sc.course_leg(c, 0, 500), detour([(500, 0), (500, 400)], 500, None, "never_back")]
    t = truth_of(c, legs)
    e = t["excursions"][0]
    assert e["end_epoch"] is None and e["rejoin_route_m"] is None and e["extra_distance_m"] is None
    assert e["distance_m"] == pytest.approx(400.0, abs=0.5)
    assert t["completed"] is False


def test_small_detours_are_ambiguous_or_negligible() -> None:
    c = straight()
    legs = [
        sc.course_leg(c, 0, 300),
        detour([(300, 0), (300, 50), (300, 0)], 300, 300),
        sc.course_leg(c, 300, 700),
        detour([(700, 0), (700, 15), (700, 0)], 700, 700),
        sc.course_leg(c, 700, 1000),
    ]
    t = truth_of(c, legs)
    assert [e["class"] for e in t["excursions"]] == ["ambiguous", "negligible"]
    assert len(t["ambiguous"]) == 1
    a = t["ambiguous"][0]
    assert a["start_epoch"] <= t["excursions"][0]["start_epoch"] <= a["end_epoch"]


def test_turning_early_is_a_skipped_section() -> None:
    half = geometry.resample(np.array([[0.0, 0.0], [2000.0, 0.0]]), 2.0)
    c = sc.Course(np.vstack([half, half[::-1][1:]]), "out_and_back", {"turnaround_s": 2000.0})
    legs = [
        sc.course_leg(c, 0, 1200),
        sc.course_leg(c, 2800, 4000, skip_from=1200, skip_to=2800, pattern="turned_early"),
    ]
    t = truth_of(c, legs)
    assert t["excursions"] == []
    (s,) = t["skipped"]
    assert (s["exit_route_m"], s["rejoin_route_m"], s["length_m"]) == (
        pytest.approx(1200.0), pytest.approx(2800.0), pytest.approx(1600.0))
    assert s["epoch"] - T0 == pytest.approx(1200 / SPEED, abs=1.0)
    assert t["completed"] is False


def test_loop_run_backwards_is_a_wrong_way_interval() -> None:
    sq = np.array([[0, 0], [250, 0], [250, 250], [0, 250], [0, 0]], float)
    c = sc.Course(geometry.resample(np.vstack([sq, sq[1:]]), 2.0), "laps", {"loops": [(0.0, 1000.0), (1000.0, 2000.0)]})
    legs = [sc.course_leg(c, 0, 1000), sc.course_leg(c, 2000, 1000, wrong_way=True, pattern="loop_reversed")]
    t = truth_of(c, legs)
    (w,) = t["wrong_way"]
    assert (w["from_route_m"], w["to_route_m"]) == (pytest.approx(1000.0), pytest.approx(2000.0))
    assert w["start_epoch"] - T0 == pytest.approx(500.0, abs=1.0)
    assert w["end_epoch"] - T0 == pytest.approx(1000.0, abs=1.0)
    assert t["excursions"] == []


def test_published_route_is_a_close_simplified_drawing() -> None:
    rng = np.random.default_rng(3)
    c, _ = sc.make_course(rng, "wandering")
    pub = sc.publish(c, rng, tol=2.0, max_gap=30.0)
    gaps = np.diff(pub.m)
    assert len(pub.xy) < len(c.xy) / 3
    assert gaps.max() <= 31.0
    # every vertex stays within a few metres of the trail
    assert np.max(np.hypot(*(pub.xy - c.xy[pub.idx]).T)) < 6.0


@pytest.mark.parametrize("seed", [7, 10, 12])
def test_generated_scenario_is_consistent(tmp_path: Path, seed: int) -> None:
    t = sc.generate(seed, tmp_path, all_formats=True)
    folder = tmp_path / t["id"]
    assert json.loads((folder / "truth.json").read_text()) == t
    for e in t["excursions"]:
        if e["class"] == "required":
            assert e["max_offset_m"] >= sc.REQUIRED_M
            assert e["start_epoch"] <= e["t50_epoch"]
            if e["end_epoch"] is not None:
                assert e["t50_epoch"] <= e["end_epoch"]
        if e["extra_distance_m"] is not None:
            expect = e["distance_m"] - (e["rejoin_route_m"] - e["exit_route_m"])
            assert e["extra_distance_m"] == pytest.approx(expect, abs=0.2)
    # every track format holds the same positioned fixes
    fit = readers.read_points(folder / "track.fit")
    gpx = readers.read_points(folder / "track.gpx")
    gj = readers.read_points(folder / "track.geojson")
    assert len(fit) == len(gpx) == len(gj) == t["fixes"]
    np.testing.assert_allclose(fit.lat, gpx.lat, atol=2e-7)
    np.testing.assert_array_equal(fit.t, gpx.t)
    np.testing.assert_array_equal(gj.t, gpx.t)
    routes = [readers.read_points(folder / n) for n in ("route.gpx", "route_rte.gpx", "route.fit", "route.geojson")]
    assert len({len(r) for r in routes}) == 1
    np.testing.assert_allclose(routes[2].lon, routes[0].lon, atol=2e-7)


def test_fit_activity_reads_back_exactly(tmp_path: Path) -> None:
    t = 1_700_000_000.0 + np.array([0, 1, 2, 5, 6], float)
    lon = np.array([np.nan, 6.8612345, 6.8612999, 6.8614, -120.5])
    lat = np.array([np.nan, 45.9212345, 45.9213, 45.9214, -33.25])
    ele = np.array([1000.0, 1001.2, np.nan, 999.8, 1.0])
    path = tmp_path / "a.fit"
    writers.write_fit_activity(path, t, lon, lat, ele)
    got = []
    with fitdecode.FitReader(str(path), check_crc=fitdecode.CrcCheck.ENABLED) as fr:
        for frame in fr:
            if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "record":
                got.append((frame.get_value("timestamp").timestamp(), frame.get_value("position_lat"),
                            frame.get_value("position_long"), frame.get_value("enhanced_altitude")))
    assert [g[0] for g in got] == t.tolist()
    assert got[0][1] is None and got[0][2] is None
    semi = 180 / 2**31
    np.testing.assert_allclose([g[1] * semi for g in got[1:]], lat[1:], atol=semi)
    np.testing.assert_allclose([g[2] * semi for g in got[1:]], lon[1:], atol=semi)
    assert got[1][3] == pytest.approx(1001.2, abs=0.2) and got[2][3] is None


def test_fit_file_crc_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "c.fit"
    writers.write_fit_course(path, np.array([6.0, 6.001]), np.array([45.0, 45.001]), np.array([1.0, 2.0]), "c",
                             [writers.CoursePoint(6.0, 45.0, "Aid 1", 0.0)])
    data = bytearray(path.read_bytes())
    assert writers.fit_crc(bytes(data)) == 0  # a FIT file's CRC over everything, CRC included, is 0
    data[20] ^= 0xFF
    (tmp_path / "bad.fit").write_bytes(bytes(data))
    with pytest.raises(fitdecode.FitCRCError), \
            fitdecode.FitReader(str(tmp_path / "bad.fit"), check_crc=fitdecode.CrcCheck.ENABLED) as fr:
        for _ in fr:
            pass


def test_parse_seeds() -> None:
    assert sc.parse_seeds("1-3, 7,10-11") == [1, 2, 3, 7, 10, 11]

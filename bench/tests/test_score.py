"""The benchmark scorer on hand-made truth and detector outputs."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

import score  # noqa: E402
from writers import iso_utc  # noqa: E402

T0 = 1_700_000_000.0


def truth(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "hand",
        "duration_s": 36000.0,  # 10 h
        "fixes": 1000,
        "excursions": [
            {"id": 0, "class": "required", "start_epoch": T0 + 1000, "end_epoch": T0 + 1300, "t50_epoch": T0 + 1050,
             "exit_route_m": 4000.0, "rejoin_route_m": 4000.0, "extra_distance_m": 800.0},
            {"id": 1, "class": "ambiguous", "start_epoch": T0 + 5000, "end_epoch": T0 + 5100, "t50_epoch": T0 + 5050,
             "exit_route_m": 9000.0, "rejoin_route_m": 9000.0, "extra_distance_m": 100.0},
        ],
        "skipped": [{"exit_route_m": 12000.0, "rejoin_route_m": 15000.0}],
        "wrong_way": [{"start_epoch": T0 + 8000, "end_epoch": T0 + 9000}],
        "ambiguous": [
            {"reason": "before_start", "start_epoch": T0 - 1e6, "end_epoch": T0 + 300},
            {"reason": "excursion 1", "start_epoch": T0 + 5000, "end_epoch": T0 + 5100},
        ],
    }
    base.update(over)
    return base


def rep(kind: str, start: float, end: float | None, alert: float | None = None, extra: float | None = None,
        exit_m: float | None = None, rejoin_m: float | None = None) -> dict[str, Any]:
    return {
        "kind": kind,
        "start_time": iso_utc(T0 + start),
        "alert_time": iso_utc(T0 + (start if alert is None else alert)),
        "end_time": None if end is None else iso_utc(T0 + end),
        "extra_distance_m": extra,
        "exit_route_m": exit_m,
        "rejoin_route_m": rejoin_m,
    }


def report(*exc: dict[str, Any]) -> dict[str, Any]:
    return {"excursions": list(exc)}


def test_missed_excursion_is_a_false_negative() -> None:
    s = score.score_scenario(truth(), report())
    assert (s.truth_required, s.matched, s.missed, s.false_alarms) == (1, 0, [0], 0)
    m = score.aggregate([s])
    assert m["recall"] == 0.0 and math.isnan(m["precision"])


def test_matching_report_gives_latency_and_extra_error() -> None:
    s = score.score_scenario(truth(), report(rep("off_course", 1010, 1290, alert=1062, extra=760.0)))
    assert s.matched == 1 and s.false_alarms == 0 and s.missed == []
    assert s.latencies == [pytest.approx(12.0)]
    assert s.extra_errors == [pytest.approx(40.0)] and s.extra_within == [True]


def test_exit_and_rejoin_errors_in_route_metres() -> None:
    placed = score.score_scenario(truth(), report(rep("off_course", 1010, 1290, exit_m=3950.0, rejoin_m=4100.0)))
    assert placed.exit_errors == [pytest.approx(50.0)] and placed.rejoin_errors == [pytest.approx(100.0)]
    m = score.aggregate([placed, score.score_scenario(truth(), report(rep("off_course", 1010, 1290, exit_m=4010.0)))])
    assert m["exit_error_median_m"] == pytest.approx(30.0) and m["rejoin_error_median_m"] == pytest.approx(100.0)


def test_extra_distance_outside_tolerance_and_missing() -> None:
    far = score.score_scenario(truth(), report(rep("off_course", 1010, 1290, extra=500.0)))
    assert far.extra_within == [False]  # 300 m off, tolerance max(75, 80) m
    none = score.score_scenario(truth(), report(rep("off_course", 1010, 1290, extra=None)))
    assert none.extra_within == [False] and none.extra_errors == [math.inf]


def test_report_inside_ambiguous_interval_is_not_a_false_alarm() -> None:
    s = score.score_scenario(truth(), report(rep("off_course", 100, 200), rep("off_course", 5020, 5090)))
    assert s.false_alarms == 0
    assert s.reports == 2 and s.reports_ambiguous == 2
    assert math.isnan(score.aggregate([s])["precision"])  # no report left to judge


def test_report_far_from_any_truth_is_a_false_alarm() -> None:
    s = score.score_scenario(truth(), report(rep("off_course", 1000, 1300), rep("off_course", 20000, 20100)))
    assert s.matched == 1 and s.false_alarms == 1
    m = score.aggregate([s])
    assert m["precision"] == 0.5 and m["recall"] == 1.0
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["false_alarms_per_100h"] == pytest.approx(10.0)


def test_time_tolerance_bounds_matching() -> None:
    near = score.score_scenario(truth(), report(rep("off_course", 1320, 1400)))  # 20 s after the rejoin
    late = score.score_scenario(truth(), report(rep("off_course", 1340, 1400)))  # 40 s after
    assert near.matched == 1
    assert late.matched == 0 and late.false_alarms == 1


def test_split_report_counts_once_and_is_not_a_false_alarm() -> None:
    s = score.score_scenario(truth(), report(rep("off_course", 1000, 1100), rep("off_course", 1150, 1300)))
    assert s.matched == 1 and s.false_alarms == 0
    assert score.aggregate([s])["precision"] == 0.5


def test_never_back_report_matches_open_truth() -> None:
    t = truth(excursions=[{"id": 0, "class": "required", "start_epoch": T0 + 1000, "end_epoch": None,
                           "t50_epoch": T0 + 1100, "exit_route_m": 1.0, "rejoin_route_m": None,
                           "extra_distance_m": None}])
    s = score.score_scenario(t, report(rep("off_course", 1500, None, alert=1520)))
    assert s.matched == 1 and s.latencies == [pytest.approx(420.0)] and s.extra_errors == []


def test_skipped_sections_match_by_route_span() -> None:
    good = rep("skipped_section", 7000, 7000, exit_m=12100.0, rejoin_m=14900.0)
    wrong = rep("skipped_section", 7000, 7000, exit_m=100.0, rejoin_m=600.0)
    s = score.score_scenario(truth(), report(good, wrong))
    assert (s.skip_truth, s.skip_matched, s.skip_false) == (1, 1, 1)
    miss = score.score_scenario(truth(), report())
    assert miss.skip_matched == 0 and score.aggregate([miss])["skip_recall"] == 0.0


def test_wrong_direction_matches_by_time() -> None:
    s = score.score_scenario(truth(), report(rep("wrong_direction", 8100, 8900), rep("wrong_direction", 30000, 30100)))
    assert (s.wrong_truth, s.wrong_matched, s.wrong_false) == (1, 1, 1)
    # wrong-direction reports during an off-course excursion are not counted as false
    s2 = score.score_scenario(truth(), report(rep("wrong_direction", 1100, 1200)))
    assert s2.wrong_false == 0 and s2.wrong_matched == 0


def test_aggregate_over_scenarios_and_fixes_per_second() -> None:
    a = score.score_scenario(truth(), report(rep("off_course", 1000, 1300, alert=1060)), wall_s=0.5)
    b = score.score_scenario(truth(), report(), wall_s=1.5)
    m = score.aggregate([a, b])
    assert (m["truth_off_course"], m["matched"], m["recall"]) == (2, 1, 0.5)
    assert m["fixes_per_s"] == pytest.approx(2000 / 2.0)
    assert m["latency_median_s"] == pytest.approx(10.0)
    assert m["hours"] == 20.0


def test_command_detector_runs_a_template(tmp_path: Path) -> None:
    out = {"excursions": [rep("off_course", 1000, 1300)]}
    script = tmp_path / "det.py"
    script.write_text("import json, sys\nprint(json.dumps(" + repr(out) + "))\nsys.exit(3)\n")
    det = score.command_detector("fake", f"{sys.executable} {script} {{route}} {{track}}")
    folder = tmp_path / "s1"
    folder.mkdir()
    (folder / "truth.json").write_text(json.dumps(truth(route_file="r.gpx", track_file="t.fit")))
    scores = score.run_detector(det, score.load_scenarios(tmp_path))
    assert scores[0].error is None and scores[0].matched == 1


def test_crashing_detector_scores_as_empty(tmp_path: Path) -> None:
    det = score.command_detector("bad", f"{sys.executable} -c 'import sys; sys.exit(2)' {{route}} {{track}}")
    folder = tmp_path / "s1"
    folder.mkdir()
    (folder / "truth.json").write_text(json.dumps(truth(route_file="r.gpx", track_file="t.fit")))
    (s,) = score.run_detector(det, score.load_scenarios(tmp_path))
    assert s.error is not None and s.matched == 0 and s.missed == [0]
    assert score.aggregate([s])["errors"] == 1

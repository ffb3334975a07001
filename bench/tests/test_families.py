"""The held-out benchmark families: ground truth agrees with the geometry, the error model with its spec."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

import family_b as fb  # noqa: E402
import family_c as fc  # noqa: E402
import noise_b  # noqa: E402
import peers  # noqa: E402
import score  # noqa: E402
import writers  # noqa: E402
from geometry import Frame  # noqa: E402


def _seed(kind: str, k: int = 0) -> int:
    """The k-th family B seed of a scenario kind."""
    return [s for s in range(2001, 2200) if fb.KINDS[s % len(fb.KINDS)] == kind][k]


def _route_distance(sc: fb.Scenario) -> np.ndarray:
    return shapely.distance(shapely.points(sc.true_xy), LineString(sc.pub))


@pytest.mark.parametrize("kind", ["lost", "shallow_fork", "never_back", "shortcut"])
def test_planted_excursions_are_really_off_the_route(kind: str) -> None:
    sc = fb.build(_seed(kind))
    d = _route_distance(sc)
    t0 = sc.truth["t0"]
    req = [e for e in sc.truth["excursions"] if e["class"] == "required"]
    assert req
    for e in req:
        a = int(e["start_epoch"] - t0)
        b = len(d) if e["end_epoch"] is None else int(e["end_epoch"] - t0)
        assert d[a:b].max() == pytest.approx(e["max_offset_m"], abs=0.2)
        assert e["max_offset_m"] >= 90.0
        t50 = int(e["t50_epoch"] - t0)
        assert d[t50] > 50.0 and (d[a:t50] <= 50.0).all()  # first second past 50 m
        assert d[a] > 5.0 and d[a - 1] <= 5.0  # left the route there
        if e["end_epoch"] is not None:
            assert d[b] <= 5.0 and d[b - 1] > 5.0  # back on it there
    if kind == "shortcut":
        assert req[0]["extra_distance_m"] < 0
    if kind == "never_back":
        assert req[0]["rejoin_route_m"] is None and req[0]["extra_distance_m"] is None


@pytest.mark.parametrize("kind", ["clean", "sparse_switchbacks", "dnf"])
def test_runs_without_excursion_stay_on_the_route(kind: str) -> None:
    sc = fb.build(_seed(kind))
    assert sc.truth["excursions"] == [] and sc.truth["skipped"] == [] and sc.truth["wrong_way"] == []
    assert _route_distance(sc).max() < 10.0  # ~1 m wander on the trail plus the drawing's 0.5-3 m


def test_clean_recording_stays_within_its_error_model() -> None:
    sc = fb.build(_seed("clean", 1))
    p = sc.params
    err = np.hypot(*(sc.fix_xy - sc.true_xy[sc.fix_s]).T)
    near_event = np.zeros(len(sc.fix_s), dtype=bool)
    for ev in p.events:
        if ev["kind"] in ("multipath", "spike"):
            near_event |= (sc.fix_s >= ev["start_s"] - 1) & (sc.fix_s <= ev["end_s"] + 1)
    sigma = math.sqrt(p.white_m**2 + p.drift_m**2 + p.canopy_m**2)  # per axis, at most
    assert err[~near_event].max() < 5 * sigma * math.sqrt(2)
    for ev in p.events:
        if ev["kind"] == "spike":
            k = int(np.flatnonzero(sc.fix_s == ev["start_s"])[0])
            assert err[k] >= ev["peak_m"] - 6 * sigma


def test_sparse_switchbacks_are_a_fix_every_20_s_without_bursts() -> None:
    sc = fb.build(_seed("sparse_switchbacks"))
    assert sc.trail.shape == "switchbacks"
    assert set(np.diff(sc.fix_s).tolist()) == {20}
    assert [e for e in sc.params.events if e["kind"] != "canopy"] == []


@pytest.mark.parametrize("interval", [1, 5, 10, 20, 30, 60])
def test_fixed_intervals_are_kept_between_dropouts(interval: int) -> None:
    rng = np.random.default_rng(interval)
    xy = np.column_stack([np.arange(7200) * 2.5, np.zeros(7200)])
    p = noise_b.NoiseParams.draw(rng, interval)
    p.dropouts_per_h = 2.0
    t, _ = noise_b.record_b(rng, xy, p)
    gaps = np.diff(t)
    assert (gaps % interval == 0).all()
    drops = [e for e in p.events if e["kind"] == "dropout"]
    assert (gaps == interval).sum() >= len(gaps) - len(drops)


def test_smart_recording_is_irregular_and_follows_turns() -> None:
    rng = np.random.default_rng(5)
    turn = np.zeros(3000)
    turn[1000:1010] = 1.0
    t = noise_b.schedule(rng, "smart", 3000, turn)
    gaps = np.diff(t)
    assert gaps.min() >= 1 and gaps.max() <= 12 and len(set(gaps.tolist())) > 5
    assert all(k in t for k in range(1000, 1010))  # a fix every second while turning


def test_multipath_ramps_to_its_peak_and_back() -> None:
    m = noise_b.multipath_profile(30.0, 80.0, np.arange(-5, 40, 1.0))
    assert m.max() == pytest.approx(80.0)
    assert m[5] == 0.0 and m[5 + 5] == pytest.approx(40.0) and m[5 + 15] == pytest.approx(80.0)
    assert (m[5 + 31 :] == 0).all()


def test_gauss_markov_has_its_sigma_and_correlation_time() -> None:
    x = noise_b.gauss_markov(np.random.default_rng(1), 200_000, 10.0, 40.0)
    assert x.std() == pytest.approx(10.0, rel=0.05)
    r = np.corrcoef(x[:-40], x[40:])[0, 1]
    assert r == pytest.approx(math.exp(-1), abs=0.05)


@pytest.mark.parametrize("kind", ["skip", "wrong_way", "join_finish", "reversed_join", "never_on_route"])
def test_verdict_kinds_carry_their_truth(kind: str) -> None:
    sc = fb.build(_seed(kind))
    t = sc.truth
    assert t["expected_verdict"] == fb.VERDICT[kind] and t["expected_verdict"] in t["verdict_ok"]
    if kind == "skip":
        (s,) = t["skipped"]
        assert s["rejoin_route_m"] - s["exit_route_m"] >= 250
    if kind in ("wrong_way", "reversed_join"):
        (w,) = t["wrong_way"]
        assert w["from_route_m"] - w["to_route_m"] >= 1000
    if kind in ("join_finish", "reversed_join"):
        assert t["skip_ambiguous"][0][1] > 0.15 * t["route_length_m"]
    if kind == "never_on_route":
        assert _route_distance(sc).min() > 1500  # 2-30 km away, minus the two trails' extent
        assert t["ambiguous"][0]["reason"] == "never on the route"


def test_debounced_distance_needs_10_s_off_and_10_s_back() -> None:
    t = np.arange(0.0, 600.0, 20.0)  # a fix every 20 s
    d = np.zeros(len(t))
    d[5] = 200.0  # one spike: never two fixes off
    d[10:13] = 80.0  # three fixes off, then back
    assert peers.hysteresis_runs(t, d) == [(10, 11, 12)]
    d[13] = 30.0  # between 25 and 50 m: still off
    assert peers.hysteresis_runs(t, d) == [(10, 11, 13)]


def test_score_counts_live_alerts_verdicts_and_join_skips() -> None:
    truth = {"id": "x", "duration_s": 36000.0, "excursions": [], "ambiguous": [], "skipped": [],
             "wrong_way": [], "skip_ambiguous": [[0.0, 2000.0]], "verdict_ok": ["cut"]}
    rep = {"excursions": [{"kind": "skipped_section", "exit_route_m": 0.0, "rejoin_route_m": 1900.0}],
           "_live": [{"exit_epoch": 100.0, "alert_epoch": 120.0, "withdrawn": True}], "_verdict": "cut"}
    sc = score.score_scenario(truth, rep)
    assert (sc.skip_false, sc.live_alerts, sc.live_false, sc.withdrawn, sc.verdict_ok) == (0, 1, 1, 1, True)
    m = score.aggregate([sc])
    assert m["live_false_alarms_per_100h"] == pytest.approx(10.0) and m["verdict_accuracy"] == 1.0
    rep["_verdict"] = None
    assert score.aggregate([score.score_scenario(truth, rep)])["verdicts"] == 0


def test_residuals_are_signed_by_the_side_of_the_route(tmp_path: Path) -> None:
    f = Frame(16.2, 48.2)
    x = np.arange(0.0, 1000.0, 10.0)
    lon, lat = f.to_lonlat(x, np.zeros_like(x))
    writers.write_gpx_track(tmp_path / "route.gpx", lon, lat, np.zeros_like(x), "r")
    y = np.where(x < 500, 12.0, -7.0)
    lon, lat = f.to_lonlat(x, y)
    writers.write_gpx_track(tmp_path / "rec.gpx", lon, lat, np.zeros_like(x), "t", epoch_s=1.7e9 + x / 2)
    t, along, left = fc.residuals(tmp_path / "rec.gpx", tmp_path / "route.gpx")
    assert t[1] - t[0] == 5.0
    assert left[:50] == pytest.approx(12.0, abs=0.05) and left[50:] == pytest.approx(-7.0, abs=0.05)
    assert np.abs(along).max() < 0.05  # nearest point: no along-route part on a straight route


def test_on_course_stretches_drop_long_departures_and_split_at_gaps() -> None:
    t = np.arange(0.0, 3200.0, 2.0)
    r = np.full(len(t), 5.0)
    r[100:105] = 90.0  # 10 s burst: kept
    r[700:760] = 150.0  # 2 min away: cut out
    t[1200:] += 1000.0  # a 1000 s gap: split
    out = fc._cut("x", t, np.zeros(len(t)), r)
    assert [len(s.t_s) for s in out] == [700, 440, 400]
    assert out[0].lateral_m.max() == 90.0


def test_family_c_is_skipped_with_a_message_without_the_corpus(tmp_path: Path) -> None:
    why = fc.available(tmp_path / "absent")
    assert why is not None and "family C skipped" in why and "absent" in why


def test_an_excursion_seen_by_one_fix_is_ambiguous() -> None:
    xy = np.column_stack([np.arange(600.0) * 3, np.zeros(600)])
    xy[200:300, 1] = 120.0  # 100 s, 120 m off
    truth = {"t0": 0.0, "ambiguous": [], "excursions": [
        {"id": 0, "class": "required", "start_epoch": 200.0, "end_epoch": 300.0, "start_time": "a", "end_time": "b"}]}
    line = LineString([(0.0, 0.0), (1800.0, 0.0)])
    fb._observed(truth, xy, np.arange(0, 600, 60), line)  # one fix (t = 240) while off
    assert truth["excursions"][0]["fixes_over_50"] == 1 and truth["excursions"][0]["class"] == "ambiguous"
    assert truth["excursions"][0]["t50_fix_epoch"] == 240.0
    assert truth["ambiguous"][0]["start_epoch"] == 200.0
    truth["excursions"][0]["class"] = "required"
    fb._observed(truth, xy, np.arange(0, 600, 30), line)  # t = 210, 240, 270
    assert truth["excursions"][0]["fixes_over_50"] == 3 and truth["excursions"][0]["class"] == "required"
    assert truth["excursions"][0]["t50_fix_epoch"] == 210.0
    tr = {"id": "x", "duration_s": 600.0, "ambiguous": [], "skipped": [], "wrong_way": [],
          "excursions": [dict(truth["excursions"][0], t50_epoch=200.0, extra_distance_m=None)]}
    sc = score.score_scenario(tr, {"excursions": [
        {"kind": "off_course", "start_time": 205.0, "alert_time": 225.0, "end_time": 300.0}]})
    assert (sc.latencies, sc.fix_latencies) == ([25.0], [15.0])


@pytest.mark.skipif(fc.available() is not None, reason=str(fc.available()))
def test_family_c_recording_is_the_true_run_plus_real_residuals() -> None:
    pool = fc.stretches()
    assert sum(s.duration_s for s in pool) > 2.5 * 3600  # the two pairs give ~3 h on course
    sizes = np.concatenate([s.size_m for s in pool])
    assert sizes.max() <= 60.0
    sc = fc.build(_seed("clean"))
    err = np.hypot(*(sc.fix_xy - sc.true_xy[sc.fix_s]).T)
    assert err.max() <= sizes.max() + 1e-6
    gap = np.abs(err[:, None] - np.unique(sizes)[None, :]).min(axis=1)
    assert gap.max() < 1e-6  # each fix moved by one real residual
    assert [e["kind"] for e in sc.params.events] == ["replay"] * len(sc.params.events)

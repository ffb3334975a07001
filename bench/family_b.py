"""Benchmark family B: scenarios from a second generator, written apart from :mod:`scenarios`.

Own trail shapes (switchbacks, out-and-back, lollipop, laps, two loops from one junction), own
runner (pace that varies on its own and with the slope, walking on steep climbs, stops), own error
model (:mod:`noise_b`). One *kind* per scenario, each with the verdict it should get (the verdict
vocabulary of the integrator's API)::

    clean -> on_course            lost (1-3 wrong turns and back) -> lost
    shallow_fork -> lost          never_back -> lost            shortcut -> cut
    skip -> cut                   wrong_way (loop/lap/petal run backwards) -> wrong_way (or cut)
    join_finish -> cut            partial (join mid-route, stop) -> partial
    reversed_join -> wrong_way    never_on_route (a run 2-30 km away) -> not_this_route
    dnf -> did_not_finish         sparse_switchbacks (a fix every 20 s) -> on_course

Truth is in the structure :mod:`score` reads (same keys as :mod:`scenarios`), with one rule changed:
offsets are the distance from the runner's true position to the **whole** published route.
``class`` is ``required`` at >= 75 m, ``ambiguous`` at 25-75 m. A run that never touches the route is one
ambiguous interval (only its verdict is scored); so is an excursion during which fewer than two fixes
were taken more than 50 m off (``fixes_over_50``: one fix looks like a spike); for a mid-route join the
route before the join is in ``skip_ambiguous`` (reporting it as skipped is neither found nor false).

Command line::

    python bench/family_b.py --seeds 2001-2112 --out bench/scenarios/family-b
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString

sys.path.insert(0, str(Path(__file__).resolve().parent))

from geometry import FloatArray, Frame, cumlen, dp_indices
from noise_b import INTERVALS, NoiseParams, gauss_markov, record_b
from trails_b import SHAPES, Leg, Trail, make_trail, plan_run
from writers import iso_utc, write_fit_activity, write_fit_course, write_geojson_route, write_gpx_track

__all__ = ["KINDS", "SEEDS", "VERDICT", "Scenario", "build", "generate", "run_truth", "timeline", "write"]

SEEDS = "2001-2112"
KINDS = ("clean", "lost", "shallow_fork", "never_back", "shortcut", "skip", "wrong_way", "join_finish",
         "partial", "reversed_join", "never_on_route", "dnf", "sparse_switchbacks", "lost")
VERDICT = {"clean": "on_course", "lost": "lost", "shallow_fork": "lost", "never_back": "lost", "shortcut": "cut",
           "skip": "cut", "wrong_way": "wrong_way", "join_finish": "cut", "partial": "partial",
           "reversed_join": "wrong_way", "never_on_route": "not_this_route", "dnf": "did_not_finish",
           "sparse_switchbacks": "on_course"}
FITS = {"skip": ("out_and_back", "lollipop", "laps", "junctions"), "wrong_way": ("lollipop", "laps", "junctions"),
        "sparse_switchbacks": ("switchbacks",), "shortcut": ("lollipop", "laps", "junctions")}
PLACES = ((7.75, 46.02), (-3.2, 54.45), (14.1, 46.4), (-121.7, 46.85), (170.1, -43.6), (2.35, 42.6))


# --------------------------------------------------------------------------- the runner's timeline


def elevation(rng: np.random.Generator) -> Callable[[FloatArray], FloatArray]:
    """A smooth terrain: a sum of four plane waves, 20-80 m high, 1.5-6 km long."""
    waves = [(float(rng.uniform(20, 80)), 2 * math.pi / float(rng.uniform(1500, 6000)),
              float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi))) for _ in range(4)]

    def z(xy: FloatArray) -> FloatArray:
        xy = np.atleast_2d(xy)
        return 500.0 + sum(a * np.sin(k * (xy[:, 0] * math.cos(d) + xy[:, 1] * math.sin(d)) + ph)
                           for a, k, d, ph in waves)

    return z


def timeline(rng: np.random.Generator, path: FloatArray, z: Callable[[FloatArray], FloatArray],
             join: bool = False) -> tuple[FloatArray, FloatArray]:
    """Where the runner is each second: positions ``(n, 2)`` and path positions ``s`` (m).

    Pace: a flat speed of 2.3-3.6 m/s, times a slow random factor (sigma 12 %, 90 s), slower uphill
    (walking at 1.0-1.4 m/s, slower on steeper grades, over 15 %), a little faster downhill; an aid stop of 30-180 s
    every ~5 km and up to two short stops (10-40 s); a sideways wander of ~1 m on the trail.
    """
    sp = cumlen(path)
    total = float(sp[-1])
    grid = np.arange(0, total + 10, 10.0)
    gp = np.column_stack([np.interp(grid, sp, path[:, 0]), np.interp(grid, sp, path[:, 1])])
    grade = np.gradient(z(gp), 10.0)
    v0, walk = float(rng.uniform(2.3, 3.6)), float(rng.uniform(1.0, 1.4))
    stops = [(float(x), float(rng.uniform(30, 180))) for x in np.arange(rng.uniform(3000, 6000), total - 500, 5000)]
    stops += [(float(rng.uniform(0, total)), float(rng.uniform(10, 40))) for _ in range(int(rng.integers(0, 3)))]
    stops.sort()
    fl = np.exp(gauss_markov(rng, int(total / 0.8) + 10, 0.12, 90.0))
    s_t = [0.0]
    s, i, k = 0.0, 0, 0
    while s < total:
        if k < len(stops) and s >= stops[k][0]:
            s_t.extend([s] * int(stops[k][1]))
            k += 1
            continue
        g = float(np.interp(s, grid, grade))
        f = fl[min(i, len(fl) - 1)]
        v = v0 * f / (1 + 5 * max(g, 0.0)) * (1 + 2 * min(max(-g, 0.0), 0.08))
        if g > 0.15:
            v = max(0.6, walk * f * 0.15 / g)
        s = min(total, s + v)
        s_t.append(s)
        i += 1
    ss = np.array(s_t)
    xy = np.column_stack([np.interp(ss, sp, path[:, 0]), np.interp(ss, sp, path[:, 1])])
    d = np.gradient(xy, axis=0)
    nrm = np.column_stack([-d[:, 1], d[:, 0]]) / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
    xy += gauss_markov(rng, len(ss), 1.0, 30.0)[:, None] * nrm
    return xy, ss


# --------------------------------------------------------------------------- truth


@dataclass
class Scenario:
    """One generated scenario before it is written: route, true run, recording and truth."""

    sid: str
    trail: Trail
    pub: FloatArray
    true_xy: FloatArray
    fix_s: np.ndarray
    fix_xy: FloatArray
    truth: dict[str, Any]
    params: NoiseParams
    z: Callable[[FloatArray], FloatArray]


def run_truth(tr: Trail, pub_idx: np.ndarray, legs: list[Leg], xy: FloatArray, s_t: FloatArray,
              kind: str, t0: float) -> dict[str, Any]:
    """Ground truth of a run (see the module docstring for the rules)."""
    pub = tr.xy[pub_idx]
    m_pub = cumlen(pub)

    def route_m(s: float) -> float:
        return round(float(np.interp(s, tr.s[pub_idx], m_pub)), 1)

    line = LineString(pub)
    d = shapely.distance(shapely.points(xy), line)
    bounds = np.cumsum([0.0] + [float(cumlen(g.xy)[-1]) for g in legs])
    leg_of = np.clip(np.searchsorted(bounds, s_t, side="right") - 1, 0, len(legs) - 1)
    ex: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    wrong: list[dict[str, Any]] = []
    amb: list[dict[str, Any]] = []
    skip_amb: list[list[float]] = []
    for i, g in enumerate(legs):
        secs = np.flatnonzero(leg_of == i)
        if len(secs) == 0:
            continue
        ta, tb = float(secs[0]), float(secs[-1])
        if g.kind == "detour":
            dd = d[secs]
            away = secs[dd > 5.0]
            if len(away) == 0:
                continue
            back = g.tag["s_rejoin"] is not None
            mx = float(dd.max())
            cls = "required" if mx >= 75 else "ambiguous" if mx >= 25 else "negligible"
            over = secs[dd > 50.0]
            m0 = route_m(g.tag["s_exit"])
            m1 = route_m(g.tag["s_rejoin"]) if back else None
            dist = float(cumlen(g.xy)[-1])
            t_end = t0 + float(away[-1]) + 1 if back else None
            ex.append({"id": len(ex), "kind": "off_course", "pattern": g.tag["pattern"], "class": cls,
                       "start_time": iso_utc(t0 + away[0]), "end_time": None if t_end is None else iso_utc(t_end),
                       "t50_time": iso_utc(t0 + over[0]) if len(over) else None,
                       "start_epoch": t0 + float(away[0]), "end_epoch": t_end,
                       "t50_epoch": t0 + float(over[0]) if len(over) else None,
                       "exit_route_m": m0, "rejoin_route_m": m1, "max_offset_m": round(mx, 1),
                       "distance_m": round(dist, 1),
                       "extra_distance_m": None if m1 is None else round(dist - (m1 - m0), 1)})
            if cls == "ambiguous":
                amb.append({"reason": f"excursion {len(ex) - 1} ({mx:.0f} m)", "start_epoch": t0 + float(away[0]),
                            "end_epoch": t0 + (float(away[-1]) + 1 if back else 1e6)})
        elif g.kind == "course":
            if "skip_from" in g.tag:
                a, b = route_m(g.tag["skip_from"]), route_m(g.tag["skip_to"])
                skipped.append({"id": len(skipped), "kind": "skipped_section", "pattern": tr.shape,
                                "time": iso_utc(t0 + ta), "epoch": t0 + ta, "exit_route_m": a,
                                "rejoin_route_m": b, "length_m": round(b - a, 1)})
            if g.tag.get("join"):
                skip_amb.append([0.0, route_m(g.tag["s0"])])
            if g.tag.get("wrong_way"):
                wrong.append({"id": len(wrong), "kind": "wrong_direction", "pattern": tr.shape,
                              "start_time": iso_utc(t0 + ta), "end_time": iso_utc(t0 + tb),
                              "start_epoch": t0 + ta, "end_epoch": t0 + tb,
                              "from_route_m": route_m(g.tag["s0"]), "to_route_m": route_m(g.tag["s1"])})
    if kind == "never_on_route":
        amb.append({"reason": "never on the route", "start_epoch": t0 - 1e6, "end_epoch": t0 + 1e6})
    for a_ in amb:
        a_["start_time"] = iso_utc(max(a_["start_epoch"], t0))
        a_["end_time"] = iso_utc(min(a_["end_epoch"], t0 + len(xy)))
    verdict = VERDICT[kind]
    return {
        "rules": {"offset": "to the whole published route", "alert_m": 50.0, "required_offset_m": 75.0,
                  "ambiguous_offset_m": 25.0},
        "route_length_m": round(float(m_pub[-1]), 1),
        "kind": kind,
        "expected_verdict": verdict,
        "verdict_ok": [verdict, "cut"] if kind == "wrong_way" else [verdict],
        "excursions": ex, "skipped": skipped, "wrong_way": wrong, "ambiguous": amb,
        "skip_ambiguous": skip_amb,
        "min_true_offset_m": round(float(d.min()), 1),
        "completed": verdict == "on_course",
    }


def _observed(truth: dict[str, Any], xy: FloatArray, fix_s: np.ndarray, line: LineString) -> None:
    """Count the fixes taken while the runner was > 50 m off (``fixes_over_50``; the first one's time is
    ``t50_fix_epoch``); a required excursion seen by fewer than two is ambiguous (one fix is what a
    spike of the error model looks like)."""
    t0 = float(truth.get("t0", 0.0))
    d = shapely.distance(shapely.points(xy[fix_s]), line)
    for e in truth["excursions"]:
        a = e["start_epoch"] - t0
        b = (e["end_epoch"] - t0) if e["end_epoch"] is not None else float(len(xy))
        over = (fix_s >= a) & (fix_s <= b) & (d > 50.0)
        e["fixes_over_50"] = int(np.sum(over))
        e["t50_fix_epoch"] = t0 + float(fix_s[np.argmax(over)]) if over.any() else None
        if e["class"] == "required" and e["fixes_over_50"] < 2:
            e["class"] = "ambiguous"
            truth["ambiguous"].append({"reason": f"excursion {e['id']} seen by {e['fixes_over_50']} fix(es)",
                                       "start_epoch": e["start_epoch"], "end_epoch": e["end_epoch"] or t0 + len(xy),
                                       "start_time": e["start_time"], "end_time": e["end_time"]})


Recorder = Callable[[np.random.Generator, FloatArray, NoiseParams, str], tuple[np.ndarray, FloatArray]]


def _record(rng: np.random.Generator, xy: FloatArray, params: NoiseParams, kind: str) -> tuple[np.ndarray, FloatArray]:
    return record_b(rng, xy, params, quiet=kind == "sparse_switchbacks")


def build(seed: int, family: str = "B", recorder: Recorder | None = None) -> Scenario:
    """Build scenario ``seed`` in memory (``recorder`` replaces family B's error model, for family C)."""
    rng = np.random.default_rng([seed, ord(family)])
    kind = KINDS[seed % len(KINDS)]
    for _ in range(50):
        shape = str(rng.choice(FITS.get(kind, SHAPES)))
        tr = make_trail(rng, shape)
        legs = plan_run(rng, tr, kind)
        if legs is not None:
            break
    else:
        raise RuntimeError(f"seed {seed}: no trail fits kind {kind}")
    if kind == "never_on_route":
        other = make_trail(rng, str(rng.choice(SHAPES)))
        far, ang = float(rng.uniform(2000, 30000)), float(rng.uniform(0, 2 * math.pi))
        legs = [Leg("course", other.xy + far * np.array([math.cos(ang), math.sin(ang)]), {})]
    pub_idx = dp_indices(tr.xy, float(rng.uniform(0.5, 3.0)))
    z = elevation(rng)
    path = np.vstack([legs[0].xy] + [g.xy[1:] for g in legs[1:]])
    xy, s_t = timeline(rng, path, z)
    t0 = float(int(rng.uniform(1.68e9, 1.77e9)))
    truth = run_truth(tr, pub_idx, legs, xy, s_t, kind, t0)
    truth["t0"] = t0
    interval = 20 if kind == "sparse_switchbacks" else INTERVALS[int(rng.integers(len(INTERVALS)))]
    params = NoiseParams.draw(rng, interval)
    fix_s, fix_xy = (recorder or _record)(rng, xy, params, kind)
    _observed(truth, xy, fix_s, LineString(tr.xy[pub_idx]))
    sid = f"{family.lower()}{seed:05d}-{kind}-{shape}"
    return Scenario(sid, tr, tr.xy[pub_idx], xy, fix_s, fix_xy, truth, params, z)


def write(sc: Scenario, out_dir: Path, seed: int) -> dict[str, Any]:
    """Write the route, the recording and ``truth.json`` of a built scenario; return the truth."""
    folder = out_dir / sc.sid
    folder.mkdir(parents=True, exist_ok=True)
    lon0, lat0 = PLACES[seed % len(PLACES)]
    frame = Frame(lon0, lat0)
    t0 = sc.truth["t0"]
    rlon, rlat = frame.to_lonlat(sc.pub[:, 0], sc.pub[:, 1])
    rele = sc.z(sc.pub)
    rfmt = ("gpx_track", "fit_course", "geojson")[seed % 3]
    if rfmt == "gpx_track":
        route = folder / "route.gpx"
        write_gpx_track(route, rlon, rlat, rele, sc.sid)
    elif rfmt == "fit_course":
        route = folder / "route.fit"
        write_fit_course(route, rlon, rlat, rele, sc.sid)
    else:
        route = folder / "route.geojson"
        write_geojson_route(route, rlon, rlat, rele, sc.sid)
    tlon, tlat = frame.to_lonlat(sc.fix_xy[:, 0], sc.fix_xy[:, 1])
    epoch = t0 + sc.fix_s.astype(float)
    tele = sc.z(sc.fix_xy)
    if (seed // 3) % 2:
        track = folder / "track.fit"
        write_fit_activity(track, epoch, tlon, tlat, tele)
    else:
        track = folder / "track.gpx"
        write_gpx_track(track, tlon, tlat, tele, sc.sid, epoch_s=epoch)
    truth = {"version": 1, "id": sc.sid, "seed": seed, "family": sc.sid[0].upper(), "shape": sc.trail.shape,
             "route_file": route.name, "track_file": track.name, "fixes": len(epoch), "records": len(epoch),
             "start_time": iso_utc(epoch[0]), "end_time": iso_utc(epoch[-1]),
             "duration_s": float(epoch[-1] - epoch[0]), "recording": asdict(sc.params), **sc.truth}
    (folder / "truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    return truth


def generate(seed: int, out_dir: Path) -> dict[str, Any]:
    """Build and write family B scenario ``seed``."""
    return write(build(seed), out_dir, seed)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write family B scenarios."""
    from scenarios import parse_seeds

    ap = argparse.ArgumentParser(description="Write family B benchmark scenarios.")
    ap.add_argument("--seeds", default=SEEDS)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "scenarios" / "family-b")
    args = ap.parse_args(argv)
    for seed in parse_seeds(args.seeds):
        t = generate(seed, args.out)
        print(f"{t['id']}: {t['duration_s'] / 3600:.2f} h, {t['fixes']} fixes, {len(t['excursions'])} excursions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

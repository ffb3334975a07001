"""Independent labeller for the real route/recording pairs of issue 11 (does NOT import offcourse).

Reads ``bench/real_pairs.json`` and writes ``bench/real_labels.json``: for each pair the
expected verdict, coverage and excursions, computed here with numpy, shapely and pyproj and
with this file's own small GPX/TCX/FIT readers, so that the acceptance test
(``tests/test_real_verdicts.py``) checks offcourse against something it did not produce.

Run: ``python bench/label_real.py [--plot DIR] [--only NAME]``.

Rules (all distances in metres, on a local azimuthal-equidistant projection centred on the route)
-------------------------------------------------------------------------------------------------
Samples
    The route is resampled every ``STEP_M`` = 10 m (samples ``s_j``). The recording is taken in
    recorded file order (times are not used to reorder; fixes at exactly (0, 0) or with invalid
    coordinates are dropped) and densified: straight lines between consecutive fixes, a point every
    5 m, so a sparse recording is judged by where its lines go, not by how many fixes it has.
Coverage (in order, right direction)
    A pair (track point k, route sample j) *matches* when they are within ``R_M`` = 30 m. The covered
    samples are the longest chain of matches with the route sample strictly increasing and the track
    point non-decreasing (longest increasing subsequence, i.e. monotone progress matching of the
    track order against the route order). Where the route passes the same place twice (loops,
    out-and-backs, figure eights) both passes match, and only the order of the recording decides
    which pass it was on; running a stretch backwards cannot enter the chain.
    A gap between two consecutive chain elements is *bridged* (counted as covered) when it is at
    most ``FILL_M`` = 20 m, or when every real fix recorded between the two elements is within
    ``OFF_M`` = 50 m of that very stretch of route (give or take 50 m) and the straight line the runner
    drew is at least 40 % of the stretch (sparse fixes cutting switchback corners, GPS noise of
    30-50 m); a stretch bridged by a single straight line with times also needs a pace under
    7 m/s. A covered stretch shorter than ``MIN_RUN_M`` = 100 m is dropped (a recording crossing the
    route, or running it backwards, touches a few samples within R at one place: that is not running
    it). ``covered_m`` = 10 m per covered sample (5 m at each end of the route); ``fraction`` =
    covered_m / route length. Start / finish: the first / last covered sample.
Excursions (kinds off_course / shortcut)
    Maximal runs of real fixes farther than ``OFF_M`` = 50 m from the NEAREST part of the route
    (anywhere on it). Two runs are one excursion when fewer than 3 fixes and less than 100 m of track
    lie between them, or when the runner did not follow the route in between (the matched progress
    between them spans less than ``REJOIN_M`` = 100 m of route: crossing or touching it is no rejoin). A run
    counts when it reaches at least 60 m from the route and is at least 2 fixes long, or 80 m
    from it (one wild fix). Fixes before the first chain element (walking to the start, joining
    mid-route) are an approach, not an excursion. A run after the last chain element (never came
    back) counts only if the runner had not reached the finish.
    ``exit_km`` / ``rejoin_km``: route position of the chain element just before / just after the
    run (the part of the route the runner was following). ``max_offset_m``: largest distance of a fix
    of the run to the nearest part of the route. Kind ``shortcut`` when the rejoin is at least 100 m
    further on than the exit and the runner's track from exit to rejoin is shorter than the route
    between them; otherwise ``off_course``.
Wrong way
    Between consecutive chain elements (and before the first / after the last one), the longest
    chain of matches with the route sample strictly *decreasing* is taken, among matches to the
    nearest part of the route only (within ``NEAREST_SLACK_M`` = 15 m of the distance to the route:
    going down the second leg of a narrow hairpin is not running the first leg backwards); when its route span is
    >= ``WRONG_MIN_M`` = 150 m it is a wrong-way stretch (recursively, on the parts of the track before
    and after it).
Skipped stretches
    Gaps in coverage of at least ``GAP_MIN_M`` = 200 m with coverage after them, still >= 200 m once
    the route bypassed by excursions (exit..rejoin) and the stretches run the wrong way are taken out.
Verdict (VERDICT_API.md, first that applies wins)
    not_this_route: no fix within 100 m of the route, or less than 5 % of the route run in either
    direction (covered plus wrong-way stretches; VERDICT_API.md says "covered < 5 %", but a recording
    that ran 9 km of the route backwards is wrong way, as issue 11 says, not "not this route");
    cut: a skipped stretch or a shortcut, or joined mid-route (first covered > 200 m from the
    start) and reached the finish (last covered within 200 m of the end);
    wrong_way: a wrong-way stretch; lost: an off_course excursion;
    did_not_finish: started within 200 m of the start, stopped > 200 m before the finish;
    partial: joined mid-route and did not reach the finish; on_course otherwise.
    unjudged: fewer than 10 usable fixes.
A pair in ``real_pairs.json`` may carry ``"override"`` (fields replacing the computed ones) with a
``"override_reason"``; the plot of every pair was looked at by hand.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from defusedxml import ElementTree as ET
from pyproj import Transformer
from shapely.ops import substring

REPO = Path(__file__).resolve().parents[1]
PAIRS = REPO / "bench" / "real_pairs.json"
LABELS = REPO / "bench" / "real_labels.json"

STEP_M = 10.0
DENSE_M = 5.0
R_M = 30.0
FILL_M = 20.0
OFF_M = 50.0
WRONG_MIN_M = 150.0
GAP_MIN_M = 200.0
REACH_M = 100.0
REJOIN_M = 100.0
MIN_RUN_M = 100.0
NEAREST_SLACK_M = 15.0


# ----------------------------------------------------------------------------- readers
def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _time(text: str | None) -> float:
    if not text:
        return math.nan
    s = text.strip().replace("Z", "+00:00")
    try:
        t = dt.datetime.fromisoformat(s)
    except ValueError:
        return math.nan
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


def _read_gpx(root: Any, track_index: int | None) -> list[tuple[float, float, float]]:
    tracks: list[list[tuple[float, float, float]]] = []
    routes: list[list[tuple[float, float, float]]] = []
    for el in root:
        name = _local(el.tag)
        if name not in ("trk", "rte"):
            continue
        pts: list[tuple[float, float, float]] = []
        for p in el.iter():
            if _local(p.tag) in ("trkpt", "rtept"):
                t = math.nan
                for c in p:
                    if _local(c.tag) == "time":
                        t = _time(c.text)
                pts.append((float(p.get("lon")), float(p.get("lat")), t))
        (tracks if name == "trk" else routes).append(pts)
    groups = [g for g in (tracks or routes) if g]
    if track_index is not None:
        return groups[track_index]
    return [p for g in groups for p in g]


def _read_tcx(root: Any) -> list[tuple[float, float, float]]:
    out: list[tuple[float, float, float]] = []
    for tp in root.iter():
        if _local(tp.tag) != "Trackpoint":
            continue
        lat = lon = None
        t = math.nan
        for c in tp.iter():
            n = _local(c.tag)
            if n == "LatitudeDegrees":
                lat = float(c.text)
            elif n == "LongitudeDegrees":
                lon = float(c.text)
            elif n == "Time":
                t = _time(c.text)
        if lat is not None and lon is not None:
            out.append((lon, lat, t))
    return out


def _read_fit(path: Path) -> list[tuple[float, float, float]]:
    import fitdecode

    out: list[tuple[float, float, float]] = []
    semi = 180.0 / 2**31
    with fitdecode.FitReader(str(path), check_crc=fitdecode.CrcCheck.DISABLED) as fr:
        for frame in fr:
            if not isinstance(frame, fitdecode.FitDataMessage) or frame.name != "record":
                continue
            vals = {f.name: f.value for f in frame.fields}
            la, lo = vals.get("position_lat"), vals.get("position_long")
            if la is None or lo is None:
                continue
            ts = vals.get("timestamp")
            t = ts.timestamp() if isinstance(ts, dt.datetime) else math.nan
            out.append((lo * semi, la * semi, t))
    return out


def read_points(path: Path, track_index: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lon, lat, epoch_s or nan) of a GPX/TCX/FIT file, in file order; invalid and (0, 0) dropped."""
    data = path.read_bytes()
    if path.suffix.lower() == ".fit":
        pts = _read_fit(path)
    else:
        root = ET.fromstring(data.lstrip().lstrip(b"\xef\xbb\xbf").lstrip())
        pts = _read_tcx(root) if _local(root.tag) == "TrainingCenterDatabase" else _read_gpx(root, track_index)
    a = np.array(pts, dtype=float).reshape(-1, 3)
    ok = np.isfinite(a[:, 0]) & np.isfinite(a[:, 1]) & (np.abs(a[:, 1]) <= 90) & (np.abs(a[:, 0]) <= 180)
    ok &= ~((a[:, 0] == 0) & (a[:, 1] == 0))
    a = a[ok]
    return a[:, 0], a[:, 1], a[:, 2]


# ----------------------------------------------------------------------------- geometry
def _cum(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])


def resample(x: np.ndarray, y: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points every ``step`` m along the polyline: (x, y, distance along, fractional vertex index)."""
    d = _cum(x, y)
    s = np.arange(0.0, d[-1], step)
    s = np.append(s, d[-1]) if d[-1] - (s[-1] if len(s) else 0.0) > 1e-6 or not len(s) else s
    return np.interp(s, d, x), np.interp(s, d, y), s, np.interp(s, d, np.arange(len(d), dtype=float))


def densify(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The track with a point at least every DENSE_M m: (x, y, distance along, fix index as float)."""
    d = _cum(x, y)
    seg = np.diff(d)
    n = np.maximum(1, np.ceil(seg / DENSE_M)).astype(int)
    f = np.concatenate([i + np.arange(k) / k for i, k in enumerate(n)] + [np.array([len(x) - 1.0])])
    idx = np.arange(len(x), dtype=float)
    return np.interp(f, idx, x), np.interp(f, idx, y), np.interp(f, idx, d), f


def lis_chain(k: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Indices of the longest chain of pairs with j strictly increasing and k non-decreasing."""
    import bisect

    order = np.lexsort((-k, j))
    tails: list[float] = []
    tail_idx: list[int] = []
    prev = np.full(len(order), -1)
    for pos, p in enumerate(order):
        v = float(k[p])
        i = bisect.bisect_right(tails, v)
        if i == len(tails):
            tails.append(v)
            tail_idx.append(pos)
        else:
            tails[i] = v
            tail_idx[i] = pos
        prev[pos] = tail_idx[i - 1] if i > 0 else -1
    out = []
    pos = tail_idx[-1] if tail_idx else -1
    while pos >= 0:
        out.append(order[pos])
        pos = prev[pos]
    return np.array(out[::-1], dtype=int)


# ----------------------------------------------------------------------------- labelling
def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True."""
    out: list[tuple[int, int]] = []
    i, n = 0, len(mask)
    while i < n:
        if mask[i]:
            a = i
            while i + 1 < n and mask[i + 1]:
                i += 1
            out.append((a, i))
        i += 1
    return out


class Pair:
    """One route/recording pair in local metres, with the matches between them."""

    def __init__(self, rlon: np.ndarray, rlat: np.ndarray, tlon: np.ndarray, tlat: np.ndarray, tt: np.ndarray):
        lon0, lat0 = float(np.mean(rlon)), float(np.mean(rlat))
        tr = Transformer.from_crs("EPSG:4326", f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84", always_xy=True)
        self.rx, self.ry = tr.transform(rlon, rlat)
        self.tx, self.ty = tr.transform(tlon, tlat)
        self.tt = tt
        self.line = shapely.LineString(np.column_stack([self.rx, self.ry]))
        self.length_m = float(_cum(self.rx, self.ry)[-1])
        self.sx, self.sy, self.s, _ = resample(self.rx, self.ry, STEP_M)
        self.dx, self.dy, self.dd, self.df = densify(self.tx, self.ty)
        self.fix_dense = np.searchsorted(self.df, np.arange(len(self.tx)))  # dense index of each fix
        self.fix_off = shapely.distance(shapely.points(self.tx, self.ty), self.line)
        tree = shapely.STRtree(shapely.points(self.sx, self.sy))
        self.k, self.j = tree.query(shapely.points(self.dx, self.dy), predicate="dwithin", distance=R_M)
        dense_off = shapely.distance(shapely.points(self.dx, self.dy), self.line)
        d_kj = np.hypot(self.dx[self.k] - self.sx[self.j], self.dy[self.k] - self.sy[self.j])
        self.nearest = d_kj <= dense_off[self.k] + NEAREST_SLACK_M  # the match is (one of) the nearest parts
        w = np.diff(self.s)
        self.w = np.concatenate([[w[0] / 2], (w[:-1] + w[1:]) / 2, [w[-1] / 2]]) if len(w) else np.array([0.0])

    def chain(self) -> tuple[np.ndarray, np.ndarray]:
        c = lis_chain(self.k.astype(float), self.j.astype(float))
        return self.k[c], self.j[c]

    def bridged(self, ka: int, kb: int, ja: int, jb: int) -> bool:
        gap = self.s[jb] - self.s[ja]
        if gap - STEP_M <= FILL_M:
            return True
        chord = self.dd[kb] - self.dd[ka]
        if chord < 0.4 * gap:
            return False
        fa, fb = self.df[ka], self.df[kb]
        inner = np.arange(math.floor(fa) + 1, math.ceil(fb))
        if len(inner) == 0:
            ta, tb = np.interp([fa, fb], np.arange(len(self.tt)), self.tt)
            return not (np.isfinite(ta) and np.isfinite(tb) and tb > ta and gap / (tb - ta) > 7.0)
        sec = substring(self.line, max(0.0, self.s[ja] - OFF_M), min(self.length_m, self.s[jb] + OFF_M))
        d = shapely.distance(shapely.points(self.tx[inner], self.ty[inner]), sec)
        return bool(np.all(d <= OFF_M))

    def wrong_way(self, lo: float, hi: float, out: list[tuple[float, float, int, int]]) -> None:
        """Backward stretches of >= WRONG_MIN_M among matches with lo < k < hi (dense indices)."""
        if self.dd[min(int(hi), len(self.dd) - 1)] - self.dd[max(int(lo), 0)] < WRONG_MIN_M:
            return
        m = (self.k > lo) & (self.k < hi) & self.nearest
        if not m.any():
            return
        k, j = self.k[m], self.j[m]
        c = lis_chain(k.astype(float), -j.astype(float))
        if len(c) < 2:
            return
        kc, jc = k[c], j[c]
        if self.s[jc[0]] - self.s[jc[-1]] < WRONG_MIN_M:
            return
        out.append((float(self.s[jc[0]]), float(self.s[jc[-1]]), int(kc[0]), int(kc[-1])))
        self.wrong_way(lo, kc[0], out)
        self.wrong_way(kc[-1], hi, out)


def label_pair(rlon, rlat, tlon, tlat, tt) -> dict[str, Any]:
    """The label of one pair (see the module docstring for the rules)."""
    notes: list[str] = []
    if len(tlon) < 10:
        return {"verdict": "unjudged", "reason": f"only {len(tlon)} usable fixes", "notes": notes}
    p = Pair(rlon, rlat, tlon, tlat, tt)
    L = p.length_m
    n_notime = int(np.sum(~np.isfinite(tt)))
    if n_notime:
        notes.append(f"{n_notime} of {len(tt)} fixes without time")
    back = np.sum(np.diff(tt[np.isfinite(tt)]) < 0)
    if back:
        notes.append(f"times go backwards {int(back)} times (file order kept)")
    ck, cj = p.chain()
    cov = np.zeros(len(p.s), bool)
    cov[cj] = True
    for a in range(len(ck) - 1):
        if cj[a + 1] - cj[a] > 1 and p.bridged(ck[a], ck[a + 1], cj[a], cj[a + 1]):
            cov[cj[a] : cj[a + 1] + 1] = True
    for a, b in _runs(cov):
        if p.w[a : b + 1].sum() < MIN_RUN_M:
            cov[a : b + 1] = False  # touched, not run: one place matching a few samples within R
    covered_m = float(p.w[cov].sum())
    frac = covered_m / L
    runs = _runs(cov)
    intervals = [(max(0.0, p.s[a] - p.w[a] / 2), min(L, p.s[b] + p.w[b] / 2)) for a, b in runs]
    gaps = [
        (b0, a1)
        for (_, b0), (a1, _) in zip([(0.0, 0.0), *intervals], [*intervals, (L, L)], strict=True)
        if a1 - b0 > 1e-6
    ]
    first_m = float(p.s[runs[0][0]]) if runs else None
    last_m = float(p.s[runs[-1][1]]) if runs else None
    started = first_m is not None and first_m <= GAP_MIN_M
    finished = last_m is not None and last_m >= L - GAP_MIN_M
    min_off = float(p.fix_off.min())
    if p.fix_off[0] > OFF_M:
        notes.append(f"recording starts {p.fix_off[0]:.0f} m from the route; nearest fix {min_off:.0f} m")

    # excursions
    exc: list[dict[str, Any]] = []
    off_runs = _runs(p.fix_off > OFF_M)
    merged: list[list[int]] = []
    for a, b in off_runs:
        if merged:
            ka, kb = p.fix_dense[merged[-1][1]], p.fix_dense[a]
            close = a - merged[-1][1] <= 3 and p.dd[kb] - p.dd[ka] < 100
            between = cj[(ck > ka) & (ck < kb)]
            followed = len(between) > 0 and p.s[between.max()] - p.s[between.min()] >= REJOIN_M
        if merged and (close or not followed):
            merged[-1][1] = b
        else:
            merged.append([a, b])
    for a, b in merged:
        mx = float(p.fix_off[a : b + 1].max())
        if not ((mx >= 60 and b > a) or mx >= 80):
            continue
        ka, kb = p.fix_dense[a], p.fix_dense[b]
        before = np.nonzero(ck <= ka)[0]
        after = np.nonzero(ck >= kb)[0]
        if not len(before):
            if len(after):
                notes.append(f"approach off the route before joining it (up to {mx:.0f} m, fixes {a}-{b})")
            continue
        ex_m = float(p.s[cj[before[-1]]])
        if not len(after):
            if finished:
                notes.append(f"off the route after the finish (up to {mx:.0f} m)")
                continue
            exc.append(
                {
                    "kind": "off_course",
                    "exit_km": round(ex_m / 1000, 3),
                    "rejoin_km": None,
                    "max_offset_m": round(mx, 1),
                    "fixes": [int(a), int(b)],
                }
            )
            continue
        re_m = float(p.s[cj[after[0]]])
        ran = float(p.dd[ck[after[0]]] - p.dd[ck[before[-1]]])
        kind = "shortcut" if re_m - ex_m >= 100 and ran < re_m - ex_m else "off_course"
        e = {
            "kind": kind,
            "exit_km": round(ex_m / 1000, 3),
            "rejoin_km": round(re_m / 1000, 3),
            "max_offset_m": round(mx, 1),
            "fixes": [int(a), int(b)],
        }
        if kind == "shortcut":
            e["route_bypassed_m"] = round(re_m - ex_m)
            e["distance_saved_m"] = round(re_m - ex_m - ran)
        exc.append(e)

    # wrong way
    ww: list[tuple[float, float, int, int]] = []
    bounds = [-1] + [int(x) for x in ck] + [len(p.dd)]
    for lo, hi in itertools.pairwise(bounds):
        if hi - lo > 2:
            p.wrong_way(lo, hi, ww)
    ww.sort(key=lambda w: w[2])
    wrong = [{"from_km": round(a / 1000, 3), "to_km": round(b / 1000, 3)} for a, b, _, _ in ww]

    # skipped: interior gaps >= GAP_MIN_M not inside an excursion's exit..rejoin
    skipped = []
    for g0, g1 in gaps:
        if g1 - g0 < GAP_MIN_M or g0 <= 1e-6 or g1 >= L - 1e-6:
            continue
        inside = (p.s >= g0) & (p.s <= g1)
        for a, b, _, _ in ww:
            inside &= ~((p.s >= b - STEP_M) & (p.s <= a + STEP_M))  # run, but the wrong way round
        for e in exc:
            if e["rejoin_km"] is not None:  # bypassed by an excursion
                inside &= ~((p.s >= e["exit_km"] * 1000 - STEP_M) & (p.s <= e["rejoin_km"] * 1000 + STEP_M))
        if p.w[inside].sum() < GAP_MIN_M:
            continue
        skipped.append({"from_km": round(g0 / 1000, 3), "to_km": round(g1 / 1000, 3)})

    kinds = [e["kind"] for e in exc]
    reach = cov.copy()
    for a, b, _, _ in ww:
        reach |= (p.s >= b - STEP_M / 2) & (p.s <= a + STEP_M / 2)
    reach_frac = float(p.w[reach].sum()) / L
    if min_off > REACH_M or reach_frac < 0.05:
        verdict, reason = "not_this_route", f"nearest fix {min_off:.0f} m from the route, {frac:.0%} covered"
    elif skipped or "shortcut" in kinds or (not started and finished):
        why = [f"skipped km {s['from_km']:.2f}-{s['to_km']:.2f}" for s in skipped]
        why += [f"shortcut km {e['exit_km']:.2f}-{e['rejoin_km']:.2f}" for e in exc if e["kind"] == "shortcut"]
        if not started and finished:
            why.append(f"joined at km {first_m / 1000:.2f} and finished")
        verdict, reason = "cut", "; ".join(why)
    elif wrong:
        back_m = float(p.w[reach & ~cov].sum())
        verdict, reason = "wrong_way", f"ran {back_m:.0f} m of the route backwards, from km {wrong[0]['from_km']:.2f}"
    elif "off_course" in kinds:
        verdict, reason = (
            "lost",
            f"{len(exc)} off-course excursion(s), up to {max(e['max_offset_m'] for e in exc):.0f} m",
        )
    elif started and not finished:
        verdict, reason = "did_not_finish", f"stopped at km {last_m / 1000:.2f} of {L / 1000:.2f}"
    elif not started:
        verdict, reason = "partial", f"joined at km {first_m / 1000:.2f}, last covered km {last_m / 1000:.2f}"
    else:
        verdict, reason = "on_course", f"covered {frac:.1%} from start to finish"
    return {
        "verdict": verdict,
        "reason": reason,
        "route_length_m": round(L, 1),
        "coverage": {
            "covered_m": round(covered_m, 1),
            "fraction": round(frac, 4),
            "first_route_m": None if first_m is None else round(first_m, 1),
            "last_route_m": None if last_m is None else round(last_m, 1),
            "gaps": [[round(a, 1), round(b, 1)] for a, b in gaps if b - a >= STEP_M],
        },
        "excursions": exc,
        "wrong_way": wrong,
        "skipped": skipped,
        "notes": notes,
        "_pair": p,
        "_cov": cov,
    }


# ----------------------------------------------------------------------------- derived recordings
def derive(lon: np.ndarray, lat: np.ndarray, t: np.ndarray, op: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """A recording derived from a real one: ``thin_s``, ``reverse``, ``remove_km`` [a, b] (fixes whose
    distance along the track is in [a, b) km replaced by a straight run across at the runner's mean
    pace and fix interval, later times moved back by the time saved), ``keep_km`` [a, b] (only that part: a late start
    and/or an early stop)."""
    tr = Transformer.from_crs("EPSG:4326", f"+proj=aeqd +lat_0={lat.mean()} +lon_0={lon.mean()}", always_xy=True)
    d = _cum(*tr.transform(lon, lat))
    keep = np.ones(len(lon), bool)
    t = t.copy()
    if "keep_km" in op:
        a, b = op["keep_km"]
        keep = (d >= a * 1000) & (d <= b * 1000)
    if "remove_km" in op:
        a, b = op["remove_km"]
        cut = (d >= a * 1000) & (d < b * 1000)
        i0, i1 = np.nonzero(cut)[0][[0, -1]]
        i0, i1 = i0 - 1, i1 + 1  # the fixes either side, joined by a straight run
        x, y = tr.transform(lon, lat)
        chord = float(np.hypot(x[i1] - x[i0], y[i1] - y[i0]))
        pace = (t[-1] - t[0]) / d[-1]
        step_s = float(np.median(np.diff(t)))
        n = max(1, int(chord * pace / step_s))
        f = np.arange(1, n) / n
        inv = Transformer.from_crs(tr.target_crs, "EPSG:4326", always_xy=True)
        mlon, mlat = inv.transform(x[i0] + f * (x[i1] - x[i0]), y[i0] + f * (y[i1] - y[i0]))
        shift = (t[i1] - t[i0]) - chord * pace
        lon = np.concatenate([lon[: i0 + 1], mlon, lon[i1:]])
        lat = np.concatenate([lat[: i0 + 1], mlat, lat[i1:]])
        t = np.concatenate([t[: i0 + 1], t[i0] + f * chord * pace, t[i1:] - shift])
        keep = np.ones(len(lon), bool)
    lon, lat, t = lon[keep], lat[keep], t[keep]
    if "thin_s" in op:
        sel, last = [], -math.inf
        for i, ti in enumerate(t):
            if ti - last >= op["thin_s"] or i == len(t) - 1:
                sel.append(i)
                last = ti
        lon, lat, t = lon[sel], lat[sel], t[sel]
    if op.get("reverse"):
        lon, lat, t = lon[::-1], lat[::-1], t[0] + (t[-1] - t[::-1])
    return lon, lat, t


def write_gpx(path: Path, lon: np.ndarray, lat: np.ndarray, t: np.ndarray, name: str) -> None:
    rows = []
    for x, y, ti in zip(lon, lat, t, strict=True):
        tm = ""
        if np.isfinite(ti):
            stamp = dt.datetime.fromtimestamp(round(float(ti)), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            tm = f"<time>{stamp}</time>"
        rows.append(f'<trkpt lat="{y:.7f}" lon="{x:.7f}">{tm}</trkpt>')
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="offcourse bench/label_real.py" '
        'xmlns="http://www.topografix.com/GPX/1/1">\n'
        f"<trk><name>{name}</name><trkseg>\n" + "\n".join(rows) + "\n</trkseg></trk>\n</gpx>\n",
        encoding="utf-8",
    )


# ----------------------------------------------------------------------------- driver
def _load(entry: dict[str, Any]) -> tuple[np.ndarray, ...]:
    rl = read_points(REPO / entry["route"], entry.get("route_track"))
    if "derive" in entry:
        src = entry["derive"]
        tl = derive(*read_points(REPO / src["from"], src.get("track")), src)
        out = REPO / entry["track"]
        out.parent.mkdir(parents=True, exist_ok=True)
        write_gpx(out, *tl, entry["name"])
    tl = read_points(REPO / entry["track"], entry.get("track_track"))
    return (*rl[:2], *tl)


def plot(entry: dict[str, Any], lab: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p: Pair = lab["_pair"]
    cov = lab["_cov"]
    fig, ax = plt.subplots(figsize=(11, 11))
    ax.plot(p.rx, p.ry, color="0.7", lw=5, label="route")
    ax.plot(np.where(cov, p.sx, np.nan), np.where(cov, p.sy, np.nan), color="green", lw=2.5, label="covered")
    ax.plot(p.tx, p.ty, color="blue", lw=0.8, marker=".", ms=2, label="recording")
    ax.plot(p.tx[0], p.ty[0], "b^", ms=10)
    ax.plot(p.rx[0], p.ry[0], "k^", ms=12, label="route start")
    ax.plot(p.rx[-1], p.ry[-1], "ks", ms=12, label="route end")
    for km in range(0, int(p.length_m // 1000) + 1, max(1, int(p.length_m // 10000))):
        i = min(len(p.s) - 1, int(km * 1000 / STEP_M))
        ax.annotate(str(km), (p.sx[i], p.sy[i]), fontsize=8, color="k")
    for e in lab["excursions"]:
        a, b = e["fixes"]
        ax.plot(p.tx[a : b + 1], p.ty[a : b + 1], color="red", lw=2.5)
        ax.annotate(f"{e['kind']} {e['max_offset_m']:.0f}m", (p.tx[a], p.ty[a]), color="red")
    for w in lab["wrong_way"]:
        m = (p.s >= w["to_km"] * 1000) & (p.s <= w["from_km"] * 1000)
        ax.plot(np.where(m, p.sx, np.nan), np.where(m, p.sy, np.nan), color="orange", lw=4, alpha=0.7)
    ax.set_aspect("equal")
    ax.legend(loc="best", fontsize=8)
    ax.set_title(
        f"{entry['name']}: {lab['verdict']} ({lab['coverage']['fraction']:.2f}) {lab['reason']}"[:120], fontsize=9
    )
    fig.savefig(out, dpi=70, bbox_inches="tight")
    plt.close(fig)


_REPOS = {
    "TrailrunningVienna+Trail365": "Trail365",
    "MagicTrailRun+TrailPacer2025": "TrailPacer2025",
    "tkrajina+gpxpy": "gpxpy",
    "sports-alliance+sports-lib": "sports-lib",
    "gpxstudio+gpx.studio": "gpx.studio",
    "Sekoya88+UTMB": "Sekoya88/UTMB",
    "calekochenour+mansfield-double-up-gpx-analysis": "mansfield-double-up",
    "real": "tests/data/real",
}
_PREFIXES = (
    "src__Trail365.Seeds__GpxTracks__",
    "tests__Trail365.UnitTests__Data__",
    "data__TrailPacer__",
    "test_files__",
    "src__specs__fixtures__runs__",
    "samples__",
    "gpx__test-data__",
    "templiers__",
    "grandraid-reunion-oxybol__",
    "02-raw-data__",
)


def _short(path: str) -> str:
    repo, name = path.split("/")[-2:]
    for prefix in _PREFIXES:
        name = name.replace(prefix, "")
    return f"{_REPOS.get(repo, repo)} `{name.replace('__tracks__gpx_', ' ').replace('__', '/')}`"


def markdown(labels: list[dict[str, Any]]) -> str:
    """The labelled pairs as a markdown table (for BENCHMARKS.md)."""
    out = [
        "| pair | route ← recording | case | verdict | coverage "
        "| off-course / shortcut excursions (km exit→rejoin, max m off) |",
        "|---|---|---|---|---|---|",
    ]
    for e in labels:
        parts = []
        for x in e.get("excursions", []):
            rejoin = "never" if x["rejoin_km"] is None else f"{x['rejoin_km']:.2f}"
            parts.append(f"{x['kind']} {x['exit_km']:.2f}→{rejoin} ({x['max_offset_m']:.0f})")
        exc = "; ".join(parts)
        cov = e.get("coverage", {}).get("fraction")
        derived = " (derived)" if e.get("derived") else ""
        out.append(
            f"| {e['name']} | {_short(e['route'])} ← {_short(e['track'])}{derived} | {e.get('case', '')} "
            f"| {e['verdict']} | {'' if cov is None else f'{cov:.3f}'} | {exc or '-'} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plot", type=Path, help="write a PNG per pair into this folder")
    ap.add_argument("--only", help="label only the pairs whose name contains this")
    ap.add_argument("--dry", action="store_true", help="print, do not write real_labels.json")
    ap.add_argument("--markdown", action="store_true", help="print real_labels.json as a markdown table and stop")
    args = ap.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(LABELS.read_text(encoding="utf-8"))))
        return 0
    pairs = json.loads(PAIRS.read_text(encoding="utf-8"))
    old = {e["name"]: e for e in json.loads(LABELS.read_text(encoding="utf-8"))} if LABELS.exists() else {}
    out = []
    for entry in pairs:
        if args.only and args.only not in entry["name"]:
            if entry["name"] in old:
                out.append(old[entry["name"]])
            continue
        lab = label_pair(*_load(entry))
        if args.plot:
            args.plot.mkdir(parents=True, exist_ok=True)
            plot(entry, lab, args.plot / f"{entry['name']}.png")
        lab = {k: v for k, v in lab.items() if not k.startswith("_")}
        if "override" in entry:
            lab.update(entry["override"])
            lab["notes"].append("manual override: " + entry["override_reason"])
        row = {"name": entry["name"], "route": entry["route"], "track": entry["track"]}
        for key in ("route_track", "track_track"):
            if entry.get(key) is not None:
                row[key] = entry[key]
        row["derived"] = "derive" in entry
        row["case"] = entry.get("case", "")
        row.update(lab)
        out.append(row)
        cv = lab.get("coverage", {})
        exc = " ".join(f"{e['kind'][:3]}@{e['exit_km']}({e['max_offset_m']:.0f})" for e in lab.get("excursions", []))
        print(f"{entry['name']:34s} {lab['verdict']:15s} {cv.get('fraction', 0):.3f} {exc} | {lab['reason']}")
    if not args.dry:
        LABELS.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Generate benchmark scenarios with ground truth: a route file, a watch recording and ``truth.json``.

From a seed, :func:`generate` builds a trail (a real race geometry from ``../shared/data`` or a
synthetic shape), the published route (a simplified, slightly biased drawing of the trail), the
runner's true path (the trail plus wrong turns and course errors), a timeline (pace that slows
uphill, aid-station stops), and a recording (1 s or smart sampling, Gauss-Markov GPS error, canopy,
multipath bursts, spikes, dropouts, auto-pause, a cold start). Truth is computed from the true path.

Truth rules
-----------
Offsets are measured from the runner's *true* position to the local part of the route around the
excursion (``WINDOW_M`` either side of the exit and rejoin positions), never to the whole route, so a
wrong branch that runs beside another section of the course still counts as off course.

* ``start_time`` / ``end_time``: first / last instant the true position is more than
  ``DEPART_M`` (5 m) from the true trail.
* ``exit_route_m`` / ``rejoin_route_m``: route positions of the junctions where the detour leaves
  and rejoins the trail, measured along the *published* route.
* ``distance_m``: true path length from junction to junction; ``extra_distance_m`` =
  ``distance_m - (rejoin_route_m - exit_route_m)`` (``null`` when the runner never comes back).
* ``max_offset_m`` against the published route; ``t50_time`` when it first exceeds 50 m.
* ``class``: ``required`` when ``max_offset_m >= 75`` (a detector must report it), ``ambiguous``
  between 25 and 75 m (neither a miss nor a false alarm), ``negligible`` below 25 m.
* ``ambiguous`` intervals (walk to the start, cool-down after the finish, receiver cold start,
  ambiguous excursions) count neither way.

Command line::

    python bench/scenarios.py --seeds 1001-1040 --out bench/scenarios/report
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely import ops
from shapely.geometry import LineString, Point

sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

from geometry import FloatArray, Frame, cumlen, dp_indices, loop_curve, resample, smooth_curve
from writers import (
    CoursePoint,
    iso_utc,
    write_fit_activity,
    write_fit_course,
    write_geojson_route,
    write_geojson_track,
    write_gpx_route,
    write_gpx_track,
)

__all__ = [
    "AMBIGUOUS_M",
    "DEPART_M",
    "REQUIRED_M",
    "Course",
    "Leg",
    "Pace",
    "Published",
    "Run",
    "assemble",
    "compute_truth",
    "generate",
    "main",
    "parse_seeds",
    "publish",
]

STEP = 2.0
DEPART_M = 5.0
ALERT_M = 50.0
REQUIRED_M = 75.0
AMBIGUOUS_M = 25.0
WINDOW_M = 150.0
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SHAPES = (
    "real", "wandering", "out_and_back", "parallel_out_and_back", "lollipop", "laps", "figure_eight", "switchbacks",
)
ROUTE_FORMATS = ("gpx_track", "fit_course", "gpx_route", "geojson")
TRACK_FORMATS = ("fit", "gpx", "geojson")
REAL_FILES = (
    "MagicTrailRun+TrailPacer2025/data__TrailPacer__UTMB__tracks__track_2025_old.gpx",
    "MagicTrailRun+TrailPacer2025/data__TrailPacer__grandraid-reunion-oxybol__MTR__tracks__gpx_2025.gpx",
    "MagicTrailRun+TrailPacer2025/data__TrailPacer__templiers__integra__tracks__gpx_2024.gpx",
    "TrailrunningVienna+Trail365/src__Trail365.Seeds__GpxTracks__HusarenTempel-Schubertweg.gpx",
    "TrailrunningVienna+Trail365/src__Trail365.Seeds__GpxTracks__BVRodaunLiesing.gpx",
    "TrailrunningVienna+Trail365/tests__Trail365.UnitTests__Data__puez.gpx",
    "TrailrunningVienna+Trail365/tests__Trail365.UnitTests__Data__keschtnweg.gpx",
    "calekochenour+mansfield-double-up-gpx-analysis/02-raw-data__mansfield-double-up-course.gpx",
)
PLACES = ((6.87, 45.92), (16.22, 48.21), (55.53, -21.12), (3.25, 44.1), (-72.8, 44.5), (11.8, 46.55))


# --------------------------------------------------------------------------- course


@dataclass
class Course:
    """The true trail the course follows, densely sampled, with its along-course position ``s``."""

    xy: FloatArray
    shape: str
    features: dict[str, Any] = field(default_factory=dict)
    source: str = "synthetic"
    s: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self.xy = np.asarray(self.xy, dtype=float)
        self.s = cumlen(self.xy)

    @property
    def length(self) -> float:
        """Course length in metres."""
        return float(self.s[-1])

    def at(self, s: float | FloatArray) -> FloatArray:
        """Point(s) at course position(s) ``s``."""
        s_arr = np.atleast_1d(np.asarray(s, dtype=float))
        out = np.column_stack([np.interp(s_arr, self.s, self.xy[:, 0]), np.interp(s_arr, self.s, self.xy[:, 1])])
        return out[0] if np.ndim(s) == 0 else out

    def heading(self, s: float) -> float:
        """Direction of travel at ``s`` (radians counter-clockwise from east)."""
        a = self.at(max(0.0, s - 10.0))
        b = self.at(min(self.length, s + 10.0))
        return math.atan2(b[1] - a[1], b[0] - a[0])

    def section(self, s0: float, s1: float) -> FloatArray:
        """Points from ``s0`` to ``s1`` (backwards when ``s1 < s0``) every ~2 m, vertices kept."""
        lo, hi = min(s0, s1), max(s0, s1)
        inner = self.s[(self.s > lo) & (self.s < hi)]
        ss = np.concatenate([[lo], inner, [hi]])
        if s1 < s0:
            ss = ss[::-1]
        return np.asarray(self.at(ss))

    def line(self, s0: float, s1: float) -> LineString:
        """The course between two positions as a shapely line."""
        pts = self.section(max(0.0, s0), min(self.length, s1))
        if len(pts) < 2:
            pts = np.vstack([pts, pts + 1e-6])
        return LineString(pts)


def _wandering(rng: np.random.Generator, length: float, start: FloatArray | None = None, h0: float = 0.0) -> FloatArray:
    st = np.zeros(2) if start is None else start
    return smooth_curve(rng, length, st, h0, curvature_sd=rng.uniform(1 / 400, 1 / 150), corr_m=rng.uniform(80, 250))


def _join(*parts: FloatArray) -> FloatArray:
    out = [parts[0]]
    for p in parts[1:]:
        out.append(p[1:] if np.allclose(p[0], out[-1][-1]) else p)
    return np.vstack(out)


@cache
def _read_gpx_points(path: str) -> FloatArray:
    """Longitude, latitude of every ``trkpt``/``rtept`` of a GPX file (tiny ElementTree reader)."""
    root = ET.parse(path).getroot()
    pts = [
        (float(el.get("lon", "nan")), float(el.get("lat", "nan")))
        for el in root.iter()
        if el.tag.rsplit("}", 1)[-1] in ("trkpt", "rtept")
    ]
    return np.array(pts, dtype=float)


def _real_course(rng: np.random.Generator) -> tuple[Course, Frame] | None:
    files = [SHARED / f for f in REAL_FILES if (SHARED / f).exists()]
    if not files:
        return None
    path = files[int(rng.integers(len(files)))]
    ll = _read_gpx_points(str(path))
    ll = ll[np.isfinite(ll).all(axis=1)]
    frame0 = Frame(float(np.median(ll[:, 0])), float(np.median(ll[:, 1])))
    x, y = frame0.to_xy(ll[:, 0], ll[:, 1])
    s = cumlen(np.column_stack([x, y]))
    want = rng.uniform(3000, 14000)
    s0 = rng.uniform(0, max(0.0, s[-1] - want))
    sel = (s >= s0) & (s <= s0 + want)
    if sel.sum() < 20:
        return None
    lon0, lat0 = float(np.mean(ll[sel, 0])), float(np.mean(ll[sel, 1]))
    frame = Frame(lon0, lat0)
    x, y = frame.to_xy(ll[sel, 0], ll[sel, 1])
    xy = resample(np.column_stack([x, y]), STEP)
    if len(xy) > 9:  # smooth the recorded trail over ~10 m
        k = np.ones(5) / 5
        sm = np.column_stack([np.convolve(xy[:, i], k, mode="valid") for i in range(2)])
        xy = resample(np.vstack([xy[:1], sm, xy[-1:]]), STEP)
    return Course(xy, "real", source=f"{path.parent.name}/{path.name}@{s0:.0f}m"), frame


def make_course(rng: np.random.Generator, shape: str) -> tuple[Course, Frame]:
    """Build the true trail of a course of the given shape (see ``SHAPES``) and its local frame."""
    if shape == "real":
        got = _real_course(rng)
        if got is not None:
            return got
        shape = "wandering"
    lon0, lat0 = PLACES[int(rng.integers(len(PLACES)))]
    frame = Frame(lon0 + rng.uniform(-0.05, 0.05), lat0 + rng.uniform(-0.05, 0.05))
    h0 = rng.uniform(-np.pi, np.pi)
    feats: dict[str, Any] = {}
    if shape == "wandering":
        xy = _wandering(rng, rng.uniform(4000, 12000), h0=h0)
    elif shape == "out_and_back":
        half = _wandering(rng, rng.uniform(2500, 6000), h0=h0)
        xy = _join(half, half[::-1])
        feats["turnaround_s"] = float(cumlen(half)[-1])
    elif shape == "parallel_out_and_back":
        gap = rng.uniform(80.0, 100.0)
        centre = smooth_curve(rng, rng.uniform(2000, 4500), np.zeros(2), h0, curvature_sd=1 / 1500, min_radius=300.0)
        d = np.gradient(centre, axis=0)
        h = np.arctan2(d[:, 1], d[:, 0])
        nrm = np.column_stack([-np.sin(h), np.cos(h)])
        leg_a = resample(centre + nrm * gap / 2, STEP)
        leg_b = resample(centre - nrm * gap / 2, STEP)
        phi = np.linspace(h[-1] + np.pi / 2, h[-1] - np.pi / 2, 40)
        cap = centre[-1] + gap / 2 * np.column_stack([np.cos(phi), np.sin(phi)])
        xy = _join(leg_a, resample(cap, STEP), leg_b[::-1])
        feats["leg_a_s"] = float(cumlen(leg_a)[-1])
        feats["leg_b_s"] = float(cumlen(leg_a)[-1] + cumlen(resample(cap, STEP))[-1])
        feats["gap_m"] = gap
    elif shape == "lollipop":
        stick = _wandering(rng, rng.uniform(1000, 3000), h0=h0)
        hs = math.atan2(*(stick[-1] - stick[-5])[::-1])
        loop = loop_curve(rng, rng.uniform(2000, 5000), stick[-1], hs, ccw=bool(rng.integers(2)))
        xy = _join(stick, loop, stick[::-1])
        ls = float(cumlen(stick)[-1])
        feats["loops"] = [(ls, ls + float(cumlen(loop)[-1]))]
    elif shape == "laps":
        loop = loop_curve(rng, rng.uniform(1500, 4000), np.zeros(2), h0, ccw=bool(rng.integers(2)))
        n = int(rng.integers(2, 5))
        xy = _join(*([loop] * n))
        p = float(cumlen(loop)[-1])
        feats["loops"] = [(k * p, (k + 1) * p) for k in range(n)]
    elif shape == "figure_eight":
        l1 = loop_curve(rng, rng.uniform(1500, 4000), np.zeros(2), h0, ccw=True)
        l2 = loop_curve(rng, rng.uniform(1500, 4000), np.zeros(2), h0, ccw=False)
        xy = _join(l1, l2)
        p1 = float(cumlen(l1)[-1])
        feats["loops"] = [(0.0, p1), (p1, p1 + float(cumlen(l2)[-1]))]
    elif shape == "switchbacks":
        app = _wandering(rng, rng.uniform(1000, 3000), h0=h0)
        h = math.atan2(*(app[-1] - app[-5])[::-1])
        gap = rng.uniform(15.0, 25.0)
        leg = rng.uniform(80.0, 200.0)
        side = 1.0 if rng.integers(2) else -1.0
        u = np.array([math.cos(h), math.sin(h)])
        v = side * np.array([-u[1], u[0]])
        pts = [app[-1]]
        cur = app[-1].copy()
        nlegs = int(rng.integers(6, 15))
        for k in range(nlegs):
            dirv = u if k % 2 == 0 else -u
            end = cur + dirv * leg
            pts.append(end)
            if k < nlegs - 1:
                centre = end + v * gap / 2
                a0 = math.atan2(*(-v)[::-1])
                turn = np.pi * (1 if (k % 2 == 0) == (side > 0) else -1)
                phi = a0 + np.linspace(0, turn, 12)[1:]
                pts.extend(centre + gap / 2 * np.column_stack([np.cos(phi), np.sin(phi)]))
                cur = centre + v * gap / 2
        zz = resample(np.array(pts), STEP)
        hz = math.atan2(*(zz[-1] - zz[-3])[::-1])
        cont = _wandering(rng, rng.uniform(1000, 3000), start=zz[-1], h0=hz)
        xy = _join(app, zz, cont)
        a = float(cumlen(app)[-1])
        feats["switchbacks_s"] = (a, a + float(cumlen(zz)[-1]))
        feats["gap_m"] = gap
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return Course(resample(xy, STEP) if shape != "laps" else xy, shape, feats), frame


# --------------------------------------------------------------------------- published route


@dataclass
class Published:
    """The organiser's drawing of the course: a subset of the trail's vertices, smoothly biased."""

    xy: FloatArray
    idx: np.ndarray
    course_s: FloatArray
    m: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self.m = cumlen(self.xy)

    @property
    def length(self) -> float:
        """Published route length in metres."""
        return float(self.m[-1])

    def route_m(self, s: float | FloatArray) -> Any:
        """Position along the published route of course position ``s``."""
        return np.interp(s, self.course_s[self.idx], self.m)

    def line(self, m0: float, m1: float) -> LineString:
        """The published route between two positions."""
        full = LineString(self.xy)
        g = ops.substring(full, max(0.0, m0), min(self.length, m1))
        return g if isinstance(g, LineString) and g.length > 0 else LineString([g.coords[0], g.coords[0]])


def publish(course: Course, rng: np.random.Generator | None, *, tol: float = 1.5, max_gap: float = 25.0) -> Published:
    """Simplify the trail (Douglas-Peucker, then at most ``max_gap`` m between vertices) and add a smooth bias.

    With ``rng=None`` no bias is added (exact drawing; used by the unit tests).
    """
    idx = dp_indices(course.xy, tol)
    extra: list[int] = []
    for a, b in itertools.pairwise(idx):
        gap = course.s[b] - course.s[a]
        if gap > max_gap:
            k = math.ceil(gap / max_gap)
            targets = course.s[a] + gap * np.arange(1, k) / k
            extra.extend(np.searchsorted(course.s, targets).tolist())
    idx = np.unique(np.concatenate([idx, np.array(extra, dtype=np.int64)]))
    xy = course.xy[idx].copy()
    if rng is not None:
        s = course.s[idx]
        amp = rng.uniform(1.0, 5.0)
        for dim in range(2):
            for _ in range(3):
                lam = rng.uniform(300.0, 3000.0)
                xy[:, dim] += amp / 2 * math.sqrt(2 / 3) * np.sin(2 * np.pi * s / lam + rng.uniform(0, 2 * np.pi))
    return Published(xy, idx, course.s)


# --------------------------------------------------------------------------- runner's plan


@dataclass
class Leg:
    """A piece of the runner's true path.

    ``kind`` is ``course`` (along the trail from ``s0`` to ``s1``, backwards for a wrong-way leg),
    ``detour`` (off the trail; ``tag`` holds ``pattern``, ``s_exit``, ``s_rejoin``) or ``walk``
    (before the start / after the finish; ``tag['reason']``).
    """

    kind: str
    xy: FloatArray
    s0: float = math.nan
    s1: float = math.nan
    tag: dict[str, Any] = field(default_factory=dict)
    i0: int = 0
    i1: int = 0


def course_leg(course: Course, s0: float, s1: float, **tag: Any) -> Leg:
    """A leg along the course from ``s0`` to ``s1``."""
    return Leg("course", course.section(s0, s1), s0, s1, dict(tag))


@dataclass
class Incident:
    """A planned wrong turn or course error: what replaces the course between ``s_enter`` and ``s_resume``."""

    pattern: str
    s_enter: float
    s_resume: float
    legs: list[Leg]
    span: tuple[float, float]
    terminal: bool = False
    resume_tag: dict[str, Any] = field(default_factory=dict)


def _clear_of_course(course: Course, xy: FloatArray, margin: float = 20.0, ends: float = 40.0) -> bool:
    s = cumlen(xy)
    mid = xy[(s > ends) & (s < s[-1] - ends)]
    if len(mid) == 0:
        return True
    d = shapely.distance(shapely.points(mid), LineString(course.xy))
    return bool(np.min(d) > margin)


def _bulge(rng: np.random.Generator, course: Course, a: FloatArray, b: FloatArray, s_lo: float, s_hi: float,
           height: float) -> FloatArray:
    """A smooth path from ``a`` to ``b`` bulging ``height`` m away from the course between ``s_lo`` and ``s_hi``."""
    c = b - a
    d = float(np.hypot(*c))
    if d < 1.0:
        c = np.array([math.cos(course.heading(s_lo)), math.sin(course.heading(s_lo))])
        d = 1.0
    nrm = np.array([-c[1], c[0]]) / d
    mid_trail = course.at(0.5 * (s_lo + s_hi))
    side = -1.0 if float((mid_trail - a) @ nrm) > 0 else 1.0
    u = np.linspace(0.0, 1.0, max(20, int((d + 2 * height) / 2)))
    wig = rng.uniform(0, 12) * np.sin(2 * np.pi * rng.integers(1, 4) * u) * np.sin(np.pi * u)
    h = height * np.sin(np.pi * u) ** 0.6 + wig
    pts = a + np.outer(u, c if d > 1.0 else c * 0) + np.outer(side * h, nrm)
    pts[-1] = b
    return resample(pts, STEP)


def _inc_out_back(rng: np.random.Generator, course: Course, s_a: float) -> Incident | None:
    for _ in range(8):
        dmax = math.exp(rng.uniform(math.log(60), math.log(800)))
        h = course.heading(s_a) + rng.choice([-1, 1]) * rng.uniform(math.radians(35), math.radians(80))
        out = smooth_curve(rng, dmax * rng.uniform(1.1, 1.4), course.at(s_a), h, curvature_sd=1 / 500, corr_m=200)
        if _clear_of_course(course, out):
            path = _join(out, out[::-1])
            leg = Leg("detour", path, tag={"pattern": "out_and_back", "s_exit": s_a, "s_rejoin": s_a,
                                            "pause_at": len(out) - 1, "pause_s": float(rng.uniform(5, 40))})
            return Incident("out_and_back", s_a, s_a, [leg], (s_a, s_a))
    return None


def _inc_bulge(rng: np.random.Generator, course: Course, s_a: float, behind: bool) -> Incident | None:
    for _ in range(8):
        ds = rng.uniform(150, 900)
        s_b = s_a - ds if behind else s_a + ds
        if not 0 < s_b < course.length:
            return None
        height = math.exp(rng.uniform(math.log(60), math.log(500)))
        lo, hi = min(s_a, s_b), max(s_a, s_b)
        path = _bulge(rng, course, course.at(s_a), course.at(s_b), lo, hi, height)
        if _clear_of_course(course, path):
            pattern = "rejoin_behind" if behind else "rejoin_ahead"
            leg = Leg("detour", path, tag={"pattern": pattern, "s_exit": s_a, "s_rejoin": s_b})
            return Incident(pattern, s_a, s_b, [leg], (lo, hi))
    return None


def _inc_shortcut(rng: np.random.Generator, course: Course, lo: float, hi: float) -> Incident | None:
    best: list[tuple[float, float]] = []
    for s_a in np.arange(lo, hi, 40.0):
        for arc in np.arange(250.0, 1500.0, 50.0):
            s_b = s_a + arc
            if s_b > min(hi + 1500, course.length - 50):
                break
            a, b = course.at(s_a), course.at(s_b)
            if float(np.hypot(*(b - a))) < 0.5 * arc:
                best.append((float(s_a), float(s_b)))
    rng.shuffle(best)
    for s_a, s_b in best[:30]:
        a, b = course.at(s_a), course.at(s_b)
        chord = resample(np.vstack([a, b]), STEP)
        wig = rng.uniform(0, 15) * np.sin(np.pi * np.linspace(0, 1, len(chord)))
        c = b - a
        nrm = np.array([-c[1], c[0]]) / max(1e-9, float(np.hypot(*c)))
        path = chord + np.outer(wig, nrm)
        arc_line = course.line(s_a, s_b)
        mid = path[len(path) // 4 : 3 * len(path) // 4]
        if len(mid) == 0:
            continue
        off = shapely.distance(shapely.points(mid), arc_line)
        # the shortcut must leave the trail clearly and not run over another part of the course
        if np.max(off) >= 60 and _clear_of_course(course, path, margin=15.0):
            leg = Leg("detour", path, tag={"pattern": "shortcut", "s_exit": s_a, "s_rejoin": s_b})
            return Incident("shortcut", s_a, s_b, [leg], (s_a, s_b))
    return None


def _inc_never_back(rng: np.random.Generator, course: Course, s_a: float) -> Incident | None:
    for _ in range(8):
        h = course.heading(s_a) + rng.choice([-1, 1]) * rng.uniform(math.radians(35), math.radians(80))
        out = smooth_curve(rng, rng.uniform(300, 2000), course.at(s_a), h, curvature_sd=1 / 600, corr_m=200)
        if _clear_of_course(course, out):
            leg = Leg("detour", out, tag={"pattern": "never_back", "s_exit": s_a, "s_rejoin": None})
            return Incident("never_back", s_a, course.length, [leg], (s_a, course.length), terminal=True)
    return None


def _inc_cross_legs(rng: np.random.Generator, course: Course) -> Incident | None:
    la, lb = course.features["leg_a_s"], course.features["leg_b_s"]
    run = rng.uniform(300, 800)
    s_a = rng.uniform(0.15 * la, 0.8 * la - run)
    if s_a < 200:
        return None
    leg_b = course.line(lb, course.length)
    leg_a = course.line(0, la)
    a1 = course.at(s_a)
    sb1 = lb + leg_b.project(Point(a1)) + 30.0
    sb2 = sb1 - run
    b1, b2 = course.at(sb1), course.at(sb2)
    s_a2 = float(leg_a.project(Point(b2))) + 30.0
    a2 = course.at(s_a2)
    path = _join(resample(np.vstack([a1, b1]), STEP), course.section(sb1, sb2), resample(np.vstack([b2, a2]), STEP))
    leg = Leg("detour", path, tag={"pattern": "beside_other_leg", "s_exit": s_a, "s_rejoin": s_a2})
    return Incident("beside_other_leg", s_a, s_a2, [leg], (s_a, s_a2))


def _inc_skip(rng: np.random.Generator, course: Course) -> Incident | None:
    f = course.features
    if "turnaround_s" in f:
        t = f["turnaround_s"]
        s_a = rng.uniform(max(300.0, 0.3 * t), 0.85 * t)
        s_b = 2 * t - s_a
        pattern = "turned_early"
    elif course.shape == "laps" and len(f["loops"]) >= 2:
        # the runner stops one lap short: which lap was "missed" is only defined as the last one
        s_a, s_b = f["loops"][-1]
        pattern = "missed_lap"
    elif "loops" in f:
        s_a, s_b = f["loops"][-1]
        pattern = "cut_loop"
    else:
        return None
    tag = {"skip_from": s_a, "skip_to": s_b, "pattern": pattern}
    return Incident(pattern, s_a, s_b, [], (s_a, s_b), resume_tag=tag)


def _inc_wrong_way(rng: np.random.Generator, course: Course) -> Incident | None:
    loops = course.features.get("loops")
    if not loops:
        return None
    s_a, s_b = loops[int(rng.integers(len(loops)))] if course.shape == "laps" else loops[-1]
    leg = course_leg(course, s_b, s_a, wrong_way=True, pattern="loop_reversed")
    return Incident("loop_reversed", s_a, s_b, [leg], (s_a, s_b))


def plan_incidents(rng: np.random.Generator, course: Course) -> list[Incident]:
    """Choose 0-3 non-overlapping incidents suited to the course's shape (about one course in five is clean)."""
    if rng.random() < 0.2:
        return []
    length = course.length
    choices: list[str] = ["out_and_back", "rejoin_ahead", "rejoin_behind", "shortcut"]
    special: list[str] = []
    if course.shape == "parallel_out_and_back":
        special.append("beside_other_leg")
    if "turnaround_s" in course.features or "loops" in course.features:
        special.append("skip")
    if "loops" in course.features:
        special.append("wrong_way")
    n = int(rng.integers(1, 4))
    picks: list[str] = []
    if special and rng.random() < 0.75:
        picks.append(str(rng.choice(special)))
    while len(picks) < n:
        picks.append(str(rng.choice(choices)))
    if rng.random() < 0.2:
        picks.append("never_back")
    chosen: list[Incident] = []

    def free(span: tuple[float, float]) -> bool:
        lo, hi = span
        return all(hi + 300 < c.span[0] or lo > c.span[1] + 300 for c in chosen)

    for pick in picks:
        for _ in range(6):
            s_a = rng.uniform(300, max(301.0, length - 400))
            inc: Incident | None
            if pick == "out_and_back":
                inc = _inc_out_back(rng, course, s_a)
            elif pick in ("rejoin_ahead", "rejoin_behind"):
                inc = _inc_bulge(rng, course, s_a, pick == "rejoin_behind")
            elif pick == "shortcut":
                inc = _inc_shortcut(rng, course, s_a, min(length - 300, s_a + 1500))
            elif pick == "never_back":
                inc = _inc_never_back(rng, course, rng.uniform(0.3, 0.95) * length)
            elif pick == "beside_other_leg":
                inc = _inc_cross_legs(rng, course)
            elif pick == "skip":
                inc = _inc_skip(rng, course)
            else:
                inc = _inc_wrong_way(rng, course)
            if inc is None:
                continue
            ok = free(inc.span) and (inc.span[0] >= 250 or pick in ("skip", "wrong_way"))
            if inc.terminal:
                ok = ok and all(c.span[1] + 300 < inc.s_enter for c in chosen)
            if ok:
                chosen.append(inc)
                break
    chosen.sort(key=lambda c: c.s_enter)
    if any(c.terminal for c in chosen):
        k = next(i for i, c in enumerate(chosen) if c.terminal)
        chosen = chosen[: k + 1]
    return chosen


def plan_legs(rng: np.random.Generator | None, course: Course, incidents: Sequence[Incident],
              walk_before: float = 0.0, walk_after: float = 0.0) -> list[Leg]:
    """Turn incidents into the runner's legs, with optional walks before the start and after the finish."""
    legs: list[Leg] = []
    if walk_before > 0 and rng is not None:
        h = course.heading(0.0) + np.pi + rng.uniform(-2.0, 2.0)
        w = smooth_curve(rng, walk_before, course.at(0.0), h, curvature_sd=1 / 100, min_radius=15)
        tag = {"reason": "before_start", "stop_end_s": float(rng.uniform(0, 120))}
        legs.append(Leg("walk", w[::-1].copy(), tag=tag))
    s_cur = 0.0
    pending: dict[str, Any] = {}
    terminal = False
    for inc in incidents:
        legs.append(course_leg(course, s_cur, inc.s_enter, **pending))
        legs.extend(inc.legs)
        s_cur = inc.s_resume
        pending = dict(inc.resume_tag)
        if inc.terminal:
            terminal = True
            break
    if not terminal:
        legs.append(course_leg(course, s_cur, course.length, **pending))
        if walk_after > 0 and rng is not None:
            h = course.heading(course.length) + rng.uniform(-2.0, 2.0)
            w = smooth_curve(rng, walk_after, course.at(course.length), h, curvature_sd=1 / 100, min_radius=15)
            legs.append(Leg("walk", w, tag={"reason": "after_finish"}))
    return [leg for leg in legs if len(leg.xy) >= 1]


# --------------------------------------------------------------------------- timeline


@dataclass
class Pace:
    """How the runner moves: flat speed, uphill slowdown, speed noise, aid-station stops."""

    v_flat: float = 3.0
    uphill_k: float = 7.0
    noise_sd: float = 0.0
    walk_v: float = 1.3
    aid_s: tuple[float, ...] = ()
    aid_stop_s: tuple[float, ...] = ()


@dataclass
class Run:
    """The runner's true path: dense points with the time each is reached (seconds from the start)."""

    xy: FloatArray
    t: FloatArray
    legs: list[Leg]
    stops: list[tuple[float, float]]
    z: FloatArray


def elevation_field(rng: np.random.Generator) -> Any:
    """A smooth random terrain ``z(x, y)`` in metres."""
    waves = []
    for _ in range(4):
        lam = rng.uniform(1000, 6000)
        # keep each wave's steepest grade between 2 % and 8 %
        amp = rng.uniform(0.02, 0.08) * lam / (2 * np.pi)
        waves.append((amp, lam, rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi)))
    z0 = rng.uniform(200, 2000)

    def z(xy: FloatArray) -> FloatArray:
        out = np.full(len(xy), z0)
        for amp, lam, th, ph in waves:
            out += amp * np.sin(2 * np.pi * (xy[:, 0] * math.cos(th) + xy[:, 1] * math.sin(th)) / lam + ph)
        return out

    return z


def assemble(legs: list[Leg], pace: Pace, rng: np.random.Generator | None = None, zfun: Any = None) -> Run:
    """Concatenate legs into one path and give each point a time."""
    parts: list[FloatArray] = []
    n = 0
    for leg in legs:
        xy = leg.xy
        if parts and len(xy) and np.allclose(xy[0], parts[-1][-1]):
            xy = xy[1:]
            leg.i0 = n - 1
        else:
            leg.i0 = n
        parts.append(xy)
        n += len(xy)
        leg.i1 = n - 1
    path = np.vstack(parts)
    ds = np.concatenate([[0.0], np.hypot(*np.diff(path, axis=0).T)])
    z = zfun(path) if zfun is not None else np.zeros(len(path))
    grade = np.concatenate([[0.0], np.diff(z)]) / np.maximum(ds, 1e-6)
    grade = np.convolve(np.where(ds > 1e-6, grade, 0.0), np.ones(10) / 10, mode="same")
    v = np.where(grade > 0, pace.v_flat / (1 + pace.uphill_k * grade), pace.v_flat * (1 + np.minimum(-grade, 0.15)))
    if pace.noise_sd > 0 and rng is not None:
        a = math.exp(-STEP / 300.0)
        w = rng.normal(0, pace.noise_sd * math.sqrt(1 - a * a), len(path))
        e = np.empty(len(path))
        e[0] = 0.0
        for i in range(1, len(path)):
            e[i] = a * e[i - 1] + w[i]
        v = v * np.clip(1 + e, 0.5, 1.5)
    stop_after = np.zeros(len(path))
    for leg in legs:
        if leg.kind == "walk":
            v[leg.i0 + 1 : leg.i1 + 1] = pace.walk_v
            if "stop_end_s" in leg.tag:
                stop_after[leg.i1] += leg.tag["stop_end_s"]
        if "pause_at" in leg.tag:
            stop_after[leg.i0 + leg.tag["pause_at"]] += leg.tag["pause_s"]
        if leg.kind == "course" and leg.s1 > leg.s0:
            for s_aid, dur in zip(pace.aid_s, pace.aid_stop_s, strict=True):
                if leg.s0 < s_aid <= leg.s1:
                    k = leg.i0 + int(np.searchsorted(cumlen(leg.xy), s_aid - leg.s0))
                    stop_after[min(k, leg.i1)] += dur
    dt = ds / np.maximum(v, 0.3)
    t = np.cumsum(dt + np.concatenate([[0.0], stop_after[:-1]]))
    stops = [(float(t[i]), float(t[i] + stop_after[i])) for i in np.flatnonzero(stop_after > 0)]
    return Run(path, t, legs, stops, z)


# --------------------------------------------------------------------------- truth


def _iso(t0: float, t: float | None) -> str | None:
    return None if t is None else iso_utc(t0 + t)


def compute_truth(course: Course, pub: Published, run: Run, t0: float, frame: Frame | None = None) -> dict[str, Any]:
    """Ground truth of a run (times as ISO strings and as epoch seconds; see the module docstring)."""

    def lonlat(p: FloatArray) -> list[float] | None:
        if frame is None:
            return [round(float(p[0]), 3), round(float(p[1]), 3)]
        lo, la = frame.to_lonlat(np.array([p[0]]), np.array([p[1]]))
        return [round(float(lo[0]), 7), round(float(la[0]), 7)]

    def pub_point(m: float) -> FloatArray:
        return np.array([np.interp(m, pub.m, pub.xy[:, 0]), np.interp(m, pub.m, pub.xy[:, 1])])

    excursions: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    wrong_way: list[dict[str, Any]] = []
    ambiguous: list[dict[str, Any]] = []
    for leg in run.legs:
        if leg.kind == "detour":
            tg = leg.tag
            s_exit, s_rejoin = tg["s_exit"], tg["s_rejoin"]
            ends = [s_exit] + ([s_rejoin] if s_rejoin is not None else [])
            lo, hi = min(ends) - WINDOW_M, max(ends) + WINDOW_M
            pts = shapely.points(run.xy[leg.i0 : leg.i1 + 1])
            off_trail = shapely.distance(pts, course.line(lo, hi))
            m_lo, m_hi = float(pub.route_m(max(lo, 0.0))), float(pub.route_m(min(hi, course.length)))
            off_pub = shapely.distance(pts, pub.line(m_lo, m_hi))
            tt = run.t[leg.i0 : leg.i1 + 1]
            away = np.flatnonzero(off_trail > DEPART_M)
            max_off = float(np.max(off_pub))
            cls = "required" if max_off >= REQUIRED_M else "ambiguous" if max_off >= AMBIGUOUS_M else "negligible"
            if len(away) == 0:
                continue
            t_dep = float(tt[away[0]])
            back = s_rejoin is not None
            t_rej = float(tt[min(away[-1] + 1, len(tt) - 1)]) if back else None
            over = np.flatnonzero(off_pub > ALERT_M)
            t50 = float(tt[over[0]]) if len(over) else None
            dist = float(cumlen(run.xy[leg.i0 : leg.i1 + 1])[-1])
            m_exit = float(pub.route_m(s_exit))
            m_rej = float(pub.route_m(s_rejoin)) if back else None
            excursions.append(
                {
                    "id": len(excursions),
                    "kind": "off_course",
                    "pattern": tg["pattern"],
                    "class": cls,
                    "start_time": _iso(t0, t_dep),
                    "end_time": _iso(t0, t_rej),
                    "t50_time": _iso(t0, t50),
                    "start_epoch": t0 + t_dep,
                    "end_epoch": None if t_rej is None else t0 + t_rej,
                    "t50_epoch": None if t50 is None else t0 + t50,
                    "exit_route_m": round(m_exit, 1),
                    "rejoin_route_m": None if m_rej is None else round(m_rej, 1),
                    "max_offset_m": round(max_off, 1),
                    "distance_m": round(dist, 1),
                    "extra_distance_m": None if m_rej is None else round(dist - (m_rej - m_exit), 1),
                    "exit": lonlat(pub_point(m_exit)),
                    "rejoin": None if m_rej is None else lonlat(pub_point(m_rej)),
                }
            )
            if cls == "ambiguous":
                end = t_rej if t_rej is not None else float(run.t[-1])
                ambiguous.append({"reason": f"excursion {len(excursions) - 1} ({max_off:.0f} m)",
                                  "start_epoch": t0 + t_dep, "end_epoch": t0 + end})
        elif leg.kind == "course" and "skip_from" in leg.tag:
            m0, m1 = float(pub.route_m(leg.tag["skip_from"])), float(pub.route_m(leg.tag["skip_to"]))
            t_skip = float(run.t[leg.i0])
            skipped.append({"id": len(skipped), "kind": "skipped_section", "pattern": leg.tag["pattern"],
                            "time": _iso(t0, t_skip), "epoch": t0 + t_skip, "exit_route_m": round(m0, 1),
                            "rejoin_route_m": round(m1, 1), "length_m": round(m1 - m0, 1)})
        elif leg.kind == "course" and leg.tag.get("wrong_way"):
            m0, m1 = float(pub.route_m(leg.s1)), float(pub.route_m(leg.s0))
            ta, tb = float(run.t[leg.i0]), float(run.t[leg.i1])
            wrong_way.append({"id": len(wrong_way), "kind": "wrong_direction", "pattern": leg.tag["pattern"],
                              "start_time": _iso(t0, ta), "end_time": _iso(t0, tb), "start_epoch": t0 + ta,
                              "end_epoch": t0 + tb, "from_route_m": round(m0, 1), "to_route_m": round(m1, 1)})
        elif leg.kind == "walk":
            ta, tb = float(run.t[leg.i0]), float(run.t[leg.i1])
            if leg.tag["reason"] == "before_start":
                tb += leg.tag.get("stop_end_s", 0.0) + 30.0
                ta = -1e6  # from whenever the watch was started
            else:
                ta -= 30.0
                tb += 1e6
            ambiguous.append({"reason": leg.tag["reason"], "start_epoch": t0 + ta, "end_epoch": t0 + tb})
    for a in ambiguous:
        a["start_time"] = iso_utc(a["start_epoch"]) if abs(a["start_epoch"] - t0) < 9e5 else None
        a["end_time"] = iso_utc(a["end_epoch"]) if abs(a["end_epoch"] - t0) < 9e5 else None
    completed = not any(e["end_epoch"] is None for e in excursions) and not skipped
    return {
        "rules": {"depart_m": DEPART_M, "alert_m": ALERT_M, "required_offset_m": REQUIRED_M,
                  "ambiguous_offset_m": AMBIGUOUS_M, "window_m": WINDOW_M},
        "route_length_m": round(pub.length, 1),
        "excursions": excursions,
        "skipped": skipped,
        "wrong_way": wrong_way,
        "ambiguous": ambiguous,
        "completed": completed,
    }


# --------------------------------------------------------------------------- recording


@dataclass
class Recording:
    """What the watch wrote: integer epoch seconds, metres in the local frame (NaN = no position), elevation."""

    epoch_s: FloatArray
    x: FloatArray
    y: FloatArray
    ele_m: FloatArray
    params: dict[str, Any]
    ambiguous: list[dict[str, Any]]


def _gauss_markov(rng: np.random.Generator, n: int, sigma: float, tau: float) -> FloatArray:
    a = math.exp(-1.0 / tau)
    w = rng.normal(0.0, sigma * math.sqrt(1 - a * a), (n, 2))
    e = np.empty((n, 2))
    e[0] = rng.normal(0.0, sigma, 2)
    for i in range(1, n):
        e[i] = a * e[i - 1] + w[i]
    return e


def record(rng: np.random.Generator, run: Run, t0: float, protect: Sequence[tuple[float, float]]) -> Recording:
    """Sample the true path like a watch, with realistic GPS error. ``protect``: times kept free of dropouts."""
    t_end = float(run.t[-1]) + float(rng.uniform(0, 20))
    n_sec = math.ceil(t_end) + 1
    smart = bool(rng.random() < 0.5)
    sigma = float(math.exp(rng.uniform(math.log(2.0), math.log(15.0))))
    tau = float(rng.uniform(20.0, 90.0))
    params: dict[str, Any] = {
        "recording": "smart" if smart else "1s", "sigma_m": round(sigma, 2), "tau_s": round(tau, 1),
    }
    # true position on a 1 s grid
    grid = np.arange(n_sec, dtype=float)
    tx = np.interp(grid, run.t, run.xy[:, 0])
    ty = np.interp(grid, run.t, run.xy[:, 1])
    err = _gauss_markov(rng, n_sec, sigma, tau)
    # canopy: error grows under trees
    mult = np.ones(n_sec)
    canopy = []
    for _ in range(int(rng.integers(0, 4))):
        a = rng.uniform(0, n_sec)
        d = rng.uniform(300, 1200)
        f = rng.uniform(1.5, 2.5)
        ramp = np.clip(np.minimum(grid - a, a + d - grid) / 30.0, 0, 1)
        mult = np.maximum(mult, 1 + (f - 1) * ramp)
        canopy.append([round(a), round(d), round(f, 2)])
    err *= mult[:, None]
    params["canopy"] = canopy
    # multipath bursts
    bursts = []
    for _ in range(int(rng.integers(0, 5))):
        a = rng.uniform(0, n_sec)
        d = rng.uniform(5, 30)
        mag = rng.uniform(15, 40)
        ang = rng.uniform(0, 2 * np.pi)
        w = np.clip(np.sin(np.pi * np.clip((grid - a) / d, 0, 1)) * 1.5, 0, 1)
        err += np.outer(w * mag, [math.cos(ang), math.sin(ang)])
        bursts.append([round(a), round(d, 1), round(mag, 1)])
    params["multipath"] = bursts
    ambiguous: list[dict[str, Any]] = []
    # cold start: stale position converging
    cold = 0.0
    if rng.random() < 0.3:
        cold = float(rng.uniform(5, 40))
        d0 = rng.uniform(100, 1500)
        ang = rng.uniform(0, 2 * np.pi)
        decay = np.exp(-grid / (cold / 4)) * (grid < cold)
        err += np.outer(decay * d0, [math.cos(ang), math.sin(ang)])
        ambiguous.append({"reason": "cold_start", "start_epoch": t0 - 1e6, "end_epoch": t0 + cold + 10})
    params["cold_start_s"] = round(cold, 1)
    # sample times
    if smart:
        heading = np.unwrap(np.arctan2(np.gradient(ty), np.gradient(tx)))
        rate = np.abs(np.gradient(heading))
        times = []
        k = 0
        while k < n_sec:
            times.append(k)
            step = 1 if rate[k] > math.radians(8) else int(rng.choice(np.arange(1, 11), p=_SMART_P))
            k += step
        ts = np.array(times, dtype=float)
    else:
        ts = grid.copy()
    keep = np.ones(len(ts), dtype=bool)
    autopause = bool(rng.random() < 0.5)
    params["auto_pause"] = autopause
    if autopause:
        for a, b in run.stops:
            keep &= ~((ts > a + 3) & (ts < b))
    drops = []
    for _ in range(int(rng.integers(0, 3))):
        d = rng.uniform(30, 300)
        a = rng.uniform(60, max(61.0, t_end - d - 60))
        if any(a < q + 60 and a + d > p - 60 for p, q in protect):
            continue
        keep &= ~((ts >= a) & (ts < a + d))
        drops.append([round(a), round(d)])
    params["dropouts"] = drops
    ts = ts[keep]
    idx = ts.astype(int)
    x = tx[idx] + err[idx, 0]
    y = ty[idx] + err[idx, 1]
    spikes = []
    for _ in range(int(rng.integers(0, 4))):
        j = int(rng.integers(len(ts)))
        mag = rng.uniform(60, 300)
        ang = rng.uniform(0, 2 * np.pi)
        x[j] += mag * math.cos(ang)
        y[j] += mag * math.sin(ang)
        spikes.append([int(ts[j]), round(mag)])
    params["spikes"] = spikes
    nofix = int(rng.integers(2, 10)) if rng.random() < 0.25 else 0
    x[:nofix] = np.nan
    y[:nofix] = np.nan
    params["no_position_fixes"] = nofix
    ele = np.interp(ts, run.t, run.z) + _gauss_markov(rng, len(ts), 3.0, 120.0)[:, 0]
    return Recording(t0 + ts, x, y, ele, params, ambiguous)


_SMART_P = np.array([0.04, 0.06, 0.1, 0.14, 0.16, 0.15, 0.13, 0.1, 0.07, 0.05])
_SMART_P = _SMART_P / _SMART_P.sum()


# --------------------------------------------------------------------------- writing


def _write_route(path_stem: Path, fmt: str, lon: FloatArray, lat: FloatArray, ele: FloatArray, name: str,
                 cps: Sequence[CoursePoint]) -> Path:
    if fmt == "gpx_track":
        p = path_stem.with_suffix(".gpx")
        write_gpx_track(p, lon, lat, ele, name, waypoints=cps)
    elif fmt == "gpx_route":
        p = path_stem.with_name(path_stem.name + "_rte.gpx")
        write_gpx_route(p, lon, lat, ele, name, waypoints=cps)
    elif fmt == "fit_course":
        p = path_stem.with_suffix(".fit")
        write_fit_course(p, lon, lat, ele, name, cps)
    else:
        p = path_stem.with_suffix(".geojson")
        write_geojson_route(p, lon, lat, ele, name, waypoints=cps)
    return p


def _write_track(path_stem: Path, fmt: str, rec: Recording, lon: FloatArray, lat: FloatArray, name: str) -> Path:
    if fmt == "fit":
        p = path_stem.with_suffix(".fit")
        write_fit_activity(p, rec.epoch_s, lon, lat, rec.ele_m)
    elif fmt == "gpx":
        p = path_stem.with_suffix(".gpx")
        write_gpx_track(p, lon, lat, rec.ele_m, name, epoch_s=rec.epoch_s)
    else:
        p = path_stem.with_suffix(".geojson")
        write_geojson_track(p, rec.epoch_s, lon, lat, rec.ele_m, name)
    return p


def generate(seed: int, out_dir: Path, *, all_formats: bool = False, shape: str | None = None) -> dict[str, Any]:
    """Write one scenario folder ``out_dir/s{seed}-{shape}`` and return its truth."""
    rng = np.random.default_rng(seed)
    if shape is None:
        shape = SHAPES[seed % len(SHAPES)]
    course, frame = make_course(rng, shape)
    pub = publish(course, rng, tol=float(rng.uniform(0.5, 3.0)), max_gap=float(rng.uniform(10.0, 40.0)))
    incidents = plan_incidents(rng, course)
    walk_before = float(rng.uniform(150, 600)) if rng.random() < 0.6 else 0.0
    walk_after = float(rng.uniform(100, 800)) if rng.random() < 0.6 else 0.0
    legs = plan_legs(rng, course, incidents, walk_before, walk_after)
    n_aid = int(course.length // 5000) + int(rng.integers(0, 2))
    aid_s = tuple(sorted(float(v) for v in rng.uniform(0.15, 0.9, n_aid) * course.length))
    pace = Pace(v_flat=float(rng.uniform(2.2, 3.6)), uphill_k=float(rng.uniform(5, 9)), noise_sd=0.1,
                aid_s=aid_s, aid_stop_s=tuple(float(v) for v in rng.uniform(30, 300, n_aid)))
    zfun = elevation_field(rng)
    run = assemble(legs, pace, rng, zfun)
    t0 = float(int(rng.uniform(1.672e9, 1.767e9)))
    truth = compute_truth(course, pub, run, t0, frame)
    protect = [(e["start_epoch"] - t0, (e["end_epoch"] or t0 + run.t[-1]) - t0) for e in truth["excursions"]]
    rec = record(rng, run, t0, protect)
    for a in rec.ambiguous:
        a["start_time"], a["end_time"] = None, iso_utc(a["end_epoch"])
    truth["ambiguous"].extend(rec.ambiguous)
    sid = f"s{seed:05d}-{course.shape}"
    folder = out_dir / sid
    folder.mkdir(parents=True, exist_ok=True)
    rlon, rlat = frame.to_lonlat(pub.xy[:, 0], pub.xy[:, 1])
    rele = zfun(pub.xy)
    cps = []
    for k, s_aid in enumerate(aid_s):
        m = float(pub.route_m(s_aid))
        p = np.array([np.interp(m, pub.m, pub.xy[:, 0]), np.interp(m, pub.m, pub.xy[:, 1])])
        lo, la = frame.to_lonlat(p[:1], p[1:])
        cps.append(CoursePoint(float(lo[0]), float(la[0]), f"Aid {k + 1}", m))
    tlon, tlat = frame.to_lonlat(rec.x, rec.y)
    rfmt = ROUTE_FORMATS[seed % len(ROUTE_FORMATS)]
    tfmt = TRACK_FORMATS[(seed // len(ROUTE_FORMATS)) % len(TRACK_FORMATS)]
    route_file = _write_route(folder / "route", rfmt, rlon, rlat, rele, sid, cps)
    track_file = _write_track(folder / "track", tfmt, rec, tlon, tlat, sid)
    if all_formats:
        for f in ROUTE_FORMATS:
            _write_route(folder / "route", f, rlon, rlat, rele, sid, cps)
        for f in TRACK_FORMATS:
            _write_track(folder / "track", f, rec, tlon, tlat, sid)
    ok = np.isfinite(rec.x)
    truth = {
        "version": 1,
        "id": sid,
        "seed": seed,
        "shape": course.shape,
        "source": course.source,
        "route_file": route_file.name,
        "track_file": track_file.name,
        "route_format": rfmt,
        "track_format": tfmt,
        "fixes": int(ok.sum()),
        "records": len(rec.epoch_s),
        "start_time": iso_utc(rec.epoch_s[0]),
        "end_time": iso_utc(rec.epoch_s[-1]),
        "duration_s": float(rec.epoch_s[-1] - rec.epoch_s[0]),
        "incidents": [i.pattern for i in incidents],
        "recording": rec.params,
        "pace": {"v_flat": round(pace.v_flat, 2), "aid_stations": len(aid_s)},
        **truth,
    }
    (folder / "truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    return truth


def parse_seeds(text: str) -> list[int]:
    """Parse ``"1-40,100,200-202"`` into a list of seeds.

    Examples
    --------
    >>> parse_seeds("1-3,10")
    [1, 2, 3, 10]
    """
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write scenario folders for a range of seeds."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--seeds", default="1001-1040", help="seeds, e.g. 1-40 or 1001-1040,2000")
    ap.add_argument("--out", type=Path, default=Path("bench/scenarios/report"))
    ap.add_argument("--all-formats", action="store_true", help="also write the route and track in every format")
    ap.add_argument("--shape", choices=SHAPES, default=None)
    args = ap.parse_args(argv)
    for seed in parse_seeds(args.seeds):
        t = generate(seed, args.out, all_formats=args.all_formats, shape=args.shape)
        req = sum(e["class"] == "required" for e in t["excursions"])
        print(f"{t['id']}: {t['route_length_m'] / 1000:.1f} km, {t['fixes']} fixes, {t['route_format']}/"
              f"{t['track_format']}, {len(t['excursions'])} excursions ({req} required), "
              f"{len(t['skipped'])} skipped, {len(t['wrong_way'])} wrong-way")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

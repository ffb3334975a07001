"""Family B's trails and the runner's path over them (see :mod:`family_b`).

Trail shapes: switchbacks (legs of 100-220 m joined by hairpins), out-and-back (the way back 4 m
beside the way out), lollipop, laps of one loop, two loops from one junction. Detours are planned so
that, away from their ends, they stay at least 40 m from the whole route and reach 90 m or more.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString

sys.path.insert(0, str(Path(__file__).resolve().parent))

from geometry import FloatArray, cumlen
from noise_b import gauss_markov

__all__ = ["SHAPES", "STEP", "Leg", "Trail", "closed_loop", "course", "make_trail", "plan_run", "wander"]

STEP = 3.0
SHAPES = ("switchbacks", "out_and_back", "lollipop", "laps", "junctions")


# --------------------------------------------------------------------------- trails


@dataclass
class Trail:
    """The true trail, every ~3 m, with its along-trail position ``s`` and named positions ``marks``."""

    xy: FloatArray
    shape: str
    marks: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.s = cumlen(self.xy)

    @property
    def length(self) -> float:
        """Trail length in metres."""
        return float(self.s[-1])

    def at(self, s: float) -> FloatArray:
        """The point at trail position ``s``."""
        return np.array([np.interp(s, self.s, self.xy[:, 0]), np.interp(s, self.s, self.xy[:, 1])])

    def heading(self, s: float) -> float:
        """Direction of travel at ``s`` (radians from east)."""
        a, b = self.at(max(0.0, s - 8)), self.at(min(self.length, s + 8))
        return math.atan2(b[1] - a[1], b[0] - a[0])

    def section(self, s0: float, s1: float) -> FloatArray:
        """Points from ``s0`` to ``s1`` (backwards when ``s1 < s0``)."""
        lo, hi = sorted((s0, s1))
        ss = np.concatenate([[lo], self.s[(self.s > lo) & (self.s < hi)], [hi]])
        pts = np.column_stack([np.interp(ss, self.s, self.xy[:, 0]), np.interp(ss, self.s, self.xy[:, 1])])
        return pts[::-1] if s1 < s0 else pts


def wander(rng: np.random.Generator, start: FloatArray, h0: float, length: float, bend: float = 1.0) -> FloatArray:
    """A path whose curvature is an Ornstein-Uhlenbeck process (radius ~150-600 m, sharper with ``bend``)."""
    n = max(2, int(length / STEP))
    k = gauss_markov(rng, n, bend * float(rng.uniform(1 / 600, 1 / 150)), float(rng.uniform(20, 80)))
    h = h0 + np.cumsum(k * STEP)
    steps = STEP * np.column_stack([np.cos(h), np.sin(h)])
    return np.vstack([start, start + np.cumsum(steps, axis=0)])


def closed_loop(rng: np.random.Generator, length: float, start: FloatArray, h0: float) -> FloatArray:
    """A smooth closed loop through ``start`` leaving it at heading ``h0`` (counter-clockwise)."""
    th = np.linspace(0, 2 * math.pi, 721)
    r = np.ones_like(th)
    for k in (2, 3, 4):
        r += rng.uniform(0, 0.12) * np.cos(k * th + rng.uniform(0, 2 * math.pi))
    pts = np.column_stack([r * np.cos(th), r * np.sin(th)])
    pts *= length / cumlen(pts)[-1]
    pts -= pts[0]
    d = pts[1] - pts[0]
    rot = h0 - math.atan2(d[1], d[0])
    c, s = math.cos(rot), math.sin(rot)
    return start + pts @ np.array([[c, s], [-s, c]])


def _offset(xy: FloatArray, by: float) -> FloatArray:
    d = np.gradient(xy, axis=0)
    n = np.column_stack([-d[:, 1], d[:, 0]]) / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
    return xy + by * n


def _resample(xy: FloatArray) -> FloatArray:
    s = cumlen(xy)
    keep = np.concatenate([[True], np.diff(s) > 1e-6])
    xy, s = xy[keep], s[keep]
    u = np.linspace(0, s[-1], max(2, int(s[-1] / STEP) + 1))
    return np.column_stack([np.interp(u, s, xy[:, 0]), np.interp(u, s, xy[:, 1])])


def switchbacks(rng: np.random.Generator, start: FloatArray, h0: float) -> tuple[FloatArray, float, float]:
    """Legs of 100-220 m joined by hairpins of radius 15-30 m; returns points and the block's extent."""
    leg, rad, n = float(rng.uniform(100, 220)), float(rng.uniform(15, 30)), int(rng.integers(6, 15))
    u = np.array([math.cos(h0), math.sin(h0)])
    v = np.array([-u[1], u[0]])
    pts = [start]
    p = start.copy()
    for i in range(n):
        d = u if i % 2 == 0 else -u
        q = p + leg * d
        pts.extend(p + np.outer(np.linspace(0, 1, 8)[1:], q - p))
        c = q + rad * v
        a0 = math.atan2(-v[1], -v[0])
        sign = 1 if i % 2 == 0 else -1
        arc = [c + rad * np.array([math.cos(a0 + sign * a), math.sin(a0 + sign * a)])
               for a in np.linspace(0, math.pi, 10)[1:]]
        pts.extend(arc)
        p = arc[-1]
    out = np.array(pts)
    return out, 0.0, float(cumlen(out)[-1])


def make_trail(rng: np.random.Generator, shape: str, scale: float = 1.0) -> Trail:
    """A trail of one of :data:`SHAPES`, 4-16 km, starting at the origin."""
    o = np.zeros(2)
    h0 = float(rng.uniform(0, 2 * math.pi))
    if shape == "switchbacks":
        a = wander(rng, o, h0, scale * rng.uniform(1500, 4000))
        z, _, zl = switchbacks(rng, a[-1], h0 + float(rng.uniform(-1, 1)))
        b = wander(rng, z[-1], float(rng.uniform(0, 2 * math.pi)), scale * rng.uniform(1500, 4000))
        s0 = float(cumlen(a)[-1])
        return Trail(_resample(np.vstack([a, z[1:], b[1:]])), shape, {"zig_from": s0, "zig_to": s0 + zl})
    if shape == "out_and_back":
        out = wander(rng, o, h0, scale * rng.uniform(2500, 7000))
        back = _offset(out, -4.0)[::-1]
        return Trail(_resample(np.vstack([out, back])), shape, {"turn": float(cumlen(out)[-1])})
    if shape == "lollipop":
        stem = wander(rng, o, h0, scale * rng.uniform(1000, 3000))
        d = stem[-1] - stem[-2]
        loop = closed_loop(rng, scale * rng.uniform(2500, 6000), stem[-1], math.atan2(d[1], d[0]))
        back = _offset(stem, -4.0)[::-1]
        ls, ll = float(cumlen(stem)[-1]), float(cumlen(loop)[-1])
        return Trail(_resample(np.vstack([stem, loop[1:], back[1:]])), shape, {"loop_from": ls, "loop_to": ls + ll})
    if shape == "laps":
        laps = int(rng.integers(2, 4))
        loop = _resample(closed_loop(rng, scale * rng.uniform(2000, 4500), o, h0))
        lap = float(cumlen(loop)[-1])
        return Trail(np.vstack([loop] + [loop[1:]] * (laps - 1)), shape, {"lap": lap, "laps": laps})
    stem = wander(rng, o, h0, scale * rng.uniform(500, 1500))
    hub = stem[-1]
    d = stem[-1] - stem[-2]
    hh = math.atan2(d[1], d[0])
    a = _resample(closed_loop(rng, scale * rng.uniform(2000, 4500), hub, hh + float(rng.uniform(-0.4, 0.4))))
    b = _resample(closed_loop(rng, scale * rng.uniform(2000, 4500), hub, hh + math.pi / 2 + float(rng.uniform(0, 1))))
    ls, la = float(cumlen(stem)[-1]), float(cumlen(a)[-1])
    return Trail(np.vstack([_resample(stem), a[1:], b[1:]]), "junctions", {"petal_from": ls, "petal_to": ls + la})


# --------------------------------------------------------------------------- the runner's path


@dataclass
class Leg:
    """A stretch of the runner's path: ``course`` (trail from ``s0`` to ``s1``), ``detour`` or ``link``."""

    kind: str
    xy: FloatArray
    tag: dict[str, Any] = field(default_factory=dict)


def course(tr: Trail, s0: float, s1: float, **tag: Any) -> Leg:
    """The trail from ``s0`` to ``s1`` as a leg."""
    return Leg("course", tr.section(s0, s1), {"s0": s0, "s1": s1, **tag})


def _clear(line: LineString, pts: FloatArray, near_ends_m: float = 70.0) -> tuple[bool, float]:
    """Whether a detour stays >= 40 m from the route away from its ends; and its largest distance."""
    d = shapely.distance(shapely.points(pts), line)
    s = cumlen(pts)
    mid = (s > near_ends_m) & (s < s[-1] - near_ends_m)
    return bool(mid.any() and d[mid].min() >= 40.0), float(d.max())


def _detour(rng: np.random.Generator, tr: Trail, line: LineString, s_a: float, pattern: str) -> Leg | None:
    p, h = tr.at(s_a), tr.heading(s_a)
    side = float(rng.choice([-1.0, 1.0]))
    if pattern in ("out_back", "shallow_fork"):
        ang = rng.uniform(0.6, 1.75) if pattern == "out_back" else rng.uniform(0.14, 0.35)
        ln = rng.uniform(150, 600) if pattern == "out_back" else rng.uniform(500, 1000)
        out = wander(rng, p, h + side * float(ang), float(ln), bend=0.5)
        ok, far = _clear(line, np.vstack([out, out[::-1]]), 70.0 if pattern == "out_back" else 200.0)
        xy, s_b = np.vstack([out, _offset(out, 3.0)[::-1][1:], p]), s_a
    elif pattern == "bulge":
        s_b = s_a + float(rng.uniform(300, 1200))
        if s_b > tr.length - 300:
            return None
        q = tr.at(s_b)
        u = np.linspace(0, 1, 200)
        chord = p + np.outer(u, q - p)
        nrm = np.array([-(q - p)[1], (q - p)[0]]) / max(float(np.hypot(*(q - p))), 1.0)
        xy = chord + side * float(rng.uniform(150, 450)) * np.sin(math.pi * u)[:, None] * nrm
        ok, far = _clear(line, xy)
    else:  # never_back
        xy = wander(rng, p, h + side * float(rng.uniform(0.5, 1.6)), float(rng.uniform(800, 2500)), bend=0.6)
        ok, far = _clear(line, np.vstack([xy, xy[-1:]]), 70.0)
        s_b = None
        ok = ok and float(shapely.distance(shapely.points(xy[-1]), line)) > 150
    if not ok or far < 90:
        return None
    return Leg("detour", _resample(xy), {"pattern": pattern, "s_exit": s_a, "s_rejoin": s_b})


def _shortcut(rng: np.random.Generator, tr: Trail, line: LineString, lo: float, hi: float) -> Leg | None:
    s_a = float(rng.uniform(lo, hi))
    s_b = s_a + float(rng.uniform(600, 2000))
    if s_b > hi:
        return None
    p, q = tr.at(s_a), tr.at(s_b)
    if np.hypot(*(q - p)) > 0.6 * (s_b - s_a):
        return None
    xy = p + np.outer(np.linspace(0, 1, 100), q - p)
    ok, far = _clear(line, xy, 60.0)
    if not ok or far < 90:
        return None
    return Leg("detour", _resample(xy), {"pattern": "shortcut", "s_exit": s_a, "s_rejoin": s_b})


def _with_detours(rng: np.random.Generator, tr: Trail, line: LineString, kind: str) -> list[Leg] | None:
    n = {"lost": int(rng.integers(1, 4)), "shallow_fork": 1, "never_back": 1, "shortcut": 1}[kind]
    legs: list[Leg] = []
    s = 0.0
    for k in range(n):
        span = (tr.length - 600) / n
        lo = 300 + k * span
        for _ in range(40):
            if kind == "shortcut":
                d = _shortcut(rng, tr, line, max(lo, s + 300), lo + span)
            else:
                pat = {"lost": str(rng.choice(["out_back", "bulge"])), "shallow_fork": "shallow_fork",
                       "never_back": "never_back"}[kind]
                d = _detour(rng, tr, line, float(rng.uniform(max(lo, s + 300), lo + span - 100)), pat)
            if d is not None:
                break
        else:
            return None
        legs += [course(tr, s, d.tag["s_exit"]), d]
        if d.tag["s_rejoin"] is None:
            return legs
        s = d.tag["s_rejoin"]
    return [*legs, course(tr, s, tr.length)]


def plan_run(rng: np.random.Generator, tr: Trail, kind: str) -> list[Leg] | None:
    """The runner's legs for one scenario kind, or ``None`` when this trail does not allow it."""
    line, L, m = LineString(tr.xy), tr.length, tr.marks
    if kind in ("clean", "sparse_switchbacks", "never_on_route"):
        return [course(tr, 0, L)]
    if kind in ("lost", "shallow_fork", "never_back", "shortcut"):
        return _with_detours(rng, tr, line, kind)
    if kind == "dnf":
        return [course(tr, 0, float(rng.uniform(0.3, 0.8)) * L)]
    if kind in ("join_finish", "partial", "reversed_join"):
        j = float(rng.uniform(0.2, 0.5)) * L
        end = {"join_finish": L, "partial": j + float(rng.uniform(0.2, 0.4)) * L,
               "reversed_join": max(0.0, j - float(rng.uniform(1500, 4000)))}[kind]
        return [course(tr, j, end, join=True, wrong_way=kind == "reversed_join")]
    a, b = {"out_and_back": (lambda t: (t - float(rng.uniform(250, min(1500, t - 300))), 0.0)),
            "lollipop": (lambda t: (m["loop_from"], m["loop_to"])),
            "junctions": (lambda t: (m["petal_from"], m["petal_to"])),
            "laps": (lambda t: (m["lap"], 2 * m["lap"]))}.get(tr.shape, lambda t: (0.0, 0.0))(m.get("turn", 0.0))
    if tr.shape == "out_and_back":
        a, b = a, 2 * m["turn"] - a
    if b <= a:
        return None
    if kind == "skip":
        link = Leg("link", np.vstack([tr.at(a), tr.at(b)]))
        return [course(tr, 0, a), link, course(tr, b, L, skip_from=a, skip_to=b)]
    if kind == "wrong_way" and tr.shape != "out_and_back":
        return [course(tr, 0, a), course(tr, b, a, wrong_way=True), course(tr, b, L)]
    return None

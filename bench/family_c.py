"""Benchmark family C: family B's runs and planted errors, recorded with the error of real watches.

The noise is taken from real recordings in ``../shared/data/`` (read in place, never copied: their
licences vary) that ran a course also present in the corpus as another file (:data:`PAIRS`). For each
pair, each fix of the recording is compared with its nearest point on the other file (the route):
the *residual* is the fix minus that point, in metres along the route's direction and to its left
(:func:`residuals`). Stretches where the
runner stayed on course of at least 10 minutes are kept, with their own fix times, so dropouts and
the watch's sampling come along. On course: the residual under 50 m, but for bursts lasting at most
15 s (from the fix before to the fix after). Looked at on the map, the one longer departure in the
pool (HusarenTempel-Schubertweg at 94 min, up to 125 m for ~40 s at running pace) is a path the other
file does not take, not receiver error, and is left out.

A family C scenario is family B's scenario of the same seed rule (trail, kind, runner, planted
excursions and truth), recorded by replaying the pool of stretches from a start drawn uniformly over
all of its seconds, going on to the next stretch (cyclically) when one ends: the fix times are
the real ones (shifted), and each fix is the true position moved by the real residual turned into
the runner's direction of travel (along and to the left). For the ``sparse_switchbacks`` kind the
replay is thinned to one fix every 20 s or more.

Without ``../shared/data`` family C is skipped with a message (:func:`available`).

Command line::

    python bench/family_c.py --seeds 3001-3112 --out bench/scenarios/family-c
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import LineString

sys.path.insert(0, str(Path(__file__).resolve().parent))

import family_b
from geometry import Frame
from noise_b import NoiseParams
from readers import read_points

__all__ = ["PAIRS", "SEEDS", "SHARED", "Stretch", "available", "build", "generate", "residuals", "stretches"]

SEEDS = "3001-3112"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PAIRS: tuple[tuple[str, str], ...] = (
    # a Garmin recording (1-3 s) against another recording of the same trails (Garmin Desktop, merged files)
    ("TrailrunningVienna+Trail365/src__Trail365.Seeds__GpxTracks__HusarenTempel-Schubertweg.gpx",
     "TrailrunningVienna+Trail365/src__Trail365.Seeds__GpxTracks__MultiFile3Sample.gpx"),
    # a Garmin recording (~13 s, with dropouts) against the planned route it half follows (GPSies)
    ("TrailrunningVienna+Trail365/src__Trail365.Seeds__GpxTracks__RekawinkelTroppbergMauerbach.gpx",
     "TrailrunningVienna+Trail365/tests__Trail365.UnitTests__Data__tropp.gpx"),
)
ON_M = 50.0
BURST_S = 15.0
MIN_STRETCH_S = 600.0
MAX_GAP_S = 600.0

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Stretch:
    """On-course residuals of one real recording: seconds from the stretch's start, and metres along the
    route's direction and to its left at the matched point."""

    source: str
    t_s: F64
    along_m: F64
    lateral_m: F64

    @property
    def duration_s(self) -> float:
        """Length of the stretch in seconds."""
        return float(self.t_s[-1])

    @property
    def size_m(self) -> F64:
        """Length of each residual."""
        return np.asarray(np.hypot(self.along_m, self.lateral_m))


def available(root: Path = SHARED) -> str | None:
    """``None`` when the pairs can be read, else why family C cannot be built."""
    if not root.is_dir():
        return f"family C skipped: {root} is absent (the real recordings are read in place from there)"
    missing = [f for pair in PAIRS for f in pair if not (root / f).is_file()]
    return f"family C skipped: missing {', '.join(missing)}" if missing else None


def residuals(recording: Path, route: Path) -> tuple[F64, F64, F64]:
    """Times of a recording's fixes and their residuals to another file taken as the route.

    The residual of a fix is the fix minus its nearest point on the route, in the route's frame
    there: metres along its direction (zero but at a vertex) and to its left. Where a fix passes a
    corner of the route more than half the corner's width away, the nearest point moves to the other
    leg and the residual changes side: replayed, that is a sideways jump (kept: it is in the data).
    """
    a, b = read_points(recording), read_points(route)
    ok = np.isfinite(a.t) & np.isfinite(a.lon) & np.isfinite(a.lat)
    frame = Frame(float(np.median(a.lon[ok])), float(np.median(a.lat[ok])))
    x, y = frame.to_xy(a.lon[ok], a.lat[ok])
    bx, by = frame.to_xy(b.lon, b.lat)
    good = np.isfinite(bx) & np.isfinite(by)
    line = LineString(np.column_stack([bx[good], by[good]]))
    m = shapely.line_locate_point(line, shapely.points(np.column_stack([x, y])))

    def at(mm: F64) -> F64:
        return shapely.get_coordinates(shapely.line_interpolate_point(line, mm))

    q = at(m)
    u = at(m + 2.0) - at(np.maximum(m - 2.0, 0.0))
    u /= np.maximum(np.hypot(u[:, 0], u[:, 1]), 1e-9)[:, None]
    r = np.column_stack([x, y]) - q
    return a.t[ok], r[:, 0] * u[:, 0] + r[:, 1] * u[:, 1], u[:, 0] * r[:, 1] - u[:, 1] * r[:, 0]


def _cut(source: str, t: F64, along: F64, left: F64) -> list[Stretch]:
    """Split a residual series into on-course stretches (see the module docstring)."""
    n = len(t)
    far = np.hypot(along, left) > ON_M
    bad = np.zeros(n, dtype=bool)
    i = 0
    while i < n:  # far for longer than a burst (from the fix before to the fix after): not on course
        j = i
        while j < n and far[j]:
            j += 1
        if j > i and t[min(j, n - 1)] - t[max(i - 1, 0)] > BURST_S:
            bad[i:j] = True
        i = j + 1
    gap = np.concatenate([[False], np.diff(t) > MAX_GAP_S])
    out: list[Stretch] = []

    def close(a: int, b: int) -> None:
        if b - a > 10 and t[b - 1] - t[a] >= MIN_STRETCH_S:
            out.append(Stretch(source, t[a:b] - t[a], along[a:b].copy(), left[a:b].copy()))

    start: int | None = None
    for k in range(n):
        if bad[k]:
            if start is not None:
                close(start, k)
            start = None
        elif start is None:
            start = k
        elif gap[k]:
            close(start, k)
            start = k
    if start is not None:
        close(start, n)
    return out


@cache
def stretches(root: Path = SHARED) -> tuple[Stretch, ...]:
    """Every on-course stretch of every pair."""
    out: list[Stretch] = []
    for rec, route in PAIRS:
        t, along, left = residuals(root / rec, root / route)
        out += _cut(Path(rec).name, t, along, left)
    return tuple(out)


def replay(rng: np.random.Generator, xy_true: F64, params: NoiseParams, kind: str) -> tuple[NDArray[np.int64], F64]:
    """Family C's recorder: real residual stretches replayed onto a true run sampled every second."""
    pool = stretches()
    n = len(xy_true)
    times: list[F64] = []
    lat: list[F64] = []
    alo: list[F64] = []
    dur = np.array([st.duration_s for st in pool])
    j = int(rng.choice(len(pool), p=dur / dur.sum()))
    k0 = int(np.searchsorted(pool[j].t_s, rng.uniform(0, pool[j].duration_s)))
    t = 0.0
    while t < n:
        st = pool[j]
        tt = st.t_s[k0:] - st.t_s[k0]
        times.append(t + tt)
        lat.append(st.lateral_m[k0:])
        alo.append(st.along_m[k0:])
        params.events.append({"kind": "replay", "source": st.source, "from_s": round(float(st.t_s[k0]), 1),
                              "start_s": round(t, 1), "end_s": round(t + float(tt[-1]), 1)})
        t += float(tt[-1]) + float(np.median(np.diff(st.t_s)))
        j, k0 = (j + 1) % len(pool), 0
    ts = np.round(np.concatenate(times)).astype(np.int64)
    e = np.concatenate(lat)
    f = np.concatenate(alo)
    keep = np.concatenate([[True], np.diff(ts) > 0]) & (ts < n)
    ts, e, f = ts[keep], e[keep], f[keep]
    if kind == "sparse_switchbacks":
        sel = [0]
        for i in range(1, len(ts)):
            if ts[i] - ts[sel[-1]] >= 20:
                sel.append(i)
        ts, e, f = ts[sel], e[sel], f[sel]
    d = xy_true[np.minimum(ts + 5, n - 1)] - xy_true[np.maximum(ts - 5, 0)]
    h = np.arctan2(d[:, 1], d[:, 0])
    still = np.hypot(d[:, 0], d[:, 1]) < 1.0
    for i in np.flatnonzero(still):  # standing: keep the last direction of travel
        h[i] = h[i - 1] if i > 0 else 0.0
    fwd = np.column_stack([np.cos(h), np.sin(h)])
    nrm = np.column_stack([-np.sin(h), np.cos(h)])
    return ts, xy_true[ts] + f[:, None] * fwd + e[:, None] * nrm


def build(seed: int) -> family_b.Scenario:
    """Family C scenario ``seed`` in memory."""
    sc = family_b.build(seed, "C", replay)
    sc.params.interval = "real"
    return sc


def generate(seed: int, out_dir: Path) -> dict[str, Any]:
    """Build and write family C scenario ``seed``."""
    return family_b.write(build(seed), out_dir, seed)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write family C scenarios, or say why not."""
    from scenarios import parse_seeds

    ap = argparse.ArgumentParser(description="Write family C benchmark scenarios.")
    ap.add_argument("--seeds", default=SEEDS)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "scenarios" / "family-c")
    args = ap.parse_args(argv)
    why = available()
    if why:
        print(why)
        return 0
    for st in stretches():
        print(f"stretch {st.source}: {st.duration_s / 60:.0f} min, {len(st.t_s)} fixes, "
              f"|residual| median {np.median(st.size_m):.1f} m, max {np.max(st.size_m):.0f} m")
    for seed in parse_seeds(args.seeds):
        t = generate(seed, args.out)
        print(f"{t['id']}: {t['duration_s'] / 3600:.2f} h, {t['fixes']} fixes, {len(t['excursions'])} excursions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


"""A synthetic race field for the batch benchmark: one route, many runners, FIT and GPX mixed.

:func:`make_field` writes, under ``OUT/r{runners}-f{fixes}-s{seed}/``:

- ``route.gpx``: a wandering trail route (:func:`geometry.smooth_curve`) about ``3 m x fixes`` long;
- ``runs/``: one recording per runner, ``fixes`` fixes one second apart, Gauss-Markov GPS
  error (sigma 3-8 m, 30-90 s), FIT and GPX alternately (:mod:`writers`), one in ten gzipped;
  about 15 % take one wrong turn (an out-and-back spur 150-400 m long, at a random place);
  5 % are broken (GPX and FIT cut after 100 bytes, garbage, a FIT file cut in half, an empty file);
- ``manifest.json``: what each file is (``clean``, ``detour`` with its spur length, ``broken``).

The field is reused when its manifest is complete, so it is generated once per size.

Command line::

    python bench/field.py --runners 100 --fixes 20000
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from geometry import FloatArray, Frame, cumlen, smooth_curve
from scenarios import _gauss_markov
from writers import write_fit_activity, write_gpx_route, write_gpx_track

__all__ = ["FIELD_DIR", "field_dir", "make_field", "main"]

FIELD_DIR = Path(__file__).resolve().parent / "field"
"""Default cache of generated fields (git-ignored)."""

CENTRE = (-3.2, 55.88)
T0 = 1_750_000_000.0
STEP_M = 3.0
"""Route length per fix: runners move about 3 m a second."""
DETOUR_SHARE = 0.15
BROKEN = {7: "cut_short", 32: "cut_short", 57: "garbage", 82: "cut_in_half", 95: "empty"}
"""Runner ``k`` has a broken file when ``k % 100`` is a key (5 %, FIT for even ``k``; the first from 8 runners on)."""


def field_dir(out: Path, runners: int, fixes: int, seed: int) -> Path:
    """Where the field of this size and seed lives."""
    return out / f"r{runners}-f{fixes}-s{seed}"


def _route_xy(seed: int, length_m: float) -> FloatArray:
    rng = np.random.default_rng(seed)
    xy = smooth_curve(rng, length_m, np.zeros(2), 0.3, curvature_sd=1 / 300, corr_m=200.0, step=2.0)
    return xy[::10] if len(xy) > 20 else xy  # a vertex every ~20 m, as route files have


def _runner_path(rng: np.random.Generator, route: FloatArray, detour_m: float) -> FloatArray:
    """The true path: the route, with an out-and-back spur of ``detour_m`` at a random place."""
    if detour_m <= 0:
        return route
    s = cumlen(route)
    k = int(np.searchsorted(s, rng.uniform(0.15, 0.85) * s[-1]))
    k = min(max(k, 1), len(route) - 2)
    tangent = route[k + 1] - route[k - 1]
    tangent /= np.hypot(*tangent) or 1.0
    normal = np.array([-tangent[1], tangent[0]]) * (1 if rng.random() < 0.5 else -1)
    u = np.arange(0.0, detour_m, 2.0)
    bend = 30.0 * np.sin(u / detour_m * np.pi)
    spur = route[k] + np.outer(u, normal) + np.outer(bend, tangent)
    return np.vstack([route[: k + 1], spur, spur[::-1], route[k:]])


def _one_runner(job: tuple[Path, int, int, int, FloatArray]) -> dict[str, Any]:
    d, seed, k, fixes, route = job
    rng = np.random.default_rng([seed, k])
    frame = Frame(*CENTRE)
    broken = BROKEN.get(k % 100)
    detour = float(rng.uniform(150.0, 400.0)) if broken is None and rng.random() < DETOUR_SHARE else 0.0
    path = _runner_path(rng, route, detour)
    s = cumlen(path)
    at = np.linspace(0.0, s[-1], fixes)  # steady pace, one fix a second
    x = np.interp(at, s, path[:, 0])
    y = np.interp(at, s, path[:, 1])
    err = _gauss_markov(rng, fixes, float(rng.uniform(3.0, 8.0)), float(rng.uniform(30.0, 90.0)))
    lon, lat = frame.to_lonlat(x + err[:, 0], y + err[:, 1])
    t = T0 + float(rng.integers(0, 600)) + np.arange(fixes, dtype=float)
    ele = 200.0 + 50.0 * np.sin(at / 3000.0)
    fit = k % 2 == 0
    name = f"runner{k:04d}.{'fit' if fit else 'gpx'}"
    target = d / "runs" / name
    if fit:
        write_fit_activity(target, t, lon, lat, ele)
    else:
        write_gpx_track(target, lon, lat, ele, f"Runner {k}", epoch_s=t)
    data = target.read_bytes()
    if broken == "cut_short":
        data = data[:100]
    elif broken == "cut_in_half":  # a FIT file cut in half still gives its first half: maybe an ok row
        data = data[: len(data) // 2]
    elif broken == "garbage":
        data = rng.bytes(4096)
    elif broken == "empty":
        data = b""
    if k % 10 == 3 and broken is None:
        target.unlink()
        target = target.with_name(target.name + ".gz")
        data = gzip.compress(data, compresslevel=1)
    target.write_bytes(data)
    kind = "broken" if broken else ("detour" if detour else "clean")
    return {"file": f"runs/{target.name}", "kind": kind, "broken": broken, "detour_m": round(detour, 1)}


def make_field(out: Path, runners: int, fixes: int, seed: int = 1, *, jobs: int | None = None) -> Path:
    """Write the field (or reuse it when complete) and return its folder.

    Parameters
    ----------
    out : Path
        Parent folder of the generated fields.
    runners, fixes : int
        Number of recordings, and fixes in each.
    seed : int
    jobs : int, optional
        Processes writing files (default: all cores).
    """
    d = field_dir(out, runners, fixes, seed)
    manifest = d / "manifest.json"
    if manifest.exists():
        return d
    (d / "runs").mkdir(parents=True, exist_ok=True)
    route = _route_xy(seed, STEP_M * fixes)
    frame = Frame(*CENTRE)
    lon, lat = frame.to_lonlat(route[:, 0], route[:, 1])
    write_gpx_route(
        d / "route.gpx", lon, lat, np.full(len(lon), np.nan), f"Synthetic {cumlen(route)[-1] / 1000:.0f} km"
    )
    work = [(d, seed, k, fixes, route) for k in range(runners)]
    with ProcessPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        files = list(pool.map(_one_runner, work, chunksize=4))
    doc = {
        "runners": runners,
        "fixes": fixes,
        "seed": seed,
        "route_m": round(float(cumlen(route)[-1]), 1),
        "files": files,
    }
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(manifest)
    return d


def main(argv: list[str] | None = None) -> int:
    """Generate a field from the command line."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runners", type=int, default=1000)
    ap.add_argument("--fixes", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=FIELD_DIR)
    args = ap.parse_args(argv)
    d = make_field(args.out, args.runners, args.fixes, args.seed)
    doc = json.loads((d / "manifest.json").read_text())
    kinds = [f["kind"] for f in doc["files"]]
    print(f"{d}: {len(kinds)} files, route {doc['route_m'] / 1000:.1f} km, "
          f"{kinds.count('detour')} with a wrong turn, {kinds.count('broken')} broken")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

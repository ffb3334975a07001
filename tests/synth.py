"""Tiny synthetic geometry in metres for engine tests: routes and runs built from straight legs."""

from __future__ import annotations

import numpy as np

from offcourse.detect import Fix
from offcourse.model import Route
from offcourse.project import LocalProjection

PROJ = LocalProjection(7.0, 46.0)


def route(xy: list[tuple[float, float]]) -> Route:
    """A route through the given points (metres in PROJ)."""
    a = np.array(xy, dtype=float)
    lon, lat = PROJ.inverse(a[:, 0], a[:, 1])
    return Route.from_arrays(lon=lon, lat=lat, projection=PROJ)


def walk(xy: list[tuple[float, float]], speed_mps: float = 3.0, step_s: float = 1.0) -> np.ndarray:
    """Positions every ``step_s`` seconds moving at ``speed_mps`` along the legs; rows (t, x, y)."""
    a = np.array(xy, dtype=float)
    seg = np.hypot(*np.diff(a, axis=0).T)
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    t = np.arange(0.0, cum[-1] / speed_mps + 1e-9, step_s)
    s = t * speed_mps
    return np.column_stack([t, np.interp(s, cum, a[:, 0]), np.interp(s, cum, a[:, 1])])


def fixes(rows: np.ndarray, t0: float = 1_700_000_000.0) -> list[Fix]:
    lon, lat = PROJ.inverse(rows[:, 1], rows[:, 2])
    return [Fix(t0 + float(t), float(lo), float(la)) for t, lo, la in zip(rows[:, 0], lon, lat, strict=True)]

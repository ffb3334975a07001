"""Family B's receiver error model and fix schedule, written apart from :mod:`scenarios`' noise model.

Error components, each in metres in the local frame, generated on a 1 s grid and read at the fix times:

* **base**: white noise (sigma 1.5-3.5 m per axis) plus a Gauss-Markov drift (sigma 2-5 m, correlation
  40-150 s) — an ordinary receiver in the open;
* **canopy**: sections of 3-15 min covering up to 40 % of the run with an extra Gauss-Markov error of
  sigma 8-15 m per axis and 20-90 s correlation (entered and left over 30 s);
* **multipath**: ramps about once an hour (Poisson): a bias in one direction that grows to 40-80 m and
  goes back within 5-30 s (trapezoid: a third up, a third held, a third down);
* **spikes**: single fixes thrown 60-300 m, about one every 30 minutes;
* **dropouts**: about one an hour, 15-240 s without a fix.

Fix schedule: a fixed interval of 1, 5, 10, 20, 30 or 60 s, or ``"smart"`` recording (a fix at each
change of direction, else every 3-12 s, irregular).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["INTERVALS", "NoiseParams", "gauss_markov", "multipath_profile", "record_b", "schedule"]

F64 = NDArray[np.float64]
INTERVALS: tuple[int | str, ...] = (1, 5, 10, 20, 30, 60, "smart")


@dataclass
class NoiseParams:
    """What one recording is made of (stored in ``truth.json``)."""

    interval: int | str = 1
    white_m: float = 2.5
    drift_m: float = 3.0
    drift_tau_s: float = 80.0
    canopy_share: float = 0.0
    canopy_m: float = 10.0
    canopy_tau_s: float = 40.0
    multipath_per_h: float = 1.0
    spikes_per_h: float = 2.0
    dropouts_per_h: float = 1.0
    events: list[dict[str, Any]] = field(default_factory=list)

    @staticmethod
    def draw(rng: np.random.Generator, interval: int | str) -> NoiseParams:
        """Parameters of one recording, drawn from the ranges in the module docstring."""
        return NoiseParams(interval=interval, white_m=float(rng.uniform(1.5, 3.5)),
                           drift_m=float(rng.uniform(2, 5)), drift_tau_s=float(rng.uniform(40, 150)),
                           canopy_share=float(rng.uniform(0, 0.4)), canopy_m=float(rng.uniform(8, 15)),
                           canopy_tau_s=float(rng.uniform(20, 90)), multipath_per_h=1.0,
                           spikes_per_h=2.0, dropouts_per_h=1.0)


def gauss_markov(rng: np.random.Generator, n: int, sigma: float, tau_s: float) -> F64:
    """A first-order Gauss-Markov sequence on a 1 s grid: stationary sigma, correlation time ``tau_s``."""
    out = np.empty(n)
    if n == 0:
        return out
    a = math.exp(-1.0 / max(tau_s, 1e-9))
    q = sigma * math.sqrt(1 - a * a)
    w = rng.normal(0.0, 1.0, n)
    out[0] = sigma * w[0]
    for i in range(1, n):
        out[i] = a * out[i - 1] + q * w[i]
    return out


def multipath_profile(duration_s: float, peak_m: float, t: F64) -> F64:
    """Bias magnitude at times ``t`` (s from the event's start): up over a third, held, down over a third."""
    third = duration_s / 3.0
    up = np.clip(t / third, 0, 1)
    down = np.clip((duration_s - t) / third, 0, 1)
    return np.where((t >= 0) & (t <= duration_s), peak_m * np.minimum(up, down), 0.0)


def schedule(rng: np.random.Generator, interval: int | str, n_s: int, turn: F64) -> NDArray[np.int64]:
    """Fix times (whole seconds in ``[0, n_s)``) for a fixed interval or smart recording.

    ``turn`` is the runner's change of heading (radians) over the previous 5 s at each second.
    """
    if interval != "smart":
        step = int(interval)
        start = int(rng.integers(0, step)) if step > 1 else 0
        return np.arange(start, n_s, step, dtype=np.int64)
    out = [0]
    nxt = int(rng.integers(3, 13))
    while True:
        t = out[-1] + 1
        while t < n_s and t - out[-1] < nxt and abs(turn[t]) < math.radians(25):
            t += 1
        if t >= n_s:
            break
        out.append(t)
        nxt = int(rng.integers(3, 13))
    return np.array(out, dtype=np.int64)


def record_b(rng: np.random.Generator, xy_true: F64, params: NoiseParams,
             quiet: bool = False) -> tuple[NDArray[np.int64], F64]:
    """Recorded positions of a run sampled every second (``xy_true[i]`` at ``t = i`` s).

    Returns the fix times (s) and the recorded positions; ``params.events`` gets every multipath
    ramp, spike, canopy section and dropout with its times. ``quiet`` leaves out multipath, spikes,
    canopy and dropouts (ordinary receiver only).
    """
    n = len(xy_true)
    d = np.diff(xy_true, axis=0, prepend=xy_true[:1])
    hd = np.unwrap(np.arctan2(d[:, 1], d[:, 0]))
    moving = np.hypot(d[:, 0], d[:, 1]) > 0.3
    hd = np.where(moving, hd, np.nan)
    hd = np.asarray(np.interp(np.arange(n), np.flatnonzero(moving), hd[moving]) if moving.any() else np.zeros(n))
    turn = hd - np.concatenate([np.full(5, hd[0]), hd[:-5]])[:n]
    times = schedule(rng, params.interval, n, turn)
    err = rng.normal(0, params.white_m, (n, 2))
    err += np.column_stack([gauss_markov(rng, n, params.drift_m, params.drift_tau_s) for _ in range(2)])
    ev = params.events
    hours = n / 3600.0
    keep = np.ones(len(times), dtype=bool)
    if not quiet:
        gain = np.zeros(n)
        left = params.canopy_share * n
        while left > 60:
            dur = min(left, float(rng.uniform(180, 900)))
            a = float(rng.uniform(0, max(1.0, n - dur)))
            tt = np.arange(n)
            gain = np.maximum(gain, np.clip(np.minimum(tt - a, a + dur - tt) / 30.0, 0, 1))
            ev.append({"kind": "canopy", "start_s": round(a), "end_s": round(a + dur)})
            left -= dur
        can = np.column_stack([gauss_markov(rng, n, params.canopy_m, params.canopy_tau_s) for _ in range(2)])
        err += gain[:, None] * can
        for _ in range(int(rng.poisson(params.multipath_per_h * hours))):
            dur, peak = float(rng.uniform(5, 30)), float(rng.uniform(40, 80))
            a = float(rng.uniform(0, max(1.0, n - dur)))
            ang = float(rng.uniform(0, 2 * math.pi))
            m = multipath_profile(dur, peak, np.arange(n) - a)
            err += m[:, None] * np.array([math.cos(ang), math.sin(ang)])
            ev.append({"kind": "multipath", "start_s": round(a, 1), "end_s": round(a + dur, 1),
                       "peak_m": round(peak, 1)})
        for _ in range(int(rng.poisson(params.dropouts_per_h * hours))):
            dur = float(rng.uniform(15, 240))
            a = float(rng.uniform(60, max(61.0, n - dur - 60)))
            keep &= ~((times >= a) & (times < a + dur))
            ev.append({"kind": "dropout", "start_s": round(a), "end_s": round(a + dur)})
    times = times[keep]
    rec = xy_true[times] + err[times]
    if not quiet:
        for _ in range(int(rng.poisson(params.spikes_per_h * hours))):
            if len(times) < 10:
                break
            k = int(rng.integers(1, len(times) - 1))
            size, ang = float(rng.uniform(60, 300)), float(rng.uniform(0, 2 * math.pi))
            rec[k] += size * np.array([math.cos(ang), math.sin(ang)])
            ev.append({"kind": "spike", "start_s": int(times[k]), "end_s": int(times[k]), "peak_m": round(size, 1)})
    return times, rec

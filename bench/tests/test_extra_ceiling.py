"""The ceiling of straight steps between fixes (bench/extra_ceiling.py) on a hand-built run."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

import extra_ceiling  # noqa: E402


def test_a_fix_a_minute_cuts_the_tip_of_an_out_and_back_beyond_the_tolerance() -> None:
    # at 1 m/s: along the route to x = 100 m (t = 100 s), 50 m out and back (t = 200 s), on to x = 200 m.
    # Fixes every 60 s: the last before the runner left is at t = 60 s (60, 0), the first after they came
    # back at t = 240 s (140, 0); between them (100, 20) twice, on the way out and on the way back.
    # Straight steps: 2 * hypot(40, 20) = 89.4 m of the 180 m run: 90.6 m short, beyond max(75, 10) m.
    t = np.arange(301)
    x = np.where(t <= 100, t, np.where(t <= 200, 100, t - 100)).astype(float)
    y = np.where((t > 100) & (t <= 200), 50 - np.abs(t - 150), 0).astype(float)
    truth = {"t0": 1000.0, "excursions": [
        {"id": 0, "class": "required", "extra_distance_m": 100.0, "start_epoch": 1100.0, "end_epoch": 1200.0}]}
    sc = SimpleNamespace(truth=truth, true_xy=np.column_stack([x, y]), fix_s=np.arange(0, 301, 60))
    ((k, short_m, tol_m),) = extra_ceiling.shortfalls(sc)  # type: ignore[arg-type]
    assert k == 0 and tol_m == 75.0
    assert short_m == pytest.approx(180.0 - 2 * math.hypot(40.0, 20.0))
    # a fix every second follows the path: nothing left out
    dense = SimpleNamespace(truth=truth, true_xy=sc.true_xy, fix_s=np.arange(301))
    ((_, short_m, _),) = extra_ceiling.shortfalls(dense)  # type: ignore[arg-type]
    assert short_m == pytest.approx(0.0, abs=1e-9)

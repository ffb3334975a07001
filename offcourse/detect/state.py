"""The monitor's saved state."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from .events import Phase
from .options import INITIAL_SPEED_MPS, RING_SIZE

__all__ = ["MonitorState", "Ring"]

_NAN = float("nan")

Ring = deque[tuple[float, float, float, float, float, float, float]]
"""Recent fixes: (t, x, y, route_m, offset_m, odo_m, climb_m)."""


def _ring() -> Ring:
    return deque(maxlen=RING_SIZE)


@dataclass
class MonitorState:
    phase: Phase = Phase.WAITING
    n_fixes: int = 0
    ignored: int = 0
    # last accepted fix
    t: float = _NAN
    x: float = _NAN
    y: float = _NAN
    spike_t: float = _NAN
    spike_x: float = _NAN
    spike_y: float = _NAN
    # odometer (jitter-filtered) and climb
    odo_m: float = 0.0
    anchor_x: float = _NAN
    anchor_y: float = _NAN
    climb_m: float = 0.0
    climb_anchor: float = _NAN
    # progress along the route
    s: float = 0.0
    d: float = 0.0
    s_peak: float = 0.0
    t_peak: float = _NAN
    speed_mps: float = INITIAL_SPEED_MPS  # recent on-route progress speed, for time lost
    noise_ms: float = 0.0  # running mean of the squared offset while on the route (m^2)
    speed_t: float = _NAN
    speed_s: float = 0.0
    wrong_way: bool = False
    ww_start_t: float = _NAN
    ww_from: float = 0.0
    ww_odo: float = 0.0
    ww_detour: bool = False  # the wrong-way section began as the runner left the expected pass
    # off-course bookkeeping
    off_since_t: float = _NAN
    off_count: int = 0
    exit_t: float = _NAN
    exit_s: float = 0.0
    exit_x: float = _NAN
    exit_y: float = _NAN
    exit_odo: float = 0.0
    exit_d: float = 0.0
    exit_climb: float = 0.0
    alert_t: float = _NAN
    max_off_m: float = 0.0
    back_count: int = 0
    back_since_t: float = _NAN
    back_s: float = 0.0
    back_x: float = _NAN
    back_y: float = _NAN
    back_odo: float = 0.0
    back_d: float = 0.0
    back_climb: float = 0.0
    # another part of the route the runner may be on
    alt_active: bool = False
    alt_s: float = 0.0
    alt_start_s: float = 0.0
    alt_start_t: float = _NAN
    alt_start_odo: float = 0.0
    alt_back_m: float = 0.0
    # route covered so far: sorted, disjoint [lo, hi] intervals
    covered: list[list[float]] = field(default_factory=list)
    cur_lo: float = _NAN
    cur_hi: float = _NAN
    ring: Ring = field(default_factory=_ring)

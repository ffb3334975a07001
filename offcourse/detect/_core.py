"""The engine's shared bookkeeping: spikes, odometer, thresholds, noise and route coverage.

:class:`Core` is the base of :class:`~offcourse.detect.Monitor`; the parts of the state machine
(:mod:`~offcourse.detect.start`, :mod:`~offcourse.detect.excursion`, :mod:`~offcourse.detect.monitor`)
build on it. The arithmetic itself is in :mod:`~offcourse.detect.steps`.
"""

from __future__ import annotations

import math
from datetime import tzinfo

from ..match import RouteIndex
from ..model import Route
from . import steps
from .options import Options
from .state import MonitorState

__all__ = ["Core"]

_NAN = float("nan")


class Core:
    """What every part of the monitor shares: its route, options, index and state."""

    route: Route
    options: Options
    index: RouteIndex
    tz: tzinfo | None
    approach_events: bool
    _st: MonitorState
    _reach_m: float

    def _is_spike(self, t: float, x: float, y: float) -> bool:
        """A jump too fast from the last fix (``jump_ok`` said no): a spike unless it confirms the last jump."""
        st, o = self._st, self.options
        if math.isfinite(st.spike_t) and math.hypot(x - st.spike_x, y - st.spike_y) <= (
            o.max_speed_mps * (t - st.spike_t) + o.spike_slack_m
        ):  # hypot here: a rare path the compiled kernel never takes
            st.spike_t = _NAN
            return False
        st.spike_t, st.spike_x, st.spike_y = t, x, y
        return True

    def _thresholds(self, grow: float) -> tuple[float, float]:
        o = self.options
        return steps.thresholds(
            o.off_threshold_m, o.back_on_threshold_m, grow, o.noise_gain, self._st.noise_ms, o.noise_floor_m
        )

    # coverage of the route

    def covered_m(self) -> float:
        """Length of route covered so far (in either direction), metres."""
        return sum(hi - lo for lo, hi in self._intervals())

    def uncovered(self, min_length_m: float = 0.0) -> list[tuple[float, float]]:
        """Parts of the route not covered so far, as (from_m, to_m), at least ``min_length_m`` long."""
        gaps: list[tuple[float, float]] = []
        pos = 0.0
        for lo, hi in self._intervals():
            if lo - pos >= min_length_m and lo > pos:
                gaps.append((pos, lo))
            pos = max(pos, hi)
        if self.index.length_m - pos >= min_length_m and self.index.length_m > pos:
            gaps.append((pos, self.index.length_m))
        return gaps

    def _intervals(self) -> list[list[float]]:
        st = self._st
        ivs = [list(iv) for iv in st.covered]
        if math.isfinite(st.cur_lo):
            ivs.append([st.cur_lo, st.cur_hi])
        ivs.sort()
        merged: list[list[float]] = []
        for lo, hi in ivs:
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        return merged

    def _cover(self, s: float) -> None:
        st = self._st
        st.cur_lo, st.cur_hi = steps.cover(st.cur_lo, st.cur_hi, s)

    def _flush_cover(self) -> None:
        st = self._st
        if math.isfinite(st.cur_lo):
            st.covered = self._intervals()
            st.cur_lo = st.cur_hi = _NAN

    # phases

"""Before the start: finding the route, and telling the runner where it is until then.

The route is acquired when a fix is near its start, or (a late start) once the runner follows it
elsewhere. Until then :attr:`Monitor.approach <offcourse.detect.Monitor.approach>` gives the
distance and bearing to the route, and a monitor made with ``approach_events=True`` raises
:class:`~offcourse.detect.NotOnRoute` now and then. Swapped longitude and latitude are caught here.
"""

from __future__ import annotations

import math

from ..errors import InvalidFixError, ProjectionError
from ._core import Core
from .events import Event, NotOnRoute, Phase, Started
from .inputs import swapped_message
from .options import NOT_ON_ROUTE_CHANGE, NOT_ON_ROUTE_EVERY_S, SWAP_FAR_M, SWAP_NEAR_M

__all__ = ["BeforeTheStart"]

_NAN = float("nan")
_WAITING, _ON = Phase.WAITING, Phase.ON


class BeforeTheStart(Core):
    """The ``waiting`` phase of :class:`~offcourse.detect.Monitor`."""

    @property
    def approach(self) -> NotOnRoute | None:
        """Before the start, where the route is from the last fix: distance, bearing, where along it.

        None once the runner is on the route (or before any fix with a position).
        """
        st = self._st
        if st.phase != _WAITING or not math.isfinite(st.x):
            return None
        return self._approach_at(st.t, st.x, st.y)

    def _refuse_swapped(self, lon: float, lat: float) -> None:
        p = self.route.projection
        why = swapped_message(lon, lat, p.lon0, p.lat0, self._reach_m, SWAP_FAR_M, SWAP_NEAR_M)
        if why is None:
            return
        try:
            sx, sy = p.forward_one(lat, lon)
        except ProjectionError:
            return
        if self.index.nearest_global(sx, sy, max_radius_m=SWAP_NEAR_M) is not None:
            raise InvalidFixError(why)

    def _approach_at(self, t: float, x: float, y: float) -> NotOnRoute:
        g = self.index.nearest_global(x, y, max_radius_m=math.inf)
        to_start = math.hypot(float(self.route.x[0]) - x, float(self.route.y[0]) - y)
        if g is None:  # pragma: no cover - an infinite radius always finds the route
            return NotOnRoute(epoch_s=t, distance_m=math.inf, bearing_deg=_NAN, route_m=_NAN, to_start_m=to_start)
        s, d, _ = g
        px, py = self.route.point_at(s)
        bearing = math.degrees(math.atan2(float(px) - x, float(py) - y)) % 360.0
        bearing = 0.0 if bearing >= 360.0 else bearing  # -1e-15 % 360 is 360.0
        return NotOnRoute(epoch_s=t, distance_m=d, bearing_deg=bearing, route_m=s, to_start_m=to_start)

    def _maybe_not_on_route(self, t: float, x: float, y: float, events: list[Event]) -> None:
        st = self._st
        ev = self._approach_at(t, x, y)
        if ev.distance_m <= self.options.back_on_threshold_m:
            return  # on the route, waiting to see the runner follow it (a late start)
        if (
            math.isfinite(st.near_t)
            and t - st.near_t < NOT_ON_ROUTE_EVERY_S
            and abs(ev.distance_m - st.near_m) < NOT_ON_ROUTE_CHANGE * st.near_m
        ):
            return
        st.near_t, st.near_m = t, ev.distance_m
        events.append(ev)

    def _acquire(self, t: float, x: float, y: float, events: list[Event]) -> None:
        _st, o = self._st, self.options
        passes = self.index.passes_near(x, y, o.back_on_threshold_m)
        near_start = [p for p in passes if p[0] <= o.start_zone_m]
        if not near_start:
            self._late_start(t, x, y, passes, events)
            return
        s, d, _ = min(near_start, key=lambda p: p[0])
        self._lock(t, s, d, events)

    def _late_start(
        self, t: float, x: float, y: float, passes: list[tuple[float, float, int]], events: list[Event]
    ) -> None:
        """A recording that starts on the route but away from its start: follow it once it moves forward."""
        st, o = self._st, self.options
        on = [p for p in passes if p[1] <= o.back_on_threshold_m]
        if not on:
            st.alt_active = False
            return
        if not st.alt_active:
            s, _, _ = min(on, key=lambda p: p[0])
            st.alt_active, st.alt_s, st.alt_start_s, st.alt_start_t = True, s, s, t
            return
        s, d, _ = self.index.nearest_in_window(x, y, st.alt_s - o.window_back_m, st.alt_s + o.window_ahead_m)
        if d > o.back_on_threshold_m:
            st.alt_active = False
            return
        st.alt_s = s
        if t - st.alt_start_t >= o.relock_time_s and s - st.alt_start_s >= o.relock_progress_m:
            st.alt_active = False
            self._lock(t, s, d, events)

    def _lock(self, t: float, s: float, d: float, events: list[Event]) -> None:
        st = self._st
        st.phase = _ON
        st.s = st.s_peak = s
        st.d = d
        st.t_peak = t
        st.speed_t, st.speed_s = t, s
        self._cover(s)
        events.append(Started(epoch_s=t, route_m=s))

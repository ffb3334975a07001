"""Off course: where the runner left the route, where they rejoin it, and what the excursion cost."""

from __future__ import annotations

import math

from . import steps
from ._core import Core
from .events import AlertWithdrawn, BackOnCourse, Event, NeverRejoined, Phase
from .options import REJOIN_BACK_COST

__all__ = ["Excursion"]

_ON = Phase.ON


class Excursion(Core):
    """The ``suspect`` and ``off`` bookkeeping of :class:`~offcourse.detect.Monitor`."""

    def _estimate_exit(self, t: float, x: float, y: float) -> None:
        st, o = self._st, self.options
        chosen = None
        for rec in reversed(st.ring):
            if rec[4] <= o.exit_offset_m:
                chosen = rec
                break
        if chosen is None:
            chosen = st.ring[0] if st.ring else (t, x, y, st.s, st.d, st.odo_m, st.climb_m)
        st.exit_t, st.exit_x, st.exit_y, st.exit_s = chosen[0], chosen[1], chosen[2], chosen[3]
        st.exit_odo, st.exit_climb, st.exit_d = chosen[5], chosen[6], chosen[4]

    def _while_off(self, t: float, x: float, y: float, dt: float, grow: float, events: list[Event]) -> None:
        st, o = self._st, self.options
        off_thr, back_thr = self._thresholds(grow)
        if st.back_count == 0:
            passes = self.index.passes_near(x, y, off_thr)
            nearest = min((p[1] for p in passes), default=math.inf)
            if nearest > back_thr:
                st.d = nearest if passes else self._offset_anywhere(x, y, st.d)
                st.max_off_m = max(st.max_off_m, st.d)
                return
            # among the passes about as near as the nearest (laps of one loop, out-and-back), the one
            # nearest the exit along the route; going back costs a little more than going on
            passes = [p for p in passes if p[1] <= nearest + back_thr]
            s, d, _ = min(
                passes, key=lambda p: p[0] - st.exit_s if p[0] >= st.exit_s else REJOIN_BACK_COST * (st.exit_s - p[0])
            )
            st.back_count = 1
            st.back_since_t = t
            st.back_s, st.back_x, st.back_y = s, x, y
            st.back_odo, st.back_climb, st.back_d = st.odo_m, st.climb_m, d
            st.d = d
            return
        # around where the runner came back, and ahead as far as they may have run since (sparse fixes:
        # a fix a minute later is a few hundred metres on)
        ahead = steps.reach_m(o.window_ahead_m, o.max_speed_mps, t - st.back_since_t)
        s, d, _ = self.index.nearest_in_window(x, y, st.back_s - o.window_ahead_m, st.back_s + ahead)
        st.d = d
        if d > back_thr:
            st.back_count = 0
            st.max_off_m = max(st.max_off_m, d)
            return
        st.back_count += 1
        if st.back_count >= o.min_back_on_fixes and t - st.back_since_t >= o.min_back_on_time_s:
            if abs(st.back_s - st.exit_s) > o.rejoin_near_m and not self._rejoins_far_away(s):
                return  # crossing another part of the route, or running it back towards the exit: still off
            sigma = steps.error_sigma(st.noise_ms, math.nan)
            # the same evidence as hindsight's (offcourse.findings): progress went on at the runner's
            # pace, and the detour the fixes drew was never paid for in time
            drawn = max(st.back_odo - st.exit_odo, 0.0) + st.exit_d + st.back_d
            if steps.ran_on(
                st.exit_s, st.exit_t, st.back_s, st.back_since_t, st.off_since_t, st.speed_mps, sigma
            ) and steps.detour_unpaid(st.back_s - st.exit_s, st.back_since_t - st.exit_t, drawn, st.speed_mps):
                events.append(
                    AlertWithdrawn(
                        epoch_s=t,
                        alert_epoch_s=st.alert_t,
                        exit_epoch_s=st.exit_t,
                        exit_route_m=st.exit_s,
                        rejoin_route_m=st.back_s,
                        max_offset_m=st.max_off_m,
                    )
                )
            else:
                self._emit_back_on(st.back_since_t, st.back_s, st.back_x, st.back_y, events, now=t)
            st.phase = _ON
            st.s = s
            st.s_peak = max(s, st.exit_s) if s >= st.exit_s else s
            st.t_peak = t
            st.cur_lo, st.cur_hi = min(st.back_s, s), max(st.back_s, s)
            st.speed_t, st.speed_s = t, s

    def _rejoins_far_away(self, s: float) -> bool:
        """Back on a part of the route far from the exit: only once the runner follows it.

        Forward along it for ``relock_progress_m``; or backwards for ``wrong_way_min_m`` on a part
        before the exit (the runner came back to where they had been and runs it the wrong way).
        A runner who crosses the route, or runs another leg back towards where they left it, is
        still off course.
        """
        st, o = self._st, self.options
        moved = s - st.back_s
        return moved >= o.relock_progress_m or (moved <= -o.wrong_way_min_m and st.back_s < st.exit_s)

    def _offset_anywhere(self, x: float, y: float, last: float) -> float:
        g = self.index.nearest_global(x, y, max_radius_m=steps.anywhere_radius(last))
        return steps.far_offset(math.inf if g is None else g[1], -math.inf, last)

    def _emit_back_on(
        self, rejoin_t: float, rejoin_s: float, rx: float, ry: float, events: list[Event], now: float | None = None
    ) -> None:
        st = self._st
        odo = st.back_odo if st.back_count else st.odo_m
        climb = st.back_climb if st.back_count else st.climb_m
        back_d = st.back_d if st.back_count else st.d
        # from the route to the exit fix, the fixes off the route, and from the rejoin fix onto the route
        distance = max(odo - st.exit_odo, 0.0) + st.exit_d + back_d
        route_d = rejoin_s - st.exit_s
        extra = distance - route_d
        duration = rejoin_t - st.exit_t
        # the runner left the route before the exit fix and reached it after the rejoin fix
        duration += (st.exit_d + back_d) / st.speed_mps if st.speed_mps > 0 else 0.0
        time_lost = duration - route_d / st.speed_mps if st.speed_mps > 0 else duration
        extra_climb = (climb - st.exit_climb) - self.index.ascent_between(st.exit_s, rejoin_s)
        elon, elat = self.route.projection.inverse([st.exit_x, rx], [st.exit_y, ry])
        events.append(
            BackOnCourse(
                epoch_s=rejoin_t if now is None else now,
                exit_epoch_s=st.exit_t,
                alert_epoch_s=st.alert_t,
                rejoin_epoch_s=rejoin_t,
                exit_route_m=st.exit_s,
                rejoin_route_m=rejoin_s,
                max_offset_m=st.max_off_m,
                distance_m=distance,
                extra_distance_m=extra,
                time_lost_s=time_lost,
                extra_climb_m=extra_climb,
                exit_lon=float(elon[0]),
                exit_lat=float(elat[0]),
                rejoin_lon=float(elon[1]),
                rejoin_lat=float(elat[1]),
            )
        )

    def _never_rejoined(self) -> NeverRejoined:
        st = self._st
        elon, elat = self.route.projection.inverse([st.exit_x], [st.exit_y])
        return NeverRejoined(
            epoch_s=st.t,
            exit_epoch_s=st.exit_t,
            alert_epoch_s=st.alert_t,
            exit_route_m=st.exit_s,
            max_offset_m=st.max_off_m,
            distance_m=st.odo_m - st.exit_odo + st.exit_d,
            exit_lon=float(elon[0]),
            exit_lat=float(elat[0]),
        )

"""The state machine of the alert engine: :class:`Monitor` (see :mod:`offcourse.detect`)."""

from __future__ import annotations

import math
from datetime import tzinfo
from typing import Any

import numpy as np
import numpy.typing as npt

from ..geometry import valid_position
from ..match import RouteIndex
from ..model import Route
from . import _kernel
from .events import (
    Event,
    Finished,
    Fix,
    OffCourse,
    Phase,
    SkippedSection,
    WrongDirection,
    WrongDirectionEnd,
)
from .excursion import Excursion
from .inputs import epoch_seconds
from .options import (
    BACKWARDS_SHARE,
    EVIDENCE_H,
    TIME_JUMP_S,
    Options,
)
from .start import BeforeTheStart
from .state import MonitorState, decode, encode
from .steps import (
    accuracy_growth,
    burst_s,
    correlation_time,
    cover,
    error_sigma,
    evidence,
    evidence_weight,
    jump_ok,
    learn_noise,
    odometer,
    plausible,
    reach_m,
    running_speed,
    smooth,
    thresholds,
    usable,
    usable_time,
)

__all__ = ["Monitor"]

_NAN = float("nan")
# the phases as module names: the per-fix path compares them often
_WAITING, _ON, _SUSPECT, _OFF, _FINISHED = Phase.WAITING, Phase.ON, Phase.SUSPECT, Phase.OFF, Phase.FINISHED


def _number(v: Any) -> float:
    """A fix's field as a float; ``None`` or anything that is not a number (a JSON null) is NaN."""
    try:
        return float(v)
    except (TypeError, ValueError, OverflowError):
        return _NAN


class Monitor(BeforeTheStart, Excursion):
    """Streaming off-course detector for one runner on one route.

    Parameters
    ----------
    route : Route
        The official route (its projection is reused for every fix).
    options : Options, optional
    index : RouteIndex, optional
        A prepared index, to share one between many monitors of the same route.
    tz : tzinfo, optional
        The zone of fix times given without one (naive ``datetime`` or ISO strings); without it
        such a time is an :class:`~offcourse.errors.InvalidFixError`.
    approach_events : bool
        Before the start, raise :class:`NotOnRoute` events ("not on the route yet, 2.1 km away"),
        at most once a minute or when the distance changed by a fifth. Off by default: a
        recording checked after the run needs none. :attr:`approach` always has the figures.
    """

    def __init__(
        self,
        route: Route,
        options: Options | None = None,
        *,
        index: RouteIndex | None = None,
        tz: tzinfo | None = None,
        approach_events: bool = False,
    ) -> None:
        self.route = route
        self.options = options or Options()
        self.index = index or RouteIndex(route)
        self.tz = tz
        self.approach_events = approach_events
        self._st = MonitorState()
        self._reach_m = float(np.max(np.hypot(route.x, route.y)))  # the route's reach from its centre

    # -- public -------------------------------------------------------------------------------
    @property
    def phase(self) -> str:
        """``waiting`` (before the start), ``on``, ``suspect``, ``off`` or ``finished``."""
        return self._st.phase

    @property
    def route_m(self) -> float:
        """Current progress along the route, metres (frozen at the exit while off course)."""
        return self._st.s

    @property
    def offset_m(self) -> float:
        """Distance of the last fix from its pass of the route, metres."""
        return self._st.d

    @property
    def ignored_fixes(self) -> int:
        """Fixes ignored: out of time order, duplicated, without a valid position, or spikes."""
        return self._st.ignored

    @property
    def ignored_by_reason(self) -> dict[str, int]:
        """:attr:`ignored_fixes` by reason: ``out_of_order``, ``duplicate_time``, ``no_time``,
        ``no_position``, ``spike``, ``time_outlier`` (a fix stamped later than the ones after it)."""
        return dict(self._st.ignored_by_reason)

    @property
    def distance_m(self) -> float:
        """Jitter-filtered distance covered by all accepted fixes, metres."""
        return self._st.odo_m

    def push(self, fix: Fix) -> list[Event]:
        """Process one fix; returns the events it raises (usually none).

        Raises
        ------
        InvalidFixError
            The fix's time has no zone and the monitor none either; or, before the start, its
            longitude and latitude look swapped.
        """
        t = fix.epoch_s
        if type(t) is not float:
            t = epoch_seconds(t, self.tz)
        lon, lat = _number(fix.lon), _number(fix.lat)
        if valid_position(lon, lat):
            if self._st.phase == _WAITING:
                self._refuse_swapped(lon, lat)
            x, y = self.route.projection.forward_one(lon, lat)
        else:
            x = y = _NAN
        return self._push_xy(t, x, y, _number(fix.ele_m), _number(fix.hacc_m))

    def push_projected(
        self, epoch_s: float, x: float, y: float, ele_m: float = _NAN, hacc_m: float = _NAN
    ) -> list[Event]:
        """:meth:`push` for a fix already in the route's projection (metres); ``x = NaN`` means no position.

        Batch work projects a whole track at once and pushes its fixes here; the events are the
        same as with :meth:`push`.
        """
        return self._push_xy(epoch_s, x, y, ele_m, hacc_m)

    def push_arrays(
        self,
        epoch_s: npt.ArrayLike,
        x: npt.ArrayLike,
        y: npt.ArrayLike,
        ele_m: npt.ArrayLike | None = None,
        hacc_m: npt.ArrayLike | None = None,
        *,
        compiled: bool | None = None,
    ) -> list[Event]:
        """:meth:`push_projected` for whole arrays of fixes (batch work); returns all their events.

        The events and the final state are exactly those of pushing the fixes one by one. With
        ``compiled`` (default: when numba is installed and there are at least
        :data:`COMPILED_MIN_FIXES` fixes, or :data:`COMPILED_LOADED_MIN_FIXES` once the kernel is
        loaded in the process) the fixes where nothing happens run through the compiled path of
        :mod:`offcourse.detect._kernel`; the engine takes every other fix.
        """
        return _kernel.push_arrays(self, epoch_s, x, y, ele_m, hacc_m, compiled=compiled)

    def _push_xy(self, t: float, x: float, y: float, ele: float, hacc: float, hold: bool = True) -> list[Event]:
        st = self._st
        if st.pending is not None:
            return self._after_held(t, x, y, ele, hacc)
        if not usable(t, x, y) or t <= st.t:  # False while st.t is NaN
            return self._refuse(t)
        if hold and t - st.t > TIME_JUMP_S:
            st.pending = (t, x, y, ele, hacc)
            return []
        o = self.options
        if st.phase != _WAITING and math.isfinite(st.t):
            if jump_ok(x, y, st.x, st.y, t - st.t, o.max_speed_mps, st.speed_mps, o.spike_slack_m):
                st.spike_t = _NAN
            elif self._is_spike(t, x, y):
                return self._ignore("spike")
        grow = accuracy_growth(hacc, o.accuracy_floor_m)
        dt = t - st.t if math.isfinite(st.t) else 0.0
        if dt > TIME_JUMP_S:
            # a clock jump (a fix later than TIME_JUMP_S, held and then accepted) says nothing of the
            # time the runner took: one usual fix interval of the error model (the compiled path never
            # sees one)
            dt = st.interval_s
        st.kx, st.ky, st.kvx, st.kvy, st.p00, st.p01, st.p11 = smooth(
            st.kx, st.ky, st.kvx, st.kvy, st.p00, st.p01, st.p11, x, y, dt, st.step_ms
        )
        st.odo_m, st.anchor_x, st.anchor_y, st.climb_m, st.climb_anchor = odometer(
            st.odo_m, st.anchor_x, st.anchor_y, st.climb_m, st.climb_anchor, st.kx, st.ky, ele, o.jitter_m,
            o.jitter_noise_gain, st.noise_ms,
        )  # fmt: skip
        st.n_fixes += 1
        events: list[Event] = []
        if st.phase == _WAITING:
            self._acquire(t, x, y, events)
            if self.approach_events and st.phase == _WAITING:
                self._maybe_not_on_route(t, x, y, events)
        elif st.phase in (_ON, _SUSPECT):
            self._follow(t, x, y, dt, grow, hacc, events)
        elif st.phase == _OFF:
            self._while_off(t, x, y, dt, grow, events)
        st.t, st.x, st.y = t, x, y
        st.ring.append((t, x, y, st.s, st.d, st.odo_m, st.climb_m))
        return events

    def _after_held(self, t: float, x: float, y: float, ele: float, hacc: float) -> list[Event]:
        """A fix late by more than TIME_JUMP_S is held: this fix's time tells whether the clock jumped
        (this one is later still) or that one was stamped in the future (this one is earlier)."""
        st = self._st
        held = st.pending
        if held is None or not usable_time(t) or t <= st.t:
            return self._refuse(t)
        st.pending = None
        if t < held[0]:
            self._ignore("time_outlier")
            return self._push_xy(t, x, y, ele, hacc)
        events = self._push_xy(*held, hold=False)
        return events + self._push_xy(t, x, y, ele, hacc)

    def _refuse(self, t: float) -> list[Event]:
        """Ignore a fix :func:`~offcourse.detect.steps.usable` refused, or one not after the last."""
        st = self._st
        if not usable_time(t):
            return self._ignore("no_time")
        if t <= st.t:
            return self._ignore("duplicate_time" if t == st.t else "out_of_order")
        return self._ignore("no_position")

    def _ignore(self, reason: str) -> list[Event]:
        st = self._st
        st.ignored += 1
        st.ignored_by_reason[reason] += 1
        return []

    def close(self) -> list[Event]:
        """End of the recording; returns the events that closing raises.

        An open wrong-way section ends (:class:`WrongDirectionEnd`); a runner still off course gives
        :class:`NeverRejoined`; a runner who stopped at the finish line without reaching the end of
        the route (one lap short), or left the route there and never came back, gives
        :class:`SkippedSection` for the part not run.
        """
        st = self._st
        events: list[Event] = []
        if st.pending is not None:  # the recording ends on a late fix: nothing says its time is wrong
            held, st.pending = st.pending, None
            events += self._push_xy(*held, hold=False)
        if st.wrong_way:
            self._end_wrong_way(st.t, events)
        L = self.index.length_m
        short = L - st.s_peak >= self.options.skip_min_m
        if st.phase == _ON and short and self._at_the_finish_line(st.x, st.y):
            # the runner stopped where the route ends without running its last part (a missed lap)
            events.append(self._skipped_to_the_end())
        elif st.phase == _OFF and short and self._at_the_finish_line(st.exit_x, st.exit_y):
            # left the route at the finish line a lap short and never came back: the missed lap,
            # and what follows is the cool-down, not an excursion
            events.append(self._skipped_to_the_end())
        elif st.phase == _OFF:
            events.append(self._never_rejoined())
        self._flush_cover()
        return events

    def _skipped_to_the_end(self) -> SkippedSection:
        st = self._st
        L = self.index.length_m
        return SkippedSection(
            epoch_s=st.t, start_epoch_s=st.t_peak, from_route_m=st.s_peak, to_route_m=L, length_m=L - st.s_peak
        )

    # -- save and restore --------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything the monitor knows, as strict-JSON-ready data (no NaN, no infinity).

        The format, version 2, is documented field by field in :mod:`offcourse.detect.state`.
        """
        return encode(self._st, self.route, self.index.length_m, self.options)

    @classmethod
    def restore(
        cls,
        route: Route,
        state: dict[str, Any],
        *,
        index: RouteIndex | None = None,
        tz: tzinfo | None = None,
        approach_events: bool = False,
    ) -> Monitor:
        """A monitor that continues exactly where the saved one stopped.

        Raises
        ------
        InvalidStateError
            The state is from another route, of an unknown version, or has a missing, unknown or
            bad field (a subclass of :class:`~offcourse.errors.InvalidTrackError`).
        """
        length_m = float(route.cum_m[-1]) if index is None else index.length_m
        options, st = decode(state, route, length_m)
        m = cls(route, options, index=index, tz=tz, approach_events=approach_events)
        m._st = st
        return m

    # -- internals ----------------------------------------------------------------------------
    def _follow(self, t: float, x: float, y: float, dt: float, grow: float, hacc: float, events: list[Event]) -> None:
        st, o = self._st, self.options
        off_thr, back_thr = thresholds(
            o.off_threshold_m, o.back_on_threshold_m, grow, o.noise_gain, st.noise_ms, o.noise_floor_m
        )
        ahead = reach_m(o.window_ahead_m, o.max_speed_mps, dt)
        # the current progress anchors the continuity cost: a runner who stands still stays put
        s_pred = st.s
        if st.wrong_way:
            lo, hi = st.s - ahead, st.s + o.window_back_m
        else:
            lo, hi = st.s - o.window_back_m, st.s + ahead
        fw, bw = (
            (o.continuity_back_weight, o.continuity_weight)
            if st.wrong_way
            else (
                o.continuity_weight,
                o.continuity_back_weight,
            )
        )
        # going forward, the distance the runner's pace takes them since the last fix costs nothing:
        # with a fix a minute apart the runner is a few hundred metres on, not where they were
        band = 0.0 if st.wrong_way else st.speed_mps * dt
        s, d, _ = self.index.nearest_in_window(x, y, lo, hi, s_pred, fw, bw, band)
        last_d, st.d = st.d, d
        if st.phase == _ON:
            if d <= off_thr:
                st.noise_ms, st.step_ms, st.interval_s = learn_noise(
                    st.noise_ms, st.step_ms, st.interval_s, d, last_d, dt, o.back_on_threshold_m, o.noise_time_s
                )
                self._progress(t, s, events)
                if st.phase != _ON:
                    return
                backwards = self._backwards_evidence()
                if backwards or d > back_thr:
                    self._seek_other_part(t, x, y, dt, back_thr, events, moving_back=backwards)
                else:
                    st.alt_active = False  # plainly on the expected pass: forget any other part
                return
            # first fix off: suspect; estimate where the runner left
            st.phase = _SUSPECT
            st.off_since_t = t
            st.off_count = 1
            if st.ww_detour:  # still on the detour that began beside the runner's own leg: same exit
                st.max_off_m = max(st.max_off_m, d)
            else:
                st.max_off_m = d
                self._estimate_exit(t, x, y)
            st.cusum = self._evidence(0.0, t, x, y, d, dt, off_thr, hacc, self._beside(x, y, off_thr))
            self._seek_other_part(t, x, y, dt, back_thr, events, moving_back=False, far_off=True)
            return
        # suspect
        if d <= back_thr:
            st.phase = _ON
            st.alt_active = False
            self._progress(t, s, events)
            return
        if self._seek_other_part(t, x, y, dt, back_thr, events, moving_back=False, far_off=d > off_thr):
            return
        beside = self._beside(x, y, off_thr) if d > off_thr else False
        if d > off_thr:
            st.off_count += 1
            st.max_off_m = max(st.max_off_m, d)
        st.cusum = self._evidence(st.cusum, t, x, y, d, dt, off_thr, hacc, beside)
        # no alert while the runner is on another part of the route (a skip or a wrong way is being
        # decided), nor on a fix back below the off threshold, nor on one within the off threshold of
        # another part of the route (beside it, or turned back along it: not off the route; the search
        # for another part follows them, and such a fix is no evidence of leaving)
        if (
            d > off_thr
            and st.cusum >= EVIDENCE_H
            and t - st.off_since_t >= o.min_off_time_s
            and st.off_count >= o.min_off_fixes
            and not st.alt_active
            and not beside
        ):
            st.phase = _OFF
            st.alert_t = t
            st.back_count = 0
            self._flush_cover()
            elon, elat = self.route.projection.inverse([st.exit_x], [st.exit_y])
            events.append(
                OffCourse(
                    epoch_s=t,
                    exit_epoch_s=st.exit_t,
                    exit_route_m=st.exit_s,
                    offset_m=d,
                    exit_lon=float(elon[0]),
                    exit_lat=float(elat[0]),
                )
            )

    def _beside(self, x: float, y: float, off_thr: float) -> bool:
        """Is (x, y) within ``off_thr`` of some part of the route (by definition not off it)?"""
        return bool(self.index.passes_near(x, y, off_thr))

    def _evidence(
        self,
        cusum: float,
        t: float,
        x: float,
        y: float,
        d: float,
        dt: float,
        off_thr: float,
        hacc: float,
        beside: bool,
    ) -> float:
        """The CUSUM after a suspect fix (see :data:`~offcourse.detect.options.EVIDENCE_H`); a fix
        ``beside`` another part of the route adds none."""
        st = self._st
        sigma = error_sigma(st.noise_ms, hacc)
        counts = not beside and (
            plausible(x, y, st.exit_x, st.exit_y, t - st.exit_t, st.speed_mps, sigma)
            or t - st.off_since_t >= burst_s(st.noise_ms, st.step_ms, st.interval_s)
        )
        weight = evidence_weight(dt, correlation_time(st.noise_ms, st.step_ms, st.interval_s))
        return evidence(cusum, d, off_thr, sigma, counts, weight)

    def _progress(self, t: float, s: float, events: list[Event]) -> None:
        """The runner is on the route at ``s``: move progress, watch direction and the finish."""
        st, o = self._st, self.options
        st.s = s
        st.cur_lo, st.cur_hi = cover(st.cur_lo, st.cur_hi, s)
        if st.wrong_way:
            if s < st.ww_from:
                st.ww_from = min(st.ww_from, s)
            if s - st.ww_from >= o.wrong_way_min_m:
                self._end_wrong_way(t, events)
                st.s_peak, st.t_peak = s, t
            return
        if s >= st.s_peak:
            st.s_peak, st.t_peak = s, t
        elif st.s_peak - s >= o.wrong_way_min_m:
            st.wrong_way = True
            st.ww_start_t = st.t_peak
            st.ww_from = s
            st.ww_odo = st.odo_m
            events.append(WrongDirection(epoch_s=t, start_epoch_s=st.t_peak, from_route_m=st.s_peak))
            st.alt_active = False
        st.speed_mps, st.speed_t, st.speed_s = running_speed(st.speed_mps, st.speed_t, st.speed_s, t, s)
        if s >= self.index.length_m - o.finish_radius_m and st.phase == _ON:
            st.phase = _FINISHED
            self._flush_cover()
            events.append(Finished(epoch_s=t, route_m=s))

    def _end_wrong_way(self, t: float, events: list[Event]) -> None:
        st = self._st
        st.wrong_way = st.ww_detour = False
        top = st.s_peak
        events.append(
            WrongDirectionEnd(
                epoch_s=t,
                start_epoch_s=st.ww_start_t,
                from_route_m=st.ww_from,
                to_route_m=top,
                distance_m=st.odo_m - st.ww_odo,
            )
        )

    def _at_the_finish_line(self, x: float, y: float) -> bool:
        if not math.isfinite(x):
            return False
        end = self.index.length_m - self.options.finish_radius_m
        return any(p[0] >= end for p in self.index.passes_near(x, y, self.options.finish_radius_m))

    def _backwards_evidence(self) -> bool:
        st = self._st
        return st.wrong_way or st.s_peak - st.s >= BACKWARDS_SHARE * self.options.wrong_way_min_m

    def _seek_other_part(
        self,
        t: float,
        x: float,
        y: float,
        dt: float,
        back_thr: float,
        events: list[Event],
        *,
        moving_back: bool,
        far_off: bool = False,
    ) -> bool:
        """Is the runner moving along another part of the route? Follow them there once it is certain.

        Returns True when the monitor relocked (the caller's fix is consumed).
        """
        st, o = self._st, self.options
        if not st.alt_active:
            here = st.s
            others = [p for p in self.index.passes_near(x, y, back_thr) if abs(p[0] - here) > o.window_back_m]
            if not others:
                return False
            s, _, _ = min(others, key=lambda p: p[1])
            st.alt_active, st.alt_s, st.alt_start_s, st.alt_start_t = True, s, s, t
            st.alt_start_odo = st.odo_m
            # distance run back along the current pass since its peak: the runner joined the other
            # part of the route that much earlier
            st.alt_back_m = 0.0 if st.wrong_way else max(st.s_peak - st.s, 0.0)
            return False
        # either way along the other part, as far as the runner may have gone since the last fix
        reach = reach_m(o.window_ahead_m, o.max_speed_mps, dt)
        s, d, _ = self.index.nearest_in_window(x, y, st.alt_s - reach, st.alt_s + reach)
        if d > back_thr:
            st.alt_active = False
            return False
        st.alt_s = s
        moved = s - st.alt_start_s
        sure = t - st.alt_start_t >= o.relock_time_s and abs(moved) >= o.relock_progress_m
        # off the expected pass and moving forward along another part: follow sooner
        quick = far_off and t - st.alt_start_t >= o.relock_quick_time_s and moved >= o.relock_quick_progress_m
        if not (sure or quick):
            return False
        if moving_back and moved < 0:
            # the other part runs the same way: no better explanation than the current pass; start
            # afresh, so that this evidence is not used later for another decision
            st.alt_active = False
            return False
        st.alt_active = False
        joined = st.alt_start_s - st.alt_back_m if moved > 0 else st.alt_start_s + st.alt_back_m
        self._relock(t, joined, s, moved > 0, events)
        return True

    def _relock(self, t: float, s_from: float, s_now: float, forward: bool, events: list[Event]) -> None:
        """Follow the runner onto another part of the route, reaching it at ``s_from``, now at ``s_now``."""
        st, o = self._st, self.options
        was_off = st.phase == _OFF
        was_suspect = st.phase == _SUSPECT
        rejoined = False
        if forward and st.wrong_way and st.ww_detour and st.exit_s + o.skip_min_m <= s_from < st.ww_from:
            # the runner left their leg, ran another leg of the route back beside it, and now joins
            # their own leg again further on: one excursion from the exit, not a wrong-way section
            st.wrong_way = st.ww_detour = False
            # the distance counts up to where the runner reached their leg, not up to now
            st.back_count, st.back_odo, st.back_climb, st.back_d = 1, st.alt_start_odo, st.climb_m, 0.0
            self._flush_cover()
            self._emit_back_on(st.alt_start_t, s_from, st.x, st.y, events, now=t)
            st.back_count = 0
            was_off = rejoined = True
        if st.wrong_way:
            self._end_wrong_way(t, events)
        self._flush_cover()
        if was_off and not rejoined:
            self._emit_back_on(t, s_from, st.back_x if math.isfinite(st.back_x) else st.x, st.y, events)
        if forward:
            for lo, hi in self.uncovered(o.skip_min_m):
                a, b = max(lo, min(st.s_peak, s_from)), min(hi, s_from)
                if b - a >= o.skip_min_m and not was_off:
                    events.append(
                        SkippedSection(
                            epoch_s=t, start_epoch_s=st.alt_start_t, from_route_m=a, to_route_m=b, length_m=b - a
                        )
                    )
            st.phase = _ON
            st.s = st.s_peak = s_now
            st.t_peak = t
        else:
            st.phase = _ON
            st.s = s_now
            st.s_peak = s_from
            st.t_peak = st.alt_start_t
            st.wrong_way = True
            st.ww_start_t = st.alt_start_t
            st.ww_from = s_now
            st.ww_odo = st.alt_start_odo
            st.ww_detour = was_suspect
            if was_suspect:
                st.alert_t = t
            events.append(WrongDirection(epoch_s=t, start_epoch_s=st.alt_start_t, from_route_m=s_from))
        st.cur_lo, st.cur_hi = min(s_from, s_now), max(s_from, s_now)
        st.speed_t, st.speed_s = t, st.s

"""The streaming alert engine: push one fix at a time, get typed events back.

:class:`Monitor` follows the runner's progress along the route (via
:class:`~offcourse.match.RouteIndex`) and runs a small state machine::

    waiting ──(near the start)──▶ on ──(offset > off threshold)──▶ suspect
                                  ▲                                   │
                                  │ (offset ≤ back-on threshold)      │ (off for min_off_time_s
                                  └───────────────────────────────────┤  and min_off_fixes)
                                  ▲                                   ▼
                                  └──(back within back-on threshold ── off
                                       for min_back_on_time_s/fixes)

Hysteresis: a fix counts as off only above ``off_threshold_m`` and as back on
only at or below ``back_on_threshold_m``; both grow by the amount a fix's
horizontal accuracy exceeds ``accuracy_floor_m``.

Besides leaving the route, the monitor notices two course errors made on the
route's own geometry: running it the wrong way (progress falling by more than
``wrong_way_min_m``), and skipping part of it (the runner is found, for
``relock_time_s`` and ``relock_progress_m``, moving along another part of the
route, more than ``skip_min_m`` ahead of everything covered so far).

The monitor does no I/O, keeps memory independent of the track's length and
imports neither the CLI nor any plotting library. Its whole state is
:meth:`Monitor.state` (a JSON-serialisable dict); :meth:`Monitor.restore`
continues exactly where it stopped.

Fixes that are out of time order, duplicated in time, or without a valid
position are ignored and counted in :attr:`Monitor.ignored_fixes`: a companion
app may push whatever the receiver gives.

Examples
--------
>>> import numpy as np
>>> from offcourse.model import Route
>>> from offcourse.project import LocalProjection
>>> p = LocalProjection(7.0, 46.0)
>>> lon, lat = p.inverse(np.array([0.0, 2000.0]), np.array([0.0, 0.0]))
>>> m = Monitor(Route.from_arrays(lon=lon, lat=lat, projection=p))
>>> def at(t, x, y):
...     lo, la = p.inverse(np.array([x]), np.array([y]))
...     return Fix(float(t), float(lo[0]), float(la[0]))
>>> [type(e).__name__ for t in range(0, 200) for e in m.push(at(t, 3.0 * t, 0.0 if t < 100 else 3.0 * (t - 100)))]
['Started', 'OffCourse']
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .errors import InvalidTrackError
from .match import RouteIndex
from .model import Route

__all__ = [
    "BackOnCourse",
    "Event",
    "Finished",
    "Fix",
    "Monitor",
    "NeverRejoined",
    "OffCourse",
    "Options",
    "SkippedSection",
    "Started",
    "WrongDirection",
    "WrongDirectionEnd",
]

_NAN = float("nan")

COMPILED_MIN_FIXES = 5000
""":meth:`Monitor.push_arrays` uses the compiled path (when numba is installed) from this many fixes."""


@dataclass(frozen=True, slots=True)
class Fix:
    """One position from the receiver. ``epoch_s`` is UTC seconds since the Unix epoch."""

    epoch_s: float
    lon: float
    lat: float
    ele_m: float = _NAN
    hacc_m: float = _NAN


@dataclass(frozen=True)
class Options:
    """Detector settings. Units are in the names; defaults are tuned on the benchmark's tuning seeds.

    Attributes
    ----------
    off_threshold_m : float
        A fix farther than this from its pass of the route counts as off.
    back_on_threshold_m : float
        A fix this near the route (or nearer) counts as back on (hysteresis: below the off threshold).
    min_off_time_s, min_off_fixes :
        The alert is raised once fixes have been off for this long and this many.
    min_back_on_time_s, min_back_on_fixes :
        Back on course once fixes have been back on for this long and this many.
    rejoin_near_m : float
        A rejoin farther than this along the route from the exit also needs the runner to follow
        that part of the route (``relock_progress_m`` forward): a wrong trail that merely crosses
        the course elsewhere is not a rejoin.
    accuracy_floor_m : float
        When a fix reports a horizontal accuracy worse than this, both thresholds grow by the excess.
    max_speed_mps : float
        Faster apparent movement from the last accepted fix marks a fix as a spike (ignored unless
        the next fix confirms the new place).
    spike_slack_m : float
        Distance allowed on top of ``max_speed_mps`` before a jump is a spike.
    window_back_m, window_ahead_m : float
        The part of the route searched around the current progress (plus ``max_speed_mps`` times
        the time since the last fix ahead).
    continuity_weight, continuity_back_weight : float
        Metres of offset traded per metre of distance ahead of (behind) the expected progress when
        choosing between passes in the window: keeps switchback legs apart and the runner on the
        return leg after the turn of an out-and-back.
    start_zone_m : float
        The route is acquired when a fix is within the back-on threshold of its first ``start_zone_m``;
        elsewhere only once the runner has moved forward along it for ``relock_time_s``.
    finish_radius_m : float
        Progress this near the end of the route, on course and in the right direction, is the finish.
    skip_min_m : float
        A jump forward over at least this much uncovered route is a skipped section.
    wrong_way_min_m : float
        Progress falling by this much while on the route is running it the wrong way.
    relock_time_s, relock_progress_m : float
        Evidence needed before following the runner onto another part of the route.
    relock_quick_time_s, relock_quick_progress_m : float
        Less evidence, enough when the runner is off the expected pass and moves forward along
        another part of the route.
    noise_gain, noise_floor_m, noise_time_s : float
        The off threshold grows by ``noise_gain`` times the RMS offset of the fixes on the route over
        the last ``noise_time_s`` seconds, less ``noise_floor_m``: under canopy the threshold rises
        with the noise it must ignore.
    exit_offset_m : float
        After the fact, the runner left the route at the last fix nearer than this before the alert.
    jitter_m, jitter_noise_gain : float
        Distances are counted only in steps of at least ``jitter_m``, or ``jitter_noise_gain`` times
        the RMS offset of the fixes on the route when that is more: summing every noisy step
        over-counts, and the noisier the fixes the more it does.
    """

    off_threshold_m: float = 50.0
    back_on_threshold_m: float = 25.0
    min_off_time_s: float = 4.0
    min_off_fixes: int = 2
    min_back_on_time_s: float = 5.0
    min_back_on_fixes: int = 3
    rejoin_near_m: float = 600.0
    accuracy_floor_m: float = 15.0
    max_speed_mps: float = 12.0
    spike_slack_m: float = 40.0
    window_back_m: float = 60.0
    window_ahead_m: float = 120.0
    continuity_weight: float = 0.3
    continuity_back_weight: float = 1.0
    start_zone_m: float = 500.0
    finish_radius_m: float = 100.0
    skip_min_m: float = 200.0
    wrong_way_min_m: float = 150.0
    relock_time_s: float = 30.0
    relock_progress_m: float = 60.0
    relock_quick_time_s: float = 10.0
    relock_quick_progress_m: float = 20.0
    exit_offset_m: float = 15.0
    noise_gain: float = 4.5
    noise_floor_m: float = 25.0
    noise_time_s: float = 60.0
    jitter_m: float = 8.0
    jitter_noise_gain: float = 2.5

    def __post_init__(self) -> None:
        if not self.back_on_threshold_m < self.off_threshold_m:
            raise ValueError("back_on_threshold_m must be less than off_threshold_m (hysteresis)")
        if not self.noise_time_s > 0:
            raise ValueError("noise_time_s must be > 0")
        for f in fields(self):
            v = getattr(self, f.name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{f.name} must be a finite number >= 0, not {v!r}")


# -- events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """Base class of every event. ``epoch_s`` is when the event was raised (UTC seconds)."""

    kind: ClassVar[str] = "event"
    epoch_s: float

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-ready dict with its ``kind``."""
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class Started(Event):
    """The runner was found on the route, ``route_m`` from its start."""

    kind: ClassVar[str] = "started"
    route_m: float


@dataclass(frozen=True)
class OffCourse(Event):
    """The alert: the runner has left the route."""

    kind: ClassVar[str] = "off_course"
    exit_epoch_s: float
    """When the runner left the route (estimated from the fixes before the alert)."""
    exit_route_m: float
    offset_m: float
    exit_lon: float
    exit_lat: float


@dataclass(frozen=True)
class BackOnCourse(Event):
    """The runner is back on the route; what the excursion cost."""

    kind: ClassVar[str] = "back_on_course"
    exit_epoch_s: float
    alert_epoch_s: float
    rejoin_epoch_s: float
    exit_route_m: float
    rejoin_route_m: float
    max_offset_m: float
    distance_m: float
    """Distance covered off the route, exit to rejoin (jitter-filtered)."""
    extra_distance_m: float
    """``distance_m`` minus the route distance from exit to rejoin (negative for a shortcut)."""
    time_lost_s: float
    extra_climb_m: float
    exit_lon: float
    exit_lat: float
    rejoin_lon: float
    rejoin_lat: float


@dataclass(frozen=True)
class NeverRejoined(Event):
    """The recording ended while the runner was off course (raised by :meth:`Monitor.close`)."""

    kind: ClassVar[str] = "never_rejoined"
    exit_epoch_s: float
    alert_epoch_s: float
    exit_route_m: float
    max_offset_m: float
    distance_m: float
    exit_lon: float
    exit_lat: float


@dataclass(frozen=True)
class WrongDirection(Event):
    """The runner is running the route the wrong way, starting ``from_route_m``."""

    kind: ClassVar[str] = "wrong_direction"
    start_epoch_s: float
    from_route_m: float


@dataclass(frozen=True)
class WrongDirectionEnd(Event):
    """The runner runs the right way again; the section between the two distances was run backwards."""

    kind: ClassVar[str] = "wrong_direction_end"
    start_epoch_s: float
    from_route_m: float
    to_route_m: float
    distance_m: float


@dataclass(frozen=True)
class SkippedSection(Event):
    """Part of the route was skipped while the runner stayed on route geometry."""

    kind: ClassVar[str] = "skipped_section"
    start_epoch_s: float
    from_route_m: float
    to_route_m: float
    length_m: float


@dataclass(frozen=True)
class Finished(Event):
    """The runner reached the end of the route."""

    kind: ClassVar[str] = "finished"
    route_m: float


def _number(v: Any) -> float:
    """A fix's field as a float; ``None`` or anything that is not a number (a JSON null) is NaN."""
    try:
        return float(v)
    except (TypeError, ValueError, OverflowError):
        return _NAN


def _valid_position(lon: float, lat: float) -> bool:
    """A usable position: finite, in range, and not the receiver's (0, 0) before it has a fix."""
    return (
        math.isfinite(lon)
        and math.isfinite(lat)
        and abs(lat) <= 90
        and abs(lon) <= 180
        and not (lon == 0.0 and lat == 0.0)
    )


# -- state --------------------------------------------------------------------------------------

_RING = 240  # recent fixes kept to estimate where the runner left the route
_SPEED_WINDOW_MAX_S = 600.0  # the running speed (for time lost) is measured over windows of 120 s to this


@dataclass
class _State:
    phase: str = "waiting"  # waiting | on | suspect | off | finished
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
    speed_mps: float = 3.0  # recent on-route progress speed, for time lost
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
    # recent fixes: (t, x, y, s, d, odo, climb)
    ring: deque[tuple[float, float, float, float, float, float, float]] = field(
        default_factory=lambda: deque(maxlen=_RING)
    )


class Monitor:
    """Streaming off-course detector for one runner on one route.

    Parameters
    ----------
    route : Route
        The official route (its projection is reused for every fix).
    options : Options, optional
    index : RouteIndex, optional
        A prepared index, to share one between many monitors of the same route.
    """

    def __init__(self, route: Route, options: Options | None = None, *, index: RouteIndex | None = None) -> None:
        self.route = route
        self.options = options or Options()
        self.index = index or RouteIndex(route)
        self._st = _State()

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
    def distance_m(self) -> float:
        """Jitter-filtered distance covered by all accepted fixes, metres."""
        return self._st.odo_m

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

    def push(self, fix: Fix) -> list[Event]:
        """Process one fix; returns the events it raises (usually none)."""
        lon, lat = _number(fix.lon), _number(fix.lat)
        if _valid_position(lon, lat):
            x, y = self.route.projection.forward_one(lon, lat)
        else:
            x = y = _NAN
        return self._push_xy(_number(fix.epoch_s), x, y, _number(fix.ele_m), _number(fix.hacc_m))

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
        :data:`COMPILED_MIN_FIXES` fixes) the fixes where nothing happens run through the compiled
        path of :mod:`offcourse._fast`; the engine takes every other fix.
        """
        T = np.ascontiguousarray(epoch_s, dtype=np.float64)
        n = len(T)
        X = np.ascontiguousarray(x, dtype=np.float64)
        Y = np.ascontiguousarray(y, dtype=np.float64)
        E = np.full(n, _NAN) if ele_m is None else np.ascontiguousarray(ele_m, dtype=np.float64)
        H = np.full(n, _NAN) if hacc_m is None else np.ascontiguousarray(hacc_m, dtype=np.float64)
        if not (len(X) == len(Y) == len(E) == len(H) == n):
            raise ValueError("push_arrays: the arrays differ in length")
        events: list[Event] = []
        o = self.options
        if compiled is None:
            compiled = n >= COMPILED_MIN_FIXES
        if compiled:
            from . import _fast

            compiled = _fast.available() and o.continuity_weight > 0 and o.continuity_back_weight > 0
        if not compiled:
            for t, xi, yi, ele, hacc in zip(T.tolist(), X.tolist(), Y.tolist(), E.tolist(), H.tolist(), strict=True):
                events.extend(self._push_xy(t, xi, yi, ele, hacc))
            return events
        from . import _fast

        idx = self.index
        seg = (idx.ax, idx.ay, idx.dx, idx.dy, idx.seg_len, idx.cum)
        opts = np.array([float(getattr(o, name)) for name in _fast.OPTION_FIELDS])
        cols = (T, X, Y, E, H)
        out = np.empty((n, 4))
        sv = np.empty(len(_fast.STATE_FIELDS))
        st = self._st
        i = 0
        while i < n:
            if st.phase == "on" and not st.wrong_way and not st.alt_active and math.isfinite(st.t):
                for k, name in enumerate(_fast.STATE_FIELDS):
                    sv[k] = getattr(st, name)
                j = _fast.follow_run(sv, opts, seg, idx.length_m, cols, i, out)
                if j > i:
                    for k, name in enumerate(_fast.STATE_FIELDS):
                        setattr(st, name, float(sv[k]))
                    st.n_fixes = int(sv[-1])
                    a = max(i, j - _RING)
                    st.ring.extend(
                        zip(
                            T[a:j].tolist(),
                            X[a:j].tolist(),
                            Y[a:j].tolist(),
                            out[a:j, 0].tolist(),
                            out[a:j, 1].tolist(),
                            out[a:j, 2].tolist(),
                            out[a:j, 3].tolist(),
                            strict=True,
                        )
                    )
                    i = j
                    if i >= n:
                        break
            events.extend(self._push_xy(float(T[i]), float(X[i]), float(Y[i]), float(E[i]), float(H[i])))
            i += 1
        return events

    def _push_xy(self, t: float, x: float, y: float, ele: float, hacc: float) -> list[Event]:
        st = self._st
        o = self.options
        if not math.isfinite(t) or (math.isfinite(st.t) and t <= st.t):
            st.ignored += 1
            return []
        if not (math.isfinite(x) and math.isfinite(y)):
            st.ignored += 1
            return []
        if st.phase != "waiting" and math.isfinite(st.t) and self._is_spike(t, x, y):
            st.ignored += 1
            return []
        grow = max(0.0, hacc - o.accuracy_floor_m) if math.isfinite(hacc) else 0.0
        dt = t - st.t if math.isfinite(st.t) else 0.0
        self._odometer(x, y, ele)
        st.n_fixes += 1
        events: list[Event] = []
        if st.phase == "waiting":
            self._acquire(t, x, y, events)
        elif st.phase in ("on", "suspect"):
            self._follow(t, x, y, dt, grow, events)
        elif st.phase == "off":
            self._while_off(t, x, y, dt, grow, events)
        st.t, st.x, st.y = t, x, y
        st.ring.append((t, x, y, st.s, st.d, st.odo_m, st.climb_m))
        return events

    def close(self) -> list[Event]:
        """End of the recording; returns the events that closing raises.

        An open wrong-way section ends (:class:`WrongDirectionEnd`); a runner still off course gives
        :class:`NeverRejoined`; a runner who stopped at the finish line without reaching the end of
        the route (one lap short), or left the route there and never came back, gives
        :class:`SkippedSection` for the part not run.
        """
        st = self._st
        events: list[Event] = []
        if st.wrong_way:
            self._end_wrong_way(st.t, events)
        L = self.index.length_m
        short = L - st.s_peak >= self.options.skip_min_m
        if st.phase == "on" and short and self._at_the_finish_line(st.x, st.y):
            # the runner stopped where the route ends without running its last part (a missed lap)
            events.append(SkippedSection(st.t, st.t_peak, st.s_peak, L, L - st.s_peak))
        elif st.phase == "off" and short and self._at_the_finish_line(st.exit_x, st.exit_y):
            # left the route at the finish line a lap short and never came back: the missed lap,
            # and what follows is the cool-down, not an excursion
            events.append(SkippedSection(st.t, st.t_peak, st.s_peak, L, L - st.s_peak))
        elif st.phase == "off":
            elon, elat = self.route.projection.inverse([st.exit_x], [st.exit_y])
            distance = st.odo_m - st.exit_odo + st.exit_d
            events.append(
                NeverRejoined(
                    st.t, st.exit_t, st.alert_t, st.exit_s, st.max_off_m, distance, float(elon[0]), float(elat[0])
                )
            )
        self._flush_cover()
        return events

    # -- save and restore --------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything the monitor knows, as a JSON-serialisable dict (floats may be NaN)."""
        st = self._st
        data = {f.name: getattr(st, f.name) for f in fields(st)}
        data["covered"] = [list(iv) for iv in st.covered]
        data["ring"] = [list(r) for r in st.ring]
        return {
            "version": 1,
            "route_length_m": self.index.length_m,
            "route_vertices": len(self.route),
            "options": asdict(self.options),
            "state": data,
        }

    @classmethod
    def restore(cls, route: Route, state: dict[str, Any], *, index: RouteIndex | None = None) -> Monitor:
        """A monitor that continues exactly where the saved one stopped.

        Raises
        ------
        InvalidTrackError
            The state is from another route or another version.
        """
        if state.get("version") != 1:
            raise InvalidTrackError("saved monitor state has an unknown version")
        if (
            len(route) != state.get("route_vertices")
            or abs(float(state.get("route_length_m", -1)) - float(route.cum_m[-1])) > 1e-6
        ):
            raise InvalidTrackError("saved monitor state belongs to another route")
        m = cls(route, Options(**state["options"]), index=index)
        data = dict(state["state"])
        ring = data.pop("ring")
        covered = data.pop("covered")
        st = _State(**data)
        st.covered = [list(map(float, iv)) for iv in covered]
        st.ring = deque((tuple(float(v) for v in r) for r in ring), maxlen=_RING)  # type: ignore[misc]
        m._st = st
        return m

    # -- internals ----------------------------------------------------------------------------
    def _is_spike(self, t: float, x: float, y: float) -> bool:
        st, o = self._st, self.options
        ex, ey = x - st.x, y - st.y
        # sqrt of squares, not hypot: the compiled batch path (offcourse._fast) gives the same bits
        dist = math.sqrt(ex * ex + ey * ey)
        if dist <= o.max_speed_mps * (t - st.t) + o.spike_slack_m:
            st.spike_t = _NAN
            return False
        # a jump: accept it only when the next fix confirms the new place
        if math.isfinite(st.spike_t) and math.hypot(x - st.spike_x, y - st.spike_y) <= (
            o.max_speed_mps * (t - st.spike_t) + o.spike_slack_m
        ):
            st.spike_t = _NAN
            return False
        st.spike_t, st.spike_x, st.spike_y = t, x, y
        return True

    def _odometer(self, x: float, y: float, ele: float) -> None:
        st, o = self._st, self.options
        if not math.isfinite(st.anchor_x):
            st.anchor_x, st.anchor_y = x, y
        else:
            ex, ey = x - st.anchor_x, y - st.anchor_y
            step = math.sqrt(ex * ex + ey * ey)
            if step >= max(o.jitter_m, o.jitter_noise_gain * math.sqrt(st.noise_ms)):
                st.odo_m += step
                st.anchor_x, st.anchor_y = x, y
        if math.isfinite(ele):
            if not math.isfinite(st.climb_anchor):
                st.climb_anchor = ele
            elif ele - st.climb_anchor >= 5.0:
                st.climb_m += ele - st.climb_anchor
                st.climb_anchor = ele
            elif ele < st.climb_anchor:
                st.climb_anchor = ele

    def _thresholds(self, grow: float) -> tuple[float, float]:
        o = self.options
        noisy = max(0.0, o.noise_gain * math.sqrt(self._st.noise_ms) - o.noise_floor_m)
        return o.off_threshold_m + grow + noisy, o.back_on_threshold_m + grow

    def _learn_noise(self, d: float, dt: float) -> None:
        """Offsets while on the route measure the GPS error (and the drawing's bias) right now."""
        st = self._st
        a = 1.0 - math.exp(-max(dt, 0.0) / self.options.noise_time_s)
        if d > self.options.back_on_threshold_m:
            return  # only fixes plainly on the route: a runner drifting away must not raise the bar
        st.noise_ms += a * (d * d - st.noise_ms)

    # coverage of the route
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
        if not math.isfinite(st.cur_lo):
            st.cur_lo = st.cur_hi = s
        else:
            st.cur_lo = min(st.cur_lo, s)
            st.cur_hi = max(st.cur_hi, s)

    def _flush_cover(self) -> None:
        st = self._st
        if math.isfinite(st.cur_lo):
            st.covered = self._intervals()
            st.cur_lo = st.cur_hi = _NAN

    # phases
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
        st.phase = "on"
        st.s = st.s_peak = s
        st.d = d
        st.t_peak = t
        st.speed_t, st.speed_s = t, s
        self._cover(s)
        events.append(Started(t, s))

    def _follow(self, t: float, x: float, y: float, dt: float, grow: float, events: list[Event]) -> None:
        st, o = self._st, self.options
        off_thr, back_thr = self._thresholds(grow)
        ahead = o.window_ahead_m + o.max_speed_mps * dt
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
        s, d, _ = self.index.nearest_in_window(x, y, lo, hi, s_pred, fw, bw)
        st.d = d
        if st.phase == "on":
            if d <= off_thr:
                self._learn_noise(d, dt)
                self._progress(t, s, events)
                if st.phase != "on":
                    return
                backwards = self._backwards_evidence()
                if backwards or d > back_thr:
                    self._seek_other_part(t, x, y, back_thr, events, moving_back=backwards)
                else:
                    st.alt_active = False  # plainly on the expected pass: forget any other part
                return
            # first fix off: suspect; estimate where the runner left
            st.phase = "suspect"
            st.off_since_t = t
            st.off_count = 1
            if st.ww_detour:  # still on the detour that began beside the runner's own leg: same exit
                st.max_off_m = max(st.max_off_m, d)
            else:
                st.max_off_m = d
                self._estimate_exit(t, x, y)
            self._seek_other_part(t, x, y, back_thr, events, moving_back=False, far_off=True)
            return
        # suspect
        if d <= back_thr:
            st.phase = "on"
            st.alt_active = False
            self._progress(t, s, events)
            return
        if self._seek_other_part(t, x, y, back_thr, events, moving_back=False, far_off=d > off_thr):
            return
        if d > off_thr:
            st.off_count += 1
            st.max_off_m = max(st.max_off_m, d)
        # no alert while the runner is on another part of the route (a skip or a wrong way is being
        # decided), nor on a fix back below the off threshold
        if (
            d > off_thr
            and t - st.off_since_t >= o.min_off_time_s
            and st.off_count >= o.min_off_fixes
            and not st.alt_active
        ):
            st.phase = "off"
            st.alert_t = t
            st.back_count = 0
            self._flush_cover()
            elon, elat = self.route.projection.inverse([st.exit_x], [st.exit_y])
            events.append(OffCourse(t, st.exit_t, st.exit_s, d, float(elon[0]), float(elat[0])))

    def _progress(self, t: float, s: float, events: list[Event]) -> None:
        """The runner is on the route at ``s``: move progress, watch direction and the finish."""
        st, o = self._st, self.options
        st.s = s
        self._cover(s)
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
            events.append(WrongDirection(t, st.t_peak, st.s_peak))
            st.alt_active = False
        if t - st.speed_t >= 120.0:
            moved = s - st.speed_s
            if moved > 0 and t - st.speed_t <= _SPEED_WINDOW_MAX_S:  # not across a long stop or a clock jump
                st.speed_mps = 0.5 * st.speed_mps + 0.5 * moved / (t - st.speed_t)
            st.speed_t, st.speed_s = t, s
        if s >= self.index.length_m - o.finish_radius_m and st.phase == "on":
            st.phase = "finished"
            self._flush_cover()
            events.append(Finished(t, s))

    def _end_wrong_way(self, t: float, events: list[Event]) -> None:
        st = self._st
        st.wrong_way = st.ww_detour = False
        top = st.s_peak
        events.append(WrongDirectionEnd(t, st.ww_start_t, st.ww_from, top, st.odo_m - st.ww_odo))

    def _at_the_finish_line(self, x: float, y: float) -> bool:
        if not math.isfinite(x):
            return False
        end = self.index.length_m - self.options.finish_radius_m
        return any(p[0] >= end for p in self.index.passes_near(x, y, self.options.finish_radius_m))

    def _backwards_evidence(self) -> bool:
        st = self._st
        return st.wrong_way or st.s_peak - st.s >= 0.2 * self.options.wrong_way_min_m

    def _seek_other_part(
        self,
        t: float,
        x: float,
        y: float,
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
        s, d, _ = self.index.nearest_in_window(x, y, st.alt_s - o.window_ahead_m, st.alt_s + o.window_ahead_m)
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
        was_off = st.phase == "off"
        was_suspect = st.phase == "suspect"
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
                    events.append(SkippedSection(t, st.alt_start_t, a, b, b - a))
            st.phase = "on"
            st.s = st.s_peak = s_now
            st.t_peak = t
        else:
            st.phase = "on"
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
            events.append(WrongDirection(t, st.alt_start_t, s_from))
        st.cur_lo, st.cur_hi = min(s_from, s_now), max(s_from, s_now)
        st.speed_t, st.speed_s = t, st.s

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
            s, d, _ = min(passes, key=lambda p: p[0] - st.exit_s if p[0] >= st.exit_s else 1.5 * (st.exit_s - p[0]))
            st.back_count = 1
            st.back_since_t = t
            st.back_s, st.back_x, st.back_y = s, x, y
            st.back_odo, st.back_climb, st.back_d = st.odo_m, st.climb_m, d
            st.d = d
            return
        s, d, _ = self.index.nearest_in_window(x, y, st.back_s - o.window_ahead_m, st.back_s + o.window_ahead_m)
        st.d = d
        if d > back_thr:
            st.back_count = 0
            st.max_off_m = max(st.max_off_m, d)
            return
        st.back_count += 1
        if st.back_count >= o.min_back_on_fixes and t - st.back_since_t >= o.min_back_on_time_s:
            if abs(st.back_s - st.exit_s) > o.rejoin_near_m and not self._rejoins_far_away(s):
                return  # crossing another part of the route, or running it back towards the exit: still off
            self._emit_back_on(st.back_since_t, st.back_s, st.back_x, st.back_y, events, now=t)
            st.phase = "on"
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
        g = self.index.nearest_global(x, y, max_radius_m=max(4.0 * last, 1000.0))
        return g[1] if g is not None else max(last, 4.0 * last)

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
                rejoin_t if now is None else now,
                st.exit_t,
                st.alert_t,
                rejoin_t,
                st.exit_s,
                rejoin_s,
                st.max_off_m,
                distance,
                extra,
                time_lost,
                extra_climb,
                float(elon[0]),
                float(elat[0]),
                float(elon[1]),
                float(elat[1]),
            )
        )

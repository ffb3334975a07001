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
:meth:`Monitor.state` (strict JSON, versioned, tied to its route: see
:mod:`offcourse.detect.state`); :meth:`Monitor.restore` continues exactly where it
stopped, and refuses any other state with an :class:`~offcourse.errors.InvalidStateError`.

Fixes that are out of time order, duplicated in time, or without a valid
position are ignored and counted in :attr:`Monitor.ignored_fixes` (by reason in
:attr:`Monitor.ignored_by_reason`): a companion app may push whatever the receiver
gives. A fix stamped more than five minutes after the last is held until the next
one: if that is earlier, the stamp was wrong (a clock glitch, a GPS week rollover)
and the fix is dropped as a ``time_outlier``; otherwise the clock jumped and both
are taken. Times may be numbers, aware datetimes or ISO 8601 strings.

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

The package is cut along its reasons to change: :mod:`~offcourse.detect.options` (the settings and
every named heuristic), :mod:`~offcourse.detect.events` (what the engine says),
:mod:`~offcourse.detect.inputs` (what an app pushes: times, swapped coordinates),
:mod:`~offcourse.detect.state` (what it saves, versioned and validated),
:mod:`~offcourse.detect.steps` (the per-fix arithmetic, written once), the state machine in
:mod:`~offcourse.detect.monitor` with its parts :mod:`~offcourse.detect.start` (before the start)
and :mod:`~offcourse.detect.excursion` (off course) on a shared base
(:mod:`~offcourse.detect._core`), and :mod:`~offcourse.detect._kernel` (the compiled path, built
from the same steps).
"""

from __future__ import annotations

from .events import (
    AlertWithdrawn,
    BackOnCourse,
    Event,
    EventKind,
    Finished,
    Fix,
    NeverRejoined,
    NotOnRoute,
    OffCourse,
    Phase,
    SkippedSection,
    Started,
    WrongDirection,
    WrongDirectionEnd,
)
from .monitor import Monitor
from .options import COMPILED_LOADED_MIN_FIXES, COMPILED_MIN_FIXES, Options

__all__ = [
    "AlertWithdrawn",
    "BackOnCourse",
    "COMPILED_LOADED_MIN_FIXES",
    "COMPILED_MIN_FIXES",
    "Event",
    "EventKind",
    "Finished",
    "Fix",
    "Monitor",
    "NeverRejoined",
    "NotOnRoute",
    "OffCourse",
    "Options",
    "Phase",
    "SkippedSection",
    "Started",
    "WrongDirection",
    "WrongDirectionEnd",
]

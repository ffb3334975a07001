"""What the engine tells its caller: the fix it takes in and the events it raises.

Every event is a frozen, keyword-only dataclass with ``epoch_s`` (when it was raised, UTC seconds)
and a ``kind`` (an :class:`EventKind`, a ``str`` enum whose values are the JSON strings). Build them
by keyword: ``Started(epoch_s=t, route_m=s)``.

>>> Started(epoch_s=10.0, route_m=0.0).to_dict()
{'kind': 'started', 'epoch_s': 10.0, 'route_m': 0.0}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

__all__ = [
    "AlertWithdrawn",
    "BackOnCourse",
    "Event",
    "EventKind",
    "Finished",
    "Fix",
    "NeverRejoined",
    "NotOnRoute",
    "OffCourse",
    "Phase",
    "SkippedSection",
    "Started",
    "WrongDirection",
    "WrongDirectionEnd",
]

_NAN = float("nan")


class Phase(StrEnum):
    """Where the runner is in the engine's state machine (the value is the saved string)."""

    def __repr__(self) -> str:
        # shown as the plain string it equals (a list of kinds prints as ['started', ...])
        return repr(self.value)

    WAITING = "waiting"
    """Before the route is found."""
    ON = "on"
    SUSPECT = "suspect"
    """At least one fix off; no alert yet."""
    OFF = "off"
    """Alerted: off course."""
    FINISHED = "finished"


class EventKind(StrEnum):
    """The ``kind`` of each event, as written in JSON."""

    def __repr__(self) -> str:
        # shown as the plain string it equals (a list of kinds prints as ['started', ...])
        return repr(self.value)

    EVENT = "event"
    STARTED = "started"
    OFF_COURSE = "off_course"
    BACK_ON_COURSE = "back_on_course"
    NEVER_REJOINED = "never_rejoined"
    WRONG_DIRECTION = "wrong_direction"
    WRONG_DIRECTION_END = "wrong_direction_end"
    SKIPPED_SECTION = "skipped_section"
    FINISHED = "finished"
    NOT_ON_ROUTE = "not_on_route"
    ALERT_WITHDRAWN = "alert_withdrawn"


@dataclass(frozen=True, slots=True)
class Fix:
    """One position from the receiver.

    ``epoch_s`` is UTC seconds since the Unix epoch, an aware :class:`~datetime.datetime`, or an
    ISO 8601 string (a naive time needs the zone given to the :class:`~offcourse.detect.Monitor`).
    """

    epoch_s: float | datetime | str
    lon: float
    lat: float
    ele_m: float = _NAN
    hacc_m: float = _NAN


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base class of every event. ``epoch_s`` is when the event was raised (UTC seconds)."""

    kind: ClassVar[EventKind] = EventKind.EVENT
    epoch_s: float

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-ready dict with its ``kind``."""
        return {"kind": self.kind.value, **asdict(self)}


@dataclass(frozen=True, kw_only=True)
class Started(Event):
    """The runner was found on the route, ``route_m`` from its start ("joined the route at km K")."""

    kind: ClassVar[EventKind] = EventKind.STARTED
    route_m: float


@dataclass(frozen=True, kw_only=True)
class OffCourse(Event):
    """The alert: the runner has left the route."""

    kind: ClassVar[EventKind] = EventKind.OFF_COURSE
    exit_epoch_s: float
    """When the runner left the route (estimated from the fixes before the alert)."""
    exit_route_m: float
    offset_m: float
    exit_lon: float
    exit_lat: float


@dataclass(frozen=True, kw_only=True)
class BackOnCourse(Event):
    """The runner is back on the route; what the excursion cost."""

    kind: ClassVar[EventKind] = EventKind.BACK_ON_COURSE
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


@dataclass(frozen=True, kw_only=True)
class AlertWithdrawn(Event):
    """The last :class:`OffCourse` alert was the receiver's error, not the runner: "false alarm, you are on course".

    Raised instead of :class:`BackOnCourse` when the fixes come back to the route within
    :data:`~offcourse.detect.options.BURST_MAX_S` of the first fix off, where running on along the
    route at the runner's pace all the while would have taken them (see
    :func:`~offcourse.detect.steps.ran_on`), and the detour the fixes drew was never paid for in time
    (:func:`~offcourse.detect.steps.detour_unpaid`, the evidence hindsight uses too): the excursion never
    happened and costs nothing.
    """

    kind: ClassVar[EventKind] = EventKind.ALERT_WITHDRAWN
    alert_epoch_s: float
    """When the alert now withdrawn was raised."""
    exit_epoch_s: float
    exit_route_m: float
    rejoin_route_m: float
    """Where the fixes came back to the route."""
    max_offset_m: float
    """The largest offset of the fixes while the alert stood."""


@dataclass(frozen=True, kw_only=True)
class NeverRejoined(Event):
    """The recording ended while the runner was off course (raised by :meth:`Monitor.close`)."""

    kind: ClassVar[EventKind] = EventKind.NEVER_REJOINED
    exit_epoch_s: float
    alert_epoch_s: float
    exit_route_m: float
    max_offset_m: float
    distance_m: float
    exit_lon: float
    exit_lat: float


@dataclass(frozen=True, kw_only=True)
class WrongDirection(Event):
    """The runner is running the route the wrong way, starting ``from_route_m``."""

    kind: ClassVar[EventKind] = EventKind.WRONG_DIRECTION
    start_epoch_s: float
    from_route_m: float


@dataclass(frozen=True, kw_only=True)
class WrongDirectionEnd(Event):
    """The runner runs the right way again; the section between the two distances was run backwards."""

    kind: ClassVar[EventKind] = EventKind.WRONG_DIRECTION_END
    start_epoch_s: float
    from_route_m: float
    to_route_m: float
    distance_m: float


@dataclass(frozen=True, kw_only=True)
class SkippedSection(Event):
    """Part of the route was skipped while the runner stayed on route geometry."""

    kind: ClassVar[EventKind] = EventKind.SKIPPED_SECTION
    start_epoch_s: float
    from_route_m: float
    to_route_m: float
    length_m: float


@dataclass(frozen=True, kw_only=True)
class Finished(Event):
    """The runner reached the end of the route."""

    kind: ClassVar[EventKind] = EventKind.FINISHED
    route_m: float


@dataclass(frozen=True, kw_only=True)
class NotOnRoute(Event):
    """Before the start: the runner is not on the route yet.

    Raised only by a monitor made with ``approach_events=True`` (an app showing "2.1 km from the
    route"), at most once a minute or when the distance changed by a fifth; the same figures are
    always available as :attr:`Monitor.approach <offcourse.detect.Monitor.approach>`.
    """

    kind: ClassVar[EventKind] = EventKind.NOT_ON_ROUTE
    distance_m: float
    """Distance to the nearest point of the route (``inf`` when farther than the search reaches)."""
    bearing_deg: float
    """Direction from the runner to that point, degrees clockwise from grid north (NaN when unknown)."""
    route_m: float
    """Where that point is along the route (NaN when unknown)."""
    to_start_m: float
    """Straight-line distance to the route's start."""

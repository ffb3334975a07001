"""The findings people read: one :class:`Excursion` per course error, and what goes beside them.

Part of the report step (pipeline read → project → match → detect → report):
:func:`offcourse.report.check` runs the live engine and takes its events as excursions
(:func:`live_excursions`, and the alerts it withdrew, :func:`live_withdrawn`); hindsight
(:mod:`offcourse.coverage`) then confirms, withdraws and joins them (:mod:`offcourse.review`). Here
too: the route the findings bypassed (:func:`cut_sections`, for the verdict) and the warnings said
beside them (:func:`more_warnings`). The pauses are :mod:`offcourse.timeline`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .coverage import Coverage
from .detect import (
    AlertWithdrawn,
    BackOnCourse,
    Event,
    NeverRejoined,
    SkippedSection,
    WrongDirection,
    WrongDirectionEnd,
)
from .intervals import complement, merge
from .model import Route, Track
from .timeline import Pause
from .verdict import START_TOLERANCE_M

__all__ = [
    "Excursion",
    "cut_sections",
    "live_excursions",
    "live_withdrawn",
    "more_warnings",
]

EXACTLY_ON_M = 0.5
"""Every fix this near the route: no receiver is that exact, the recording is a drawing of the route."""
IGNORED_WARN_SHARE = 0.01
"""Ignored fixes are a warning from this share of the recording (or from 10 fixes)."""


@dataclass(frozen=True, kw_only=True)
class Excursion:
    """One course error. Times are UTC seconds; ``None`` where it does not apply or never happened.

    ``max_offset_m`` is the distance to the *nearest* part of the route (what the runner was
    really off); ``expected_offset_m`` the offset from the part of the route the live engine
    expected the runner on. A ``shortcut`` (left the route and came back further on having run
    less than the route) has ``route_bypassed_m`` and ``distance_saved_m`` and no time lost.
    ``alert_epoch_s`` is when the live engine alerted; ``None`` when it did not (found in hindsight).
    ``withdrawn_epoch_s`` (only in :attr:`Report.withdrawn`) is when the live engine withdrew its
    alert (:class:`~offcourse.detect.AlertWithdrawn`); ``None`` when hindsight withdrew it.
    """

    kind: str  # off_course | shortcut | wrong_direction | skipped_section
    start_epoch_s: float
    exit_route_m: float
    alert_epoch_s: float | None = None
    end_epoch_s: float | None = None
    rejoin_route_m: float | None = None
    max_offset_m: float | None = None
    distance_m: float | None = None
    extra_distance_m: float | None = None
    time_lost_s: float | None = None
    extra_climb_m: float | None = None
    exit_lonlat: tuple[float, float] | None = None
    rejoin_lonlat: tuple[float, float] | None = None
    expected_offset_m: float | None = None
    route_bypassed_m: float | None = None
    distance_saved_m: float | None = None
    withdrawn_epoch_s: float | None = None


def live_excursions(events: list[Event]) -> list[Excursion]:
    """The live engine's findings as excursions, in the order it raised them."""
    out: list[Excursion] = []
    wrong: WrongDirection | None = None
    for e in events:
        if isinstance(e, BackOnCourse):
            out.append(
                Excursion(
                    kind="off_course",
                    start_epoch_s=e.exit_epoch_s,
                    alert_epoch_s=e.alert_epoch_s,
                    end_epoch_s=e.rejoin_epoch_s,
                    exit_route_m=e.exit_route_m,
                    rejoin_route_m=e.rejoin_route_m,
                    max_offset_m=e.max_offset_m,
                    distance_m=e.distance_m,
                    extra_distance_m=e.extra_distance_m,
                    time_lost_s=e.time_lost_s,
                    extra_climb_m=e.extra_climb_m,
                    exit_lonlat=(e.exit_lon, e.exit_lat),
                    rejoin_lonlat=(e.rejoin_lon, e.rejoin_lat),
                )
            )
        elif isinstance(e, NeverRejoined):
            out.append(
                Excursion(
                    kind="off_course",
                    start_epoch_s=e.exit_epoch_s,
                    alert_epoch_s=e.alert_epoch_s,
                    exit_route_m=e.exit_route_m,
                    max_offset_m=e.max_offset_m,
                    distance_m=e.distance_m,
                    exit_lonlat=(e.exit_lon, e.exit_lat),
                )
            )
        elif isinstance(e, WrongDirection):
            wrong = e
        elif isinstance(e, WrongDirectionEnd):
            out.append(
                Excursion(
                    kind="wrong_direction",
                    start_epoch_s=e.start_epoch_s,
                    alert_epoch_s=wrong.epoch_s if wrong else e.start_epoch_s,
                    end_epoch_s=e.epoch_s,
                    exit_route_m=e.to_route_m,
                    rejoin_route_m=e.from_route_m,
                    distance_m=e.distance_m,
                )
            )
            wrong = None
        elif isinstance(e, SkippedSection):
            out.append(
                Excursion(
                    kind="skipped_section",
                    start_epoch_s=e.start_epoch_s,
                    alert_epoch_s=e.epoch_s,
                    end_epoch_s=e.epoch_s,
                    exit_route_m=e.from_route_m,
                    rejoin_route_m=e.to_route_m,
                )
            )
    return out


def live_withdrawn(events: list[Event]) -> list[tuple[Excursion, str]]:
    """The alerts the live engine withdrew (:class:`~offcourse.detect.AlertWithdrawn`), with the reason."""
    out: list[tuple[Excursion, str]] = []
    for e in events:
        if isinstance(e, AlertWithdrawn):
            exc = Excursion(
                kind="off_course",
                start_epoch_s=e.exit_epoch_s,
                alert_epoch_s=e.alert_epoch_s,
                end_epoch_s=e.epoch_s,
                exit_route_m=e.exit_route_m,
                rejoin_route_m=e.rejoin_route_m,
                max_offset_m=e.max_offset_m,
                withdrawn_epoch_s=e.epoch_s,
            )
            why = (
                f"withdrawn live: back on the route at {e.rejoin_route_m / 1000:.2f} km, where running on "
                "along it would have taken the runner (the receiver's error, not a wrong turn)"
            )
            out.append((exc, why))
    return out


def cut_sections(excursions: list[Excursion], cov: Coverage, finished: bool) -> list[tuple[float, float, str]]:
    """Route bypassed while the runner went on: skipped sections and shortcuts (hindsight finds the
    stretches nobody ran, see :func:`offcourse.coverage.hindsight`), and for a finisher the part
    of the route before a mid-route join."""
    cut = [
        (e.exit_route_m, e.rejoin_route_m or e.exit_route_m, "skipped" if e.kind == "skipped_section" else "shortcut")
        for e in excursions
        if e.kind in ("skipped_section", "shortcut")
    ]
    ran = cov.ran
    if finished and ran and ran[0][0] > START_TOLERANCE_M:
        # the part before the join that no skip already names (a runner seen at the start who skipped
        # from there is a skip, not a late join)
        named = merge([(a, min(b, ran[0][0])) for a, b, _ in cut if a < ran[0][0]])
        for a, b in complement(named, ran[0][0], START_TOLERANCE_M):
            cut.append((a, b, "joined the route at km " + f"{ran[0][0] / 1000:.1f}"))
    return sorted(cut)


def more_warnings(
    warnings: list[str],
    route: Route,
    track: Track,
    ignored: int,
    usable: int,
    nearest_m: npt.NDArray[np.float64],
    pauses: tuple[Pause, ...],
) -> None:
    """Say what was chosen or left out, rather than deciding silently."""
    if ignored and (ignored >= 10 or ignored >= IGNORED_WARN_SHARE * max(usable, 1)):
        warnings.append(
            f"{ignored} of {len(track)} fixes ignored by the engine (time going backwards or repeated, "
            "no position, or position spikes)"
        )
    kind = track.meta.kind
    if kind in ("course", "route"):
        warnings.append(f"the recording is a {kind} file (a planned route), not a recording of a run")
    near = nearest_m[np.isfinite(nearest_m)]
    if len(near) >= 20 and float(near.max()) < EXACTLY_ON_M and track.length_m() >= 0.9 * route.length_m:
        warnings.append("the recording lies exactly on the route: is it the route itself (arguments swapped)?")
    long_pauses = [p for p in pauses if p.duration_s >= 600]
    if long_pauses:
        warnings.append(
            f"{len(long_pauses)} pause(s) of 10 min or more (no fix or standing still), "
            "left out of time lost and time off course"
        )

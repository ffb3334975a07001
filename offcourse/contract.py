"""The JSON contract: a :class:`~offcourse.report.Report` as ``offcourse check --format json`` prints it.

JSON stays SI and UTC whatever the text's units and time zone: distances in metres, durations
in seconds, times ISO 8601 with the ``+00:00`` offset (``null`` when the recording has none).
The keys are described in ``docs/outputs.md``; changing them is a breaking change.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .report import Report

__all__ = ["iso_utc", "report_to_dict"]


def iso_utc(epoch_s: float | None) -> str | None:
    """ISO 8601 with the UTC offset (``+00:00``), to the recorded fraction of a second; None if unknown.

    The JSON outputs' time; text goes through :func:`offcourse.present.iso_time` (whole seconds).

    >>> iso_utc(1747472400.0), iso_utc(None)
    ('2025-05-17T09:00:00+00:00', None)
    """
    if epoch_s is None or not math.isfinite(epoch_s):
        return None
    return datetime.fromtimestamp(epoch_s, tz=UTC).isoformat()


def _r(v: float | None, nd: int = 1) -> float | None:
    return None if v is None or not math.isfinite(v) else round(v, nd)


def _pairs(ivs: tuple[tuple[float, float], ...]) -> list[list[float | None]]:
    return [[_r(a), _r(b)] for a, b in ivs]


def report_to_dict(report: Report) -> dict[str, Any]:
    """The report as the JSON object ``offcourse check --format json`` prints.

    Distances in metres, times ISO 8601 UTC (``null`` when the recording has none).
    """
    track = report.track
    times = track.epoch_s
    tk = report.times_known

    def when(v: float | None) -> str | None:
        return iso_utc(v) if tk else None

    finite = times[np.isfinite(times)]
    cov = report.coverage
    v = report.verdict
    return {
        "route": {
            "path": report.route.meta.path,
            "name": report.route.name,
            "length_m": _r(report.route.length_m),
        },
        "track": {
            "path": track.meta.path,
            "fixes": len(track),
            "start_time": iso_utc(float(finite.min())) if len(finite) else None,
            "end_time": iso_utc(float(finite.max())) if len(finite) else None,
            "distance_m": _r(report.distance_m),
            "recorded_length_m": _r(track.length_m()),
            "ignored_fixes": report.ignored_fixes,
            "times": "recorded" if tk else "none",
        },
        "summary": {
            "verdict": v.kind,
            "verdict_reason": v.reason,
            "verdict_details": list(v.details),
            "excursions": len(report.excursions),
            "extra_distance_m": _r(report.extra_distance_m),
            "time_off_course_s": _r(report.time_off_course_s) if tk else None,
            "skipped_m": _r(report.skipped_m),
            "wrong_way_m": _r(report.wrong_way_m),
            "completed": report.completed,
            "finished": report.finished,
            "covered_m": _r(report.covered_m),
            "coverage": {
                "covered_m": _r(cov.covered_m),
                "fraction": round(cov.fraction, 4),
                "first_route_m": _r(cov.first_route_m),
                "last_route_m": _r(cov.last_route_m),
                "gaps": _pairs(cov.gaps),
                "unverified": _pairs(cov.unverified),
                "backwards": _pairs(cov.backwards),
                "gap_tolerance_m": cov.gap_tolerance_m,
            },
            "race_start_time": when(report.start_epoch_s),
            "finish_time": when(report.finish_epoch_s),
            "pauses": [
                {
                    "kind": p.kind,
                    "start_time": iso_utc(p.start_epoch_s),
                    "end_time": iso_utc(p.end_epoch_s),
                    "duration_s": _r(p.duration_s, 0),
                    "route_m": _r(p.route_m),
                }
                for p in report.pauses
            ],
        },
        "warnings": list(report.warnings),
        "withdrawn_alerts": [
            {
                "alert_time": when(e.alert_epoch_s),
                "withdrawn_time": when(e.withdrawn_epoch_s),
                "withdrawn_by": "live" if e.withdrawn_epoch_s is not None else "hindsight",
                "exit_route_m": _r(e.exit_route_m),
                "expected_offset_m": _r(e.expected_offset_m),
                "max_offset_m": _r(e.max_offset_m),
                "reason": why,
            }
            for e, why in report.withdrawn
        ],
        "excursions": [
            {
                "kind": e.kind,
                "start_time": when(e.start_epoch_s),
                "alert_time": when(e.alert_epoch_s),
                "end_time": when(e.end_epoch_s),
                "exit_route_m": _r(e.exit_route_m),
                "rejoin_route_m": _r(e.rejoin_route_m),
                "max_offset_m": _r(e.max_offset_m),
                "expected_offset_m": _r(e.expected_offset_m),
                "distance_m": _r(e.distance_m),
                "extra_distance_m": _r(e.extra_distance_m),
                "route_bypassed_m": _r(e.route_bypassed_m),
                "distance_saved_m": _r(e.distance_saved_m),
                "time_lost_s": _r(e.time_lost_s, 0) if tk else None,
                "extra_climb_m": _r(e.extra_climb_m, 0),
                "exit": [round(v, 7) for v in e.exit_lonlat] if e.exit_lonlat else None,
                "rejoin": [round(v, 7) for v in e.rejoin_lonlat] if e.rejoin_lonlat else None,
            }
            for e in report.excursions
        ],
    }

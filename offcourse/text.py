r"""The report for people: ``offcourse check``'s text, in the reader's units and time zone.

Everything about how a value looks (units, durations, times, words) comes from
:mod:`offcourse.present`; this module only lays the lines out. The JSON contract is
:mod:`offcourse.contract` (always SI and UTC).

Examples
--------
>>> import numpy as np
>>> from offcourse.model import Route, Track
>>> from offcourse.project import LocalProjection
>>> from offcourse.report import check
>>> from offcourse.present import Style, Units, zone
>>> p = LocalProjection(7.0, 46.0)
>>> route = Route.from_arrays(lon=p.inverse([0.0, 3000.0], [0.0, 0.0])[0], lat=[46.0, 46.0], projection=p)
>>> t = np.arange(0.0, 1000.0)
>>> x = 3.0 * t
>>> y = np.where((x > 900) & (x < 1500), 300.0, 0.0)
>>> lon, lat = p.inverse(x, y)
>>> r = check(route, Track.from_arrays(lon=lon, lat=lat, epoch_s=1.6e9 + t))
>>> print(*excursion_lines(1, r.excursions[0], r)[0].split(": "), sep="\n")
1. Off course at km 0.90, 2020-09-13T12:31:40+00:00
up to 300 m from the route, rejoined at km 1.50 (2020-09-13T12:35:01+00:00)
>>> mi_zurich = Style(units=Units.MI, tz=zone("Europe/Zurich"))
>>> print(*excursion_lines(1, r.excursions[0], r, mi_zurich)[0].split(": "), sep="\n")
1. Off course at mile 0.56, 2020-09-13T14:31:40+02:00
up to 0.19 mi from the route, rejoined at mile 0.93 (2020-09-13T14:35:01+02:00)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .present import VERDICT_WORDS, Style, hms

if TYPE_CHECKING:
    from .report import Excursion, Report

__all__ = ["excursion_lines", "report_to_text"]


def excursion_lines(i: int, e: Excursion, report: Report, style: Style | None = None) -> list[str]:
    """The lines of finding number ``i``: what, where (with the checkpoints around it), when, what it cost."""
    s = style or Style()
    tk = report.times_known
    pos = s.route_position
    when = f", {s.time(e.start_epoch_s)}" if tk else ""
    where = s.where(report.route.checkpoints, e.exit_route_m, e.rejoin_route_m)
    near = [f"   {where}"] if where else []
    if e.kind == "off_course":
        back = (
            f"rejoined at {pos(e.rejoin_route_m)}" + (f" ({s.time(e.end_epoch_s)})" if tk else "")
            if e.rejoin_route_m is not None
            else "never came back"
        )
        lines = [
            f"{i}. Off course at {pos(e.exit_route_m)}{when}: up to {s.distance(e.max_offset_m or 0.0)} "
            f"from the route, {back}",
            *near,
        ]
        if e.extra_distance_m is not None:
            cost = f"extra distance {s.distance(e.extra_distance_m)}"
            if tk and e.time_lost_s is not None:
                cost += f", time lost {hms(e.time_lost_s)}"
            lines.append(f"   covered {s.distance(e.distance_m or 0.0)} off the route, {cost}")
        return lines
    if e.kind == "shortcut":
        return [
            f"{i}. SHORTCUT from {pos(e.exit_route_m)} to {pos(e.rejoin_route_m)}{when}: "
            f"{s.distance(e.route_bypassed_m or 0.0)} of route bypassed, {s.distance(e.distance_saved_m or 0.0)} saved "
            f"(up to {s.distance(e.max_offset_m or 0.0)} from the route)",
            *near,
        ]
    if e.kind == "wrong_direction":
        return [
            f"{i}. Wrong way from {pos(e.exit_route_m)} back to {pos(e.rejoin_route_m)}{when}: "
            f"{s.distance(e.distance_m or 0.0)} run the wrong way",
            *near,
        ]
    to_m = e.rejoin_route_m or 0.0
    return [
        f"{i}. Skipped the route from {pos(e.exit_route_m)} to {pos(to_m)} ({s.distance(to_m - e.exit_route_m)}){when}",
        *near,
    ]


def report_to_text(report: Report, style: Style | None = None) -> str:
    """A report for people: the verdict and its evidence first, then each finding.

    Parameters
    ----------
    report : Report
        What :func:`offcourse.report.check` found.
    style : Style, optional
        Units and time zone (default: kilometres and metres, UTC).
    """
    s = style or Style()
    track = report.track
    tk = report.times_known
    cov = report.coverage
    L = report.route.length_m
    times = track.epoch_s[np.isfinite(track.epoch_s)]
    span = f", {s.time(float(times.min()))} → {s.time(float(times.max()))}" if tk and len(times) else ""
    recorded = track.length_m()
    length_note = ""
    if abs(recorded - report.distance_m) > max(50.0, 0.02 * recorded):
        length_note = f" ({s.length(recorded)} as recorded; GPS jitter and spikes filtered)"
    lines = [
        f"Route   {report.route.name or report.route.meta.path}  ({s.length(L)})",
        f"Track   {track.meta.path}  ({len(track)} fixes, {s.length(report.distance_m)}{length_note}{span})",
        "",
        f"Verdict {VERDICT_WORDS.get(report.verdict.kind, report.verdict.kind)}: {report.verdict.reason_text(s)}",
    ]
    lines += [f"        also: {x}" for x in report.verdict.details_text(s)]
    covered = f"Covered {s.long(cov.covered_m):.2f} of {s.length(L)} ({100 * cov.fraction:.0f} %) in order"
    if cov.gaps:
        covered += "; not covered: " + ", ".join(s.route_span(a, b) for a, b in cov.gaps[:4])
        if len(cov.gaps) > 4:
            covered += f" and {len(cov.gaps) - 4} more"
    lines += [covered, ""]
    if not report.excursions and report.verdict.kind != "cut":
        lines.append("No excursion, shortcut, skipped or wrong-way section found.")
    for i, e in enumerate(report.excursions, 1):
        lines += excursion_lines(i, e, report, s)
    lines += [
        "",
        f"Total   {len(report.excursions)} finding(s), extra distance {s.distance(report.extra_distance_m)}"
        + (f", off course {hms(report.time_off_course_s)}" if tk else "")
        + f", route bypassed {s.distance(report.skipped_m)}",
    ]
    if report.pauses:
        total = sum(p.duration_s for p in report.pauses)
        lines.append(f"Pauses  {len(report.pauses)} ({hms(total)} in all), left out of time lost")
    for e, why in report.withdrawn:
        lines.append(f"Withdrawn: the live alert at {s.route_position(e.exit_route_m)}: {why}")
    for w in report.warnings:
        lines.append(f"Warning {w}")
    return "\n".join(lines)

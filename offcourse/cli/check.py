"""``offcourse check ROUTE TRACK`` and ``offcourse replay ROUTE TRACK``."""

from __future__ import annotations

import argparse
import os
from dataclasses import fields
from typing import Any

from ..detect import Options
from . import COMMANDS, json_text, warning_line
from ._style import add_style_flags, style_from_args

__all__ = ["options_from_args", "register"]


def _add_option_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("detector options (defaults tuned on the benchmark)")
    g.add_argument("--threshold-m", dest="off_threshold_m", type=float, help="alias of --off-threshold-m")
    for f in fields(Options):
        flag = "--" + f.name.replace("_", "-")
        kind = int if f.type in ("int", int) else float
        g.add_argument(flag, dest=f.name, type=kind, default=None, help=f"default {f.default}")


def options_from_args(args: argparse.Namespace) -> Options:
    """Options from the command line's detector flags (unset flags keep their defaults)."""
    given = {f.name: getattr(args, f.name) for f in fields(Options) if getattr(args, f.name, None) is not None}
    try:
        return Options(**given)
    except ValueError as exc:
        from ..errors import OffcourseError

        raise OffcourseError(f"bad option: {exc}") from None


def _load(args: argparse.Namespace) -> tuple[Any, Any]:
    from ..read import read_route, read_track

    route, track = read_route(args.route, track=args.route_track), read_track(args.track)
    for what in (route, track):
        for warning in what.meta.extra.get("warnings", []):  # e.g. a FIT file whose CRC is wrong
            warning_line(f"{what.meta.path}: {warning}")
    return route, track


def run_check(args: argparse.Namespace) -> int:
    options = options_from_args(args)
    if args.plot is not None:
        from ..plot import check_plot_target

        check_plot_target(args.plot)  # a bad extension fails now, not after the check
    from ..read._limits import terminal_text
    from ..report import check, report_to_dict
    from ..text import report_to_text

    route, track = _load(args)
    report = check(route, track, options)
    # the route's local zone is looked up only when times are shown (text or picture), never for JSON
    shows_times = report.times_known and (args.format == "text" or args.plot is not None)
    style = style_from_args(args, (lambda: (float(route.lon[0]), float(route.lat[0]))) if shows_times else None)
    if args.format == "json":
        print(json_text(report_to_dict(report)))
    else:
        print(terminal_text(report_to_text(report, style)))
    if args.plot is not None:
        from ..plot import plot_report

        plot_report(report, args.plot, style=style)  # from the report's own trace: the engine runs once
    return 0


def run_replay(args: argparse.Namespace) -> int:
    from ..contract import iso_utc
    from ..detect import Monitor
    from ..present import iso_time
    from ..report import check_same_place, check_timestamps, fixes_of

    options = options_from_args(args)
    route, track = _load(args)
    monitor = Monitor(route, options)
    check_timestamps(track)
    check_same_place(monitor.index, track)  # before streaming anything, as check would say

    def emit(events: list[Any]) -> None:
        for e in events:
            if args.format == "jsonl":
                print(json_text({"time": iso_utc(e.epoch_s), **e.to_dict()}, indent=None))
            else:
                detail = ", ".join(
                    f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in e.to_dict().items()
                    if k not in ("kind", "epoch_s")
                )
                print(f"{iso_time(e.epoch_s)}  {e.kind:<20} {detail}")

    for fix in fixes_of(track):
        emit(monitor.push(fix))
    emit(monitor.close())
    return 0


def register(sub: Any) -> None:
    for name, fn, help_text, formats in (
        ("check", run_check, COMMANDS["check"][1], ("text", "json")),
        ("replay", run_replay, COMMANDS["replay"][1], ("text", "jsonl")),
    ):
        p = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        p.add_argument("route", metavar="ROUTE", type=os.fsencode, help="official route (GPX, FIT course, GeoJSON...)")
        p.add_argument("track", metavar="TRACK", type=os.fsencode, help="watch recording (FIT, GPX, TCX)")
        p.add_argument("--format", choices=formats, default=formats[0], help=f"output format (default: {formats[0]})")
        p.add_argument(
            "--route-track", metavar="N", type=int, default=None,
            help="a route file with several tracks: use track N (1 = the first; 0 = all joined in file order)",
        )  # fmt: skip
        if name == "check":
            p.add_argument(
                "--plot", metavar="FILE", type=os.fsencode, default=None,
                help="also draw the route, the track and each wrong turn to FILE (.png or .svg; needs matplotlib)",
            )  # fmt: skip
            add_style_flags(p)
        _add_option_flags(p)
        p.set_defaults(run=fn)

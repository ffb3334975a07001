"""``offcourse batch ROUTE TRACKS...``: a whole race field, one row per recording.

A thin layer over :mod:`offcourse.batch`. Exit status: 0 when every row is ok, 1 when
some rows are errors (unreadable or corrupt recordings...), 2 when the route, an
option or an output is bad (nothing checked), 130 when interrupted (finished rows are
kept in the cache: run the same command again to continue).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from ..errors import OffcourseError
from . import warning_line
from .check import _add_option_flags, options_from_args

__all__ = ["register", "run_batch"]

EXIT_SOME_ERRORS = 1
CACHE_NAME = "offcourse-cache.jsonl"  # offcourse.batch.CACHE_NAME, without importing the engine for --help
EXIT_INTERRUPTED = 130
FILE_TIMEOUT_S = 600.0  # offcourse.batch.FILE_TIMEOUT_S, without importing the engine for --help


def _seconds(text: str) -> float:
    try:
        s = float(text)
    except ValueError:
        s = -1.0
    if not 0 <= s < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds (0 for no limit), got {text!r}")
    return s


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return n


def _memory_mb(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 16:
        raise argparse.ArgumentTypeError(f"expected a number of MB, at least 16, got {text!r}")
    return n


def _race_date(text: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _outputs(args: argparse.Namespace) -> list[str]:
    return [p for p in (args.csv, args.excursions_csv, args.json, args.geojson, args.html) if p is not None]


def _names(spec: str) -> Any:
    from ..batch import NAME_SOURCES, Names, read_names

    if spec in NAME_SOURCES:
        return Names(spec)
    return read_names(spec)


ROUTE_TIMED_SHARE = 0.9
"""A route with times on this share of its points, over more than a minute, looks like a recording."""


def _refuse_recorded_route(path: bytes) -> None:
    """A route that looks like a recording (times on its points) is refused unless asked for."""
    import numpy as np

    from ..read import read_file

    track = read_file(os.fsdecode(path)).track
    if track.meta.kind in ("course", "route") or not len(track):
        return
    t = track.epoch_s[np.isfinite(track.epoch_s)]
    if len(t) >= ROUTE_TIMED_SHARE * len(track) and len(t) > 1 and float(t.max() - t.min()) > 60.0:
        raise OffcourseError(
            "the route has times on its points, as a recording has: give the official route first, then "
            "the recordings (or --route-is-recording to use this recording as the route)",
            path=os.fsdecode(path),
        )


def _check_outputs(args: argparse.Namespace) -> None:
    """Fail before hours of work, not after, when an output cannot be written."""
    for out in _outputs(args):
        if os.path.isdir(out):
            raise OffcourseError("is a folder, an output must be a file", path=out)
        folder = os.path.dirname(out) or "."
        if not os.path.isdir(folder):
            raise OffcourseError("no such folder for this output", path=out)
        if not os.access(folder, os.W_OK):
            raise OffcourseError("permission denied: cannot write in this folder", path=out)


def _cache_path(args: argparse.Namespace) -> str | None:
    if args.no_cache:
        return None
    if args.cache is not None:
        return str(args.cache)
    outs = _outputs(args)
    folder = os.path.dirname(outs[0]) if outs else ""
    return os.path.join(folder or ".", CACHE_NAME)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_batch(args: argparse.Namespace) -> int:
    """Run ``offcourse batch``; returns the exit status."""
    from .. import batch as engine  # the engine's imports only for this command
    from ..present import Style, Units, route_zone, zone

    options = options_from_args(args)
    _check_outputs(args)
    try:
        tz = zone(args.tz) if args.tz else None
    except ValueError as exc:
        raise OffcourseError(str(exc)) from None
    names = _names(args.names)
    if not args.route_is_recording:
        _refuse_recorded_route(args.route)
    inputs = engine.expand_inputs(args.tracks)
    show_progress = False if args.quiet else (True if args.progress else None)
    on_row, bar = engine.tqdm_progress(len(inputs), enabled=show_progress)
    done = [0]

    def count(row: dict[str, Any], from_cache: bool) -> None:
        done[0] += 1
        on_row(row, from_cache)

    cache = _cache_path(args)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # kill: stop the workers, keep the cache
    try:
        result = engine.run_batch(
            args.route,
            inputs,
            options,
            jobs=args.jobs,
            scheduler=args.scheduler,
            cache_path=cache,
            on_row=count,
            on_warning=warning_line,
            file_timeout_s=args.file_timeout_s or None,
            route_track=args.route_track,
            names=names,
            race_date=args.date,
            tz=tz,
            worker_memory_mb=args.worker_memory_mb,
        )
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        kept = f"kept in {cache}; run the same command again to continue" if cache else "not kept (--no-cache)"
        print(f"offcourse: interrupted: {done[0]} of {len(inputs)} files done, {kept}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    if bar is not None:
        bar.close()

    rows = engine.sort_rows(result.rows)
    human = args.csv or args.excursions_csv or args.html or not args.no_table
    if tz is None and human:  # finding the zone loads the zone shapes (about a second): only when shown
        route = result.route
        tz = route_zone(float(route.lon[0]), float(route.lat[0]))
    style = Style(units=Units(args.units), tz=tz)
    bom = not args.no_bom
    if args.csv:
        engine.rows_to_csv(rows, args.csv, style=style, bom=bom)
    if args.excursions_csv:
        engine.excursions_to_csv(rows, args.excursions_csv, style=style, bom=bom)
    if args.json:
        engine.rows_to_json(result, args.json)
    if args.geojson:
        engine.rows_to_geojson(rows, args.geojson, route=result.route)
    if args.html:
        from ..html import field_page

        page = field_page(rows, result.route, title=args.title, style=style)
        engine.atomic_write_text(args.html, page)
    s = result.summary()
    if args.summary_json:
        print(json.dumps(s), file=sys.stderr)
    if not args.no_table:
        engine.print_table(rows, style=style)
    if not args.quiet:
        rate = f", {s['fixes_checked'] / s['elapsed_s']:,.0f} fixes/s" if s["elapsed_s"] > 0 else ""
        where = f"; cache: {s['cache']}" if s["cache"] else ""
        print(
            f"{engine.plural(s['files'], 'file')}: {s['ok']} ok, {engine.plural(s['errors'], 'error')}; "
            f"{s['cached']} from the cache, {s['checked']} checked in {s['elapsed_s']:.1f} s{rate}{where}",
            file=sys.stderr,
        )
    return EXIT_SOME_ERRORS if result.errors else 0


def register(sub: Any) -> None:
    """Add the ``batch`` subcommand."""
    help_text = "check every recording of a race field against the route, one row each"
    p = sub.add_parser(
        "batch",
        help=help_text,
        description=help_text[0].upper() + help_text[1:] + ".",
        epilog="Exit status: 0 every row ok, 1 some rows are errors, 2 bad route, option or output, "
        "130 interrupted (run the same command again to continue).",
    )
    p.add_argument("route", metavar="ROUTE", type=os.fsencode, help="official route (GPX, FIT course, GeoJSON...)")
    p.add_argument(
        "--route-track", metavar="N", type=int, default=None,
        help="a route file with several tracks: use track N (1 = the first; 0 = all joined in file order)",
    )  # fmt: skip
    p.add_argument(
        "tracks",
        metavar="TRACKS",
        nargs="+",
        type=os.fsencode,
        help="uploads: files, folders (searched recursively: every file gets a row), glob patterns and ZIP "
        "archives (a row per file inside); gzip or not",
    )
    run = p.add_argument_group("running")
    run.add_argument("--jobs", "-j", type=_positive, default=None, help="local worker processes (default: all cores)")
    run.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster (tcp://host:8786) instead")
    run.add_argument(
        "--cache",
        type=Path,
        metavar="FILE",
        help=f"result cache (default: {CACHE_NAME} beside the first output file, else in the current folder)",
    )
    run.add_argument("--no-cache", action="store_true", help="neither read nor write a result cache")
    run.add_argument(
        "--file-timeout-s",
        type=_seconds,
        default=FILE_TIMEOUT_S,
        metavar="S",
        help=f"most seconds spent on one recording, else an error row (default {FILE_TIMEOUT_S:g}; 0: no limit)",
    )
    run.add_argument(
        "--worker-memory-mb",
        type=_memory_mb,
        default=None,
        metavar="MB",
        help="most memory one recording may take in a worker process, beyond the worker's own "
        "(address space); a file needing more is an error row, the others go on; with --jobs 1 the files "
        "are checked in one worker process; needs /proc (Linux), not applied on Dask (default: no limit)",
    )
    run.add_argument(
        "--route-is-recording",
        action="store_true",
        help="use ROUTE even though it has times like a recording (refused otherwise)",
    )
    shown = run.add_mutually_exclusive_group()
    shown.add_argument("--progress", action="store_true", help="progress bar even when stderr is not a terminal")
    shown.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary line")
    field = p.add_argument_group("the field")
    field.add_argument(
        "--names",
        default="auto",
        metavar="file|title|LIST.csv",
        help="runners' names: the file name, the recording's title, or a CSV with name and file and/or bib "
        "(default: the file's author or athlete, else the file name)",
    )
    field.add_argument(
        "--date", type=_race_date, metavar="YYYY-MM-DD", help="the race day: flag recordings of other days"
    )
    field.add_argument(
        "--units", choices=("km", "mi"), default="km", help="units of the table, CSV and page (default km)"
    )
    field.add_argument(
        "--tz",
        metavar="ZONE",
        help="time zone of the table, CSV and page (default: the route's local zone; JSON stays UTC)",
    )
    out = p.add_argument_group("output (rows most severe first)")
    out.add_argument("--csv", metavar="FILE", help="the runners sheet: one line per recording")
    out.add_argument("--excursions-csv", metavar="FILE", help="the excursions sheet: one line per excursion")
    out.add_argument("--no-bom", action="store_true", help="CSV without the UTF-8 byte-order mark spreadsheets want")
    out.add_argument("--json", metavar="FILE", help="route, options, summary and rows with their excursions")
    out.add_argument("--geojson", metavar="FILE", help="every excursion as a LineString feature")
    out.add_argument(
        "--html", metavar="FILE", help="one self-contained page: sortable table and a picture of each excursion"
    )
    out.add_argument("--title", metavar="TEXT", help="the HTML page's title (default: the route's name)")
    out.add_argument("--no-table", action="store_true", help="do not print the table on stdout")
    out.add_argument("--summary-json", action="store_true", help="print the counts as one JSON line on stderr")
    _add_option_flags(p)
    p.set_defaults(run=run_batch)

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


def _outputs(args: argparse.Namespace) -> list[str]:
    return [p for p in (args.csv, args.json, args.geojson, args.html) if p is not None]


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

    options = options_from_args(args)
    _check_outputs(args)
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
    if args.csv:
        engine.rows_to_csv(rows, args.csv)
    if args.json:
        engine.rows_to_json(result, args.json)
    if args.geojson:
        engine.rows_to_geojson(rows, args.geojson)
    if args.html:
        from ..html import field_page

        page = field_page(rows, result.route, title=f"offcourse: {len(rows)} recordings")
        engine.atomic_write_text(args.html, page)
    s = result.summary()
    if args.summary_json:
        print(json.dumps(s), file=sys.stderr)
    if not args.no_table:
        print(engine.rows_to_table(rows))
    if not args.quiet:
        rate = f", {s['fixes_checked'] / s['elapsed_s']:,.0f} fixes/s" if s["elapsed_s"] > 0 else ""
        where = f"; cache: {s['cache']}" if s["cache"] else ""
        print(
            f"{s['files']} files: {s['ok']} ok, {s['errors']} errors; {s['cached']} from the cache, "
            f"{s['checked']} checked in {s['elapsed_s']:.1f} s{rate}{where}",
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
        help="recordings: files, folders (searched recursively) and glob patterns; gzip or not",
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
    shown = run.add_mutually_exclusive_group()
    shown.add_argument("--progress", action="store_true", help="progress bar even when stderr is not a terminal")
    shown.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary line")
    out = p.add_argument_group("output (rows most severe first)")
    out.add_argument("--csv", metavar="FILE", help="one line per recording")
    out.add_argument("--json", metavar="FILE", help="route, options, summary and rows with their excursions")
    out.add_argument("--geojson", metavar="FILE", help="every excursion as a LineString feature")
    out.add_argument(
        "--html", metavar="FILE", help="one self-contained page: sortable table and a picture of each excursion"
    )
    out.add_argument("--no-table", action="store_true", help="do not print the table on stdout")
    out.add_argument("--summary-json", action="store_true", help="print the counts as one JSON line on stderr")
    _add_option_flags(p)
    p.set_defaults(run=run_batch)

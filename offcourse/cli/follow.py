"""``offcourse follow ROUTE SOURCE``: live alerts from gpsd, NMEA or a replayed recording."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from typing import Any

from ..detect import Event, Fix
from ..errors import OffcourseError
from ..present import iso_time
from ..read import read_route
from .check import _add_option_flags, options_from_args

__all__ = ["register"]

ALERT_KINDS = frozenset({"off_course", "wrong_direction", "skipped_section"})
"""Events that ring the terminal bell when stdout is a terminal."""

EXEC_TIMEOUT_S = 30.0


class _Stop(Exception):
    """SIGTERM or SIGINT while the source was being read."""


def _warn(name: str) -> Any:
    def warn(message: str) -> None:
        print(f"offcourse: warning: {name}: {message}", file=sys.stderr, flush=True)

    return warn


def _text(seq: int, e: Event) -> str:
    detail = ", ".join(
        f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
        for k, v in e.to_dict().items()
        if k not in ("kind", "epoch_s")
    )
    return f"{iso_time(e.epoch_s)}  {e.kind:<20} {detail}"


def _exec_argv(command: str) -> list[str]:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise OffcourseError(f"--exec: {exc}") from None
    if not argv:
        raise OffcourseError("--exec: empty command")
    program = argv[0]
    found = (os.access(program, os.X_OK) and os.path.isfile(program)) if os.sep in program else shutil.which(program)
    if not found:
        raise OffcourseError(f"--exec: {program}: no such executable")
    return argv


def _run_hook(argv: list[str], kind: str, payload: str) -> None:
    """Run the --exec command for one event: the event as JSON on stdin, OFFCOURSE_EVENT=kind."""
    env = {**os.environ, "OFFCOURSE_EVENT": kind}
    try:
        done = subprocess.run(
            argv,
            input=payload.encode(),
            env=env,
            stdout=sys.stderr.fileno(),  # stdout stays the event stream
            timeout=EXEC_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        print(f"offcourse: warning: --exec: {argv[0]}: killed after {EXEC_TIMEOUT_S:g} s", file=sys.stderr)
        return
    except OSError as exc:
        print(f"offcourse: warning: --exec: {argv[0]}: {exc.strerror or exc}", file=sys.stderr)
        return
    if done.returncode != 0:
        print(f"offcourse: warning: --exec: {argv[0]} exited with status {done.returncode}", file=sys.stderr)


def run_follow(args: argparse.Namespace) -> int:
    from ..live.follow import Session, event_json
    from ..live.sources import open_source, seconds

    options = options_from_args(args)
    argv = _exec_argv(args.exec) if args.exec else None
    route = read_route(args.route, track=args.route_track)
    source = open_source(args.source, speed=args.speed, warn=_warn(args.source))
    last_progress = [time.monotonic()]

    def progress(session: Session, fix: Fix) -> None:
        now = time.monotonic()
        if args.progress_s > 0 and now - last_progress[0] >= args.progress_s:
            last_progress[0] = now
            print(f"{iso_time(seconds(fix))}  {session.progress}", file=sys.stderr, flush=True)

    session = Session(route, source, options=options, state_path=args.state, on_fix=progress)
    if session.resumed:
        when = iso_time(session.last_epoch_s) or "no fix yet"
        print(
            f"offcourse: resuming from {args.state}: {session.fixes} fixes, last at {when}, "
            f"{session.delivered} events delivered",
            file=sys.stderr,
        )
        if session.closed and not session.pending:
            print(f"offcourse: {args.state}: this run has ended; nothing to do", file=sys.stderr)
            return 0
    bell = sys.stdout.isatty()
    stopped: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        stopped.append(signum)
        session.stop_requested = True
        if session.reading:  # between two fixes: the engine's state is whole, stop the read now
            raise _Stop

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for seq, event in session:
            if args.format == "jsonl":
                line = json.dumps(event_json(seq, event), ensure_ascii=False)
            else:
                line = _text(seq, event)
            if bell and event.kind in ALERT_KINDS:
                line += "\a"
            print(line, flush=True)
            if argv is not None:
                _run_hook(argv, event.kind, json.dumps(event_json(seq, event), ensure_ascii=False))
    except _Stop:
        pass
    except OffcourseError:
        session.save()
        raise
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        source.close()
    session.save()
    print(f"{iso_time(session.last_epoch_s) or '-'}  {session.progress}", file=sys.stderr)
    for key, value in source.stats().items():
        if key == "rejected" and value:
            counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(value.items()))
            print(f"offcourse: warning: {source.name}: NMEA sentences rejected: {counts}", file=sys.stderr)
    if stopped:
        if args.state is not None:
            print(f"offcourse: stopped; state saved to {args.state}", file=sys.stderr)
        return 130 if stopped[0] == signal.SIGINT else 0
    return 0


def register(sub: Any) -> None:
    help_text = "follow a runner live (gpsd, NMEA, or a replayed recording) and print alerts as they happen"
    p = sub.add_parser(
        "follow",
        help=help_text,
        description=help_text[0].upper() + help_text[1:] + ".",
        epilog=(
            "SOURCE: gpsd://HOST[:PORT] (gpsd's JSON, port 2947 by default), tcp://HOST:PORT (NMEA 0183 "
            "over TCP), nmea:///PATH (an NMEA log or a serial device; ?baud=9600 with pyserial), or the "
            "path of a recording (FIT, GPX, TCX...) to replay."
        ),
    )
    p.add_argument("route", metavar="ROUTE", type=os.fsencode, help="official route (GPX, FIT course, GeoJSON...)")
    p.add_argument(
        "--route-track", metavar="N", type=int, default=None,
        help="a route file with several tracks: use track N (1 = the first; 0 = all joined in file order)",
    )  # fmt: skip
    p.add_argument("source", metavar="SOURCE", help="where the fixes come from (see below)")
    p.add_argument(
        "--state", metavar="FILE", default=None,
        help="save the engine's state here after every event and on exit; resume from it when it exists",
    )  # fmt: skip
    p.add_argument(
        "--exec", metavar="CMD", default=None,
        help="run CMD for every event: the event as JSON on stdin, OFFCOURSE_EVENT=<kind> in the environment",
    )  # fmt: skip
    p.add_argument(
        "--speed", type=float, default=1.0, metavar="X",
        help="replay files at X times real time (default 1; 0: as fast as possible)",
    )  # fmt: skip
    p.add_argument(
        "--progress-s", type=float, default=10.0, metavar="S",
        help="a progress line on stderr at most every S seconds (default 10; 0: none)",
    )  # fmt: skip
    p.add_argument("--format", choices=("text", "jsonl"), default="text", help="event format (default: text)")
    _add_option_flags(p)
    p.set_defaults(run=run_follow)

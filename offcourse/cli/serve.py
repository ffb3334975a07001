"""``offcourse serve ROUTE``: race control, live; ``offcourse serve-report ROUTE``: the field report after.

Everything but :mod:`argparse` is imported when the command runs: ``offcourse --help`` and the other
commands never load Starlette or uvicorn, and the engine works without the ``serve`` extra.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from typing import Any

__all__ = ["register"]

TOKEN_ENV = "OFFCOURSE_TOKEN"
MIN_TOKEN_CHARS = 12


def _need_extra() -> None:
    from ..errors import OffcourseError

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise OffcourseError("offcourse serve needs the serve extra: pip install 'offcourse[serve]'") from None


def _listen(host: str, port: int) -> Any:
    """The listening socket, bound here so that a port in use is one error line, not a traceback."""
    import socket

    from ..errors import OffcourseError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        # proto IPPROTO_TCP: asyncio sets TCP_NODELAY on the connections of such a socket only
        sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        raise OffcourseError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def run_serve(args: argparse.Namespace) -> int:
    """Run ``offcourse serve`` until interrupted; returns the exit status."""
    _need_extra()
    import logging

    import uvicorn

    from ..detect.state import route_fingerprint
    from ..errors import OffcourseError
    from ..read import read_route
    from ..serve.app import Config, create_app, generated_token
    from ..serve.auth import load_runners
    from ..serve.store import Store
    from .check import options_from_args

    options = options_from_args(args)
    route = read_route(args.route, track=args.route_track)
    runners = load_runners(args.runners) if args.runners else {}
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise OffcourseError(f"the token must have at least {MIN_TOKEN_CHARS} characters")
    if not (math.isfinite(args.max_ahead) and args.max_ahead >= 0):
        raise OffcourseError("--max-ahead: a number of seconds, 0 or more, expected")
    if args.webhook and not args.webhook.startswith(("http://", "https://")):
        raise OffcourseError("--webhook: an http:// or https:// address expected")
    Store(args.db, route_fingerprint(route)).close()  # a bad or foreign database: one line, now
    sock = _listen(args.host, args.port)
    generated = token is None
    token = token or generated_token()
    logging.basicConfig(level=logging.INFO, format="offcourse serve: %(message)s", stream=sys.stderr)
    config = Config(
        route=route, db_path=args.db, runners=runners, token=token, webhook_url=args.webhook, options=options,
        rate_per_s=args.device_rate,
        max_ahead_s=args.max_ahead,
        title=args.title or f"offcourse: {route.name or os.path.basename(os.fsdecode(args.route))}",
    )  # fmt: skip
    host = f"[{args.host}]" if ":" in args.host else args.host
    port = sock.getsockname()[1]
    print(
        f"offcourse serve: route {route.length_m / 1000:.1f} km, {len(route.checkpoints)} checkpoints; "
        f"{len(runners)} registered devices; database {args.db}",
        file=sys.stderr,
    )
    if not runners:
        print("offcourse: warning: no --runners: every position will be refused (unknown device)", file=sys.stderr)
    print(f"offcourse serve: trackers send to http://{host}:{port}/ (OsmAnd / Traccar protocol)", file=sys.stderr)
    if generated:  # shown once, on the terminal that started the server: never in a log line
        print(f"offcourse serve: race control at http://{host}:{port}/live?token={token}", file=sys.stderr)
    else:
        print(f"offcourse serve: race control at http://{host}:{port}/live?token=…", file=sys.stderr)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config), access_log=False, log_level="warning", server_header=False, timeout_keep_alive=75
        )
    )
    # uvicorn stops cleanly on SIGTERM, then raises it again for the handler it found: a quiet one, exit 0
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    server.run(sockets=[sock])
    return 0


def run_report(args: argparse.Namespace) -> int:
    """Run ``offcourse serve-report``."""
    from ..read import read_route
    from ..serve.auth import load_runners
    from ..serve.report import field_report
    from .check import options_from_args

    route = read_route(args.route, track=args.route_track)
    runners = load_runners(args.runners) if args.runners else {}
    done = field_report(
        os.fsdecode(args.route), route, args.db, args.out, runners=runners, options=options_from_args(args),
        jobs=args.jobs, route_track=args.route_track,
    )  # fmt: skip
    if not done["outputs"]:
        print(f"offcourse serve-report: {args.db}: no position stored", file=sys.stderr)
        return 1
    print(
        f"offcourse serve-report: {done['files']} runners ({done['ok']} ok, {done['errors']} errors): "
        + ", ".join(done["outputs"]),
        file=sys.stderr,
    )
    return 0


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}")
    return int(text)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("route", metavar="ROUTE", type=os.fsencode, help="official route (GPX, FIT course, GeoJSON...)")
    p.add_argument(
        "--route-track", metavar="N", type=int, default=None,
        help="a route file with several tracks: use track N (1 = the first; 0 = all joined in file order)",
    )  # fmt: skip
    p.add_argument("--db", default="race.sqlite", metavar="FILE", help="the race database (default: race.sqlite)")
    p.add_argument(
        "--runners", metavar="CSV", default=None,
        help="registered devices: a CSV with a header row: device, bib, name, key (optional per-device key)",
    )  # fmt: skip


def register(sub: Any) -> None:
    """Add the ``serve`` and ``serve-report`` subcommands."""
    from .check import _add_option_flags

    help_text = "race control, live: positions from trackers (OsmAnd / Traccar), alerts on a live page"
    p = sub.add_parser(
        "serve",
        help=help_text,
        description=help_text[0].upper() + help_text[1:] + ".",
        epilog=f"The token (--token or ${TOKEN_ENV}; a random one is made and shown once otherwise) opens the "
        "pages and the API; trackers need only a registered device id (and its key when the CSV gives one). "
        "Serve on 127.0.0.1 behind a TLS proxy for the internet.",
    )
    _common(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8080, help="port (default 8080; 0: any free port)")
    p.add_argument("--token", default=None, help=f"race-control token (better: ${TOKEN_ENV}, not seen in ps)")
    p.add_argument("--webhook", metavar="URL", default=None, help="POST every alert as JSON to URL")
    p.add_argument("--title", default=None, help="title of the race-control page")
    p.add_argument(
        "--device-rate", type=float, default=None, metavar="N",
        help="fixes a second a device may send on average (default 2; bursts of 3600)",
    )  # fmt: skip
    p.add_argument(
        "--max-ahead", type=float, default=600.0, metavar="S",
        help="refuse (400) a fix stamped more than S seconds after the server's clock (default 600)",
    )  # fmt: skip
    _add_option_flags(p)
    p.set_defaults(run=run_serve)

    help_text = "the field report (as offcourse batch) from the positions a server received"
    r = sub.add_parser("serve-report", help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
    _common(r)
    r.add_argument("--out", default="serve-report", metavar="DIR", help="output folder (default: serve-report)")
    r.add_argument("--jobs", "-j", type=int, default=None, help="worker processes (default: all cores)")
    _add_option_flags(r)
    r.set_defaults(run=run_report)

"""The ``offcourse`` command line: a thin layer over the library.

Every subcommand lives in its own module and registers itself with
:func:`main`. Bad input prints one line, ``offcourse: error: FILE: what is
wrong``, on stderr and exits with status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from ..errors import OffcourseError

__all__ = ["COMMANDS", "EXIT_BAD_INPUT", "error_line", "json_text", "main", "warning_line"]

EXIT_BAD_INPUT = 2

COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("info", "describe route and recording files"),
    "check": ("check", "report the wrong turns of a recording against the route"),
    "replay": ("check", "print the events as the live engine would have raised them"),
    "batch": ("batch", "check every recording of a race field against the route, one row each"),
    "follow": ("follow", "follow a runner live (gpsd, NMEA, or a replayed recording) and print alerts as they happen"),
    "serve": ("serve", "race control, live: positions from trackers (OsmAnd / Traccar), alerts on a live page"),
    "serve-report": ("serve", "the field report (as offcourse batch) from the positions a server received"),
}
"""Each subcommand: the module of :mod:`offcourse.cli` that registers it, and its one-line help.

Only the module of the command being run is imported (with its flags, which load the engine's
options); the others appear in ``offcourse --help`` from this table alone, so ``offcourse --help``
and ``offcourse info`` load neither the engine nor shapely. A test checks that these lines are the
ones each module registers."""


class _Version(argparse.Action):
    """``--version``: reads the installed version (importlib.metadata) only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from .. import __version__

        print(f"offcourse {__version__}")  # on stdout, as argparse's own version action
        parser.exit()


def _command_in(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line: its first argument that is not an option."""
    return next((a for a in argv if not a.startswith("-")), None)


def _parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser, with every flag of the command named in ``argv``.

    With ``argv`` None every subcommand is registered in full (documentation, tests).
    """
    import importlib

    parser = argparse.ArgumentParser(
        prog="offcourse",
        description="Find wrong turns in GPS watch data: compare a recording with the official route.",
    )
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = _command_in(argv) if argv is not None else None
    full = {module for module, _ in COMMANDS.values()} if argv is None else {COMMANDS.get(wanted or "", ("",))[0]}
    for name, (module, help_text) in COMMANDS.items():
        if name in sub.choices:
            continue  # registered with another command of its module
        if module in full:
            importlib.import_module(f".{module}", __name__).register(sub)
        else:
            sub.add_parser(name, help=help_text)  # listed in --help; its flags load when it runs
    return parser


def _terminal(text: str) -> str:
    from ..read._limits import terminal_text

    return terminal_text(text)


def error_line(message: str) -> None:
    """Print one error line on stderr in the command's format (control characters escaped)."""
    print(f"offcourse: error: {_terminal(message)}", file=sys.stderr)


def warning_line(message: str) -> None:
    """Print one warning line on stderr (control characters escaped)."""
    print(f"offcourse: warning: {_terminal(message)}", file=sys.stderr)


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def json_text(obj: Any, indent: int | None = 2) -> str:
    """``obj`` as JSON text safe for a terminal: non-ASCII kept, but DEL, C1 controls and the
    bidirectional overrides written as ``\\uXXXX`` escapes (``json`` already escapes C0)."""
    text = json.dumps(obj, indent=indent, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    for stream in (sys.stdout, sys.stderr):
        # file names that are not UTF-8 print as their own bytes, never as a UnicodeEncodeError
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="surrogateescape")
    if argv is None:
        argv = sys.argv[1:]
    parser = _parser(argv)
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not in the interpreter's exit
    except OffcourseError as exc:
        error_line(str(exc))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        error_line("interrupted")
        return 130
    except BrokenPipeError:  # `offcourse ... | head`: the reader has what it wanted
        _silence_stdout()
        return 0
    except OSError as exc:  # `> /dev/full`, a disk filling up: one line, never a traceback
        _silence_stdout()
        error_line(f"cannot write the output: {exc.strerror or exc}")
        return EXIT_BAD_INPUT
    return status

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

from .. import __version__
from ..errors import OffcourseError

__all__ = ["EXIT_BAD_INPUT", "error_line", "json_text", "main", "warning_line"]

EXIT_BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    from . import check, info

    parser = argparse.ArgumentParser(
        prog="offcourse",
        description="Find wrong turns in GPS watch data: compare a recording with the official route.",
    )
    parser.add_argument("--version", action="version", version=f"offcourse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    info.register(sub)
    check.register(sub)
    from . import batch

    batch.register(sub)
    from . import follow

    follow.register(sub)
    from . import serve  # argparse only: Starlette and uvicorn load when the command runs

    serve.register(sub)
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
    parser = _parser()
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

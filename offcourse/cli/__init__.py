"""The ``offcourse`` command line: a thin layer over the library.

Every subcommand lives in its own module and registers itself with
:func:`main`. Bad input prints one line, ``offcourse: error: FILE: what is
wrong``, on stderr and exits with status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import OffcourseError

__all__ = ["EXIT_BAD_INPUT", "main"]

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
    return parser


def error_line(message: str) -> None:
    """Print one error line on stderr in the command's format."""
    print(f"offcourse: error: {message}", file=sys.stderr)


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
    except OffcourseError as exc:
        error_line(str(exc))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        error_line("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    return status

"""A hang guard for tests: ``with time_limit(s):`` raises :class:`Hang` when the block runs too long.

Not a speed test: the bounds are generous and only catch work that never ends (a reader looping on
hostile input, a search visiting millions of grid cells).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Hang(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` can swallow it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise Hang


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in the block after ``seconds`` (wall clock, SIGALRM)."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

"""A recording replayed as a live source, at real or accelerated speed.

>>> from offcourse.detect import Fix
>>> clock = FakeClock()
>>> fixes = [Fix(100.0, 7.0, 46.0), Fix(110.0, 7.0, 46.0), Fix(130.0, 7.0, 46.0)]
>>> [f.epoch_s for f in paced(fixes, speed=10, clock=clock.monotonic, wait=clock.wait)]
[100.0, 110.0, 130.0]
>>> clock.waits
[1.0, 2.0]
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..detect import Fix
from ..read import read_track
from ..report import fixes_of
from .sources import Source, Warn, seconds

__all__ = ["FakeClock", "ReplaySource", "paced"]


class FakeClock:
    """A clock for tests: :meth:`wait` advances time at once and records how long it was asked to."""

    def __init__(self, start_s: float = 0.0) -> None:
        self.now_s = start_s
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now_s

    def wait(self, seconds: float) -> bool:
        self.waits.append(round(seconds, 9))
        self.now_s += seconds
        return False


def paced(
    fixes: Iterable[Fix],
    *,
    speed: float,
    after_s: float = -math.inf,
    clock: Callable[[], float] = time.monotonic,
    wait: Callable[[float], bool] | None = None,
) -> Iterator[Fix]:
    """The fixes, each when it is due: ``speed`` times real time from the first one (0: no waiting).

    Fixes at or before ``after_s`` (the time a resumed run stopped at) are dropped without waiting;
    pacing starts at the first fix after it. ``wait(seconds)`` returns True to stop (a closed source).
    """
    stop = threading.Event()
    wait = wait or stop.wait
    t0 = wall0 = math.nan
    for fix in fixes:
        if seconds(fix) <= after_s:
            continue
        if speed > 0 and math.isfinite(seconds(fix)):
            if math.isnan(t0):
                t0, wall0 = seconds(fix), clock()
            ahead = wall0 + (seconds(fix) - t0) / speed - clock()
            if ahead > 0 and wait(ahead):
                return
        yield fix


class ReplaySource(Source):
    """A recording (anything :func:`offcourse.read_track` reads) as a source of fixes.

    Parameters
    ----------
    path : str or os.PathLike
    speed : float
        Times real time (1: as recorded; 10: ten times faster; 0: no waiting at all).
    """

    finite = True

    def __init__(self, path: str | os.PathLike[str], *, speed: float = 1.0, warn: Warn | None = None) -> None:
        super().__init__(warn=warn)
        self.path = path
        self.name = os.fsdecode(path)
        self.speed = speed
        self.clock: Callable[[], float] = time.monotonic
        self._n = 0

    def __iter__(self) -> Iterator[Fix]:
        track = read_track(self.path)
        for warning in track.meta.extra.get("warnings", []):
            self.warn(warning)
        for fix in paced(
            fixes_of(track), speed=self.speed, after_s=self.after_s, clock=self.clock, wait=self._stop.wait
        ):
            if self.closed:
                return
            self._n += 1
            yield fix

    def stats(self) -> dict[str, Any]:
        return {"fixes": self._n}

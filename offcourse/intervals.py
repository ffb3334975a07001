"""Intervals of route metres: merged, their complement along the route, and the share of one inside others.

Hindsight (:mod:`offcourse.coverage`) measures what the runner covered as intervals of route metres
(``(from_m, to_m)``, ``from_m < to_m``); the skipped sections (:mod:`offcourse.sections`), the
coverage's gaps and the findings (:mod:`offcourse.review`, :mod:`offcourse.findings`) are read
from them with these operations, the one copy of each. Part of the report step of the pipeline
read → project → match → detect → report.

Examples
--------
>>> merge([(500.0, 300.0), (0.0, 100.0), (90.0, 200.0), (250.0, 250.0)])
((0.0, 200.0), (300.0, 500.0))
>>> complement(((0.0, 200.0), (300.0, 500.0)), 1000.0, 150.0)
((500.0, 1000.0),)
>>> share_within(100.0, 0.0, [(50.0, 200.0), (-10.0, 10.0)])
0.6
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["complement", "merge", "share_within"]


def merge(ivs: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """The intervals (either end first) merged where they touch or overlap, sorted; empty ones dropped."""
    out: list[list[float]] = []
    for a, b in sorted((min(a, b), max(a, b)) for a, b in ivs):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out if b > a)


def complement(ivs: tuple[tuple[float, float], ...], length_m: float, min_m: float) -> tuple[tuple[float, float], ...]:
    """The parts of ``[0, length_m]`` outside the merged, sorted intervals ``ivs``, at least ``min_m`` long."""
    gaps: list[tuple[float, float]] = []
    pos = 0.0
    for a, b in ivs:
        if a - pos >= min_m and a > pos:
            gaps.append((pos, a))
        pos = max(pos, b)
    if length_m - pos >= min_m and length_m > pos:
        gaps.append((pos, length_m))
    return tuple(gaps)


def share_within(a: float, b: float, ivs: Sequence[tuple[float, float]]) -> float:
    """The share of the interval from ``a`` to ``b`` (either end first) inside the intervals ``ivs``
    (merged first); 1.0 for an empty interval."""
    lo, hi = min(a, b), max(a, b)
    if hi <= lo:
        return 1.0
    return sum(max(0.0, min(y, hi) - max(x, lo)) for x, y in merge(list(ivs))) / (hi - lo)

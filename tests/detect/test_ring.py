"""The engine's recent fixes: a preallocated ring with a deque's behaviour (the reference)."""

from __future__ import annotations

import math
import sys
from collections import deque

from offcourse.detect.options import RING_SIZE
from offcourse.detect.state import Ring


def _rec(i: int) -> tuple[float, float, float, float, float, float, float]:
    return (float(i), i + 0.5, -i - 0.25, 10.0 * i, 1.0 / (i + 1), 2.0 * i, math.nan if i % 3 else float(i))


def _same(a: object, b: object) -> bool:
    return repr(a) == repr(b)  # NaN-aware: repr(nan) == repr(nan)


def test_the_ring_behaves_as_a_deque_with_maxlen_at_every_length() -> None:
    ring, ref = Ring(5), deque(maxlen=5)
    for i in range(13):
        ring.append(_rec(i))
        ref.append(_rec(i))
        assert len(ring) == len(ref) and bool(ring) is True
        assert _same(list(ring), list(ref))
        assert _same(list(reversed(ring)), list(reversed(ref)))
        assert _same(ring[0], ref[0]) and _same(ring[-1], ref[-1])
    ring.extend(_rec(i) for i in range(20, 23))
    ref.extend(_rec(i) for i in range(20, 23))
    assert _same(list(ring), list(ref))


def test_an_empty_ring_is_false_and_has_no_first_item() -> None:
    ring = Ring(3)
    assert not ring and len(ring) == 0 and list(reversed(ring)) == []
    try:
        ring[0]
    except IndexError:
        pass
    else:  # pragma: no cover - the failure
        raise AssertionError("an empty ring has no item 0")


def test_the_ring_takes_all_its_memory_at_once() -> None:
    ring = Ring()
    size = sys.getsizeof(ring._a)
    assert ring.maxlen == RING_SIZE and size >= 8 * 7 * RING_SIZE
    for i in range(3 * RING_SIZE):
        ring.append(_rec(i))
    assert sys.getsizeof(ring._a) == size and len(ring) == RING_SIZE
    assert ring[0][0] == 2 * RING_SIZE and ring[-1][0] == 3 * RING_SIZE - 1


def test_rings_holding_the_same_fixes_are_equal_nan_included() -> None:
    a, b = Ring(4), Ring(4)
    for i in range(6):
        a.append(_rec(i))
    for i in range(2, 6):
        b.append(_rec(i))
    assert a == b
    b.append(_rec(9))
    assert a != b

"""Values of the fast path of the GPX and TCX readers (:mod:`offcourse.read._fastxml`): decimals and times read
with numpy from rows of bytes, exactly as the hardened reader reads them (``float()`` and
:func:`offcourse.read._values.parse_time`), or :class:`NotFast`.

Decimals are parsed digit by digit into an integer and divided once by a power of ten: exact
whenever the number has at most 15 digits (the integer and the power are exact doubles, and one
IEEE division is correctly rounded), so the float is the one ``float(text)`` gives, bit for bit;
16 to 18 digits are divided in extended precision, the exact ties read by ``float()``. The
numbers of a chunk are read at once: those of one dot place padded with ``0`` after the dot
(what ``repr()`` writes: one length a number), those of several aligned on their dots (an
elevation crossing 1000 m), so that a chunk is one layout of digits, checked in one pass over
the flat rows against the layout repeated; the digits of an even width are read two columns at a
time (``10 a + b`` from a 16-bit view, a product of half as many columns). The layout of a
number or a time (its bytes with each digit as ``\\x01``: a control byte ``\\x01`` in a text is
not taken for a digit) is worked out once and kept. (numpy's own text-to-float, ``float()`` over a
list, or ``np.fromstring`` are correctly rounded too but cost as much as ``float()`` per number:
two to five times this on 16- and 17-digit numbers.)

Times ``YYYY-MM-DDTHH:MM:SS[.f{1,6}][Z|±HH:MM]`` become integer microseconds, divided once by
10⁶ as ``timedelta.total_seconds`` does; the date of a chunk, most often one, is read once.

Every operation is over a whole flat array or a whole column: numpy pays a call per row of a
two-dimensional operation over short rows, which costs more than the bytes.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

__all__ = ["NotFast", "decimals", "times"]

_POW10 = np.array([float(10**k) for k in range(23)])
_INT_POW10 = np.array([10**k for k in range(19)], dtype=np.int64)
_MAX_DIGITS = 15  # below 2**53: the integer of the digits is exact


class NotFast(Exception):
    """This run (or document) is not of the shape the fast path reads: the hardened reader reads it."""


def _window(
    arr: NDArray[np.uint8], start: NDArray[np.int64], end: NDArray[np.int64], most: int
) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """The bytes from ``arr[start]`` of each row (as many as the longest ``end - start``) and the lengths."""
    length = end - start
    if not len(length) or length.min() < 1 or length.max() > most:
        raise NotFast
    width = int(length.max())
    if int(start.max()) + width > len(arr):
        arr = np.concatenate([arr, np.zeros(width, dtype=np.uint8)])
    return sliding_window_view(arr, width)[start], length


_TILES: dict[bytes, NDArray[np.uint8]] = {}


def _tile(pattern: bytes, n: int) -> NDArray[np.uint8]:
    """``pattern`` repeated ``n`` times, as one flat array (kept for the next chunks: most patterns recur)."""
    have = _TILES.get(pattern)
    size = len(pattern) * n
    if have is None or len(have) < size:
        if len(_TILES) > 256:
            _TILES.clear()
        have = _TILES[pattern] = np.frombuffer(pattern * max(n, 1024), dtype=np.uint8)
    return have[:size]


def _all_start_with(v: NDArray[np.uint8], prefix: bytes) -> bool:
    """Whether every row of ``v`` (contiguous rows) starts with ``prefix``: the rows compared with the prefix
    repeated, the bytes past it masked out (64-bit words at a time when the rows are whole words)."""
    pad = bytes(v.shape[1] - len(prefix))
    dtype = np.uint64 if v.shape[1] % 8 == 0 else np.uint8
    diff = np.bitwise_xor(v.reshape(-1).view(dtype), _tile(prefix + pad, len(v)).view(dtype))
    return not np.bitwise_and(diff, _tile(b"\xff" * len(prefix) + pad, len(v)).view(dtype), out=diff).any()


_COLUMNS = bytes(range(64))


def _inside(length: NDArray[np.int64], width: int) -> NDArray[np.bool_]:
    """Flat mask of the rows of ``width`` bytes: True on the first ``length`` bytes of each row."""
    return _tile(_COLUMNS[:width], len(length)) < np.repeat(length.astype(np.uint8), width)


_LONG_OK = np.finfo(np.longdouble).nmant >= 63  # x87 extended (64-bit significand) or quad precision
_LONG_DIGITS = 18  # below 2**63: the integer of the digits is exact in an int64 and in a long double
_POW10_LONG = np.cumprod(np.array([1] + [10] * 27, dtype=np.longdouble))  # exact up to 10**27


_X87 = np.finfo(np.longdouble).nmant == 63 and np.dtype(np.longdouble).itemsize == 16 and sys.byteorder == "little"
"""The long double is x87's 80-bit extended (in 16 bytes): its 64-bit significand is the first 8 bytes."""


def _ties(q: NDArray[np.longdouble], value: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Where the extended quotient ``q`` lies exactly halfway between ``value`` (``q`` rounded to a double) and
    the next double away from it: there the double of the exact decimal may be either, ``float()`` says which.

    With x87 extended precision (a 64-bit significand, the integer bit explicit) and ``q`` a normal
    double's magnitude, halfway means the significand's 11 bits below the double's 53 are
    ``10000000000``; else the midpoint is computed.
    """
    if _X87:
        low: NDArray[np.bool_] = (np.ascontiguousarray(q).view(np.uint64)[::2] & np.uint64(0x7FF)) == np.uint64(0x400)
        return low
    toward = np.nextafter(value, np.where(q > value, np.inf, -np.inf))
    tie: NDArray[np.bool_] = (value.astype(np.longdouble) + toward.astype(np.longdouble)) / 2 == q
    return tie


def _long_decimals(b: NDArray[np.uint8], digits: NDArray[np.uint8], frac: int, length: int) -> NDArray[np.float64]:
    """Decimals of 16 to 18 digits, exactly as ``float()`` reads them (more digits: ``float()`` reads them).

    The digits make an exact integer, divided once in extended precision: the quotient, rounded to
    64 bits, rounds to the same double as the exact decimal unless it lies exactly halfway between
    two doubles (a 64-bit number lying between the exact value and its 64-bit rounding would be
    nearer), and those rows are read by ``float()``.
    """
    nd = digits.shape[1]
    if not _LONG_OK or nd > _LONG_DIGITS or frac > 27:
        raw = np.ascontiguousarray(b[:, :length]).tobytes()
        return np.array([abs(float(raw[k : k + length])) for k in range(0, len(raw), length)], dtype=np.float64)
    mant = (digits.astype(np.int64) - 48) @ _INT_POW10[nd - 1 :: -1]
    q = mant.astype(np.longdouble) / _POW10_LONG[frac]
    value: NDArray[np.float64] = q.astype(np.float64)
    tie = _ties(q, value)
    for k in np.flatnonzero(tie).tolist():
        value[k] = abs(float(bytes(b[k, :length])))
    return value


def _decimals_of_one_layout(b: NDArray[np.uint8], length: int) -> NDArray[np.float64]:
    """Decimals whose rows are all ``length`` bytes with the sign and dot where the first row has them
    (:class:`NotFast` if one has not)."""
    first = b[0, :length]
    layout = first.tobytes().translate(_AS_LAYOUT)  # a control byte \x01 taken for a digit fails the check below
    is_digit = np.frombuffer(layout, dtype=np.uint8) == 1
    if _NUMBER_LAYOUT.fullmatch(layout) is None:
        raise NotFast
    x = b[:, :length] - np.uint8(48)  # a digit's value; a sign or a dot wraps around above 9
    other = np.flatnonzero(~is_digit)
    if not ((x <= 9) == is_digit).all() or not (b[:, other] == first[other]).all():
        raise NotFast
    dot = layout.find(b".")
    frac = 0 if dot < 0 else length - dot - 1
    nd = int(is_digit.sum())
    if nd > _MAX_DIGITS:  # more digits than a double holds exactly
        long: NDArray[np.float64] = _long_decimals(b, b[:, np.flatnonzero(is_digit)], frac, length)
        return -long if first[0] == 45 else long
    weights = np.zeros(length)
    weights[is_digit] = _POW10[nd - 1 :: -1] if nd else _POW10[:0]
    # integers below 2**53: exact in any order (a sign or dot weighs 0); not a matrix product, which a
    # threaded BLAS can make slow on a busy machine
    mant = (x * weights).sum(axis=1)
    value = mant / _POW10[frac]
    out: NDArray[np.float64] = -value if first[0] == 45 else value
    return out


_AS_LAYOUT = bytes.maketrans(b"0123456789", b"\x01" * 10)
"""Each digit as ``\\x01``: the layout of a number or a time (no text the fast path reads holds ``\\x01``)."""


@dataclass(frozen=True)
class _Layout:
    """What reading decimals of one layout needs, worked out once per layout (:func:`_fixed_layout`)."""

    low: bytes  # the layout's bytes with "0" for each digit ...
    span: bytes  # ... and how far above it a byte may be (9 for a digit, 0 for a sign or the dot)
    is_digit: NDArray[np.bool_]
    digits: int
    dot: int  # -1: none
    weights: NDArray[np.int64]  # each column's power of ten (0 for a sign or the dot)
    offset: int  # 48 times the sum of the weights: what the bytes of the digits add
    negative: bool
    pairs: NDArray[np.int64] | None  # the power of ten of each pair of columns read as one number (see below)


_LAYOUTS: dict[bytes, _Layout | None] = {}


def _fixed_layout(layout: bytes) -> _Layout | None:
    """The :class:`_Layout` of ``layout`` (a number's bytes with ``\\x01`` for each digit), or ``None`` when it
    is not a plain decimal ``[+-]digits[.digits]``; kept for the next chunks."""
    known = _LAYOUTS.get(layout)  # not a second look-up that could fail: another thread may clear the cache
    if known is not None or layout in _LAYOUTS:
        return known
    if len(_LAYOUTS) > 256:
        _LAYOUTS.clear()
    found: _Layout | None = None
    if _NUMBER_LAYOUT.fullmatch(layout) is not None:
        is_digit = np.frombuffer(layout, dtype=np.uint8) == 1
        nd = int(is_digit.sum())
        weights = np.zeros(len(layout), dtype=np.int64)
        if nd <= _LONG_DIGITS:
            weights[is_digit] = _INT_POW10[nd - 1 :: -1]
        found = _Layout(
            low=layout.replace(b"\x01", b"0"),
            span=bytes(9 if c == 1 else 0 for c in layout),
            is_digit=is_digit,
            digits=nd,
            dot=layout.find(b"."),
            weights=weights,
            offset=48 * int(weights.sum()),
            negative=layout[:1] == b"-",
            pairs=_pair_weights(weights, is_digit),
        )
    _LAYOUTS[layout] = found
    return found


def _pair_weights(weights: NDArray[np.int64], is_digit: NDArray[np.bool_]) -> NDArray[np.int64] | None:
    """The power of ten of each pair of columns ``(a, b)`` read as the number ``10 a + b`` (a sign or the dot
    read as 0): ``b``'s when it is a digit, else a tenth of ``a``'s; ``None`` when the columns cannot be read
    in pairs (an odd count, a big-endian machine, a number ending with its dot)."""
    if len(weights) % 2 or sys.byteorder != "little":
        return None
    out = np.where(is_digit[1::2], weights[1::2], weights[0::2] // 10)
    if (is_digit[0::2] & ~is_digit[1::2] & (weights[0::2] % 10 != 0)).any():
        return None  # "12.": the last digit's weight is 1
    pairs: NDArray[np.int64] = out.astype(np.int64)
    return pairs


def _decimals_fixed(v: NDArray[np.uint8], padded: bool) -> NDArray[np.float64]:
    """Decimals whose rows (contiguous, all as wide) have the layout of the first: digits where it has
    digits, its sign and dot where it has them; :class:`NotFast` if one has not.

    ``padded``: the rows shorter than the longest were padded with ``0``; right only when they
    have a dot (the layout has one), else :class:`NotFast`.
    """
    n, width = v.shape
    lay = _fixed_layout(v[0].tobytes().translate(_AS_LAYOUT))
    if lay is None or (padded and lay.dot < 0):
        raise NotFast
    x = v.reshape(-1) - _tile(lay.low, n)  # a digit's value; 0 for a sign or the dot
    if not (x <= _tile(lay.span, n)).all():
        raise NotFast
    nd = lay.digits
    frac = 0 if lay.dot < 0 else width - lay.dot - 1
    if nd > _LONG_DIGITS or (nd > _MAX_DIGITS and not _LONG_OK):
        long: NDArray[np.float64] = _long_decimals(v, v[:, lay.is_digit], frac, width)
        return -long if lay.negative else long
    # exact in int64: at most 18 digits
    if lay.pairs is not None:  # two columns at a time, ``10 a + b`` (a product of half as many columns)
        two = x.view(np.uint16)
        pair = two & np.uint16(0xFF)
        pair *= np.uint16(10)
        pair += two >> np.uint16(8)
        mant = pair.reshape(n, width // 2) @ lay.pairs
    else:
        mant = v @ lay.weights
        mant -= lay.offset
    value = _divide_long(mant, frac, v, width) if nd > _MAX_DIGITS else mant.astype(np.float64) / _POW10[frac]
    out: NDArray[np.float64] = np.negative(value, out=value) if lay.negative else value
    return out


def _decimals_aligned(v: NDArray[np.uint8], length: NDArray[np.int64]) -> NDArray[np.float64]:
    """Decimals with a dot each (``[+-]digits.digits``), of any lengths: aligned on their dots.

    Each number without its sign is moved so that the dots are in one column, and padded with
    ``0`` on both sides (the same number); then read by :func:`_decimals_fixed` and the signs
    applied. :class:`NotFast` when a row has no dot, or no digit, or the aligned rows would have
    more than 18 digits.
    """
    n, width = v.shape
    flat = v.reshape(-1)
    inside = _inside(length, width)
    dots = np.flatnonzero((flat == 46) & inside)
    if len(dots) != n:
        raise NotFast
    dot_at = dots - np.arange(0, n * width, width)
    if not (dot_at.astype(np.uint64) < width).all():  # the k-th dot in row k: one dot a row
        raise NotFast
    negative = v[:, 0] == 45
    signed = negative | (v[:, 0] == 43)
    digits_before = dot_at - signed
    before, after = int(digits_before.max()), int((length - 1 - dot_at).max())
    if before + after > _LONG_DIGITS or not (length - signed >= 2).all():
        raise NotFast
    aligned_width = before + 1 + after
    shift = before - digits_before - signed  # where each row's byte 0 goes
    padded = np.concatenate([np.zeros(width, dtype=np.uint8), flat, np.zeros(width + aligned_width, dtype=np.uint8)])
    view = np.ndarray((len(padded) - aligned_width + 1,), np.dtype((np.void, aligned_width)), padded, 0, (1,))
    rows = view[width + np.arange(0, n * width, width) - shift].view(np.uint8).reshape(-1)
    source = _tile(_COLUMNS[:aligned_width], n).astype(np.int16) - np.repeat(shift.astype(np.int16), aligned_width)
    keep = (source >= np.repeat(signed.astype(np.int16), aligned_width)) & (
        source < np.repeat(length.astype(np.int16), aligned_width)
    )
    value = _decimals_fixed(np.where(keep, rows, np.uint8(48)).reshape(n, aligned_width), True)
    out: NDArray[np.float64] = np.where(negative, -value, value)
    return out


def _decimals_right_aligned(v: NDArray[np.uint8], length: NDArray[np.int64]) -> NDArray[np.float64]:
    """Decimals of one count of digits after the dot and several lengths (``%.1f``: an elevation crossing
    1000 m), each moved right to end in the last column and padded with ``0`` on the left (the same number),
    then read by :func:`_decimals_fixed`; :class:`NotFast` when they do not line up so (another count of
    digits after the dot, a sign)."""
    n, width = v.shape
    padded = np.concatenate([np.zeros(width, dtype=np.uint8), v.reshape(-1)])
    view = np.ndarray((len(padded) - width + 1,), np.dtype((np.void, width)), padded, 0, (1,))
    rows = view[np.arange(0, n * width, width) + length].view(np.uint8).reshape(-1)  # each ends where its text does
    aligned = np.where(_inside(width - length, width), np.uint8(48), rows).reshape(n, width)
    return _decimals_fixed(aligned, False)


def _divide_long(mant: NDArray[np.int64], frac: int, v: NDArray[np.uint8], width: int) -> NDArray[np.float64]:
    """``mant / 10**frac`` (``mant`` below 2**63) as ``float()`` reads the decimal: divided once in extended
    precision, the exact ties read by ``float()`` (see :func:`_long_decimals`)."""
    q = mant.astype(np.longdouble) / _POW10_LONG[frac]
    value: NDArray[np.float64] = q.astype(np.float64)
    tie = _ties(q, value)
    for k in np.flatnonzero(tie).tolist():
        value[k] = abs(float(bytes(v[k, :width])))
    return value


def decimals(arr: NDArray[np.uint8], start: NDArray[np.int64], end: NDArray[np.int64]) -> NDArray[np.float64]:
    """The numbers written in ``arr[start:end]``, exactly as ``float()`` reads them; :class:`NotFast` if one is not
    a plain decimal (``[+-]digits[.digits]``) of at most 15 digits.

    The digits make an integer (exact in a double below 2**53), divided once by a power of ten
    (exact up to 10**22): one correctly rounded division, the double nearest the decimal, as
    ``float()`` gives it. Rows are read in groups of one layout (length, sign, dot).

    >>> a = np.frombuffer(b"45.25 -0.5 +7 .5 12.", dtype=np.uint8)
    >>> decimals(a, np.array([0, 6, 11, 14, 17]), np.array([5, 10, 13, 16, 20])).tolist()
    [45.25, -0.5, 7.0, 0.5, 12.0]
    """
    b, length = _window(arr, start, end, 64)
    return _decimals_of(b, length)


def _decimals_of(
    b: NDArray[np.uint8], length: NDArray[np.int64], shortest: int = -1, longest: int = -1
) -> NDArray[np.float64]:
    """:func:`decimals` of the first ``length`` bytes of each row of ``b`` (``shortest`` and ``longest``: the least
    and the greatest length, when the caller knows them)."""
    if shortest < 0 and len(length):
        shortest, longest = int(length.min()), int(length.max())
    if not len(length) or shortest < 1 or longest > 64:
        raise NotFast
    width = longest
    padded = shortest != longest
    if padded and width % 2 and width < _LONG_DIGITS and b.shape[1] > width:
        width += 1  # one more 0 after the dot: an even width, read two columns at a time
    v = np.ascontiguousarray(b[:, :width])
    if padded:  # the digits after the dot padded with zeros: the same number, the same layout
        v = np.where(_inside(length, width), v.reshape(-1), np.uint8(48)).reshape(v.shape)
    try:
        return _decimals_fixed(v, padded)
    except NotFast:
        pass
    if padded:
        try:
            return _decimals_right_aligned(v, length)
        except NotFast:
            pass
    try:
        return _decimals_aligned(v, length)
    except NotFast:
        pass
    # rows of one key share a layout (length, where the dot is, the sign): the layout check makes sure
    dot_at = (b == 46).argmax(axis=1)
    dot_at = np.where((b[np.arange(len(b)), dot_at] == 46) & (dot_at < length), dot_at, 63)
    key = (length * 64 + dot_at) * 4 + (b[:, 0] == 45) + 2 * (b[:, 0] == 43)
    first_key = key[0]
    if (key == first_key).all():
        return _decimals_of_one_layout(b, int(length[0]))
    keys = np.unique(key).tolist()
    if len(keys) > 2 and int(length.max()) <= _LONG_DIGITS + 2:
        try:
            return _decimals_of_any_layout(b, length)
        except NotFast:  # more than 18 digits, or not a number: row by row, as below
            pass
    out = np.empty(len(b), dtype=np.float64)
    for k in keys:
        rows = np.flatnonzero(key == k)
        out[rows] = _decimals_of_one_layout(b[rows], int(length[rows[0]]))
    return out


def _decimals_of_any_layout(b: NDArray[np.uint8], length: NDArray[np.int64]) -> NDArray[np.float64]:
    """Decimals of up to 18 digits in rows of many layouts (``[+-]digits[.digits]`` each), as ``float()`` reads them.

    The digits make an exact integer (Horner's rule over the columns, in int64), divided once by
    the power of ten of the digits after the dot: in double precision up to 15 digits, else in
    extended precision with the ties read by ``float()`` (see :func:`_long_decimals`).
    """
    width = int(length.max())
    b = b[:, :width]
    col = np.arange(width)
    inside = col < length[:, None]
    x = b - np.uint8(48)
    digit = (x <= 9) & inside
    dot = (b == 46) & inside
    sign = (b[:, 0] == 45) | (b[:, 0] == 43)
    nd = digit.sum(axis=1)
    if (
        not ((digit | dot | ~inside).all(axis=1) | (sign & (digit | dot | ~inside)[:, 1:].all(axis=1))).all()
        or not ((dot.sum(axis=1) <= 1) & (nd >= 1)).all()
    ):
        raise NotFast
    mant = np.zeros(len(b), dtype=np.int64)
    for c in range(width):
        d = digit[:, c]
        mant = np.where(d, mant * 10 + x[:, c], mant)
    has_dot = dot.any(axis=1)
    frac = np.where(has_dot, length - 1 - dot.argmax(axis=1), 0)
    negative = b[:, 0] == 45
    if int(nd.max()) <= _MAX_DIGITS:
        value: NDArray[np.float64] = mant.astype(np.float64) / _POW10[frac]
    elif not _LONG_OK or int(nd.max()) > _LONG_DIGITS:
        raise NotFast
    else:
        q = mant.astype(np.longdouble) / _POW10_LONG[frac]
        value = q.astype(np.float64)
        tie = _ties(q, value)
        for k in np.flatnonzero(tie).tolist():
            value[k] = abs(float(bytes(b[k, : int(length[k])])))
    return np.where(negative, -value, value)


def _until(arr: NDArray[np.uint8], start: NDArray[np.int64], stop: int, most: int = 24) -> NDArray[np.int64]:
    """Where the first byte ``stop`` lies at or after each ``start`` (within ``most`` bytes, else 64)."""
    if int(start.max()) + 64 > len(arr):
        arr = np.concatenate([arr, np.zeros(64, dtype=np.uint8)])
    hit = sliding_window_view(arr, most)[start] == stop
    at = hit.argmax(axis=1)
    missed = ~hit[np.arange(len(at)), at]
    if missed.any():
        if most >= 64:
            raise NotFast
        at[missed] = _until(arr, start[missed], stop, 64) - start[missed]
    out: NDArray[np.int64] = start + at
    return out


_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_NUMBER_LAYOUT = re.compile(rb"[+-]?(?:\x01+\.?\x01*|\.\x01+)")
_LAYOUT = re.compile(rb"\x01{4}-\x01{2}-\x01{2}T\x01{2}:\x01{2}:\x01{2}(?:\.(\x01{1,6}))?(Z|[+-]\x01{2}:\x01{2})?")


def _kind_of(column: NDArray[np.uint8]) -> NDArray[np.int64]:
    """The bytes of a column, with every digit the same (``0``)."""
    return np.where((column >= 48) & (column <= 57), 48, column).astype(np.int64)


_TIME_LAYOUTS: dict[tuple[bytes, bytes, bytes], tuple[re.Match[bytes], bytes, bytes] | None] = {}


def _layout_checked(v: NDArray[np.uint8], pattern: re.Pattern[bytes], date: bytes = b"") -> re.Match[bytes]:
    """The layout of the first row of ``v`` (contiguous rows), matched by ``pattern`` (``\\x01`` for a digit);
    :class:`NotFast` unless every row has digits where it has digits and its other bytes elsewhere (the tens of
    the minutes and seconds at most 5), and starts with ``date`` (the first row's date, if given): one pass."""
    layout = v[0].tobytes().translate(_AS_LAYOUT)  # a control byte \x01 taken for a digit fails the check
    key = (layout, date, pattern.pattern)
    found = _TIME_LAYOUTS.get(key)  # not a second look-up that could fail: another thread may clear the cache
    if found is None and key not in _TIME_LAYOUTS:
        if len(_TIME_LAYOUTS) > 256:
            _TIME_LAYOUTS.clear()
        m = pattern.fullmatch(layout)
        low = bytearray(layout.replace(b"\x01", b"0"))
        span = bytearray(9 if c == 1 else 0 for c in layout)
        if m is not None and pattern is _LAYOUT:
            span[14] = span[17] = 5  # the tens of the minutes and of the seconds
        low[: len(date)] = date
        span[: len(date)] = bytes(len(date))
        found = _TIME_LAYOUTS[key] = None if m is None else (m, bytes(low), bytes(span))
    if found is None:
        raise NotFast
    m, low_bytes, span_bytes = found
    if not (v.reshape(-1) - _tile(low_bytes, len(v)) <= _tile(span_bytes, len(v))).all():
        raise NotFast
    return m


def _digits(x: NDArray[np.int32], col: int, count: int) -> NDArray[np.int32]:
    """The number written by the ``count`` digits from column ``col`` of each time (``x``: the times' bytes
    as integers, a row a column)."""
    out: NDArray[np.int32] = x[col] - 48
    for c in range(col + 1, col + count):
        out = out * 10 + (x[c] - 48)
    return out


def _days_from_civil(year: Any, month: Any, day: Any) -> Any:
    """Days from 1970-01-01 (H. Hinnant's ``days_from_civil``), of integers or arrays of them."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _times_of_one_layout(b: NDArray[np.uint8], length: int) -> NDArray[np.float64]:
    """Times whose rows are all ``length`` bytes and share the layout of the first (digits where it has them)."""
    v = np.ascontiguousarray(b[:, :length])
    # the date: most often one for all (one recording, one day), checked with the layout and read once
    date = v[0, :10].tobytes()
    year: Any
    month: Any
    day: Any
    try:
        if not (date[:4].isdigit() and date[5:7].isdigit() and date[8:10].isdigit()):  # a control byte, say
            raise NotFast
        m = _layout_checked(v, _LAYOUT, date)
        first = 11  # the columns read: from the hours on
    except NotFast:
        m = _layout_checked(v, _LAYOUT)
        first = 0
    x = np.ascontiguousarray(v[:, first:].T, dtype=np.int32)  # a row a column: each field read from contiguous rows
    if first:
        year, month, day = int(date[:4]), int(date[5:7]), int(date[8:10])
    else:
        year, month, day = _digits(x, 0, 4), _digits(x, 5, 2), _digits(x, 8, 2)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_ok = (month >= 1) & (month <= 12)
    dim = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + ((month == 2) & leap)
    valid = (year >= 1900) & (year <= 2200) & month_ok & (day >= 1) & (day <= dim)
    hh = 11 - first
    # the time of day: hours to 23 (the tens of minutes and of seconds to 5: checked with the layout)
    if not (np.all(valid) and (x[hh] * 10 + x[hh + 1] <= 551).all()):
        raise NotFast
    seconds = (
        x[hh] * 36000 + x[hh + 1] * 3600 + x[hh + 3] * 600 + x[hh + 4] * 60 + x[hh + 6] * 10 + x[hh + 7] - 48 * 40271
    ).astype(np.int64)
    seconds += np.int64(_days_from_civil(year, month, day)) * 86400
    tz = m.group(2) or b""
    if len(tz) == 6:
        off_h, off_m = _digits(x, m.start(2) + 1 - first, 2), _digits(x, m.start(2) + 4 - first, 2)
        if (off_h > 23).any() or (off_m > 59).any():
            raise NotFast
        seconds -= (-1 if tz[:1] == b"-" else 1) * (off_h * 3600 + off_m * 60)
    micros = seconds * 1_000_000
    frac = len(m.group(1) or b"")
    if frac:
        micros += _digits(x, 20 - first, frac) * 10 ** (6 - frac)
    out: NDArray[np.float64] = micros.astype(np.float64) / 1e6
    return out


def times(arr: NDArray[np.uint8], start: NDArray[np.int64], end: NDArray[np.int64]) -> NDArray[np.float64]:
    """ISO 8601 times ``YYYY-MM-DDTHH:MM:SS[.f{1,6}][Z|±HH:MM]`` (years 1900 to 2200) as seconds since 1970,
    exactly as :func:`offcourse.read._values.parse_time` gives them; :class:`NotFast` for any other form.

    Integer microseconds (exact below 2**53, about the year 2255) divided once by 10**6, as
    ``timedelta.total_seconds`` divides them.

    >>> a = np.frombuffer(b"1970-01-01T00:01:00.5Z 1970-01-01T01:00:00+01:00", dtype=np.uint8)
    >>> times(a, np.array([0, 23]), np.array([22, 48])).tolist()
    [60.5, 0.0]
    """
    b, length = _window(arr, start, end, 32)
    return _times_of(b, length)


def _times_of(
    b: NDArray[np.uint8], length: NDArray[np.int64], shortest: int = -1, longest: int = -1
) -> NDArray[np.float64]:
    """:func:`times` of the first ``length`` bytes of each row of ``b`` (``shortest`` and ``longest``: the least and
    the greatest length, when the caller knows them)."""
    if shortest < 0 and len(length):
        shortest, longest = int(length.min()), int(length.max())
    if not len(length) or shortest < 19 or longest > 32:
        raise NotFast
    if shortest == longest:  # most often one layout
        try:
            return _times_of_one_layout(b, int(length[0]))
        except NotFast:
            pass
    # rows of one key share a layout (length, what follows the seconds, how it ends): the layout check makes sure
    rows = np.arange(len(b))
    marks = [_kind_of(b[:, 19 % b.shape[1]])] + [_kind_of(b[rows, length - k]) for k in (1, 3, 6)]
    key = length.copy()
    for m in marks:
        key = key * 256 + m
    if (key == key[0]).all():
        return _times_of_one_layout(b, int(length[0]))
    out = np.empty(len(b), dtype=np.float64)
    for k in np.unique(key).tolist():
        group = np.flatnonzero(key == k)
        out[group] = _times_of_one_layout(b[group], int(length[group[0]]))
    return out

"""One chunk of a run of points written from one template, read and checked byte for byte (the fast path of
:mod:`offcourse.read._fastxml`, step 1).

The points of a chunk are rows: a point is read in *segments*, each taken as a row of bytes a
point (:class:`Rows`, one item-sized copy a point, which costs about the same whatever the row's
width). A segment starts with a fixed piece of the template and goes on over each value of one
length in the chunk (a time, most often) and the piece after it, up to a value of several lengths
(the next segment starts where it ends), an attribute's value (up to its quote), or the point's
last piece: a TCX trackpoint of six values is four segments, not thirteen rows. Every check is an
operation over the whole flat array of rows against the segment's bytes repeated, its values
masked out (a few passes at memory speed), never a loop over the points nor an operation over
short rows (numpy pays a call per row of a two-dimensional operation, which costs more than the
bytes themselves).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ._fastvalues import NotFast, _all_start_with, _decimals_of, _inside, _tile, _times_of

__all__ = ["Plan", "Rows", "chunk_values"]


class Rows:
    """Rows of bytes of one document starting anywhere.

    The document is viewed as overlapping items of ``width`` bytes (a void dtype, one item a byte
    further than the last), so that taking rows is one item-sized copy each, not a copy of a
    strided row each (twice as fast).
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.views: dict[int, NDArray[np.void]] = {}

    def rows(self, start: NDArray[np.int64], width: int) -> NDArray[np.uint8]:
        """The ``width`` bytes from each ``start`` (zeros past the end of the document), contiguous."""
        if not len(start):
            return np.empty((0, width), dtype=np.uint8)
        view = self.views.get(width)
        if view is None and width <= len(self.data):
            view = self.views[width] = _items(self.data, width)
        if view is not None:
            try:
                return _as_rows(view[start], width)
            except IndexError:  # a row past the end
                pass
        first = int(start.min())  # a copy of the end only, padded
        return _as_rows(_items(self.data[first:] + bytes(width), width)[start - first], width)


def _items(data: bytes, width: int) -> NDArray[np.void]:
    """``data`` as overlapping items of ``width`` bytes, one a byte further than the last."""
    return np.ndarray((len(data) - width + 1,), dtype=np.dtype((np.void, width)), buffer=data, strides=(1,))


def _as_rows(items: NDArray[np.void], width: int) -> NDArray[np.uint8]:
    out: NDArray[np.uint8] = items.view(np.uint8).reshape(len(items), width)
    return out


@dataclass
class Plan:
    """How the points of a run written from one template are read, chunk by chunk.

    The template (the first point and the whitespace before the next) is cut into fixed pieces
    and, between them, the values: ``pieces[0]``, value 1, ``pieces[1]``, ..., value k,
    ``pieces[k]``. A value ends at ``"`` (searched for: an attribute's value followed by another
    attribute) or ``back`` bytes before the point's *mark* number ``ends`` (the text of an element:
    0 bytes; the last attribute's value: the bytes of ``">`` and the whitespace after), read into
    ``column`` (``""``: only digits and signs, not kept).

    The marks are the bytes ``mark`` of a point, ``tags`` of them: its ``<`` (each tag's start), or,
    when every value is followed by an end tag, its ``/`` (half as many to find: a value then ends
    ``back`` = 1 byte before the ``/`` of ``</``; the next point starts ``after`` bytes after the
    point's last ``/``, the one of its own end tag).
    """

    tags: int
    pieces: list[bytes]
    values: list[tuple[str, int, int]]  # (column, the mark after it or -1 for a quote, bytes from its end to the mark)
    scan: list[int]  # bytes searched for the quote ending an attribute's value at first
    attr_order: tuple[str, str]
    positioned: bool
    mark: int = 60  # "<", or "/"
    after: int = 0  # with "/": bytes from a point's last "/" to the next point's start
    patterns: dict[tuple[int, tuple[int, ...], int], tuple[bytes, bytes]] = field(default_factory=dict)
    _ends: tuple[list[int], NDArray[np.int64], NDArray[np.int64]] | None = None

    def ends(self) -> tuple[list[int], NDArray[np.int64], NDArray[np.int64]]:
        """For values that all end before a tag: the tag after each, the bytes from the value's end to it, and the
        bytes of the piece before it (columns)."""
        if self._ends is None:
            self._ends = (
                [ends for _, ends, _ in self.values],
                np.array([[back] for _, _, back in self.values], dtype=np.int64),
                np.array([[len(piece)] for piece in self.pieces[: len(self.values)]], dtype=np.int64),
            )
        return self._ends


def _check_piece(rows: Rows, at: NDArray[np.int64], piece: bytes) -> None:
    """:class:`NotFast` unless the bytes from each ``at`` are ``piece`` (rows of whole 64-bit words, compared
    with the piece repeated, the bytes past it masked out)."""
    if piece and len(at) and not _all_start_with(rows.rows(at, -(-len(piece) // 8) * 8), piece):
        raise NotFast


def _check_digits(value: NDArray[np.uint8], length: NDArray[np.int64]) -> None:
    """:class:`NotFast` unless the first ``length`` bytes of each row are digits and signs (``.-+``)."""
    width = value.shape[1]
    x = np.ascontiguousarray(value).reshape(-1) - np.uint8(43)  # "+" 0, "," 1, "-" 2, "." 3, "/" 4, digits 5 to 14
    ok = (x <= 14) & (x != 1) & (x != 4)
    if not (ok.all() or (ok | ~_inside(length, width)).all()):
        raise NotFast


def _round_up(width: int) -> int:
    return -(-width // 8) * 8


def _segment_pattern(plan: Plan, first: int, fixed: tuple[int, ...], width: int) -> tuple[bytes, bytes]:
    """The bytes a segment's rows must hold and where (``0xff``): its pieces from ``first`` on, with the values of
    lengths ``fixed`` between them, in rows of ``width`` bytes (values and what is past the last piece masked out)."""
    key = (first, fixed, width)
    have = plan.patterns.get(key)
    if have is None:
        pattern, mask = bytearray(width), bytearray(width)
        off = 0
        for j in range(first, first + len(fixed) + 1):
            piece = plan.pieces[j]
            pattern[off : off + len(piece)] = piece
            mask[off : off + len(piece)] = b"\xff" * len(piece)
            off += len(piece) + (fixed[j - first] if j - first < len(fixed) else 0)
        if len(plan.patterns) > 256:
            plan.patterns.clear()
        have = plan.patterns[key] = (bytes(pattern[:width]), bytes(mask[:width]))
    return have


def _all_match(v: NDArray[np.uint8], pattern: bytes, mask: bytes) -> bool:
    """Whether every row of ``v`` (contiguous rows of ``len(pattern)`` bytes, a multiple of 8, taken for this
    check: they are overwritten) holds ``pattern``'s bytes where ``mask`` is ``0xff`` (64-bit words at a time,
    compared with the pattern repeated; ``pattern`` is 0 where ``mask`` is)."""
    n = len(v)
    words = v.reshape(-1).view(np.uint64)
    np.bitwise_and(words, _tile(mask, n).view(np.uint64), out=words)
    return bool(np.array_equal(words, _tile(pattern, n).view(np.uint64)))


def _columns(seg: NDArray[np.uint8], start: int, width: int) -> NDArray[np.uint8]:
    """Columns ``start`` to ``start + width`` of the rows ``seg`` (contiguous), as contiguous rows: one item-sized
    copy a row (a two-dimensional slice would be copied a short row at a time)."""
    n, full = seg.shape
    if not width or not n:
        return np.empty((n, width), dtype=np.uint8)
    items = np.ndarray((n,), dtype=np.dtype((np.void, width)), buffer=seg, offset=start, strides=(full,))
    return _as_rows(items.copy(), width)


def _read(
    cols: dict[str, NDArray[np.float64]],
    col: str,
    value: NDArray[np.uint8],
    length: NDArray[np.int64],
    lo: int,
    hi: int,
) -> None:
    """Read the values ``value`` (rows) of lengths ``length`` (from ``lo`` to ``hi``) into the column ``col``, or
    check that they are digits and signs only (``col`` empty)."""
    if col:
        read = _times_of if col == "time" else _decimals_of
        cols[col] = read(value, length, lo, hi)
    else:
        _check_digits(value, length)


def chunk_values(
    rows: Rows,
    lt: NDArray[np.int64],
    nxt: NDArray[np.int64],
    plan: Plan,
    last: bytes,
    first: NDArray[np.int64] | None = None,
) -> dict[str, NDArray[np.float64]]:
    """The columns of the points of one chunk, whose marks (:class:`Plan`) are at ``lt`` (a row a point), which
    start at ``first`` (by default at their first mark, their ``<``) and whose next point starts at ``nxt``;
    ``last``: what the last point ends with when it is the run's last (its last piece without the separator),
    else empty.

    Every byte of a point is checked: each fixed piece is compared with the template's, each value
    is read by :func:`~offcourse.read._fastvalues.decimals` or
    :func:`~offcourse.read._fastvalues.times`, or is digits and signs only. The pieces and values
    follow one another from the point's ``<`` up to the next point's.

    The point is read in *segments*, one row of bytes a point each (taking a row costs about the
    same whatever its width): a segment starts with a piece and goes on over each value that has
    one length in this chunk (a time, most often) and the piece after it, up to a value of several
    lengths (which ends the segment: the next one starts where it ends), a quoted attribute's
    value, or the point's last piece. The pieces of a segment are compared at once (its values
    masked out) and its values read from their columns of the rows.
    """
    pieces, values = plan.pieces, plan.values
    k = len(values)
    at = lt[:, 0] if first is None else first  # where the segment starts
    cols: dict[str, NDArray[np.float64]] = {}
    known: list[NDArray[np.int64]] = []  # the lengths of the values, when all end before a tag
    lows: list[int] = []
    highs: list[int] = []
    if k and all(ends >= 0 for _, ends, _ in values):  # all at once (a row a value)
        tags, backs, before = plan.ends()
        ends_at = lt.T[tags]
        ends_at -= backs
        starts = np.empty_like(ends_at)
        starts[0] = at
        starts[1:] = ends_at[:-1]
        lengths = ends_at - starts
        lengths -= before
        known = list(lengths)
        lows, highs = lengths.min(axis=1).tolist(), lengths.max(axis=1).tolist()
    m = 0
    while True:
        fixed: list[int] = []
        off = 0  # bytes from the segment's start to the piece or value at hand
        j = m
        tail: NDArray[np.int64] | None = None  # the length of the value ending the segment, if one does ...
        tail_lo = tail_hi = 0  # ... its least and greatest
        quoted = False
        while True:
            off += len(pieces[j])
            if j == k:
                break
            _, ends, back = values[j]
            if ends < 0:  # an attribute's value, up to the quote
                quoted = True
                break
            if known:
                length, lo, hi = known[j], lows[j], highs[j]
            else:
                length = lt[:, ends] - back - at - off
                lo, hi = int(length.min()), int(length.max())
            if lo < 0 or hi > 64:
                raise NotFast
            if lo != hi:
                tail, tail_lo, tail_hi = length, lo, hi
                break
            fixed.append(lo)
            off += lo
            j += 1
        last_piece = j == k
        if last_piece and last:  # the run's last point: its last piece (without the separator) checked apart
            off -= len(pieces[k])
        if quoted:
            for scan in (plan.scan[j], 64):
                width = _round_up(off + scan)
                seg = rows.rows(at, width)
                hit = seg[:, off : off + scan] == 34
                length = hit.argmax(axis=1)
                if hit[np.arange(len(seg)), length].all():
                    break
            else:
                raise NotFast
            tail, tail_lo, tail_hi = length, int(length.min()), int(length.max())
        elif tail is not None:
            width = _round_up(off + tail_hi)
            seg = rows.rows(at, width)
        else:
            width = _round_up(off)
            seg = rows.rows(at, width) if width else np.empty((len(at), 0), dtype=np.uint8)
        if last_piece and last:
            pattern, mask = _segment_pattern(plan, m, tuple(fixed), width)
            pattern, mask = pattern[:off] + bytes(width - off), mask[:off] + bytes(width - off)  # not the last piece
        else:
            pattern, mask = _segment_pattern(plan, m, tuple(fixed), width)
        v_at = len(pieces[m])
        for i, size in enumerate(fixed):
            _read(cols, values[m + i][0], _columns(seg, v_at, size), np.full(len(seg), size), size, size)
            v_at += size + len(pieces[m + i + 1])
        if tail is not None:
            more = int(tail_hi % 2 == 1 and tail_hi < width - off)  # a padded decimal of an odd width: a column more
            _read(cols, values[j][0], _columns(seg, off, tail_hi + more), tail, tail_lo, tail_hi)
        if width and not _all_match(seg, pattern, mask):  # after the values were read: it overwrites them
            raise NotFast
        if tail is not None:
            at = at + off + tail
            m = j + 1
            continue
        at = at + off
        break
    piece = pieces[-1]
    if last:  # the run's last point: its last piece without the separator
        _check_piece(rows, at[:-1], piece)
        if bytes(rows.rows(at[-1:], len(last))[0]) != last:
            raise NotFast
        at = at + len(piece)
    if not (at == nxt).all():
        raise NotFast  # the pieces and values of a point do not end where the next point starts
    if plan.positioned and not ((np.abs(cols["lat"]) <= 90.0).all() and (np.abs(cols["lon"]) <= 180.0).all()):
        raise NotFast  # the hardened reader says which
    return cols

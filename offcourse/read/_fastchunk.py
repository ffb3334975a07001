"""One chunk of a run of points written from one template, read and checked byte for byte (the fast path of
:mod:`offcourse.read._fastxml`, step 1).

The points of a chunk are rows: each fixed piece of the template and each value are taken as a
row of bytes a point (:class:`Rows`, one item-sized copy a point), and every check is an
operation over the whole flat array of rows against the template's bytes repeated (a few passes
at memory speed), never a loop over the points nor an operation over short rows (numpy pays a
call per row of a two-dimensional operation, which cost more than the bytes themselves).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ._fastvalues import NotFast, _all_start_with, _decimals_of, _inside, _times_of

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
    attribute) or ``back`` bytes before the point's ``<`` number ``ends`` (the text of an element:
    0 bytes; the last attribute's value: the bytes of ``">`` and the whitespace after), read into
    ``column`` (``""``: only digits and signs, not kept).
    """

    tags: int
    pieces: list[bytes]
    values: list[tuple[str, int, int]]  # (column, the tag after it or -1 for a quote, bytes from its end to the tag)
    scan: list[int]  # bytes searched for the quote ending an attribute's value at first
    attr_order: tuple[str, str]
    positioned: bool


def _check_piece(rows: Rows, at: NDArray[np.int64], piece: bytes) -> None:
    """:class:`NotFast` unless the bytes from each ``at`` are ``piece`` (rows of whole 64-bit words, compared
    with the piece repeated, the bytes past it masked out)."""
    if piece and len(at) and not _all_start_with(rows.rows(at, -(-len(piece) // 8) * 8), piece):
        raise NotFast


def _quoted(rows: Rows, start: NDArray[np.int64], scan: int) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """The rows from each ``start`` holding an attribute's value, and its length (up to the first ``"``)."""
    for width in (scan, 64):
        value = rows.rows(start, width)
        hit = value == 34
        length = hit.argmax(axis=1)
        if hit[np.arange(len(value)), length].all():
            return value, length
    raise NotFast


_DIGIT_OR_SIGN = np.zeros(256, dtype=bool)
_DIGIT_OR_SIGN[list(b"0123456789.-+")] = True


def _check_digits(value: NDArray[np.uint8], length: NDArray[np.int64]) -> None:
    """:class:`NotFast` unless the first ``length`` bytes of each row are digits and signs (``.-+``)."""
    ok = _DIGIT_OR_SIGN[value.reshape(-1)]
    if not (ok | ~_inside(length, value.shape[1])).all():
        raise NotFast


def chunk_values(
    rows: Rows, lt: NDArray[np.int64], nxt: NDArray[np.int64], plan: Plan, last: bytes
) -> dict[str, NDArray[np.float64]]:
    """The columns of the points of one chunk, whose tags start at ``lt`` (a row a point) and whose next point
    starts at ``nxt``; ``last``: what the last point ends with when it is the run's last (its last piece
    without the separator), else empty.

    Every byte of a point is checked: each fixed piece is compared with the template's, each value
    is read by :func:`~offcourse.read._fastvalues.decimals` or
    :func:`~offcourse.read._fastvalues.times`, or is digits and signs only. The pieces and values
    follow one another from the point's ``<`` up to the next point's.
    """
    pieces = plan.pieces
    at = lt[:, 0]  # where the piece before the value starts
    cols: dict[str, NDArray[np.float64]] = {}
    for m, (col, ends, back) in enumerate(plan.values):
        _check_piece(rows, at, pieces[m])
        start = at + len(pieces[m])
        if ends < 0:  # an attribute's value, up to the quote
            value, length = _quoted(rows, start, plan.scan[m])
        else:
            length = lt[:, ends] - back - start
            if int(length.min()) < 0 or int(length.max()) > 64:
                raise NotFast
            value = rows.rows(start, max(int(length.max()), 1))
        if col:
            read = _times_of if col == "time" else _decimals_of
            cols[col] = read(value, length)
        else:
            _check_digits(value, length)
        at = start + length
    piece = pieces[-1]
    if last:  # the run's last point: its last piece without the separator
        _check_piece(rows, at[:-1], piece)
        if bytes(rows.rows(at[-1:], len(last))[0]) != last:
            raise NotFast
    else:
        _check_piece(rows, at, piece)
    if not (at + len(piece) == nxt).all():
        raise NotFast  # the pieces and values of a point do not end where the next point starts
    if plan.positioned and not ((np.abs(cols["lat"]) <= 90.0).all() and (np.abs(cols["lon"]) <= 180.0).all()):
        raise NotFast  # the hardened reader says which
    return cols

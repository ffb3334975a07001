"""The byte-level fast path of the GPX and TCX readers: the runs of points read with numpy, not expat.

Recordings are long runs of points that a program wrote from one template::

    <trkpt lat="45.1234567" lon="6.1234567"><ele>1020.4</ele><time>2024-05-01T06:00:01Z</time></trkpt>

Per point, the hardened reader (:mod:`offcourse.read._xml`) pays a dozen Python calls; here each
run of points (the content of a ``trkseg``, ``rte`` or TCX ``Track``, from its first point to its
last) is read at once:

1. **The run is one template repeated** (:func:`_run_one`, what a program writes). The first
   point (and the whitespace before the next) is the template, parsed by the hardened scanner
   (well-formed, no entity) and holding no element that would change the reader's state (a
   ``trkseg`` in an extension, ...). It is cut into fixed pieces and, between them, the values
   (``lat``/``lon`` attributes, the texts of ``ele``, ``time``, ... and the texts of digits the
   reader does not keep). The run is read in chunks of about a megabyte that end where a point
   starts, each while it is in cache: the places of its ``<`` (``np.flatnonzero``) are each
   point's tags in order when the points are the template's (when every value is followed by an
   end tag, as in TCX, the places of its ``/``: half as many); each fixed piece is compared, byte
   for byte, with the template's where the value before it ends
   (:mod:`offcourse.read._fastchunk`: a row of bytes a point for each segment of the point, from
   a piece over the values of one length and the pieces after them up to a value of several
   lengths, all compared at once with the segment's pieces repeated); each value is read (step 2)
   or is digits and signs only; the pieces and values of a point must end where the next point
   starts. So every byte of every point is checked.
   A run of points of several templates (some with an extension, some without) is read by
   :func:`_run_general`: with the digits and ``.-+`` deleted (``bytes.translate``), the run must
   be the templates repeated, point by point; the tags' lengths (and, for a tag whose template
   bytes hold digits, its bytes) are compared too, so a digit cannot hide in a tag name.
2. **Values are parsed with numpy** (:mod:`offcourse.read._fastvalues`). Decimals are parsed
   digit by digit into an integer and divided once by a power of ten: exact whenever the number
   has at most 15 digits (the integer and the power are exact doubles, and one IEEE division is
   correctly rounded), so the float is the one ``float(text)`` gives, bit for bit (16 to 18
   digits: in extended precision, the exact ties read by ``float()``); the numbers of a chunk
   padded or aligned on their dots into one layout, read at once. Times
   ``YYYY-MM-DDTHH:MM:SS[.f{1,6}][Z|±HH:MM]`` become integer microseconds, divided once by 10⁶
   as ``timedelta.total_seconds`` does.
3. **The rest is the hardened reader's.** Each run read this way is replaced by a marker
   element and the remaining skeleton (metadata, names, waypoints, routes of other shapes) is
   read by the hardened scanner, which takes the run's columns when it meets the marker.

Anything else leaves the run to the hardened reader: a value that is not a plain decimal or
such a time, a latitude out of range, a run whose points differ in shape, a non-ASCII or control
byte, ``&`` (entities), a processing instruction, a comment or CDATA section among the points. A
UTF-16 document, or one whose skeleton the hardened reader refuses in any way, is read
by the hardened reader from the start, so that errors are the same, with the same message.
A comment, CDATA section or ``offcourse_fast_`` element that happens to hold what looks like a
run is harmless: its marker is not met where it is expected, and the hardened reader reads the
document.
``tests/read/test_fastxml.py`` checks that the output is the same, array for array and bit for
bit, on every GPX and TCX file of the shared corpus.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from ..errors import OffcourseError
from ..model import ParsedFile
from ._fastchunk import Plan, Rows, chunk_values
from ._fastvalues import NotFast, _until, _window, decimals, times
from ._xml import Scanner, scan

__all__ = ["MARK", "Block", "NotFast", "PointShape", "decimals", "fast_blocks", "times"]

MARK = "offcourse_fast_"
"""Local name of the marker element that stands for a run of points read here."""

_MARK_TAG = b"<" + MARK.encode() + b"/>"
_DIGITS = b"0123456789.-+"
_WS = b" \t\r\n"
_ALLOWED = bytes(range(32, 127)) + b"\t\n\r"  # what the template may hold
_TAG = re.compile(rb"<(/?)([^\s/>]+)([^>]*?)(/?)>")
_LATLON_TAG = re.compile(rb'<([A-Za-z]+)\s+(lat|lon)="([^"]*)"\s+(lat|lon)="([^"]*)"\s*>')
_NAN = np.nan

Columns = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]


@dataclass(frozen=True)
class PointShape:
    """What one reader takes from a point element, for the fast path.

    Attributes
    ----------
    container, point : bytes
        The element holding the run (``trkseg``) and the point element (``trkpt``).
    attributes : bool
        The position is in ``lat``/``lon`` attributes of the point (GPX), not in elements.
    slots : dict
        Path of a child element below the point (local names) -> the column its text fills:
        ``lon``, ``lat``, ``ele``, ``time`` or ``hdop``.
    position : tuple of str, optional
        Path of the element whose presence says the point has a position (TCX ``Position``);
        a point without it is counted, not kept.
    forbidden : frozenset of str
        Local names that may not appear inside a point (they would change the reader's state).
    """

    container: bytes
    point: bytes
    attributes: bool
    slots: dict[tuple[str, ...], str]
    position: tuple[str, ...] | None
    forbidden: frozenset[str]


@dataclass(frozen=True)
class Block:
    """A run of points read here: its columns (``lon, lat, ele, time, hdop``) and how many points it had."""

    shape: PointShape
    columns: Columns
    points: int
    without_position: int


# -- the template of a run ----------------------------------------------------------------------


@dataclass
class _Template:
    tags: int  # tags per point
    tag_len: NDArray[np.int64]  # each tag's length from "<" to ">" (the index of ">") ...
    free: NDArray[np.bool_]  # ... to be checked but where True (the point's start tag in GPX)
    exact: list[tuple[int, bytes]]  # tags whose bytes hold digits: compared byte for byte
    start_fixed: int  # GPX: the start tag's length from "<" to ">" without its two values
    value_at: tuple[int, int, int]  # GPX: V1 from "<", V2 from the quote after V1, ">" from the end of V2
    slots: dict[str, int]  # column -> index of the tag whose text it is
    attr_order: tuple[str, str]  # GPX: the attribute names in order
    positioned: bool


def _local(name: bytes) -> str:
    return name.rpartition(b":")[2].decode("ascii")


def _template(unit: bytes, shape: PointShape) -> _Template:
    try:
        scan(io.BytesIO(b"<t>" + unit + b"</t>"), Scanner(None))  # well-formed, no entity: the hardened scanner
    except OffcourseError:
        raise NotFast from None
    tags = list(_TAG.finditer(unit))
    if not tags or len(tags) != unit.count(b"<") or len(tags) != unit.count(b">"):
        raise NotFast
    stack: list[str] = []
    paths: list[tuple[str, ...] | None] = []  # path below the point of each opening tag
    for m in tags:
        closing, name, selfclose = m.group(1), m.group(2), m.group(4)
        local = _local(name)
        if closing:
            stack.pop()
            paths.append(None)
            continue
        if stack and (local in shape.forbidden or name == shape.point):
            raise NotFast
        path = (*stack[1:], local)
        paths.append(path if stack else ())
        if not selfclose:
            stack.append(local)
    first = tags[0]
    if first.group(2) != shape.point or first.group(1) or first.group(4) or stack:
        raise NotFast
    slots: dict[str, int] = {}
    positioned = shape.position is None
    for j, below in enumerate(paths):
        if not below:
            continue
        if below == shape.position:
            if positioned:
                raise NotFast  # twice
            positioned = True
        col = shape.slots.get(below)
        if col is None:
            continue
        nxt = tags[j + 1] if j + 1 < len(tags) else None
        if col in slots or tags[j].group(4) or nxt is None or not nxt.group(1) or nxt.group(2) != tags[j].group(2):
            raise NotFast  # twice, empty, or with children
        slots[col] = j
    attr_order: tuple[str, str] = ("", "")
    start_fixed = 0
    value_at = (0, 0, 0)
    if shape.attributes:
        lm = _LATLON_TAG.fullmatch(first.group(0))
        if lm is None or lm.group(2) == lm.group(4):
            raise NotFast
        attr_order = (lm.group(2).decode(), lm.group(4).decode())
        start_fixed = len(first.group(0)) - 1 - len(lm.group(3)) - len(lm.group(5))
        value_at = (lm.start(3), lm.start(5) - lm.end(3), len(first.group(0)) - 1 - lm.end(5))
    elif first.group(0) != b"<" + shape.point + b">":
        raise NotFast
    if positioned and not ({"lat", "lon"} <= set(slots) | set(attr_order)):
        raise NotFast  # the hardened reader refuses a Position without both
    exact = [(j, m.group(0)) for j, m in enumerate(tags) if j and m.group(0).translate(None, _DIGITS) != m.group(0)]
    if not shape.attributes and tags[0].group(0).translate(None, _DIGITS) != tags[0].group(0):
        raise NotFast
    tag_len = np.array([len(m.group(0)) - 1 for m in tags], dtype=np.int64)
    free = np.zeros(len(tags), dtype=bool)
    free[0] = shape.attributes
    return _Template(len(tags), tag_len, free, exact, start_fixed, value_at, slots, attr_order, positioned)


# -- a run ---------------------------------------------------------------------------------------


_MAX_TEMPLATES = 64
"""More templates than this in one run (points of many shapes): the run is the hardened reader's."""


def _values(
    blk: NDArray[np.uint8], lt: NDArray[np.int64], gt: NDArray[np.int64], t: _Template, shape: PointShape
) -> dict[str, NDArray[np.float64]]:
    """The columns of the points of one template, whose tags start at ``lt`` and end at ``gt`` (one row a point)."""
    # each tag of fixed length is as long as the template's: no digit slipped into a tag
    if not ((gt - lt == t.tag_len) | t.free).all():
        raise NotFast
    for j, tag in t.exact:
        window, _ = _window(blk, lt[:, j], lt[:, j] + len(tag), len(tag))
        if not (window == np.frombuffer(tag, dtype=np.uint8)).all():
            raise NotFast
    cols: dict[str, NDArray[np.float64]] = {}
    if not t.positioned:
        return cols
    if shape.attributes:
        # <trkpt lat="V1" lon="V2">: V1 starts at a fixed offset from "<", V2 at a fixed offset from the
        # quote closing V1, and ends at a fixed offset before ">" (the bytes between are the template's)
        start1 = lt[:, 0] + t.value_at[0]
        end1 = _until(blk, start1, 34)
        start2 = end1 + t.value_at[1]
        end2 = gt[:, 0] - t.value_at[2]
        cols[t.attr_order[0]] = decimals(blk, start1, end1)
        cols[t.attr_order[1]] = decimals(blk, start2, end2)
        # only the two values vary in length: nothing else in the tag
        if not (gt[:, 0] - lt[:, 0] - (end1 - start1) - (end2 - start2) == t.start_fixed).all():
            raise NotFast
    for col, j in t.slots.items():
        read: Callable[[NDArray[np.uint8], NDArray[np.int64], NDArray[np.int64]], NDArray[np.float64]]
        read = times if col == "time" else decimals
        cols[col] = read(blk, gt[:, j] + 1, lt[:, j + 1])
    if not ((np.abs(cols["lat"]) <= 90.0).all() and (np.abs(cols["lon"]) <= 180.0).all()):
        raise NotFast  # the hardened reader says which
    return cols


_CHUNK = 1 << 20
"""Bytes of a run read at once: its ``<`` are found, its points checked and their values read while it is in cache."""


def _plan(unit: bytes, shape: PointShape) -> Plan:
    t = _template(unit, shape)
    tags = list(_TAG.finditer(unit))
    kept = {j: col for col, j in t.slots.items()}
    cuts: list[tuple[int, int, str, int]] = []
    if shape.attributes:
        lm = _LATLON_TAG.fullmatch(tags[0].group(0))
        if lm is None:  # pragma: no cover - _template checked the tag
            raise NotFast
        # the first value ends at a quote, searched for; the second where the next tag starts, less the bytes
        # between (``">`` and whitespace)
        cuts += [(lm.start(3), lm.end(3), t.attr_order[0], -1), (lm.start(5), lm.end(5), t.attr_order[1], 1)]
    for j in range(len(tags) - 1):
        s, e = tags[j].end(), tags[j + 1].start()
        if j in kept:
            cuts.append((s, e, kept[j], j + 1))
        elif e > s and not unit[s:e].translate(None, _DIGITS):
            cuts.append((s, e, "", j + 1))
    if not cuts:
        raise NotFast
    pieces, at = [], 0
    for s, e, _, _ in cuts:
        pieces.append(unit[at:s])
        at = e
    pieces.append(unit[at:])
    scan = [min(e - s + 8, 64) for s, e, _, _ in cuts]
    if all(j >= 0 and tags[j].group(1) for _, _, _, j in cuts):  # every value before an end tag: its "/" marks it
        slashes = [i for i, byte in enumerate(unit) if byte == 47]  # the last: the point's end tag's (then spaces)
        mark_of = {pos: k for k, pos in enumerate(slashes)}
        values = [(c, mark_of[tags[j].start() + 1], tags[j].start() + 1 - e) for _, e, c, j in cuts]
        return Plan(
            len(slashes), pieces, values, scan, t.attr_order, t.positioned, mark=47, after=len(unit) - slashes[-1]
        )
    values = [(c, j, tags[j].start() - e if j >= 0 else 0) for _, e, c, j in cuts]
    return Plan(len(tags), pieces, values, scan, t.attr_order, t.positioned)


def _run_one(data: bytes, arr: NDArray[np.uint8], a: int, b: int, shape: PointShape) -> Block:
    """A run whose points are all of one template (what a program writes), read one chunk at a time.

    Each chunk of about :data:`_CHUNK` bytes ends where a point starts; its ``<`` are each point's
    tags in order when the points are the template's (or its ``/``, half as many, when every value is
    followed by an end tag: a TCX trackpoint), which :func:`~offcourse.read._fastchunk.chunk_values`
    checks, byte for byte. Anything else: :class:`NotFast`.
    """
    close = b"</" + shape.point + b">"
    e0 = data.find(close, a, b)
    s1 = data.find(b"<", e0 + len(close), b) if e0 >= 0 else -1
    if s1 < 0:
        raise NotFast  # one point
    sep = data[e0 + len(close) : s1]
    unit = data[a:s1]
    if sep.strip(_WS) or unit.translate(None, _ALLOWED) or b"&" in unit or b"<?" in unit or b"<!" in unit:
        raise NotFast
    plan = _plan(unit, shape)
    nt = plan.tags
    last = plan.pieces[-1][: len(plan.pieces[-1]) - len(sep)]
    rows = Rows(data)
    parts: dict[str, list[NDArray[np.float64]]] = {c: [] for c in ("lon", "lat", "ele", "time", "hdop")}
    n = 0
    lo, chunk = a, _CHUNK
    slash = plan.mark == 47
    while lo < b:
        hi = min(lo + chunk, b)
        lt = np.flatnonzero(arr[lo:hi] == plan.mark)
        lt += lo
        first = None
        if hi == b:
            points, rest = divmod(len(lt), nt)
            if rest or not points:
                raise NotFast
            if slash:  # each point's last "/" is its end tag's: the next point starts a fixed count of bytes after
                nxt = lt[nt - 1 :: nt] + plan.after
                nxt[-1] = b - len(last) + len(plan.pieces[-1])
            else:
                nxt = np.append(lt[nt::nt], b - len(last) + len(plan.pieces[-1]))
            end = last
        else:
            points = len(lt) // nt if slash else (len(lt) - 1) // nt
            if slash and points and int(lt[points * nt - 1]) + plan.after > b:
                points -= 1  # the run's last point, whole in the chunk: read as the last chunk's
            if points < 1:
                chunk *= 2
                continue
            nxt = lt[nt - 1 : points * nt : nt] + plan.after if slash else lt[nt : (points + 1) * nt : nt]
            hi = int(nxt[-1])
            end = b""
        if slash:
            first = np.empty(points, dtype=np.int64)
            first[0] = lo
            first[1:] = nxt[:-1]
        cols = chunk_values(rows, lt[: points * nt].reshape(points, nt), nxt, plan, end, first)
        for name, col in cols.items():
            parts[name].append(col)
        n += points
        lo = hi
    if not plan.positioned:
        return Block(shape, _empty(), n, n)
    out = tuple(
        np.concatenate(parts[c]) if parts[c] else np.full(n, _NAN) for c in ("lon", "lat", "ele", "time", "hdop")
    )
    return Block(shape, out, n, 0)  # type: ignore[arg-type]


def _run(data: bytes, arr: NDArray[np.uint8], a: int, b: int, shape: PointShape) -> Block:
    """A run of points: by :func:`_run_one`, else by :func:`_run_general` (points of several templates)."""
    try:
        return _run_one(data, arr, a, b, shape)
    except NotFast:
        return _run_general(data, arr, a, b, shape)


def _run_general(data: bytes, arr: NDArray[np.uint8], a: int, b: int, shape: PointShape) -> Block:
    body = data[a:b]
    p_open = b"<" + shape.point
    close = b"</" + shape.point + b">"
    e0 = body.find(close) + len(close)
    s1 = body.find(b"<", e0)
    sep = b"" if s1 < 0 else body[e0:s1]
    if sep.strip(_WS):
        raise NotFast
    # the points without their digits: the same bytes for the points of one template
    stripped = body.translate(None, _DIGITS)
    second = stripped.find(p_open, len(p_open))
    first = stripped[:second] if second > 0 else stripped + sep
    n, rem = divmod(len(stripped) + len(sep), len(first))
    repeated = first * n if not rem else b""
    if repeated.startswith(stripped) and repeated.endswith(sep):  # one template (what a program writes)
        kinds = [first[len(p_open) :]]
        ids = np.zeros(n, dtype=np.int64)
    else:
        pieces = (stripped + sep).split(p_open)
        if pieces[0]:  # pragma: no cover - a run starts with a point
            raise NotFast
        n = len(pieces) - 1
        index: dict[bytes, int] = {}
        ids = np.fromiter((index.setdefault(x, len(index)) for x in pieces[1:]), dtype=np.int64, count=n)
        kinds = list(index)
        if len(kinds) > _MAX_TEMPLATES:
            raise NotFast
    blk = arr[a:b]
    lt_all = np.flatnonzero(blk == 60)
    gt_all = np.flatnonzero(blk == 62)
    if len(gt_all) != len(lt_all):  # ">" in a text: each point has as many as its template
        raise NotFast
    tags_of = np.array([k.count(b"<") + 1 for k in kinds], dtype=np.int64)
    per_point = tags_of[ids]
    first_tag = np.cumsum(per_point) - per_point
    if int(per_point.sum()) != len(lt_all):  # pragma: no cover - implied by the split
        raise NotFast
    lon, lat, ele, time, hdop = (np.full(n, _NAN) for _ in range(5))
    positioned = np.ones(n, dtype=bool)
    for g in range(len(kinds)):
        rows = np.arange(n) if len(kinds) == 1 else np.flatnonzero(ids == g)
        i = int(rows[0])
        u0 = int(lt_all[first_tag[i]])
        u1 = int(lt_all[first_tag[i + 1]]) if i + 1 < n else len(body)
        unit = body[u0:u1] + (sep if i + 1 == n else b"")
        # every byte of a point that is not a digit or a sign is its template's: checking the template checks all
        if unit.translate(None, _ALLOWED) or b"&" in unit or b"<?" in unit or b"<!" in unit:
            raise NotFast
        t = _template(unit, shape)
        if t.tags != tags_of[g]:  # pragma: no cover - the same count of "<"
            raise NotFast
        if len(kinds) == 1:
            lt, gt = lt_all.reshape(n, t.tags), gt_all.reshape(n, t.tags)
        else:
            at = first_tag[rows][:, None] + np.arange(t.tags)
            lt, gt = lt_all[at], gt_all[at]
        cols = _values(blk, lt, gt, t, shape)
        if not cols:
            positioned[rows] = False
            continue
        if len(kinds) == 1:
            nan = np.full(n, _NAN)
            one = tuple(cols[c] if c in cols else nan.copy() for c in ("lon", "lat", "ele", "time", "hdop"))
            return Block(shape, one, n, 0)  # type: ignore[arg-type]
        for out, name in ((lon, "lon"), (lat, "lat"), (ele, "ele"), (time, "time"), (hdop, "hdop")):
            if name in cols:
                out[rows] = cols[name]
    missing = n - int(positioned.sum())
    if missing:
        lon, lat, ele, time, hdop = (c[positioned] for c in (lon, lat, ele, time, hdop))
    return Block(shape, (lon, lat, ele, time, hdop), n, missing)


def _empty() -> Columns:
    e = np.empty(0, dtype=np.float64)
    return (e, e, e, e, e)


class _Opens:
    """The container start tags of each shape, in document order, each byte searched at most once per shape.

    A search for the next start tag of a shape stops at the nearest one of another shape already
    found, and the search goes on from where a container closed, not over its points.
    """

    def __init__(self, data: bytes, shapes: tuple[PointShape, ...]) -> None:
        self.data = data
        self.tags = [b"<" + shape.container + b">" for shape in shapes]
        self.found = [-1] * len(shapes)  # the next start tag found, or -1 for none before scanned
        self.scanned = [0] * len(shapes)

    def next(self, pos: int) -> tuple[int, int]:
        """The next start tag at or after ``pos`` (its place and the shape's index), or ``(-1, -1)``."""
        best, best_k = -1, -1
        for k, tag in enumerate(self.tags):
            f = self.found[k]
            if f < pos:
                start = max(pos, self.scanned[k])
                end = best if best >= 0 else len(self.data)
                f = self.data.find(tag, start, end)
                self.found[k] = f
                self.scanned[k] = f if f >= 0 else max(start, end - len(tag) + 1)  # none before
            if f >= 0 and (best < 0 or f < best):
                best, best_k = f, k
        return best, best_k


def _container_run(
    data: bytes, arr: NDArray[np.uint8], c0: int, last: int, shape: PointShape, guess: bool
) -> tuple[Block | None, int, int, int]:
    """The run of points of the container opened at ``c0`` (``last``: the document's last end tag of that
    container): its block (``None`` when the fast path does not read it), where it lies, and where the
    container ends.

    With ``guess`` (the first container of its shape), the run is first taken to end at the last
    point before ``last`` (one container, as most documents have): :func:`_run_one` reading it
    proves it holds no end tag, so that it is the container's run and the container's end tag need
    not be searched for over the points. Else the container's end tag is searched for.
    """
    close_tag = b"</" + shape.container + b">"
    p_close = b"</" + shape.point + b">"
    a = data.find(b"<" + shape.point, c0, last)
    if a < 0 or data.find(close_tag, c0, a) >= 0:  # no point in this container
        c1 = data.find(close_tag, c0)
        return None, 0, 0, c1 + len(close_tag)
    z = data.rfind(p_close, a, last) if guess else -1
    tried = (-1, -1)
    if z >= 0:
        tried = (a, z + len(p_close))
        try:
            block = _run_one(data, arr, a, tried[1], shape)
            return block, a, tried[1], data.find(close_tag, tried[1]) + len(close_tag)
        except NotFast:
            pass
    c1 = data.find(close_tag, c0)
    z = data.rfind(p_close, a, c1)
    if z < 0:
        return None, 0, 0, c1 + len(close_tag)
    b = z + len(p_close)
    try:
        block = _run_general(data, arr, a, b, shape) if (a, b) == tried else _run(data, arr, a, b, shape)
    except NotFast:
        return None, 0, 0, c1 + len(close_tag)
    return block, a, b, c1 + len(close_tag)


def fast_blocks(data: bytes, shapes: tuple[PointShape, ...]) -> tuple[list[Block], bytes] | None:
    """The runs of points of ``data`` read by the fast path, and the skeleton left for the hardened scanner.

    Each run read is replaced in the skeleton by a ``<offcourse_fast_/>`` marker (:data:`MARK`), in
    document order; the run of a container is from its first point's ``<`` to its last point's ``>``.
    ``None`` when the document is not for the fast path at all (see the module docstring) or no run
    could be read.
    """
    head = data[:256]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\0" in head:
        return None
    arr = np.frombuffer(data, dtype=np.uint8)
    opens = _Opens(data, shapes)
    last = [-2] * len(shapes)  # each shape's last container end tag, searched for when one is met
    guess = [True] * len(shapes)
    blocks: list[Block] = []
    pieces: list[bytes] = []
    at = pos = 0
    while True:
        i, k = opens.next(pos)
        if i < 0:
            break
        c0 = i + len(opens.tags[k])
        if last[k] == -2:
            last[k] = data.rfind(b"</" + shapes[k].container + b">")
        if last[k] < c0:  # no end tag after it: no more containers of that shape
            opens.found[k], opens.scanned[k] = -1, len(data)
            pos = c0
            continue
        block, a, b, pos = _container_run(data, arr, c0, last[k], shapes[k], guess[k])
        guess[k] = False  # the next containers of that shape: a document of several
        if block is None:
            continue
        blocks.append(block)
        pieces.append(data[at:a])
        pieces.append(_MARK_TAG)
        at = b
    if not blocks:
        return None
    pieces.append(data[at:])
    return blocks, b"".join(pieces)


class FastScanner(Protocol):
    """A reader's hardened scanner taught the fast path's marks: counts the blocks it used."""

    used: int

    def result(self) -> ParsedFile: ...


def parse_fast(
    data: bytes,
    path: str | None,
    shapes: tuple[PointShape, ...],
    make_scanner: Callable[[str | None, list[Block]], FastScanner],
) -> ParsedFile | None:
    """Read a document with the fast path; ``None`` when it does not apply.

    The runs of points are read by :func:`fast_blocks`, the skeleton left by the reader's own
    hardened scanner (``make_scanner``), which must use every block. Any error or surprise gives
    ``None``: the hardened reader then reads the whole document and says what is wrong.
    """
    cut = fast_blocks(data, shapes)
    if cut is None:
        return None
    blocks, skeleton = cut
    scanner = make_scanner(path, blocks)
    try:
        scan(io.BytesIO(skeleton), scanner)  # type: ignore[arg-type]
        if scanner.used != len(blocks):
            return None
        return scanner.result()
    except (OffcourseError, NotFast):
        return None  # the hardened reader says what is wrong, from the document itself

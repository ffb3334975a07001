"""Read FIT activity and course files (Garmin's binary format) into a :class:`~offcourse.model.ParsedFile`.

A fast decoder written for the few messages offcourse needs: one tight Python loop walks the
message headers using the sizes given by the definitions, notes where each ``record`` message
(global number 20) starts -- runs of consecutive records of one local type are found at C speed
with strided byte slices -- and the fields are then pulled out for all records of a definition at
once with numpy gathers. Everything else is skipped by its size, developer fields included.
``file_id``, ``sport``, ``session``, ``event``, ``course`` and ``course_point`` messages are
decoded one by one (there are few of them).

Handled: little- and big-endian definitions, redefinition of local types, compressed timestamp
headers (5-bit rollover), developer fields, chained FIT files (several FIT files one after the
other; each starts a new segment), timer stop/start events (a new segment starts at the first
positioned record after a timer start that follows a stop). A record definition whose position,
time, altitude or accuracy fields have an unusual size or base type is handed to the reference
decoder ``fitdecode`` (MIT) instead, so the result is the same as fitdecode's whenever
fitdecode reads the file.

Values are those of the FIT profile: ``position_lat``/``position_long`` semicircles times
``180 / 2**31``; ``enhanced_altitude`` (field 78) preferred over ``altitude`` (field 2), both
``raw / 5 - 500`` metres; ``gps_accuracy`` (field 31) metres; timestamps are seconds since
1989-12-31T00:00:00Z, shifted to the Unix epoch. Records without a valid position (field absent,
the invalid value ``0x7FFFFFFF``, or a latitude beyond 90 or a longitude beyond 180 degrees, which
is also listed in ``meta.extra["warnings"]``) are left out of the track. A position at (0, 0) is
kept, as fitdecode gives it; the engine ignores such fixes.

CRC and damage policy
---------------------
Both CRCs are always checked; the file CRC is computed with a vectorised CRC-16 (numpy lanes over
the data, combined with a precomputed shift table), a few milliseconds per megabyte.

* Header CRC (14-byte headers whose CRC field is not 0): a mismatch means the declared data size
  cannot be trusted, so the file is rejected with :class:`~offcourse.errors.CorruptFileError`,
  unless it is not the first of a chained file, in which case decoding stops there (see below).
* Default (``strict=False``), for a watch that died mid-activity or a writer with a bug: the
  file is decoded as far as its structure allows and every record decoded before the first
  problem is kept -- a file CRC that does not match, a missing final CRC, a truncated file, a
  data message for an undefined local type, a chained file whose next header is damaged. Each
  problem is listed in ``meta.extra["warnings"]`` and ``meta.extra["crc_ok"]`` tells whether
  every file CRC matched (``None`` when one could not be checked). If nothing with a position was
  decoded, the problem is raised: :class:`~offcourse.errors.TruncatedFileError` (with the byte
  offset) for a truncation, :class:`~offcourse.errors.CorruptFileError` otherwise.
* ``strict=True``: any CRC mismatch, missing CRC, truncation or structural problem raises.

Examples
--------
>>> import struct
>>> from offcourse.read.fit import _crc16
>>> _crc16(b"123456789")  # CRC-16/ARC check value
47933
"""

from __future__ import annotations

import struct
import warnings
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import (
    CorruptFileError,
    FileTooLargeError,
    NoGeometryError,
    OffcourseError,
    TruncatedFileError,
    UnknownFormatError,
)
from ..model import Metadata, ParsedFile, Track, Waypoint
from ._limits import MAX_FIT_FALLBACK_BYTES, MAX_POINTS, too_many_points

__all__ = ["parse_fit"]

FIT_EPOCH_OFFSET = 631065600
"""Seconds from 1970-01-01T00:00:00Z to the FIT epoch 1989-12-31T00:00:00Z."""

_SEMI_TO_DEG = 180.0 / 2**31
_INVALID_SINT32 = 0x7FFFFFFF
_INVALID_UINT32 = 0xFFFFFFFF
_MAX_LAT_SEMI = 2**30  # 90 degrees
_MAX_LON_SEMI = 2**31  # 180 degrees

_MESG_FILE_ID = 0
_MESG_SPORT = 12
_MESG_SESSION = 18
_MESG_RECORD = 20
_MESG_EVENT = 21
_MESG_COURSE = 31
_MESG_COURSE_POINT = 32
_DECODED_MESGS = frozenset({_MESG_FILE_ID, _MESG_SPORT, _MESG_SESSION, _MESG_EVENT, _MESG_COURSE, _MESG_COURSE_POINT})

# base type number -> (struct code, size, invalid value); like fitdecode, an unknown base type or
# a size that is not a multiple of the base type's size is read as bytes
_BASE_TYPES: dict[int, tuple[str, int, Any]] = {
    0x00: ("B", 1, 0xFF),
    0x01: ("b", 1, 0x7F),
    0x02: ("B", 1, 0xFF),
    0x83: ("h", 2, 0x7FFF),
    0x84: ("H", 2, 0xFFFF),
    0x85: ("i", 4, 0x7FFFFFFF),
    0x86: ("I", 4, 0xFFFFFFFF),
    0x07: ("s", 1, None),
    0x88: ("f", 4, None),
    0x89: ("d", 8, None),
    0x0A: ("B", 1, 0),
    0x8B: ("H", 2, 0),
    0x8C: ("I", 4, 0),
    0x0D: ("B", 1, None),
    0x8E: ("q", 8, 0x7FFFFFFFFFFFFFFF),
    0x8F: ("Q", 8, 0xFFFFFFFFFFFFFFFF),
    0x90: ("Q", 8, 0),
}

# record fields read by the fast path: field number -> (name, size, base type)
_RECORD_FIELDS: dict[int, tuple[str, int, int]] = {
    253: ("ts", 4, 0x86),
    0: ("lat", 4, 0x85),
    1: ("lon", 4, 0x85),
    2: ("alt", 2, 0x84),
    78: ("ealt", 4, 0x86),
    31: ("acc", 1, 0x02),
}
_NP_CODES = {"ts": "u4", "lat": "i4", "lon": "i4", "alt": "u2", "ealt": "u4", "acc": "u1"}


class _Fallback(Exception):
    """The fast path meets a structure it does not handle: use fitdecode."""


class _NeedTracking(Exception):
    """A compressed timestamp header was met: walk again while tracking the last timestamp."""


class _Def:
    """A definition message: where the fields of one local message type lie."""

    __slots__ = ("big", "did", "fields", "gnum", "kind", "rec", "size", "stride", "ts", "unpacker")

    def __init__(self, did: int, gnum: int, big: bool, fields: list[tuple[int, int, int]], size: int) -> None:
        self.did = did
        self.gnum = gnum
        self.big = big
        self.fields = fields  # (field number, size, base type) of the standard fields, in order
        self.size = size
        self.stride = size + 1
        # 1: record, 2: another message decoded one by one, 0: skipped,
        # 3: record whose definition has no position field (counted, then skipped like 0)
        self.kind = 1 if gnum == _MESG_RECORD else 2 if gnum in _DECODED_MESGS else 0
        self.rec: dict[str, int] = {}  # record field name -> byte offset in the message content
        self.ts = -1  # byte offset of a uint32 timestamp field (253), -1 if none
        self.unpacker: tuple[struct.Struct, list[tuple[int, int, Any, bool]]] | None = None


class _Problem(Exception):
    """A structural problem met while walking; carries the error to raise if nothing is kept."""

    def __init__(self, error: OffcourseError) -> None:
        super().__init__(error.message)
        self.error = error


def _accumulate5(offset: int, last: int) -> int:
    """Timestamp of a compressed header: ``last`` advanced to the next value whose 5 low bits are ``offset``."""
    value = offset + (last & ~0x1F)
    if offset < (last & 0x1F):
        value += 0x20
    return value


@cache
def _crc_tables() -> tuple[NDArray[np.uint16], NDArray[np.uint16]]:
    """Byte table and 16-bit (two bytes at once) table of the FIT CRC (CRC-16/ARC)."""
    t8 = np.zeros(256, dtype=np.uint32)
    for b in range(256):
        c = b
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        t8[b] = c
    x = np.arange(65536, dtype=np.uint32)
    c1 = t8[x & 0xFF]
    c2 = (c1 >> 8) ^ t8[(c1 ^ (x >> 8)) & 0xFF]
    return t8.astype(np.uint16), c2.astype(np.uint16)


def _crc16_bytes(data: bytes | memoryview, crc: int = 0) -> int:
    t8 = _crc_tables()[0].tolist()
    for b in bytes(data):
        crc = (crc >> 8) ^ t8[(crc ^ b) & 0xFF]
    return crc


def _crc16(data: bytes | memoryview, crc: int = 0) -> int:
    """CRC-16/ARC of ``data`` as FIT defines it, vectorised over numpy lanes for large inputs."""
    n = len(data)
    words_per_lane = 256
    lanes = n // (2 * words_per_lane)
    if lanes < 8:
        return _crc16_bytes(data, crc)
    _, t16 = _crc_tables()
    main = lanes * 2 * words_per_lane
    # lane k holds words k*L .. (k+1)*L-1; 16 extra lanes of zeros start from the basis vectors
    # and give the linear map "advance a register over 2L zero bytes"
    words = np.frombuffer(data, dtype="<u2", count=main // 2).reshape(lanes, words_per_lane)
    cols = np.zeros((words_per_lane, lanes + 16), dtype=np.uint16)
    cols[:, :lanes] = words.T
    reg = np.zeros(lanes + 16, dtype=np.uint16)
    reg[lanes:] = 1 << np.arange(16, dtype=np.uint16)
    for j in range(words_per_lane):
        reg = t16[reg ^ cols[j]]
    basis = reg[lanes:].astype(np.int64)
    idx = np.arange(256)
    lo = np.zeros(256, dtype=np.int64)
    hi = np.zeros(256, dtype=np.int64)
    for bit in range(8):
        on = (idx >> bit) & 1 == 1
        lo[on] ^= basis[bit]
        hi[on] ^= basis[bit + 8]
    lo_l = lo.tolist()
    hi_l = hi.tolist()
    for c in reg[:lanes].tolist():
        crc = lo_l[crc & 0xFF] ^ hi_l[crc >> 8] ^ c
    return _crc16_bytes(memoryview(data)[main:], crc)


class _Decoder:
    """State of one decoding: the collected records, messages and problems."""

    def __init__(self, data: bytes, path: str | None, strict: bool) -> None:
        self.data = data
        self.path = path
        self.strict = strict
        self.defs: list[_Def] = []
        self.runs: list[tuple[int, int, int, int]] = []  # (content offset, stride, count, def id)
        self.cts: list[int] = []  # compressed-header timestamp per record (tracking mode), -1 if none
        self.nrec = 0
        self.unpositioned = 0  # record messages whose definition has no position field (not stored)
        self.breaks: list[int] = []  # record indices where a segment may start
        self.file_ids: list[dict[int, Any]] = []
        self.sports: list[str] = []
        self.names: list[str] = []
        self.course_points: list[dict[int, Any]] = []
        self.warnings: list[str] = []
        self.crc_ok: bool | None = True
        self.nfiles = 0
        self.problem: OffcourseError | None = None
        self.stopped = False
        self.fallback_cols: dict[str, NDArray[Any]] | None = None

    # -- errors ---------------------------------------------------------------------------------

    def _truncated(self, what: str, offset: int) -> _Problem:
        return _Problem(TruncatedFileError(f"file ends inside {what}", path=self.path, offset=offset))

    def _corrupt(self, what: str, offset: int) -> _Problem:
        return _Problem(CorruptFileError(what, path=self.path, offset=offset))

    def _note(self, problem: OffcourseError) -> None:
        """Record a problem: raise it in strict mode, else remember it as a warning."""
        if self.strict:
            raise problem
        self.warnings.append(
            str(problem.message) + (f" (at byte {problem.offset})" if problem.offset is not None else "")
        )
        if self.problem is None:
            self.problem = problem

    # -- walking --------------------------------------------------------------------------------

    def run(self) -> None:
        data = self.data
        n = len(data)
        if n == 0:
            raise UnknownFormatError("empty file", path=self.path, offset=0)
        pos = 0
        while pos < n:
            first = self.nfiles == 0
            try:
                end, body = self._header(pos, first)
            except _Problem as p:
                if first:
                    raise p.error from None
                self._note(p.error)
                return
            self.nfiles += 1
            mark = (len(self.defs), len(self.runs), len(self.cts), self.nrec, len(self.breaks), self.unpositioned)
            state = (len(self.file_ids), len(self.sports), len(self.names), len(self.course_points))
            if self.nrec:
                self.breaks.append(self.nrec)
            try:
                try:
                    after = self._walk(body, end, tracking=False)
                except _NeedTracking:
                    del self.defs[mark[0] :], self.runs[mark[1] :], self.cts[mark[2] :], self.breaks[mark[4] :]
                    self.nrec, self.unpositioned = mark[3], mark[5]
                    del self.file_ids[state[0] :], self.sports[state[1] :], self.names[state[2] :]
                    del self.course_points[state[3] :]
                    if self.nrec:
                        self.breaks.append(self.nrec)
                    after = self._walk(body, end, tracking=True)
            except _Problem as p:
                self.crc_ok = None if self.crc_ok is not False else False
                err = p.error
                if end > n and not isinstance(err, TruncatedFileError):
                    # the header declares more data than the file holds: whatever went wrong, it is
                    # most likely because the file was cut short
                    err = TruncatedFileError(
                        f"file is {end + 2 - n} bytes shorter than its header declares ({err.message})",
                        path=self.path,
                        offset=err.offset,
                    )
                self._note(err)
                return
            # the file CRC follows the last message (fitdecode reads it there too)
            if after + 2 > n:
                self.crc_ok = None if self.crc_ok is not False else False
                self._note(TruncatedFileError("file ends before its final CRC", path=self.path, offset=after))
                return
            stored = data[after] | (data[after + 1] << 8)
            if _crc16(memoryview(data)[pos:after]) != stored:
                self.crc_ok = False
                self._note(CorruptFileError("file CRC does not match", path=self.path, offset=after))
            pos = after + 2

    def _header(self, pos: int, first: bool) -> tuple[int, int]:
        """Check the header at ``pos``; return (end of the declared data, start of the data)."""
        data = self.data
        n = len(data)
        if n - pos < 12:
            if first and n == 0:
                raise _Problem(UnknownFormatError("empty file", path=self.path, offset=0))
            if first:
                raise _Problem(UnknownFormatError("not a FIT file (too short)", path=self.path, offset=pos))
            raise self._truncated("a FIT header", pos)
        hsize = data[pos]
        if data[pos + 8 : pos + 12] != b".FIT" or hsize < 12:
            if first:
                raise _Problem(UnknownFormatError("not a FIT file (no .FIT signature)", path=self.path, offset=pos))
            raise self._corrupt("bad header of a chained FIT file", pos)
        if pos + hsize > n:
            raise self._truncated("a FIT header", pos)
        if hsize >= 14:
            hcrc = data[pos + 12] | (data[pos + 13] << 8)
            if hcrc and _crc16_bytes(data[pos : pos + 12]) != hcrc:
                raise self._corrupt("FIT header CRC does not match", pos)
        (body_size,) = struct.unpack_from("<I", data, pos + 4)
        return pos + hsize + body_size, pos + hsize

    def _definition(self, pos: int, h: int, defs: list[_Def | None]) -> int:
        data = self.data
        n = len(data)
        if pos + 6 > n:
            raise self._truncated("a definition message", pos)
        big = data[pos + 2] != 0
        gnum = (data[pos + 3] << 8 | data[pos + 4]) if big else (data[pos + 4] << 8 | data[pos + 3])
        nf = data[pos + 5]
        p = pos + 6
        if p + 3 * nf > n:
            raise self._truncated("a definition message", pos)
        fields = []
        size = 0
        rec: dict[str, int] = {}
        ts = -1
        for i in range(p, p + 3 * nf, 3):
            num, fsize, base = data[i], data[i + 1], data[i + 2]
            fields.append((num, fsize, base))
            if num == 253 and ts < 0 and fsize == 4 and base == 0x86:
                ts = size
            if gnum == _MESG_RECORD and num in _RECORD_FIELDS:
                name, esize, ebase = _RECORD_FIELDS[num]
                if name not in rec:
                    if fsize != esize or base != ebase:
                        raise _Fallback(f"record field {num} with size {fsize} and base type {base:#x}")
                    rec[name] = size
            size += fsize
        p += 3 * nf
        if h & 0x20:
            if p + 1 > n:
                raise self._truncated("a definition message", pos)
            nd = data[p]
            if p + 1 + 3 * nd > n:
                raise self._truncated("a definition message", pos)
            size += sum(data[p + 2 : p + 1 + 3 * nd : 3])
            p += 1 + 3 * nd
        d = _Def(len(self.defs), gnum, big, fields, size)
        d.rec = rec
        if d.kind == 1 and ("lat" not in rec or "lon" not in rec):
            # such records can never give a fix: count them but keep nothing per message, so that
            # memory stays proportional to the positioned records (>= 9 bytes each), not to the file
            d.kind = 3
        d.ts = ts
        self.defs.append(d)
        local = h & 0x0F
        for t in (local, local | 0x10, local | 0x20, local | 0x30):
            defs[t] = d
        return p

    def _walk(self, pos: int, end: int, tracking: bool) -> int:
        """Walk the messages of one FIT file from ``pos``; return the offset after the last one."""
        if tracking:
            return self._walk_tracking(pos, end)
        data = self.data
        n = len(data)
        lim = min(end, n)
        # data message header byte (< 0x40) -> definition; bits 4-5 of such a header are reserved
        dtab: list[_Def | None] = [None] * 64
        runs = self.runs
        nrec = self.nrec
        try:
            while pos < lim:
                h = data[pos]
                if h < 0x40:
                    d = dtab[h]
                    if d is None:
                        raise self._corrupt(f"data message for undefined local message type {h & 0x0F}", pos)
                    kind = d.kind
                    if kind == 0:
                        pos += d.stride
                        continue
                    if kind == 3:
                        self.unpositioned += 1
                        pos += d.stride
                        continue
                    stride = d.stride
                    nxt = pos + stride
                    if kind == 1:
                        if nxt < lim and data[nxt] == h:
                            # a run of records of this local type: a header every `stride` bytes
                            last = min(lim, n - stride + 1)
                            count = 0
                            chunk = 16
                            hb = data[pos : pos + 1]
                            while True:
                                seg = data[pos + count * stride : min(last, pos + (count + chunk) * stride) : stride]
                                k = len(seg) - len(seg.lstrip(hb))
                                count += k
                                if k < chunk:
                                    break
                                chunk *= 8
                            runs.append((pos + 1, stride, count, d.did))
                            nrec += count
                            pos += count * stride
                            continue
                        if nxt > n:
                            raise self._truncated("a data message", pos)
                        runs.append((pos + 1, stride, 1, d.did))
                        nrec += 1
                        pos = nxt
                        continue
                    if nxt > n:
                        raise self._truncated("a data message", pos)
                    self.nrec = nrec
                    self._message(d, pos + 1)
                    pos = nxt
                elif h & 0x80:
                    raise _NeedTracking
                else:
                    pos = self._definition(pos, h, dtab)
        finally:
            self.nrec = nrec
        if pos > n:
            raise self._truncated("a data message", n)
        if pos < end:
            raise self._truncated("the data", n)
        return pos

    def _walk_tracking(self, pos: int, end: int) -> int:
        """Walk message by message, tracking the last timestamp for compressed timestamp headers."""
        data = self.data
        n = len(data)
        dtab: list[_Def | None] = [None] * 64
        runs = self.runs
        cts = self.cts
        # one entry per record: records of earlier files of a chain, walked without tracking, have none
        cts.extend([-1] * (self.nrec - len(cts)))
        last_ts = 0
        while pos < end:
            if pos >= n:
                raise self._truncated("the data", n)
            h = data[pos]
            if h & 0x80 == 0 and h & 0x40:
                pos = self._definition(pos, h, dtab)
                continue
            local = (h >> 5) & 3 if h & 0x80 else h & 0x0F
            d = dtab[local]
            if d is None:
                raise self._corrupt(f"data message for undefined local message type {local}", pos)
            if pos + d.stride > n:
                raise self._truncated("a data message", pos)
            field_ts = -1
            if d.ts >= 0:
                (field_ts,) = struct.unpack_from(">I" if d.big else "<I", data, pos + 1 + d.ts)
                if field_ts != _INVALID_UINT32:
                    last_ts = field_ts
                else:
                    field_ts = -1
            header_ts = -1
            if h & 0x80:
                last_ts = header_ts = _accumulate5(h & 0x1F, last_ts)
            if d.kind == 1:
                runs.append((pos + 1, d.stride, 1, d.did))
                cts.append(header_ts if field_ts < 0 else -1)
                self.nrec += 1
            elif d.kind == 2:
                self._message(d, pos + 1)
            elif d.kind == 3:
                self.unpositioned += 1
            pos += d.stride
        return pos

    # -- messages decoded one by one ------------------------------------------------------------

    def _values(self, d: _Def, pos: int) -> dict[int, Any]:
        """Decode the standard fields of one data message: field number -> value (None if invalid)."""
        if d.unpacker is None:
            fmt = ">" if d.big else "<"
            layout: list[tuple[int, int, Any, bool]] = []
            for num, fsize, base in d.fields:
                code, bsize, invalid = _BASE_TYPES.get(base, ("B", 1, None))
                if fsize % bsize:
                    code, bsize, invalid = "B", 1, None
                    base = 0x0D
                count = fsize // bsize
                if base == 0x07:
                    fmt += f"{fsize}s"
                    layout.append((num, 1, None, True))
                elif base == 0x0D or count != 1:
                    fmt += f"{fsize}x"
                else:
                    fmt += code
                    layout.append((num, 1, invalid, False))
            d.unpacker = (struct.Struct(fmt), layout)
        unpacker, layout = d.unpacker
        out: dict[int, Any] = {}
        for (num, _, invalid, is_str), v in zip(layout, unpacker.unpack_from(self.data, pos), strict=True):
            if is_str:
                v = v.split(b"\0", 1)[0].decode("utf-8", errors="replace") or None
            elif v == invalid:
                v = None
            out.setdefault(num, v)
        return out

    def _message(self, d: _Def, pos: int) -> None:
        v = self._values(d, pos)
        g = d.gnum
        if g == _MESG_EVENT:
            if v.get(0) == 0:  # timer
                etype = v.get(1)
                if etype in (1, 4):
                    self.stopped = True
                elif etype == 0 and self.stopped:
                    self.stopped = False
                    self.breaks.append(self.nrec)
        elif g == _MESG_FILE_ID:
            self.file_ids.append(v)
        elif g == _MESG_SPORT:
            if v.get(0) is not None:
                self.sports.append(_enum_name("sport", v[0]))
            if v.get(3):
                self.names.append(v[3])
        elif g == _MESG_SESSION:
            if v.get(5) is not None:
                self.sports.append(_enum_name("sport", v[5]))
        elif g == _MESG_COURSE:
            if v.get(5):
                self.names.append(v[5])
            if v.get(4) is not None:
                self.sports.append(_enum_name("sport", v[4]))
        elif g == _MESG_COURSE_POINT:
            self.course_points.append(v)

    # -- result ---------------------------------------------------------------------------------

    def columns(self) -> dict[str, NDArray[Any]]:
        """Raw record columns, one value per record message, in file order."""
        total = self.nrec
        if total > MAX_POINTS:
            raise too_many_points(self.path)
        cols: dict[str, NDArray[Any]] = {
            "ts": np.full(total, _INVALID_UINT32, dtype=np.int64),
            "lat": np.full(total, _INVALID_SINT32, dtype=np.int64),
            "lon": np.full(total, _INVALID_SINT32, dtype=np.int64),
            "alt": np.full(total, 0xFFFF, dtype=np.int64),
            "ealt": np.full(total, _INVALID_UINT32, dtype=np.int64),
            "acc": np.full(total, 0xFF, dtype=np.int64),
        }
        if not total:
            return cols
        r = np.array(self.runs, dtype=np.int64).reshape(-1, 4)
        counts = r[:, 2]
        first_index = np.cumsum(counts) - counts
        within = np.arange(total, dtype=np.int64) - np.repeat(first_index, counts)
        offsets = np.repeat(r[:, 0], counts) + np.repeat(r[:, 1], counts) * within
        dids = np.repeat(r[:, 3], counts)
        buf = np.frombuffer(self.data, dtype=np.uint8)
        # records whose definitions place the fields alike are gathered together
        layouts: dict[tuple[Any, ...], list[int]] = {}
        used = np.unique(r[:, 3]).tolist()
        for did in used:
            d = self.defs[did]
            if d.rec:
                layouts.setdefault((d.big, *sorted(d.rec.items())), []).append(did)
        for key, group in layouts.items():
            big = key[0]
            if len(group) == len(used):
                sel: slice | NDArray[np.intp] = slice(None)
                offs = offsets
            else:
                sel = np.flatnonzero(np.isin(dids, group))
                offs = offsets[sel]
            for name, off in key[1:]:
                code = _NP_CODES[name]
                width = int(code[1])
                if width == 1:
                    vals = buf[offs + off]
                else:
                    idx = (offs + off)[:, None] + np.arange(width)
                    vals = buf[idx].view(np.dtype((">" if big else "<") + code)).ravel()
                cols[name][sel] = vals
        if self.cts:
            # records of later files of a chain, walked without tracking, have no entry
            c = np.full(total, -1, dtype=np.int64)
            c[: len(self.cts)] = self.cts
            has = c >= 0
            cols["ts"][has] = c[has]
        return cols


@cache
def _profile_enum(type_name: str) -> dict[int, str]:
    try:
        from fitdecode import profile

        enum = profile.FIELD_TYPES[type_name].enum
        return dict(enum) if enum else {}
    except Exception:  # pragma: no cover - profile layout differs
        return {}


def _enum_name(type_name: str, value: Any) -> str:
    if isinstance(value, int):
        return _profile_enum(type_name).get(value, str(value))
    return str(value)


def _device(file_id: dict[int, Any]) -> str | None:
    manu = file_id.get(1)
    prod = file_id.get(2)
    if manu is None and prod is None:
        return None
    manu_s = _enum_name("manufacturer", manu) if manu is not None else "unknown"
    if prod is None:
        return manu_s
    prod_s = _enum_name("garmin_product", prod) if manu in (1, 13, 15) else str(prod)
    return f"{manu_s}/{prod_s}"


def _fallback(data: bytes, path: str | None, strict: bool, reason: str) -> _Decoder:
    """Decode with fitdecode (records, events, file_id, sport, course points) into a _Decoder's fields."""
    import fitdecode

    dec = _Decoder(data, path, strict)
    dec.warnings.append(f"decoded with fitdecode: {reason}")
    ts: list[int] = []
    lat: list[int] = []
    lon: list[int] = []
    alt: list[int] = []
    ealt: list[int] = []
    acc: list[int] = []
    stopped = False

    def raw(msg: Any, name: str, invalid: int, *, real_only: bool = False) -> int:
        # the first valid value of that name: a record whose timestamp field holds the invalid value
        # but that has a compressed timestamp header gets its time from the header, as in the fast path
        for f in msg.fields:
            if f.name == name and (f.field_def is not None or not real_only):
                v = f.raw_value
                if isinstance(v, int) and not isinstance(v, bool):
                    return v
        return invalid

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fitdecode.FitReader(data, check_crc=fitdecode.CrcCheck.DISABLED) as reader:
                for frame in reader:
                    if isinstance(frame, fitdecode.FitHeader):
                        dec.nfiles += 1
                        if len(ts):
                            dec.breaks.append(len(ts))
                        continue
                    if not isinstance(frame, fitdecode.FitDataMessage):
                        continue
                    g = frame.global_mesg_num
                    if g == _MESG_RECORD:
                        if len(ts) >= MAX_POINTS:
                            raise too_many_points(path)
                        ts.append(raw(frame, "timestamp", _INVALID_UINT32))
                        lat.append(raw(frame, "position_lat", _INVALID_SINT32))
                        lon.append(raw(frame, "position_long", _INVALID_SINT32))
                        ealt.append(raw(frame, "enhanced_altitude", _INVALID_UINT32, real_only=True))
                        alt.append(raw(frame, "altitude", 0xFFFF))
                        acc.append(raw(frame, "gps_accuracy", 0xFF))
                    elif g in _DECODED_MESGS:
                        v = {
                            f.field_def.def_num: f.raw_value
                            for f in frame.fields
                            if f.field_def is not None and not f.field_def.is_dev
                        }
                        if g == _MESG_EVENT and v.get(0) == 0:
                            if v.get(1) in (1, 4):
                                stopped = True
                            elif v.get(1) == 0 and stopped:
                                stopped = False
                                dec.breaks.append(len(ts))
                        else:
                            _store(dec, g, v)
    except FileTooLargeError:
        raise
    except fitdecode.FitEOFError as exc:
        dec._note(TruncatedFileError(f"file ends early ({exc})", path=path))
    except Exception as exc:
        dec._note(CorruptFileError(f"cannot decode ({type(exc).__name__}: {exc})", path=path))
    dec.nrec = len(ts)
    dec.fallback_cols = {
        "ts": np.array(ts, dtype=np.int64),
        "lat": np.array(lat, dtype=np.int64),
        "lon": np.array(lon, dtype=np.int64),
        "alt": np.array(alt, dtype=np.int64),
        "ealt": np.array(ealt, dtype=np.int64),
        "acc": np.array(acc, dtype=np.int64),
    }
    dec.crc_ok = None
    return dec


def _store(dec: _Decoder, g: int, v: dict[int, Any]) -> None:
    """Store a non-record message decoded by fitdecode like the fast path does."""
    if g == _MESG_FILE_ID:
        dec.file_ids.append(v)
    elif g in (_MESG_SPORT, _MESG_SESSION, _MESG_COURSE):
        sport = v.get({_MESG_SPORT: 0, _MESG_SESSION: 5, _MESG_COURSE: 4}[g])
        if isinstance(sport, int):
            dec.sports.append(_enum_name("sport", sport))
        name = v.get({_MESG_SPORT: 3, _MESG_COURSE: 5}.get(g, -1))
        if isinstance(name, str) and name:
            dec.names.append(name)
    elif g == _MESG_COURSE_POINT:
        dec.course_points.append(v)


def parse_fit(data: bytes, path: str | None = None, *, strict: bool = False) -> ParsedFile:
    """Parse the bytes of a FIT activity or course file.

    Parameters
    ----------
    data : bytes
        The whole file (already decompressed).
    path : str, optional
        File name, for error messages and :class:`~offcourse.model.Metadata`.
    strict : bool
        Raise on any CRC mismatch, truncation or structural problem instead of keeping the
        records decoded before it (see the module docstring for the policy).

    Returns
    -------
    ParsedFile
        The positioned records as a :class:`~offcourse.model.Track` and, for a course, its
        course points as :class:`~offcourse.model.Waypoint` objects.

    Raises
    ------
    UnknownFormatError
        The bytes are not a FIT file.
    CorruptFileError
        Bad header CRC, or (when nothing positioned could be read, or ``strict``) a structural
        problem or a bad file CRC.
    TruncatedFileError
        The file ends early and nothing positioned was read before (or ``strict``).
    NoGeometryError
        A valid FIT file with no record that has a position (settings, workout, indoor activity...).
    """
    data = bytes(data)
    dec = _Decoder(data, path, strict)
    cols: dict[str, NDArray[Any]]
    try:
        dec.run()
        cols = dec.columns()
    except _Problem as p:  # pragma: no cover - run() converts these
        raise p.error from None
    except _Fallback as fb:
        if len(data) > MAX_FIT_FALLBACK_BYTES:
            raise FileTooLargeError(
                f"the fast FIT decoder cannot read this file ({fb}) and, at {len(data)} bytes, it is more than "
                f"the {MAX_FIT_FALLBACK_BYTES} bytes the slow decoder (fitdecode) is given",
                path=path,
            ) from None
        dec_fb = _fallback(data, path, strict, str(fb))
        dec = dec_fb
        assert dec.fallback_cols is not None
        cols = dec.fallback_cols
    return _build(dec, cols, path)


def _build(dec: _Decoder, cols: dict[str, NDArray[Any]], path: str | None) -> ParsedFile:
    file_id = dec.file_ids[0] if dec.file_ids else {}
    ftype = file_id.get(0)
    kind = _enum_name("file", ftype) if ftype is not None else None
    lat_raw = cols["lat"]
    lon_raw = cols["lon"]
    mask = (lat_raw != _INVALID_SINT32) & (lon_raw != _INVALID_SINT32)
    # a latitude beyond 90 degrees (2**30 semicircles) is no position either, nor a longitude beyond 180
    # degrees (a sint32 cannot hold one, but fitdecode reads a position field of another base type as is)
    for raw, bound, what in (
        (lat_raw, _MAX_LAT_SEMI, "latitude outside [-90, 90]"),
        (lon_raw, _MAX_LON_SEMI, "longitude outside [-180, 180]"),
    ):
        beyond = mask & (np.abs(raw) > bound)
        if beyond.any():
            mask &= ~beyond
            dec.warnings.append(f"{int(beyond.sum())} record(s) with a {what} left out")
    npos = int(mask.sum())
    if npos == 0:
        if dec.problem is not None:
            raise dec.problem
        what = f"file type: {kind}" if kind else "no file type"
        nmsg = len(lat_raw) + dec.unpositioned
        raise NoGeometryError(f"no record with a position ({what}; {nmsg} record messages)", path=path)
    ts = cols["ts"][mask]
    epoch = np.where(ts != _INVALID_UINT32, ts.astype(np.float64) + FIT_EPOCH_OFFSET, np.nan)
    ealt = cols["ealt"][mask]
    alt = cols["alt"][mask]
    ele = np.where(
        ealt != _INVALID_UINT32,
        ealt.astype(np.float64) / 5.0 - 500.0,
        np.where(alt != 0xFFFF, alt.astype(np.float64) / 5.0 - 500.0, np.nan),
    )
    acc = cols["acc"][mask]
    hacc = np.where(acc != 0xFF, acc.astype(np.float64), np.nan)
    # segment starts: first positioned record at or after each break
    before = np.concatenate(([0], np.cumsum(mask)))
    starts = {0}
    for b in dec.breaks:
        if 0 <= b <= len(mask):
            s = int(before[b])
            if s < npos:
                starts.add(s)
    extra: dict[str, Any] = {
        "fit_files": dec.nfiles,
        "record_messages": len(lat_raw) + dec.unpositioned,
        "crc_ok": dec.crc_ok,
        "warnings": list(dec.warnings),
    }
    meta = Metadata(
        format="fit",
        path=path,
        name=dec.names[0] if dec.names else None,
        device=_device(file_id),
        sport=dec.sports[0] if dec.sports else None,
        kind=kind,
        extra=extra,
    )
    track = Track(
        epoch_s=epoch,
        lon=lon_raw[mask].astype(np.float64) * _SEMI_TO_DEG,
        lat=lat_raw[mask].astype(np.float64) * _SEMI_TO_DEG,
        ele_m=ele,
        hacc_m=hacc,
        hdop=np.full(npos, np.nan),
        segment_starts=np.array(sorted(starts), dtype=np.int64),
        meta=meta,
    )
    waypoints = []
    for v in dec.course_points:
        la, lo = v.get(2), v.get(3)
        if not isinstance(la, int) or not isinstance(lo, int) or la == _INVALID_SINT32 or lo == _INVALID_SINT32:
            continue
        if abs(la) > _MAX_LAT_SEMI or abs(lo) > _MAX_LON_SEMI:
            continue
        t = v.get(1)
        ctype = v.get(5)
        name = v.get(6)
        waypoints.append(
            Waypoint(
                lon=lo * _SEMI_TO_DEG,
                lat=la * _SEMI_TO_DEG,
                name=name if isinstance(name, str) else "",
                epoch_s=float(t + FIT_EPOCH_OFFSET) if isinstance(t, int) and t != _INVALID_UINT32 else float("nan"),
                kind=_enum_name("course_point", ctype) if isinstance(ctype, int) else None,
            )
        )
    return ParsedFile(track=track, waypoints=tuple(waypoints))


parse = parse_fit
"""The registry's entry point (:mod:`offcourse.read.formats`)."""

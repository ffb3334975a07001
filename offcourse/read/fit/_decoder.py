"""The fast FIT decoder: walks message headers, finds runs of records, gathers their fields with numpy.

See :mod:`offcourse.read.fit` for what it handles and its CRC and damage policy; a record
definition it does not handle raises :class:`_Fallback`, and :mod:`offcourse.read.fit._fallback`
decodes the file with fitdecode instead.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...errors import (
    CorruptFileError,
    OffcourseError,
    TruncatedFileError,
    UnknownFormatError,
)
from .._limits import MAX_POINTS, too_many_points
from ._crc import _crc16, _crc16_bytes
from ._profile import (
    _BASE_TYPES,
    _DECODED_MESGS,
    _INVALID_SINT32,
    _INVALID_UINT32,
    _MESG_COURSE,
    _MESG_COURSE_POINT,
    _MESG_EVENT,
    _MESG_FILE_ID,
    _MESG_RECORD,
    _MESG_SESSION,
    _MESG_SPORT,
    _NP_CODES,
    _RECORD_FIELDS,
    _enum_name,
)


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

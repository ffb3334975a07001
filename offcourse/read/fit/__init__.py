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
>>> from offcourse.read.fit import _crc16
>>> _crc16(b"123456789")  # CRC-16/ARC check value
47933

The package: :mod:`~offcourse.read.fit._profile` (numbers and names of the FIT profile),
:mod:`~offcourse.read.fit._crc`, :mod:`~offcourse.read.fit._decoder` (the fast decoder),
:mod:`~offcourse.read.fit._fallback` (fitdecode), and here :func:`parse_fit` building the track.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...errors import (
    FileTooLargeError,
    NoGeometryError,
)
from ...model import Metadata, ParsedFile, Track, Waypoint
from .._limits import MAX_FIT_FALLBACK_BYTES
from ._crc import _crc16 as _crc16
from ._decoder import _Decoder, _Fallback, _Problem
from ._fallback import _fallback
from ._profile import (
    _INVALID_SINT32,
    _INVALID_UINT32,
    _MAX_LAT_SEMI,
    _MAX_LON_SEMI,
    _SEMI_TO_DEG,
    FIT_EPOCH_OFFSET,
    _device,
    _enum_name,
)

__all__ = ["FIT_EPOCH_OFFSET", "parse", "parse_fit"]


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

"""Decoding with fitdecode (the reference decoder) when the fast decoder meets a definition it does not handle.

The result fills a :class:`~offcourse.read.fit._decoder._Decoder`'s fields as the fast path does,
so that both give the same track for the files both read.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ...errors import (
    CorruptFileError,
    FileTooLargeError,
    TruncatedFileError,
)
from .._limits import MAX_POINTS, too_many_points
from ._decoder import _Decoder
from ._profile import (
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
    _enum_name,
)


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

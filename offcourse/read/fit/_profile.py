"""The FIT profile as the decoder needs it: message and field numbers, base types, invalid values, enum names.

Numbers and scales are those of Garmin's FIT SDK profile; the names of enum values (sports,
manufacturers, products, file types, course point types) come from fitdecode's copy of the
profile, read lazily.
"""

from __future__ import annotations

from functools import cache
from typing import Any

__all__ = ["FIT_EPOCH_OFFSET"]

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

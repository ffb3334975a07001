"""A tiny FIT encoder for tests: build files with exact, known values.

Examples
--------
>>> b = FitBuilder()
>>> b.define(0, 20, [(253, 4, 0x86), (0, 4, 0x85), (1, 4, 0x85)])
>>> b.message(0, [1000, 0, 0])
>>> data = b.build()
>>> data[8:12]
b'.FIT'
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

__all__ = ["FitBuilder", "crc16", "semicircles", "UINT32_INVALID", "SINT32_INVALID", "UINT16_INVALID"]

UINT32_INVALID = 0xFFFFFFFF
SINT32_INVALID = 0x7FFFFFFF
UINT16_INVALID = 0xFFFF

_CODES = {
    0x00: "B",
    0x01: "b",
    0x02: "B",
    0x83: "h",
    0x84: "H",
    0x85: "i",
    0x86: "I",
    0x88: "f",
    0x89: "d",
    0x0A: "B",
    0x8B: "H",
    0x8C: "I",
    0x0D: "B",
    0x8E: "q",
    0x8F: "Q",
    0x90: "Q",
}
_SIZES = {"B": 1, "b": 1, "h": 2, "H": 2, "i": 4, "I": 4, "f": 4, "d": 8, "q": 8, "Q": 8}


def crc16(data: bytes, crc: int = 0) -> int:
    """FIT CRC (CRC-16/ARC), the slow obvious way."""
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def semicircles(deg: float) -> int:
    """Degrees to FIT semicircles (rounded)."""
    return round(deg * 2**31 / 180)


class FitBuilder:
    """Write definition and data messages, then :meth:`build` a whole FIT file.

    Parameters
    ----------
    header_size : int
        12 or 14 (14 adds a header CRC).
    file_type : int or None
        Adds a ``file_id`` message (local type 15) of this type, with ``manufacturer`` and ``product``.
    """

    def __init__(
        self, *, header_size: int = 14, file_type: int | None = 4, manufacturer: int = 1, product: int = 1623
    ) -> None:
        self.header_size = header_size
        self.body = bytearray()
        self.defs: dict[int, tuple[bool, list[tuple[int, int, int]], list[tuple[int, int, int]]]] = {}
        if file_type is not None:
            self.define(15, 0, [(0, 1, 0x00), (1, 2, 0x84), (2, 2, 0x84)])
            self.message(15, [file_type, manufacturer, product])

    def define(
        self,
        local: int,
        global_num: int,
        fields: Sequence[tuple[int, int, int]],
        *,
        big: bool = False,
        dev_fields: Sequence[tuple[int, int, int]] = (),
    ) -> None:
        """Write a definition message; ``fields`` are (field number, size, base type)."""
        e = ">" if big else "<"
        header = 0x40 | local | (0x20 if dev_fields else 0)
        self.body += bytes([header, 0, 1 if big else 0]) + struct.pack(e + "H", global_num) + bytes([len(fields)])
        for f in fields:
            self.body += bytes(f)
        if dev_fields:
            self.body += bytes([len(dev_fields)])
            for f in dev_fields:
                self.body += bytes(f)
        self.defs[local] = (big, list(fields), list(dev_fields))

    def message(
        self,
        local: int,
        values: Sequence[int | float | bytes | str],
        *,
        time_offset: int | None = None,
        dev_values: bytes = b"",
    ) -> None:
        """Write a data message with one value per field (bytes/str for strings and byte arrays).

        With ``time_offset`` (0-31) the compressed timestamp header is used (``local`` must be 0-3).
        """
        big, fields, dev_fields = self.defs[local]
        e = ">" if big else "<"
        if time_offset is not None:
            self.body.append(0x80 | (local << 5) | (time_offset & 0x1F))
        else:
            self.body.append(local)
        for (_, size, base), v in zip(fields, values, strict=True):
            if isinstance(v, str):
                v = v.encode()
            if isinstance(v, bytes):
                self.body += v[:size].ljust(size, b"\0")
                continue
            code = _CODES[base]
            count = size // _SIZES[code]
            self.body += struct.pack(e + code * count, *([v] * count))
        dev_size = sum(f[1] for f in dev_fields)
        self.body += dev_values[:dev_size].ljust(dev_size, b"\0")

    def build(self, *, data_size: int | None = None, file_crc: int | None = None, with_crc: bool = True) -> bytes:
        """The whole file: header, messages and file CRC (``data_size``/``file_crc`` override for damage)."""
        size = len(self.body) if data_size is None else data_size
        head = struct.pack("<BBHI4s", self.header_size, 0x20, 2132, size, b".FIT")
        if self.header_size >= 14:
            head += struct.pack("<H", crc16(head)) + b"\0" * (self.header_size - 14)
        out = head + bytes(self.body)
        if with_crc:
            out += struct.pack("<H", crc16(out) if file_crc is None else file_crc)
        return out

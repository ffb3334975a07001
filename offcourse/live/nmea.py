"""NMEA 0183: parse RMC, GGA and GSA sentences into :class:`~offcourse.Fix` objects, and write them.

A receiver sends, once a second, a *cycle* of sentences that share one UTC time of day: ``RMC``
(position, validity, and the only date), ``GGA`` (position, fix quality, HDOP, altitude) and ``GSA``
(fix mode 1/2/3 and DOPs, no time). :class:`NmeaDecoder` groups the sentences of a cycle and gives
one fix per cycle: as soon as it holds both RMC and GGA, or when the next cycle begins, or at the
end of the input.

- Every sentence must carry a valid ``*HH`` checksum; a sentence with a bad or missing checksum,
  or with fields that do not parse, is counted in :attr:`NmeaDecoder.rejected` by reason and
  otherwise ignored (never fatal). Unknown sentence types are ignored silently.
- The date comes from RMC. A cycle without RMC takes the date of the last RMC, advanced by one day
  when its time of day has wrapped past midnight. Before the first RMC there is no date: such
  cycles give no fix (counted as ``no_date``).
- A cycle gives no fix when it says so: RMC status ``V``, GGA quality 0 or GSA mode 1.
- **Accuracy assumption**: a fix's horizontal accuracy is ``HDOP * 5 m``
  (:data:`UERE_M`, a typical user equivalent range error of an autonomous receiver); HDOP comes
  from GGA, else from GSA.
- Altitude is GGA's altitude above mean sea level.

Examples
--------
>>> d = NmeaDecoder()
>>> d.feed("$GPRMC,090000,A,5553.5706,N,00312.2160,W,0.0,0.0,170525,,,A*68")
[]
>>> [(f.epoch_s, round(f.lat, 5), round(f.lon, 5)) for f in d.finish()]
[(1747472400.0, 55.89284, -3.2036)]
>>> d.feed("$GPRMC,090000,A,5553.5706,N,00312.2160,W,0.0,0.0,170525,,,A*00")  # bad checksum
[]
>>> dict(d.rejected)
{'bad_checksum': 1}
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import IO

from ..detect import Fix
from .sources import seconds

__all__ = [
    "UERE_M",
    "NmeaDecoder",
    "Sentence",
    "checksum",
    "fix_sentences",
    "parse_sentence",
    "write_nmea",
]

UERE_M = 5.0
"""Metres of horizontal accuracy per unit of HDOP (the documented assumption: accuracy = HDOP * 5 m)."""

_MAX_LINE = 1024  # NMEA allows 82 characters; anything far longer is not a sentence
_DAY_S = 86400.0


class NmeaParseError(ValueError):
    """One sentence could not be used; ``reason`` is the counter it is filed under."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Sentence:
    """One checked sentence: its type (``RMC``, ``GGA``...), talker (``GP``, ``GN``...) and fields."""

    talker: str
    kind: str
    fields: tuple[str, ...]


def checksum(body: str) -> str:
    """The two hex digits of the XOR of the characters between ``$`` and ``*``.

    >>> checksum("GPGGA,,,,,,0,,,,,,,,")
    '66'
    """
    c = 0
    for ch in body.encode("ascii", "replace"):
        c ^= ch
    return f"{c:02X}"


def parse_sentence(line: str | bytes) -> Sentence | None:
    """Check one line and split it into fields; ``None`` for a blank line.

    Raises
    ------
    NmeaParseError
        ``not_nmea`` (no ``$``/``!`` start or too long), ``no_checksum``, ``bad_checksum``.
    """
    if isinstance(line, bytes):
        line = line.decode("ascii", "replace")
    line = line.strip()
    if not line:
        return None
    start = max(line.rfind("$"), line.rfind("!"))  # a line may begin with garbage from a serial port
    if start < 0 or len(line) > _MAX_LINE:
        raise NmeaParseError("not_nmea")
    line = line[start:]
    star = line.rfind("*")
    if star < 0:
        raise NmeaParseError("no_checksum")
    body, given = line[1:star], line[star + 1 : star + 3]
    if given.upper() != checksum(body):
        raise NmeaParseError("bad_checksum")
    parts = body.split(",")
    address = parts[0]
    if len(address) < 5 or not address.isalnum():
        raise NmeaParseError("not_nmea")
    return Sentence(address[:-3], address[-3:].upper(), tuple(parts[1:]))


def _field(f: tuple[str, ...], i: int) -> str:
    return f[i].strip() if i < len(f) else ""


def _time_of_day(text: str) -> float:
    """``hhmmss.ss`` as seconds since midnight."""
    if len(text) < 6 or not text[:6].isdigit():
        raise NmeaParseError("bad_time")
    h, m = int(text[0:2]), int(text[2:4])
    try:
        s = float(text[4:])
    except ValueError:
        raise NmeaParseError("bad_time") from None
    if h > 23 or m > 59 or not 0 <= s < 61:
        raise NmeaParseError("bad_time")
    return h * 3600 + m * 60 + s


def _angle(value: str, hemi: str, degree_digits: int, limit: float) -> float:
    """``(d)ddmm.mmmm`` with its hemisphere letter as signed degrees."""
    if len(value) < degree_digits + 2 or hemi not in ("N", "S", "E", "W"):
        raise NmeaParseError("bad_position")
    try:
        deg = int(value[:degree_digits])
        minutes = float(value[degree_digits:])
    except ValueError:
        raise NmeaParseError("bad_position") from None
    v = deg + minutes / 60.0
    if not (0 <= minutes < 60 and v <= limit):
        raise NmeaParseError("bad_position")
    return -v if hemi in ("S", "W") else v


def _position(f: tuple[str, ...], i: int) -> tuple[float, float] | None:
    """(lon, lat) from the four fields at ``i`` (lat, N/S, lon, E/W), or None when they are empty."""
    lat_s, ns, lon_s, ew = (_field(f, i + k) for k in range(4))
    if not (lat_s or lon_s):
        return None
    return _angle(lon_s, ew, 3, 180.0), _angle(lat_s, ns, 2, 90.0)


def _float(text: str, reason: str) -> float:
    if not text:
        return math.nan
    try:
        v = float(text)
    except ValueError:
        raise NmeaParseError(reason) from None
    if not math.isfinite(v):
        raise NmeaParseError(reason)
    return v


@dataclass
class _Cycle:
    tod: float
    day: date | None = None
    lonlat: tuple[float, float] | None = None
    ele_m: float = math.nan
    hdop: float = math.nan
    valid: bool = True
    rmc: bool = False
    gga: bool = False


class NmeaDecoder:
    """Turn NMEA lines into fixes, one per receiver cycle (see the module notes).

    Attributes
    ----------
    rejected : collections.Counter
        Sentences not used, by reason: ``bad_checksum``, ``no_checksum``, ``not_nmea``,
        ``bad_time``, ``bad_date``, ``bad_position``, ``bad_number``, ``missing_fields``.
    no_fix : int
        Cycles that gave no fix: the receiver said it had none, no position, or no date yet.
    sentences : int
        Sentences used.
    """

    def __init__(self) -> None:
        self.rejected: Counter[str] = Counter()
        self.no_fix = 0
        self.sentences = 0
        self._cycle: _Cycle | None = None
        self._day: date | None = None  # date of the last cycle
        self._tod = math.nan  # its time of day
        self._pending_hdop = math.nan  # a GSA that arrived after its cycle was complete

    def feed(self, line: str | bytes) -> list[Fix]:
        """Take one line; returns the fixes it completes (zero or one)."""
        try:
            s = parse_sentence(line)
            if s is None:
                return []
            return self._sentence(s)
        except NmeaParseError as exc:
            self.rejected[exc.reason] += 1
            return []

    def feed_lines(self, lines: Iterable[str | bytes]) -> Iterator[Fix]:
        """Every fix of many lines, the last one included (calls :meth:`finish`)."""
        for line in lines:
            yield from self.feed(line)
        yield from self.finish()

    def finish(self) -> list[Fix]:
        """End of input: the fix of the cycle still open, if any."""
        return self._flush()

    # -- internals ----------------------------------------------------------------------------
    def _sentence(self, s: Sentence) -> list[Fix]:
        f = s.fields
        if s.kind == "GSA":
            if len(f) < 16:
                raise NmeaParseError("missing_fields")
            mode = _field(f, 1)
            hdop = _float(_field(f, 15), "bad_number")
            self.sentences += 1
            c = self._cycle
            if c is None:
                self._pending_hdop = hdop
            else:
                if mode == "1":
                    c.valid = False
                if math.isnan(c.hdop):
                    c.hdop = hdop
            return []
        if s.kind not in ("RMC", "GGA"):
            return []
        if len(f) < 9:
            raise NmeaParseError("missing_fields")
        tod = _time_of_day(_field(f, 0))
        if s.kind == "RMC":
            status = _field(f, 1)
            lonlat = _position(f, 2)
            day = self._date(_field(f, 8))
            valid = status == "A"
            hdop = ele = math.nan
        else:
            lonlat = _position(f, 1)
            quality = _field(f, 5)
            valid = quality not in ("", "0")
            hdop = _float(_field(f, 7), "bad_number")
            ele = _float(_field(f, 8), "bad_number")
            day = None
        self.sentences += 1
        out: list[Fix] = []
        c = self._cycle
        if c is not None and (c.tod != tod or (s.kind == "RMC" and c.rmc) or (s.kind == "GGA" and c.gga)):
            out = self._flush()
            c = None
        if c is None:
            c = self._cycle = _Cycle(tod, hdop=self._pending_hdop)
            self._pending_hdop = math.nan
        if s.kind == "RMC":
            c.rmc, c.day = True, day
        else:
            c.gga = True
            if math.isfinite(hdop):
                c.hdop = hdop
            c.ele_m = ele
        c.valid = c.valid and valid
        if lonlat is not None and (c.lonlat is None or s.kind == "GGA"):
            c.lonlat = lonlat
        if c.rmc and c.gga:
            out.extend(self._flush())
        return out

    @staticmethod
    def _date(text: str) -> date:
        if len(text) != 6 or not text.isdigit():
            raise NmeaParseError("bad_date")
        try:
            # two-digit years: 80-99 are 1980-1999 (GPS began in 1980), 00-79 are 2000-2079
            yy = int(text[4:6])
            return date(1900 + yy if yy >= 80 else 2000 + yy, int(text[2:4]), int(text[0:2]))
        except ValueError:
            raise NmeaParseError("bad_date") from None

    def _flush(self) -> list[Fix]:
        c, self._cycle = self._cycle, None
        if c is None:
            return []
        day = c.day
        if day is None and self._day is not None:
            day = self._day
            if c.tod < self._tod - _DAY_S / 2:  # the time of day wrapped: midnight passed
                day = day + timedelta(days=1)
        if day is not None:
            self._day, self._tod = day, c.tod
        if day is None or c.lonlat is None or not c.valid:
            self.no_fix += 1
            return []
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        hacc = c.hdop * UERE_M if math.isfinite(c.hdop) else math.nan
        return [Fix(midnight + c.tod, c.lonlat[0], c.lonlat[1], c.ele_m, hacc)]


# -- writing ------------------------------------------------------------------------------------


def _dm(value: float, degree_digits: int, pos: str, neg: str) -> tuple[str, str]:
    a = abs(value)
    deg = int(a)
    minutes = round((a - deg) * 60.0, 5)
    if minutes >= 60.0:
        deg, minutes = deg + 1, 0.0
    return f"{deg:0{degree_digits}d}{minutes:08.5f}", (pos if value >= 0 else neg)


def _wrap(body: str) -> str:
    return f"${body}*{checksum(body)}"


def fix_sentences(fix: Fix, *, hdop: float = 1.0, talker: str = "GP") -> list[str]:
    """The RMC, GGA and GSA sentences (without line ends) a receiver would send for ``fix``.

    >>> fix_sentences(Fix(1747472400.0, -3.2036, 55.89284))[0]
    '$GPRMC,090000.00,A,5553.57040,N,00312.21600,W,0.0,0.0,170525,,,A*44'
    """
    when = datetime.fromtimestamp(seconds(fix), tz=UTC)
    hms = when.strftime("%H%M%S") + f".{when.microsecond // 10000:02d}"
    lat, ns = _dm(fix.lat, 2, "N", "S")
    lon, ew = _dm(fix.lon, 3, "E", "W")
    alt = f"{fix.ele_m:.1f}" if math.isfinite(fix.ele_m) else ""
    return [
        _wrap(f"{talker}RMC,{hms},A,{lat},{ns},{lon},{ew},0.0,0.0,{when.strftime('%d%m%y')},,,A"),
        _wrap(f"{talker}GGA,{hms},{lat},{ns},{lon},{ew},1,08,{hdop:.1f},{alt},M,,M,,"),
        _wrap(f"{talker}GSA,A,3,01,02,03,04,05,06,07,08,,,,,{hdop * 1.5:.1f},{hdop:.1f},{hdop:.1f}"),
    ]


def write_nmea(fixes: Iterable[Fix], out: IO[str], *, hdop: float = 1.0) -> int:
    """Write RMC, GGA and GSA for every fix to ``out`` (CR LF line ends); returns the fixes written."""
    n = 0
    for fix in fixes:
        for line in fix_sentences(fix, hdop=hdop):
            out.write(line + "\r\n")
        n += 1
    return n

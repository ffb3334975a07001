"""The one value layer of the readers: numbers, times and positions, from text or from JSON.

Every reader turns what a file holds into floats through these functions, so that a
number, a time or a latitude means the same in GPX, TCX, KML, GeoJSON and LiveTrail:

* :func:`parse_float` / :func:`json_number`: a number, ``NaN`` (or ``None``) when absent,
  not a number or not finite;
* :func:`parse_time` / :func:`json_time`: an ISO 8601 time (or, in JSON, seconds or
  milliseconds since 1970) as seconds since the Unix epoch, UTC; ``NaN`` when not a time;
* :func:`check_lat_lon`, :func:`text_coordinate` and :func:`json_position`: a position in range,
  or :class:`~offcourse.errors.CorruptFileError` with a one-line message saying what and where;
* :func:`load_json`: JSON bytes decoded, or :class:`~offcourse.errors.CorruptFileError`.

Examples
--------
>>> parse_time("1970-01-01T00:01:00.5Z"), parse_float(" 12.5 "), json_number(True)
(60.5, 12.5, None)
>>> check_lat_lon(45.5, 6.5, "trkpt", None)
(6.5, 45.5)
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from ..errors import CorruptFileError

__all__ = [
    "check_lat_lon",
    "json_number",
    "json_position",
    "json_time",
    "load_json",
    "parse_float",
    "parse_time",
    "text_coordinate",
    "to_float",
]

_NAN = math.nan
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
JSON_MS_ABOVE = 1e11
"""A JSON time number larger than this (in absolute value) is in milliseconds, not seconds (1e11 s is year 5138)."""


def parse_time(text: str | None) -> float:
    """Parse an ISO 8601 time into seconds since the Unix epoch (UTC).

    A time without a zone is taken as UTC. Returns ``NaN`` when ``text`` is
    empty or not a time.

    Examples
    --------
    >>> parse_time("1970-01-01T00:01:00.5Z"), parse_time("1970-01-01T01:00:00+01:00")
    (60.5, 0.0)
    >>> parse_time("yesterday")
    nan
    """
    if not text:
        return _NAN
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        return _NAN
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return (dt - _EPOCH).total_seconds()
    except OverflowError:  # pragma: no cover - a zone offset pushing year 1 before year 1
        return _NAN


def parse_float(text: str | None) -> float:
    """Parse a decimal number; ``NaN`` when ``text`` is empty, not a number or not finite.

    Examples
    --------
    >>> parse_float(" 12.5 "), parse_float("abc"), parse_float(None), parse_float("inf")
    (12.5, nan, nan, nan)
    """
    if text is None:
        return _NAN
    try:
        v = float(text)
    except ValueError:
        return _NAN
    return v if v - v == 0.0 else _NAN


def to_float(v: int | float) -> float:
    """A JSON number as a float; an integer too large for a float becomes an infinity (never an error).

    >>> to_float(3), to_float(-10**400)
    (3.0, -inf)
    """
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def json_number(v: Any) -> float | None:
    """A decoded JSON value as a finite float, or ``None`` (not a number, a boolean, not finite).

    >>> json_number(3), json_number("3"), json_number(float("nan")), json_number(10**400)
    (3.0, None, None, None)
    """
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    f = to_float(v)
    return f if math.isfinite(f) else None


def json_time(v: Any) -> float:
    """A JSON time: ISO 8601 text, or a number of seconds (milliseconds when above :data:`JSON_MS_ABOVE`).

    >>> json_time("1970-01-01T00:00:10Z"), json_time(10), json_time(10_000_000_000_000), json_time(None)
    (10.0, 10.0, 10000000000.0, nan)
    """
    if isinstance(v, str):
        return parse_time(v)
    f = json_number(v)
    if f is None:
        return _NAN
    return f / 1000.0 if abs(f) > JSON_MS_ABOVE else f


def check_lat_lon(lat: float, lon: float, what: str, path: str | None) -> tuple[float, float]:
    """``(lon, lat)`` when both are in range, else :class:`CorruptFileError` (NaN is out of range).

    >>> check_lat_lon(91.0, 0.0, "Point", "x.geojson")
    Traceback (most recent call last):
    ...
    offcourse.errors.CorruptFileError: x.geojson: Point: latitude 91 outside [-90, 90]
    """
    if not -90.0 <= lat <= 90.0:
        raise CorruptFileError(f"{what}: latitude {lat:g} outside [-90, 90]", path=path)
    if not -180.0 <= lon <= 180.0:
        raise CorruptFileError(f"{what}: longitude {lon:g} outside [-180, 180]", path=path)
    return lon, lat


def text_coordinate(raw: str | None, axis: str, what: str, path: str | None, *, attribute: bool = True) -> float:
    """A latitude (``axis="lat"``) or longitude (``"lon"``) written as text, checked.

    ``what`` names where the text is: the element holding it as an attribute (GPX
    ``trkpt``, ``attribute=True``) or the element whose text it is (TCX ``LatitudeDegrees``,
    ``attribute=False``).

    Raises
    ------
    CorruptFileError
        Missing (``raw`` is ``None``), not a number, or out of range (NaN is); the message names
        ``what`` and quotes at most 40 characters of ``raw``.

    >>> text_coordinate(" 45.5", "lat", "trkpt", None)
    45.5
    >>> text_coordinate("200", "lon", "trkpt", None)
    Traceback (most recent call last):
    ...
    offcourse.errors.CorruptFileError: trkpt has longitude 200 outside [-180, 180]
    >>> text_coordinate("x", "lat", "LatitudeDegrees", None, attribute=False)
    Traceback (most recent call last):
    ...
    offcourse.errors.CorruptFileError: LatitudeDegrees is not a number: 'x'
    """
    if raw is None:
        raise CorruptFileError(f"{what} without a {axis} attribute" if attribute else f"{what} missing", path=path)
    try:
        v = float(raw)
    except ValueError:
        shown = repr(raw.strip()[:40])
        text = f"{what} has a non-numeric {axis} {shown}" if attribute else f"{what} is not a number: {shown}"
        raise CorruptFileError(text, path=path) from None
    bound = 90.0 if axis == "lat" else 180.0
    if not -bound <= v <= bound:  # also refuses NaN
        name = "latitude" if axis == "lat" else "longitude"
        where = f"{what} has {name}" if attribute else what
        raise CorruptFileError(f"{where} {raw.strip()[:40]} outside [{-bound:g}, {bound:g}]", path=path)
    return v


def json_position(pos: Any, where: str, path: str | None, *, size: str = "2 or 3") -> tuple[float, float, float]:
    """``(lon, lat, ele)`` from a JSON ``[lon, lat]`` or ``[lon, lat, ele]`` (more members ignored).

    ``ele`` is ``NaN`` when absent, ``null`` or not finite.

    Raises
    ------
    CorruptFileError
        Not a list of at least two numbers, or out of range.
    """
    if not isinstance(pos, list) or len(pos) < 2:
        raise CorruptFileError(f"{where}: a position is not a list of {size} numbers", path=path)
    lon, lat = json_number(pos[0]), json_number(pos[1])
    if lon is None or lat is None:
        if _is_number(pos[0]) and _is_number(pos[1]):  # NaN or an infinity: say which value is out of range
            check_lat_lon(to_float(pos[1]), to_float(pos[0]), where, path)
        raise CorruptFileError(f"{where}: non-numeric coordinate in {str(pos)[:60]}", path=path)
    ele = _NAN
    if len(pos) > 2 and pos[2] is not None:
        if not _is_number(pos[2]):
            raise CorruptFileError(f"{where}: non-numeric coordinate in {str(pos)[:60]}", path=path)
        e = json_number(pos[2])
        ele = _NAN if e is None else e
    lon, lat = check_lat_lon(lat, lon, where, path)
    return lon, lat, ele


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def load_json(data: bytes, path: str | None) -> Any:
    """Decode JSON bytes (UTF-8/16/32, with or without a byte-order mark).

    Raises
    ------
    CorruptFileError
        The bytes are not valid JSON.
    """
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise CorruptFileError(f"bad JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", path=path) from None
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"bad JSON text encoding: {exc.reason}", path=path, offset=exc.start) from None
    except RecursionError:
        raise CorruptFileError("JSON nested too deeply", path=path) from None
    except ValueError as exc:  # e.g. integer string too long to convert
        raise CorruptFileError(f"bad JSON: {exc}", path=path) from None

"""What a companion app pushes, made usable: times in any of three forms, swapped coordinates caught.

The live engine takes what the receiver gives. A fix's time may be UTC seconds since 1970, an aware
:class:`~datetime.datetime` or an ISO 8601 string; a time without a zone is refused with an
:class:`~offcourse.errors.InvalidFixError` unless the monitor was told the zone (``tz``). A fix
whose longitude and latitude look swapped (far from the route, while the swapped position is on it)
is refused the same way, with a message saying so, rather than silently counted as not yet started.

>>> from datetime import timezone
>>> epoch_seconds("1970-01-01T00:01:00Z", None), epoch_seconds(60, None)
(60.0, 60.0)
>>> epoch_seconds("1970-01-01T01:01:00", timezone.utc)
3660.0
"""

from __future__ import annotations

import math
from datetime import datetime, tzinfo
from typing import Any

from ..errors import InvalidFixError
from ..geometry import valid_position

__all__ = ["epoch_seconds", "great_circle_m", "swapped_message"]

_NAN = float("nan")
_EARTH_RADIUS_M = 6_371_008.8


def epoch_seconds(v: Any, tz: tzinfo | None) -> float:
    """A fix's time as UTC seconds since 1970; NaN when it is no time at all (``None``, ``"noon"``).

    Raises
    ------
    InvalidFixError
        A time without a zone (a naive :class:`~datetime.datetime` or ISO string) and no ``tz``.
    """
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            pass
        try:
            v = datetime.fromisoformat(v.strip())
        except ValueError:
            return _NAN
    if isinstance(v, datetime):
        if v.tzinfo is None or v.utcoffset() is None:
            if tz is None:
                raise InvalidFixError(
                    f"fix time {v.isoformat()} has no time zone: give an aware time, or the zone as Monitor(tz=...)"
                )
            v = v.replace(tzinfo=tz)
        try:
            return float(v.timestamp())
        except (OverflowError, ValueError, OSError):
            return _NAN
    try:
        return float(v)
    except (TypeError, ValueError, OverflowError):
        return _NAN


def great_circle_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Distance in metres between two points on a spherical Earth (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def swapped_message(
    lon: float, lat: float, lon0: float, lat0: float, reach_m: float, far_m: float, near_m: float
) -> str | None:
    """Why (lon, lat) looks swapped, or None: farther than ``reach_m + far_m`` from the route's centre
    (lon0, lat0) while (lat, lon) is within ``reach_m + near_m`` of it (``reach_m``: the route's reach
    from its centre). The caller then checks the swapped point against the route itself."""
    if not valid_position(lat, lon):
        return None
    here = great_circle_m(lon, lat, lon0, lat0)
    if here <= reach_m + far_m or great_circle_m(lat, lon, lon0, lat0) > reach_m + near_m:
        return None
    return (
        f"longitude and latitude look swapped: lon={lon!r}, lat={lat!r} is {here / 1000:,.0f} km from the route, "
        f"lon={lat!r}, lat={lon!r} is on it"
    )

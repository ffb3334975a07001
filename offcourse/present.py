"""How findings look to people: units, durations, times, words and colours.

One home for presentation shared by the text report, the plot, the batch table, CSV and the
HTML page. JSON output never goes through here: it stays SI (metres, seconds) and UTC.

Distances are given to this module in metres and times as seconds since the Unix epoch (UTC);
a :class:`Style` says which units and which time zone people want to read.

Examples
--------
>>> s = Style(units=Units.MI)
>>> s.route_position(100_000.0), s.distance(965.6), s.signed_distance(120.0)
('mile 62.14', '0.60 mi', '+394 ft')
>>> Style().route_position(64_200.0), Style().distance(412.4), Style().length(3420.0)
('km 64.20', '412 m', '3.42 km')
>>> hms(250.4), hms(-61)
('0:04:10', '-0:01:01')
>>> iso_time(0.0), iso_time(None)
('1970-01-01T00:00:00+00:00', None)
>>> Style(tz=zone("Europe/Paris")).time(0.0)
'1970-01-01T01:00:00+01:00'
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from .report import Excursion

__all__ = [
    "KIND_COLOUR",
    "KIND_WORDS",
    "METRES_PER_FOOT",
    "Named",
    "METRES_PER_MILE",
    "VERDICT_WORDS",
    "Style",
    "Units",
    "excursion_label",
    "format_label",
    "hms",
    "iso_time",
    "length_text",
    "locate",
    "nice_length",
    "route_zone",
    "zone",
]

METRES_PER_MILE = 1609.344
METRES_PER_FOOT = 0.3048


class Units(StrEnum):
    """Units people read: ``km`` (metres and kilometres) or ``mi`` (feet and miles)."""

    KM = "km"
    MI = "mi"


VERDICT_WORDS = {
    "on_course": "ON COURSE",
    "cut": "CUT",
    "wrong_way": "WRONG WAY",
    "lost": "LOST",
    "did_not_finish": "DID NOT FINISH",
    "partial": "PARTIAL",
    "not_this_route": "NOT THIS ROUTE",
    "unjudged": "NOT JUDGED",
}
"""A verdict kind (the JSON string) as shown to people."""

KIND_WORDS = {
    "off_course": "off course",
    "shortcut": "shortcut",
    "wrong_direction": "wrong way",
    "skipped_section": "skipped section",
}
"""An excursion kind (the JSON string) as shown to people."""

KIND_COLOUR = {
    "off_course": "#d62728",
    "shortcut": "#c0392b",
    "wrong_direction": "#8e44ad",
    "skipped_section": "#e67e22",
}
"""One colour per kind of finding, shared by the plot, the HTML page and GeoJSON simplestyle."""


def hms(seconds: float) -> str:
    """``h:mm:ss``, with a sign when negative.

    >>> hms(3725), hms(0.4)
    ('1:02:05', '0:00:00')
    """
    s = round(abs(seconds))
    sign = "-" if seconds < 0 else ""
    return f"{sign}{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def iso_time(epoch_s: float | None, tz: tzinfo | None = None) -> str | None:
    """ISO 8601 with the zone's offset (UTC when ``tz`` is None), whole seconds; None if unknown.

    The one time format of every command: ``2024-05-01T10:00:00+00:00``.

    >>> iso_time(1714557600.4)
    '2024-05-01T10:00:00+00:00'
    >>> iso_time(float("nan")) is None
    True
    """
    if epoch_s is None or not math.isfinite(epoch_s):
        return None
    try:
        t = datetime.fromtimestamp(round(epoch_s), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return (t if tz is None else t.astimezone(tz)).isoformat()


def zone(name: str) -> tzinfo:
    """An IANA time zone (``Europe/Paris``), or UTC for ``UTC``; ValueError if unknown.

    >>> zone("UTC") is UTC
    True
    """
    if name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Europe/Paris)") from exc


def _import_timezonefinder() -> Any:
    """timezonefinder, loaded with its compiled C extension rather than numba.

    With numba importable, timezonefinder compiles (or loads from its cache) its point-in-polygon
    test on first use: about 0.9 s for the one look-up a command makes. With numba hidden while it
    loads, it takes its C extension instead: about 0.1 s, same answers. numba, if loaded, is put back.
    """
    saved = sys.modules.get("numba")
    sys.modules["numba"] = None  # type: ignore[assignment]  # import numba -> ImportError
    try:
        import timezonefinder

        timezonefinder.timezone_at(lng=0.0, lat=0.0)  # loads its lazy parts now, while numba is hidden
    finally:
        if saved is None:
            del sys.modules["numba"]
        else:
            sys.modules["numba"] = saved
    return timezonefinder


@functools.lru_cache(maxsize=64)
def _zone_name_at(lon: float, lat: float) -> str | None:
    try:
        tzf = _import_timezonefinder()
        name = tzf.timezone_at(lng=lon, lat=lat)
    except ImportError:
        return None
    return name if isinstance(name, str) else None


def route_zone(lon: float, lat: float) -> tzinfo | None:
    """The local time zone at a place (a route's start), found offline; None if unknown.

    Needs the ``field`` extra (timezonefinder); its first call loads the zone shapes (about 0.1 s).
    """
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    name = _zone_name_at(round(lon, 3), round(lat, 3))
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True, kw_only=True)
class Style:
    """Units and time zone of text, CSV, HTML and plots (JSON stays SI and UTC)."""

    units: Units = Units.KM
    tz: tzinfo | None = field(default=None)
    """None shows UTC."""

    @property
    def long_unit(self) -> str:
        """``km`` or ``mi``."""
        return "mi" if self.units == Units.MI else "km"

    def long(self, metres: float) -> float:
        """Metres in the long unit (km or miles)."""
        return metres / (METRES_PER_MILE if self.units == Units.MI else 1000.0)

    @property
    def short_unit(self) -> str:
        """``m`` or ``ft``."""
        return "ft" if self.units == Units.MI else "m"

    def short(self, metres: float) -> float:
        """Metres in the short unit (metres or feet)."""
        return metres / METRES_PER_FOOT if self.units == Units.MI else metres

    def route_position(self, metres: float | None, digits: int = 2) -> str:
        """A place along the route: ``km 64.20`` or ``mile 39.89``; ``?`` when unknown."""
        if metres is None or not math.isfinite(metres):
            return "?"
        return f"{'mile' if self.units == Units.MI else 'km'} {self.long(metres):.{digits}f}"

    def route_span(self, lo_m: float, hi_m: float | None) -> str:
        """A stretch of the route: ``km 5.00-6.25`` or ``mile 3.11-3.88`` (ends sorted)."""
        lo, hi = sorted((lo_m, hi_m if hi_m is not None else lo_m))
        return f"{self.route_position(lo)}-{self.long(hi):.2f}"

    def scale_bar(self, target_m: float) -> tuple[float, str]:
        """A scale bar's round length at most ``target_m``, in metres, and its label in these units.

        >>> Style().scale_bar(730.0), Style(units=Units.MI).scale_bar(730.0), Style(units=Units.MI).scale_bar(9000.0)
        ((500.0, '500 m'), (609.6, '2000 ft'), (8046.72, '5 mi'))
        """
        if self.units != Units.MI:
            m = nice_length(target_m)
            return m, length_text(m)
        if target_m < METRES_PER_MILE:
            ft = nice_length(target_m / METRES_PER_FOOT)
            return round(ft * METRES_PER_FOOT, 6), f"{ft:g} ft"
        mi = nice_length(target_m / METRES_PER_MILE)
        return round(mi * METRES_PER_MILE, 6), f"{mi:g} mi"

    def where(self, checkpoints: Sequence[Named], lo_m: float, hi_m: float | None = None) -> str | None:
        """:func:`locate` in this style's units."""
        return locate(checkpoints, lo_m, hi_m, self)

    def length(self, metres: float) -> str:
        """A long distance: ``3.42 km`` or ``2.13 mi``."""
        return f"{self.long(metres):,.2f} {self.long_unit}"

    def distance(self, metres: float) -> str:
        """A distance of any size: ``412 m`` / ``1.20 km``, or ``350 ft`` / ``0.60 mi``."""
        if self.units == Units.MI:
            if abs(metres) < 0.1 * METRES_PER_MILE:
                return f"{metres / METRES_PER_FOOT:,.0f} ft"
            return f"{metres / METRES_PER_MILE:,.2f} mi"
        if abs(metres) < 1000.0:
            return f"{metres:,.0f} m"
        return f"{metres / 1000:,.2f} km"

    def signed_distance(self, metres: float) -> str:
        """A distance with its sign: ``+412 m``, ``-0.60 mi``."""
        return ("+" if metres >= 0 else "-") + self.distance(abs(metres))

    def height(self, metres: float) -> str:
        """A climb or an elevation: ``120 m`` or ``394 ft``."""
        if self.units == Units.MI:
            return f"{metres / METRES_PER_FOOT:,.0f} ft"
        return f"{metres:,.0f} m"

    def pace(self, seconds_per_metre: float) -> str:
        """A pace: ``5:30 /km`` or ``8:51 /mi``; ``-`` when unknown."""
        if not math.isfinite(seconds_per_metre) or seconds_per_metre <= 0:
            return "-"
        per = seconds_per_metre * (METRES_PER_MILE if self.units == Units.MI else 1000.0)
        s = round(per)
        return f"{s // 60}:{s % 60:02d} /{self.long_unit}"

    def clock(self, epoch_s: float | None) -> str:
        """A moment to the minute with the zone's abbreviation, for titles: ``2025-05-17 10:00 BST``.

        >>> Style().clock(1747472400.0), Style(tz=zone("Europe/London")).clock(1747472400.0)
        ('2025-05-17 09:00 UTC', '2025-05-17 10:00 BST')
        """
        if epoch_s is None or not math.isfinite(epoch_s):
            return "-"
        try:
            t = datetime.fromtimestamp(round(epoch_s), tz=UTC).astimezone(self.tz or UTC)
        except (OverflowError, OSError, ValueError):
            return "-"
        return f"{t:%Y-%m-%d %H:%M} {t.tzname() or ''}".rstrip()

    def time(self, epoch_s: float | None) -> str:
        """A moment in the style's zone, ISO 8601 with its offset; ``-`` when unknown."""
        return iso_time(epoch_s, self.tz) or "-"


class Named(Protocol):
    """A named place along the route (a :class:`~offcourse.model.Checkpoint`)."""

    @property
    def name(self) -> str: ...

    @property
    def route_m(self) -> float: ...


def _named(c: Named, style: Style) -> str:
    return f"{c.name} ({style.route_position(c.route_m, 1)})"


def locate(
    checkpoints: Sequence[Named], lo_m: float, hi_m: float | None = None, style: Style | None = None
) -> str | None:
    """Where a finding lies among the route's checkpoints; None when the route has none.

    ``lo_m`` and ``hi_m`` are the finding's ends along the route (metres; ``hi_m`` None for a
    point). The checkpoints around it are the last at or before ``lo_m`` and the first at or
    after ``hi_m``; those strictly inside it (a section cut or a detour past a checkpoint) follow
    after ``across``, the first three by name.

    >>> from types import SimpleNamespace as P
    >>> cps = [P(name="Lac Combal", route_m=64_200.0), P(name="Arête du Mont-Favre", route_m=68_000.0)]
    >>> locate(cps, 64_700.0, 65_300.0)
    'between Lac Combal (km 64.2) and Arête du Mont-Favre (km 68.0)'
    >>> locate(cps, 60_000.0), locate(cps, 70_000.0, style=Style(units=Units.MI))
    ('before Lac Combal (km 64.2)', 'after Arête du Mont-Favre (mile 42.3)')
    >>> locate(cps, 64_200.0), locate([], 1.0) is None
    ('at Lac Combal (km 64.2)', True)
    >>> locate(cps, 60_000.0, 69_000.0)
    'across Lac Combal (km 64.2) and Arête du Mont-Favre (km 68.0)'
    >>> print(locate([P(name="Start", route_m=0.0), *cps], 50_000.0, 66_000.0))
    between Start (km 0.0) and Arête du Mont-Favre (km 68.0), across Lac Combal (km 64.2)
    """
    if not checkpoints or not math.isfinite(lo_m):
        return None
    s = style or Style()
    lo, hi = sorted((lo_m, hi_m if hi_m is not None and math.isfinite(hi_m) else lo_m))
    ordered = sorted(checkpoints, key=lambda c: c.route_m)
    before = [c for c in ordered if c.route_m <= lo]
    after = [c for c in ordered if c.route_m >= hi]
    inside = [c for c in ordered if lo < c.route_m < hi]
    if hi == lo and before and before[-1].route_m == lo:
        return f"at {_named(before[-1], s)}"
    parts = []
    if before and after:
        parts.append(f"between {_named(before[-1], s)} and {_named(after[0], s)}")
    elif before:
        parts.append(f"after {_named(before[-1], s)}")
    elif after:
        parts.append(f"before {_named(after[0], s)}")
    if inside:
        names = [_named(c, s) for c in inside[:3]]
        more = f" and {len(inside) - 3} more" if len(inside) > 3 else ""
        listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 and not more else ", ".join(names)
        parts.append(f"across {listed}{more}")
    return ", ".join(parts)


# -- labels and scale bars shared by the picture and the field page ---------------------------------
def format_label(
    number: int,
    kind: str,
    exit_route_m: float,
    rejoin_route_m: float | None,
    distance_m: float | None,
    extra_distance_m: float | None,
    time_lost_s: float | None,
    style: Style | None = None,
) -> str:
    """The one-line label of an excursion, shared by the pictures and the field page.

    Parameters
    ----------
    number : int
        The excursion's number in the report, from 1.
    kind : str
        ``off_course``, ``wrong_direction`` or ``skipped_section``.
    exit_route_m, rejoin_route_m, distance_m, extra_distance_m, time_lost_s :
        As in :class:`~offcourse.report.Excursion` (metres, seconds; ``None`` where unknown).
    style : Style, optional
        Units (default kilometres and metres).

    Examples
    --------
    >>> format_label(2, "off_course", 12_000.0, None, 900.0, None, None)
    '2 · km 12.00 · never rejoined'
    >>> format_label(3, "skipped_section", 5000.0, 6250.0, None, None, None)
    '3 · km 5.00-6.25 · skipped 1.25 km'
    >>> format_label(4, "wrong_direction", 7000.0, 7400.0, 420.0, None, None)
    '4 · km 7.00-7.40 · wrong way 420 m'
    >>> format_label(1, "off_course", 100_000.0, 100_100.0, 900.0, 965.6, 600.0, Style(units=Units.MI))
    '1 · mile 62.14 · +0.60 mi · 0:10:00'
    """
    s = style or Style()
    at = s.route_position(exit_route_m)
    if kind == "off_course":
        if rejoin_route_m is None:
            return f"{number} · {at} · never rejoined"
        extra = (
            s.signed_distance(extra_distance_m)
            if extra_distance_m is not None and math.isfinite(extra_distance_m)
            else "?"
        )
        lost = hms(time_lost_s) if time_lost_s is not None and math.isfinite(time_lost_s) else "?"
        return f"{number} · {at} · {extra} · {lost}"
    lo, hi = sorted((exit_route_m, rejoin_route_m if rejoin_route_m is not None else exit_route_m))
    span = s.route_span(lo, hi)
    if kind == "wrong_direction":
        return f"{number} · {span} · wrong way {s.distance(distance_m or 0.0)}"
    what = "shortcut" if kind == "shortcut" else "skipped"
    return f"{number} · {span} · {what} {s.distance(hi - lo)}"


def excursion_label(number: int, e: Excursion, style: Style | None = None) -> str:
    """:func:`format_label` for an :class:`~offcourse.report.Excursion`."""
    return format_label(
        number, e.kind, e.exit_route_m, e.rejoin_route_m, e.distance_m, e.extra_distance_m, e.time_lost_s, style
    )


def nice_length(target_m: float) -> float:
    """The 1, 2 or 5 x 10^k metres nearest below ``target_m`` (a scale bar's length).

    >>> nice_length(730.0), nice_length(43_000.0), nice_length(0.0)
    (500.0, 20000.0, 1.0)
    """
    if not target_m > 1.0:
        return 1.0
    k = math.floor(math.log10(target_m))
    for m in (5.0, 2.0, 1.0):
        if m * 10**k <= target_m:
            return float(m * 10.0**k)
    return float(10.0**k)  # pragma: no cover - unreachable


def length_text(metres: float) -> str:
    """``"500 m"`` or ``"20 km"``.

    >>> length_text(500.0), length_text(20_000.0), length_text(2500.0)
    ('500 m', '20 km', '2.5 km')
    """
    if metres < 1000:
        return f"{metres:.0f} m"
    return f"{metres / 1000:g} km"

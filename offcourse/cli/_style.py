"""``--units`` and ``--tz``: how text and pictures show distances and times (JSON stays SI and UTC)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from datetime import tzinfo

from ..present import Style, Units, route_zone, zone

__all__ = ["ROUTE_ZONE", "add_style_flags", "style_from_args"]

ROUTE_ZONE = "route"
"""The ``--tz`` default: the local time where the route (or the file) starts."""


def _tz(text: str) -> str:
    if text != ROUTE_ZONE:
        try:
            zone(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_style_flags(p: argparse.ArgumentParser, what: str = "the route") -> None:
    """Add ``--units km|mi`` and ``--tz ZONE`` to a subcommand."""
    g = p.add_argument_group("units and time zone of the text (JSON is always metres, seconds and UTC)")
    g.add_argument(
        "--units", choices=[u.value for u in Units], default=Units.KM.value,
        help="km (kilometres and metres) or mi (miles and feet); default km",
    )  # fmt: skip
    g.add_argument(
        "--tz", metavar="ZONE", type=_tz, default=ROUTE_ZONE,
        help=f"time zone of the times shown: an IANA name (Europe/Paris), UTC, or {ROUTE_ZONE!r}: the local "
        f"time where {what} starts, found offline (default; UTC when unknown)",
    )  # fmt: skip


def style_from_args(args: argparse.Namespace, start: Callable[[], tuple[float, float] | None] | None = None) -> Style:
    """The :class:`~offcourse.present.Style` the flags ask for.

    ``start`` gives the (lon, lat) whose local zone ``--tz route`` means; it is called only
    then, so the zone look-up (about 0.1 s) is paid only when times are shown.
    """
    units = Units(getattr(args, "units", Units.KM.value))
    name = getattr(args, "tz", ROUTE_ZONE)
    tz: tzinfo | None
    if name != ROUTE_ZONE:
        tz = zone(name)
    else:
        where = start() if start is not None else None
        ok = where is not None and all(math.isfinite(v) for v in where)
        tz = route_zone(*where) if where is not None and ok else None
    return Style(units=units, tz=tz)

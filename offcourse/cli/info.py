"""``offcourse info FILE...``: what a route or recording file holds."""

from __future__ import annotations

import argparse
import functools
import math
import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import OffcourseError
from ..present import Style, hms, iso_time
from ._style import add_style_flags, style_from_args

if TYPE_CHECKING:
    from ..model import ParsedFile

__all__ = ["describe", "lon_extent", "register"]


def _num(v: float, nd: int = 1) -> float | None:
    return round(float(v), nd) if math.isfinite(v) else None


def lon_extent(lon: Any) -> tuple[float, float]:
    """West and east edges of the longitudes, across the antimeridian when that is narrower.

    As in an RFC 7946 bounding box, ``west > east`` means the box crosses ±180°.

    >>> import numpy as np
    >>> lon_extent(np.array([10.0, 12.0])), lon_extent(np.array([179.5, -179.5, 179.9]))
    ((10.0, 12.0), (179.5, -179.5))
    """
    import numpy as np

    west, east = float(lon.min()), float(lon.max())
    if east - west <= 180.0:
        return west, east
    shifted = np.where(lon < 0, lon + 360.0, lon)  # 0 ... 360: the antimeridian in the middle
    w2, e2 = float(shifted.min()), float(shifted.max())
    if e2 - w2 < east - west:
        return (w2 - 360.0 if w2 > 180.0 else w2), (e2 - 360.0 if e2 > 180.0 else e2)
    return west, east


def describe(parsed: ParsedFile, path: str) -> dict[str, Any]:
    """A JSON-ready summary of a parsed file: format, points, length, times, extent, checkpoints."""
    import numpy as np

    from ..model import Route

    t = parsed.track
    n = len(t)
    info: dict[str, Any] = {
        "path": path,
        "format": t.meta.format,
        "kind": t.meta.kind,
        "name": t.meta.name,
        "device": t.meta.device,
        "sport": t.meta.sport,
        "points": n,
        "segments": len(t.segment_starts),
        "length_m": _num(t.length_m()),
    }
    times = t.epoch_s[np.isfinite(t.epoch_s)]
    info["start_time"] = iso_time(float(times.min())) if times.size else None
    info["end_time"] = iso_time(float(times.max())) if times.size else None
    info["duration_s"] = _num(float(times.max() - times.min()), 0) if times.size else None
    info["bbox"] = None
    if n:
        west, east = lon_extent(t.lon)
        info["bbox"] = [_num(west, 6), _num(float(t.lat.min()), 6), _num(east, 6), _num(float(t.lat.max()), 6)]
    ele = t.ele_m[np.isfinite(t.ele_m)]
    info["elevation_m"] = [_num(float(ele.min())), _num(float(ele.max()))] if ele.size else None
    checkpoints: list[dict[str, Any]] = []
    if parsed.waypoints and n >= 2:
        try:
            route = Route.from_track(t, parsed.waypoints)
            checkpoints = [
                {"name": c.name, "route_m": _num(c.route_m), "offset_m": _num(c.offset_m), "lon": c.lon, "lat": c.lat}
                for c in route.checkpoints
            ]
        except OffcourseError:
            checkpoints = []
    if not checkpoints:
        checkpoints = [
            {"name": w.name, "route_m": None, "offset_m": None, "lon": w.lon, "lat": w.lat} for w in parsed.waypoints
        ]
    info["checkpoints"] = checkpoints
    info["warnings"] = [str(w) for w in t.meta.extra.get("warnings", [])]
    return info


def _when(iso: str, style: Style) -> str:
    """A time of :func:`describe` (ISO, UTC) in the style's zone."""
    return style.time(datetime.fromisoformat(iso).timestamp())


def _text(info: dict[str, Any], style: Style | None = None) -> str:
    s = style or Style()
    lines = [info["path"]]
    what = info["format"].upper() + (f" {info['kind']}" if info["kind"] else "")
    lines.append(f"  format       {what}")
    for key in ("name", "device", "sport"):
        if info[key]:
            lines.append(f"  {key:<12} {info[key]}")
    lines.append(f"  points       {info['points']} in {info['segments']} segment(s)")
    lines.append(f"  length       {s.length(info['length_m'] or 0.0)}")
    if info["start_time"]:
        span = f"{_when(info['start_time'], s)} → {_when(info['end_time'], s)}"
        lines.append(f"  time         {span} ({hms(info['duration_s'])})")
    else:
        lines.append("  time         none")
    if info["bbox"]:
        west, south, east, north = info["bbox"]
        lines.append(f"  bbox         lon {west} … {east}, lat {south} … {north}")
    if info["elevation_m"]:
        low, high = info["elevation_m"]
        lines.append(f"  elevation    {s.short(low):.0f} … {s.short(high):.0f} {s.short_unit}")
    if info["checkpoints"]:
        lines.append(f"  checkpoints  {len(info['checkpoints'])}")
        for c in info["checkpoints"]:
            along = "mile" if s.long_unit == "mi" else "km"
            where = f"{along} {s.long(c['route_m']):7.2f}" if c["route_m"] is not None else " " * (len(along) + 8)
            lines.append(f"    {where}  {c['name']}")
    for w in info.get("warnings", []):
        lines.append(f"  warning      {w}")
    return "\n".join(lines)


def _start(parsed: ParsedFile) -> tuple[float, float] | None:
    """The first fix with a position (whose local zone ``--tz route`` means)."""
    import numpy as np

    t = parsed.track
    ok = np.flatnonzero(np.isfinite(t.lon) & np.isfinite(t.lat))
    return (float(t.lon[ok[0]]), float(t.lat[ok[0]])) if len(ok) else None


def run(args: argparse.Namespace) -> int:
    from ..read import read_file
    from ..read._limits import terminal_text
    from . import error_line, json_text

    results: list[dict[str, Any]] = []
    status = 0
    for path in args.files:
        spath = os.fsdecode(path)
        try:
            parsed = read_file(path)
            info = describe(parsed, spath)
        except OffcourseError as exc:
            error_line(str(exc.with_path(spath)))
            status = 2
            if args.format == "json":
                results.append({"path": spath, "error": str(exc.message)})
            continue
        results.append(info)
        if args.format == "text":
            style = style_from_args(args, functools.partial(_start, parsed) if info["start_time"] else None)
            print(terminal_text(_text(info, style)))
    if args.format == "json":
        print(json_text(results))
    return status


def register(sub: Any) -> None:
    from . import COMMANDS

    p = sub.add_parser(
        "info",
        help=COMMANDS["info"][1],
        description="Print what each file holds: format, point count, length, time span and duration, "
        "bounding box, elevation range and checkpoints.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="FIT, GPX, TCX, GeoJSON or LiveTrail file (maybe .gz)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    add_style_flags(p, what="each file")
    p.set_defaults(run=run)

"""Read LiveTrail route JSON (the course files behind LiveTrail race pages, e.g. UTMB).

The document is an object with a ``segments`` list; each segment has an
``id``, a ``name`` and a ``segment`` list of points::

    [distance_m, ele_m, [lon, lat], [gain_m, loss_m], slope, terrain]

where ``distance_m`` is the cumulative (3-D) distance from the start, ``gain_m``
and ``loss_m`` the cumulative climb and descent, ``slope`` a signed slope class
and ``terrain`` a surface code (``R`` road, ``F`` forest track, ``T``... trail).
Only ``[lon, lat]`` and the elevation are needed; the cumulative distance is
kept in ``Metadata.extra["distance_m"]``. Each segment is a segment of the
returned track. Named checkpoints, when the document has them (a ``pois``,
``points``, ``checkpoints`` or ``waypoints`` list of objects with a name and a
position), become waypoints.

Whether a JSON document is GeoJSON or LiveTrail is decided once, by :mod:`offcourse.read.json`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import CorruptFileError, NoGeometryError, UnknownFormatError
from ..model import Metadata, ParsedFile, Track, Waypoint
from ._limits import MAX_POINTS, too_many_points
from ._values import json_number, json_position, load_json

__all__ = ["is_livetrail", "livetrail_from_object", "parse_livetrail"]

_NAN = float("nan")


def _lonlat(pos: Any, where: str, path: str | None) -> tuple[float, float]:
    lon, lat, _ = json_position(pos, where, path)
    return lon, lat


def is_livetrail(obj: Any) -> bool:
    """Whether a decoded JSON value is a LiveTrail route: an object whose ``segments`` hold ``segment`` lists."""
    if not isinstance(obj, dict):
        return False
    segs = obj.get("segments")
    return isinstance(segs, list) and all(isinstance(s, dict) and isinstance(s.get("segment"), list) for s in segs)


def _checkpoints(obj: dict[str, Any], path: str | None) -> list[Waypoint]:
    out: list[Waypoint] = []
    for key in ("pois", "checkpoints", "waypoints", "points"):
        items = obj.get(key)
        if not isinstance(items, list):
            continue
        for item in items:
            if not isinstance(item, dict):
                continue
            name = item.get("name") or item.get("title") or item.get("label") or ""
            if "lat" in item and ("lon" in item or "lng" in item):
                pos = [item.get("lon", item.get("lng")), item.get("lat")]
            elif isinstance(item.get("coordinates"), list):
                pos = item["coordinates"]
            elif isinstance(item.get("position"), list):
                pos = item["position"]
            else:
                continue
            lon, lat = _lonlat(pos, key, path)
            ele = json_number(item.get("ele", item.get("elevation", item.get("altitude"))))
            kind = item.get("type") if isinstance(item.get("type"), str) else None
            out.append(Waypoint(lon=lon, lat=lat, name=str(name), ele_m=_NAN if ele is None else ele, kind=kind))
    return out


def livetrail_from_object(obj: Any, path: str | None = None) -> ParsedFile:
    """Read an already decoded LiveTrail route object (see :func:`parse_livetrail`)."""
    if not is_livetrail(obj):
        raise UnknownFormatError("JSON, but neither GeoJSON nor a LiveTrail route", path=path)
    lon: list[float] = []
    lat: list[float] = []
    ele: list[float] = []
    dist: list[float] = []
    starts: list[int] = []
    names: list[str] = []
    for si, seg in enumerate(obj["segments"]):
        pts = seg["segment"]
        if isinstance(seg.get("name"), str):
            names.append(seg["name"])
        if not pts:
            continue
        starts.append(len(lon))
        if len(lon) + len(pts) > MAX_POINTS:
            raise too_many_points(path)
        for pi, p in enumerate(pts):
            where = f"segment {si} point {pi}"
            if not isinstance(p, list) or len(p) < 3:
                raise CorruptFileError(f"{where}: not [distance, elevation, [lon, lat], ...]", path=path)
            x, y = _lonlat(p[2], where, path)
            e = json_number(p[1])
            d = json_number(p[0])
            lon.append(x)
            lat.append(y)
            ele.append(_NAN if e is None else e)
            dist.append(_NAN if d is None else d)
    waypoints = _checkpoints(obj, path)
    if not lon:
        raise NoGeometryError("LiveTrail route without points", path=path)
    extra: dict[str, Any] = {"distance_m": np.asarray(dist, dtype=np.float64), "segment_names": names}
    stats = obj.get("stats")
    if isinstance(stats, dict):
        extra["stats"] = {k: v for k, v in stats.items() if isinstance(v, (int, float, str))}
    meta = Metadata(format="livetrail", path=path, kind="route", extra=extra)
    track = Track.from_arrays(lon=lon, lat=lat, ele_m=ele, segment_starts=starts, meta=meta)
    return ParsedFile(track=track, waypoints=tuple(waypoints))


def parse_livetrail(data: bytes, path: str | None = None) -> ParsedFile:
    """Read a LiveTrail route JSON document.

    Parameters
    ----------
    data : bytes
        The (decompressed) file content.
    path : str, optional
        File name, used in error messages and :attr:`Metadata.path`.

    Returns
    -------
    ParsedFile
        The route as a :class:`~offcourse.model.Track` with ``kind="route"``
        (no times) and its checkpoints, if any, as waypoints.

    Raises
    ------
    CorruptFileError
        Bad JSON or a malformed point.
    UnknownFormatError
        JSON that is not a LiveTrail route (:func:`offcourse.read.json.parse_json` decides
        between GeoJSON and LiveTrail for a file of unknown kind).
    NoGeometryError
        A LiveTrail route without points.

    Examples
    --------
    >>> doc = b'{"segments": [{"name": "a", "segment": [[0, 1035, [6.86, 45.92], [0, 0], -1, "R"],'
    >>> doc += b' [12, 1036, [6.87, 45.93], [1, 0], 1, "T"]]}]}'
    >>> t = parse_livetrail(doc).track
    >>> t.lon.tolist(), t.ele_m.tolist(), t.meta.extra["distance_m"].tolist()
    ([6.86, 6.87], [1035.0, 1036.0], [0.0, 12.0])
    """
    return livetrail_from_object(load_json(data, path), path)

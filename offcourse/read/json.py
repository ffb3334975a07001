"""The one JSON entry: a JSON file is decoded once and read as GeoJSON or as a LiveTrail route.

The decision is taken here only, on the whole decoded document (the format sniffing of
:mod:`offcourse.read.formats` sees only the first bytes, where a GeoJSON ``"type"`` may not
yet appear): an object whose ``type`` is a GeoJSON type is GeoJSON
(:mod:`offcourse.read.geojson`); an object with a ``segments`` member is a LiveTrail route
(:mod:`offcourse.read.livetrail`); anything else is refused.

Examples
--------
>>> parse(b'{"type": "LineString", "coordinates": [[6.5, 45.5], [6.6, 45.6]]}').track.meta.format
'geojson'
>>> parse(b'{"segments": [{"segment": [[0, 1000, [6.5, 45.5]], [9, 1001, [6.6, 45.6]]]}]}').track.meta.format
'livetrail'
>>> json_kind([1, 2]) is None
True
"""

from __future__ import annotations

from typing import Any

from ..errors import UnknownFormatError
from ..model import ParsedFile
from ._values import load_json
from .geojson import geojson_from_object, is_geojson
from .livetrail import livetrail_from_object

__all__ = ["json_kind", "parse", "parse_json"]


def json_kind(obj: Any) -> str | None:
    """``"geojson"``, ``"livetrail"`` or ``None``: what a decoded JSON document is."""
    if is_geojson(obj):
        return "geojson"
    if isinstance(obj, dict) and "segments" in obj:
        return "livetrail"
    return None


def parse_json(data: bytes, path: str | None = None) -> ParsedFile:
    """Read a JSON document as GeoJSON or as a LiveTrail route, whichever it is.

    Raises
    ------
    CorruptFileError
        Bad JSON, or a malformed position or point.
    UnknownFormatError
        JSON that is neither GeoJSON nor a LiveTrail route.
    NoGeometryError
        No line or point.
    """
    obj = load_json(data, path)
    kind = json_kind(obj)
    if kind == "geojson":
        return geojson_from_object(obj, path)
    if kind == "livetrail":
        return livetrail_from_object(obj, path)
    raise UnknownFormatError("JSON, but neither GeoJSON nor a LiveTrail route", path=path)


parse = parse_json
"""The registry's entry point (:mod:`offcourse.read.formats`)."""

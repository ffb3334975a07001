"""Read GeoJSON (RFC 7946) routes and tracks.

``LineString`` and ``MultiLineString`` geometries give the points (each line a
segment); ``Point`` and ``MultiPoint`` give named points (the name from the
feature's ``name``, ``title`` or ``label`` property). ``Feature``,
``FeatureCollection`` and ``GeometryCollection`` are walked in order. A
feature's ``properties.coordTimes`` (the convention of togeojson and Strava
converters: one ISO 8601 time per position, a list of lists for a
``MultiLineString``) gives the timestamps. Polygons are ignored.

Positions are ``[lon, lat]`` or ``[lon, lat, ele]``; further members are ignored.
"""

from __future__ import annotations

from typing import Any

from ..errors import CorruptFileError, NoGeometryError, UnknownFormatError
from ..model import Metadata, ParsedFile, Track, Waypoint
from ._limits import MAX_POINTS, too_many_points
from ._values import json_position, json_time, load_json

__all__ = ["GEOJSON_TYPES", "geojson_from_object", "is_geojson", "parse_geojson"]

GEOJSON_TYPES = frozenset(
    {
        "FeatureCollection",
        "Feature",
        "GeometryCollection",
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
    }
)
_NAN = float("nan")


def is_geojson(obj: Any) -> bool:
    """Whether a decoded JSON value is a GeoJSON object (its ``type`` is one of :data:`GEOJSON_TYPES`)."""
    return isinstance(obj, dict) and obj.get("type") in GEOJSON_TYPES


class _Reader:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self.lon: list[float] = []
        self.lat: list[float] = []
        self.ele: list[float] = []
        self.time: list[float] = []
        self.starts: list[int] = []
        self.waypoints: list[Waypoint] = []
        self.name: str | None = None
        self.has_times = False
        self.ignored: set[str] = set()

    def position(self, pos: Any, where: str) -> tuple[float, float, float]:
        return json_position(pos, where, self.path)

    def line(self, coords: Any, times: Any, where: str) -> None:
        if not isinstance(coords, list):
            raise CorruptFileError(f"{where}: coordinates is not a list", path=self.path)
        if not coords:
            return
        use_times = isinstance(times, list) and len(times) == len(coords)
        self.has_times = self.has_times or use_times
        self.starts.append(len(self.lon))
        if len(self.lon) + len(coords) > MAX_POINTS:
            raise too_many_points(self.path, MAX_POINTS)
        for i, pos in enumerate(coords):
            lon, lat, ele = self.position(pos, where)
            self.lon.append(lon)
            self.lat.append(lat)
            self.ele.append(ele)
            self.time.append(json_time(times[i]) if use_times else _NAN)

    def point(self, pos: Any, props: dict[str, Any], where: str) -> None:
        if len(self.waypoints) >= MAX_POINTS:
            raise too_many_points(self.path, MAX_POINTS)
        lon, lat, ele = self.position(pos, where)
        name = ""
        for key in ("name", "title", "label", "Name", "NAME"):
            v = props.get(key)
            if isinstance(v, (str, int, float)) and not isinstance(v, bool) and str(v).strip():
                name = str(v).strip()
                break
        t = json_time(props.get("time")) if "time" in props else _NAN
        kind = props.get("type") if isinstance(props.get("type"), str) else None
        self.waypoints.append(Waypoint(lon=lon, lat=lat, name=name, ele_m=ele, epoch_s=t, kind=kind))

    def geometry(self, geom: Any, props: dict[str, Any], times: Any) -> None:
        if geom is None:
            return  # a Feature may have a null geometry
        if not isinstance(geom, dict):
            raise CorruptFileError("geometry is not an object", path=self.path)
        gtype = geom.get("type")
        coords = geom.get("coordinates")
        if gtype == "LineString":
            self.line(coords, times, "LineString")
        elif gtype == "MultiLineString":
            if not isinstance(coords, list):
                raise CorruptFileError("MultiLineString: coordinates is not a list", path=self.path)
            tlists = times if isinstance(times, list) and len(times) == len(coords) else None
            for i, line in enumerate(coords):
                self.line(line, tlists[i] if tlists else None, "MultiLineString")
        elif gtype == "Point":
            self.point(coords, props, "Point")
        elif gtype == "MultiPoint":
            if not isinstance(coords, list):
                raise CorruptFileError("MultiPoint: coordinates is not a list", path=self.path)
            for pos in coords:
                self.point(pos, props, "MultiPoint")
        elif gtype == "GeometryCollection":
            geoms = geom.get("geometries")
            if not isinstance(geoms, list):
                raise CorruptFileError("GeometryCollection without a geometries list", path=self.path)
            for g in geoms:
                self.geometry(g, props, None)
        elif gtype in ("Polygon", "MultiPolygon"):
            self.ignored.add(gtype)
        else:
            raise CorruptFileError(f"unknown geometry type {str(gtype)[:40]!r}", path=self.path)

    def feature(self, feat: Any) -> None:
        if not isinstance(feat, dict):
            raise CorruptFileError("a feature is not an object", path=self.path)
        props = feat.get("properties")
        if not isinstance(props, dict):
            props = {}
        geom = feat.get("geometry")
        if self.name is None and isinstance(geom, dict) and geom.get("type") in ("LineString", "MultiLineString"):
            v = props.get("name") or props.get("title")
            if isinstance(v, str) and v.strip():
                self.name = v.strip()
        self.geometry(geom, props, props.get("coordTimes"))

    def document(self, obj: Any) -> None:
        if not is_geojson(obj):
            raise UnknownFormatError('JSON, but not GeoJSON (no known top-level "type")', path=self.path)
        otype = obj["type"]
        if otype == "FeatureCollection":
            feats = obj.get("features")
            if not isinstance(feats, list):
                raise CorruptFileError("FeatureCollection without a features list", path=self.path)
            top = obj.get("name")
            if isinstance(top, str) and top.strip():
                self.name = top.strip()
            for f in feats:
                self.feature(f)
        elif otype == "Feature":
            self.feature(obj)
        else:
            self.geometry(obj, {}, None)

    def result(self) -> ParsedFile:
        if not self.lon and not self.waypoints:
            raise NoGeometryError("GeoJSON has no LineString, MultiLineString or Point", path=self.path)
        extra: dict[str, Any] = {}
        if self.ignored:
            extra["ignored_geometries"] = sorted(self.ignored)
        kind = ("track" if self.has_times else "route") if self.lon else "waypoints"
        meta = Metadata(format="geojson", path=self.path, name=self.name, kind=kind, extra=extra)
        track = Track.from_arrays(
            lon=self.lon, lat=self.lat, epoch_s=self.time, ele_m=self.ele, segment_starts=self.starts, meta=meta
        )
        return ParsedFile(track=track, waypoints=tuple(self.waypoints))


def geojson_from_object(obj: Any, path: str | None = None) -> ParsedFile:
    """Read an already decoded GeoJSON object (see :func:`parse_geojson`)."""
    reader = _Reader(path)
    try:
        reader.document(obj)
    except RecursionError:
        raise CorruptFileError("GeoJSON nested too deeply", path=path) from None
    return reader.result()


def parse_geojson(data: bytes, path: str | None = None) -> ParsedFile:
    """Read a GeoJSON document.

    Parameters
    ----------
    data : bytes
        The (decompressed) file content.
    path : str, optional
        File name, used in error messages and :attr:`Metadata.path`.

    Returns
    -------
    ParsedFile
        The line positions as a :class:`~offcourse.model.Track` (``kind`` is
        ``track`` when ``coordTimes`` gave times, else ``route``; each line is a
        segment) and the points as waypoints.

    Raises
    ------
    CorruptFileError
        Bad JSON, or a geometry with a malformed or out-of-range position.
    UnknownFormatError
        JSON that is not GeoJSON (:func:`offcourse.read.json.parse_json` decides between
        GeoJSON and LiveTrail for a file of unknown kind).
    NoGeometryError
        GeoJSON without any line or point.

    Examples
    --------
    >>> doc = b'{"type": "LineString", "coordinates": [[6.5, 45.5, 1000], [6.6, 45.6]]}'
    >>> t = parse_geojson(doc).track
    >>> t.lon.tolist(), t.lat.tolist(), t.ele_m.tolist(), t.meta.kind
    ([6.5, 6.6], [45.5, 45.6], [1000.0, nan], 'route')
    """
    return geojson_from_object(load_json(data, path), path)

"""Read KML (Google Earth, Google My Maps, GPSBabel): routes, tracks and placemarks.

* **Lines**: every ``LineString`` (alone in a ``Placemark`` or in a ``MultiGeometry``, at any
  depth of ``Folder`` and ``Document``) is a segment of a route, in file order.
* **Tracks**: every ``gx:Track`` (alone or in a ``gx:MultiTrack``) is a segment of a recording;
  its ``<when>`` times pair with its ``<gx:coord>`` positions in order. A track whose counts
  differ keeps the times it has for its first positions and gets a warning.
* When a file has both, the tracks are used (as GPX track points are used before route points)
  and the count of the line points left out is in ``meta.extra["ignored_line_points"]``.
* **Points**: a ``Placemark`` with a ``Point`` is a named point (its ``<name>``).
* Polygons (``LinearRing``) are ignored.

A ``coordinates`` element holds ``lon,lat[,alt]`` tuples separated by whitespace; a
``gx:coord`` holds ``lon lat [alt]``. KML's default altitude mode (``clampToGround``)
ignores altitudes, and My Maps writes ``0`` for each: a line whose altitudes are all 0 has
no elevation (``NaN``), nor has a point at altitude 0.

The XML goes through the same hardened scanner as GPX and TCX (:mod:`offcourse.read._xml`):
no entities, no external references, bounded memory; elements are matched by their local
name, so ``gx:Track``, ``Track`` and any prefix are the same.

Examples
--------
>>> doc = b'''<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>Loop</name>
...  <Placemark><name>CP1</name><Point><coordinates>6.55,45.55,1200</coordinates></Point></Placemark>
...  <Placemark><LineString><coordinates>6.5,45.5,0 6.6,45.6,0</coordinates></LineString></Placemark>
... </Document></kml>'''
>>> pf = parse(doc)
>>> pf.track.lon.tolist(), pf.track.ele_m.tolist(), pf.track.meta.kind, pf.track.meta.name
([6.5, 6.6], [nan, nan], 'route', 'Loop')
>>> [(w.name, w.ele_m) for w in pf.waypoints]
[('CP1', 1200.0)]
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

from ..errors import CorruptFileError, NoGeometryError
from ..model import Metadata, ParsedFile, Track, Waypoint
from ._limits import MAX_POINTS, too_many_points
from ._values import parse_float, parse_time, text_coordinate
from ._xml import PointColumns, Scanner, scan

__all__ = ["parse", "parse_kml"]

_NAN = math.nan
_COMMA = re.compile(r"\s*,\s*")
_CONTAINERS = frozenset({"Document", "Folder", "kml"})


class _KmlScanner(Scanner):
    START_TAGS = frozenset({"Placemark", "Track", "LineString"})
    TEXT_TAGS = frozenset({"coordinates", "when", "coord", "name"})
    END_TAGS = frozenset({"Placemark", "Track"})

    def __init__(self, path: str | None) -> None:
        super().__init__(path)
        self.lines = PointColumns()
        self.tracks = PointColumns()
        self.waypoints: list[Waypoint] = []
        self.doc_name: str | None = None
        self.line_name: str | None = None
        self.track_name: str | None = None
        self.n_lines = self.n_tracks = 0
        self.unmatched_tracks = 0
        self.bad_times = 0
        self._place_name: str | None = None
        self._place_points: list[tuple[float, float, float]] = []
        self._place_has_line = self._place_has_track = False
        self._when: list[float] = []
        self._coords: list[tuple[float, float, float]] = []

    # -- values ------------------------------------------------------------

    def _tuple(self, parts: list[str], what: str) -> tuple[float, float, float]:
        if len(parts) < 2:
            raise CorruptFileError(f"{what}: {' '.join(parts)[:40]!r} is not lon,lat[,alt]", path=self.path)
        lon = text_coordinate(parts[0], "lon", what, self.path, attribute=False)
        lat = text_coordinate(parts[1], "lat", what, self.path, attribute=False)
        return lon, lat, parse_float(parts[2]) if len(parts) > 2 else _NAN

    def _coordinates(self, text: str) -> list[tuple[float, float, float]]:
        return [self._tuple(t.split(","), "coordinates") for t in _COMMA.sub(",", text.strip()).split()]

    # -- scanner callbacks -------------------------------------------------

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "Placemark":
            self._place_name = None
            self._place_points = []
            self._place_has_line = self._place_has_track = False
        elif tag == "Track":
            self._when = []
            self._coords = []
        elif tag == "LineString":
            self.lines.new_segment = True

    def text(self, tag: str, text: str) -> None:
        parent = self.stack[-1] if self.stack else ""
        if tag == "coordinates":
            if parent == "LineString":
                pts = self._coordinates(text)
                if not pts:
                    return
                self.n_lines += 1
                self._place_has_line = True
                if all(e == 0.0 for _, _, e in pts):
                    pts = [(x, y, _NAN) for x, y, _ in pts]
                for x, y, e in pts:
                    self.lines.append(x, y, e, _NAN)
            elif parent == "Point":
                self._place_points.extend((x, y, _NAN if e == 0.0 else e) for x, y, e in self._coordinates(text))
        elif tag == "when" and parent == "Track":
            t = parse_time(text) if text.strip() else _NAN
            if text.strip() and t != t:
                self.bad_times += 1
            self._when.append(t)
        elif tag == "coord" and parent == "Track":
            self._coords.append(self._tuple(text.split(), "gx:coord"))
            if len(self._coords) > MAX_POINTS:
                raise too_many_points(self.path)
        elif tag == "name":
            name = text.strip() or None
            if parent == "Placemark":
                self._place_name = self._place_name or name
            elif parent in _CONTAINERS:
                self.doc_name = self.doc_name or name

    def end(self, tag: str) -> None:
        if tag == "Track":
            coords, when = self._coords, self._when
            self._coords, self._when = [], []
            if not coords:
                return
            if len(when) != len(coords):
                self.unmatched_tracks += 1
            self.n_tracks += 1
            self._place_has_track = True
            self.tracks.new_segment = True
            for i, (x, y, e) in enumerate(coords):
                self.tracks.append(x, y, e, when[i] if i < len(when) else _NAN)
        elif tag == "Placemark":
            name = self._place_name
            if self._place_has_track:
                self.track_name = self.track_name or name
            if self._place_has_line:
                self.line_name = self.line_name or name
            for x, y, e in self._place_points:
                if len(self.waypoints) >= MAX_POINTS:
                    raise too_many_points(self.path)
                self.waypoints.append(Waypoint(lon=x, lat=y, name=name or "", ele_m=e))
            self._place_points = []

    def result(self) -> ParsedFile:
        if self.root != "kml":
            raise CorruptFileError(f"root element is <{self.root}>, not <kml>", path=self.path)
        extra: dict[str, Any] = {"lines": self.n_lines, "tracks": self.n_tracks}
        warnings: list[str] = []
        if len(self.tracks):
            pts, kind, name = self.tracks, "track", self.doc_name or self.track_name or self.line_name
            if len(self.lines):
                extra["ignored_line_points"] = len(self.lines)
            if self.unmatched_tracks:
                warnings.append(
                    f"{self.unmatched_tracks} gx:Track(s) without as many <when> as <gx:coord>: "
                    "positions paired with times in order, the rest without time"
                )
        elif len(self.lines):
            pts, kind, name = self.lines, "route", self.doc_name or self.line_name
        elif self.waypoints:
            pts, kind, name = self.lines, "waypoints", self.doc_name
        else:
            raise NoGeometryError("KML has no LineString, gx:Track or Point", path=self.path)
        if self.bad_times:
            extra["unparsed_times"] = self.bad_times
        if warnings:
            extra["warnings"] = warnings
        meta = Metadata(format="kml", path=self.path, name=name, kind=kind, extra=extra)
        track = Track.from_arrays(
            lon=pts.lon, lat=pts.lat, epoch_s=pts.time, ele_m=pts.ele, segment_starts=pts.starts, meta=meta
        )
        return ParsedFile(track=track, waypoints=tuple(self.waypoints))


def parse_kml(data: bytes, path: str | None = None) -> ParsedFile:
    """Read a KML document (see the module docstring).

    Returns
    -------
    ParsedFile
        The track (``kind`` is ``track`` for ``gx:Track`` positions with times, ``route`` for
        lines, ``waypoints`` for points only) and the point placemarks as waypoints.

    Raises
    ------
    CorruptFileError
        Malformed XML, entity declarations, a root element other than ``kml``, a position
        that is not a number or out of range.
    NoGeometryError
        No line, track or point.
    """
    scanner = _KmlScanner(path)
    scan(io.BytesIO(data), scanner)
    return scanner.result()


parse = parse_kml
"""The registry's entry point (:mod:`offcourse.read.formats`)."""

"""Read Garmin Training Center XML (TCX): activities and courses.

Activities (``Activities/Activity/Lap/Track/Trackpoint``) give a recording;
courses (``Courses/Course/Track/Trackpoint`` and ``CoursePoint``) give a route
with named points. Each ``Track`` element starts a segment. Trackpoints without
a ``Position`` (the watch had no fix, or only a heart rate was logged) are
skipped. When a file holds both, the activity points are used.

See :mod:`offcourse.read._xml` for the hardening and the tolerance.
"""

from __future__ import annotations

import io
import math
from typing import Any, BinaryIO

from ..errors import CorruptFileError, NoGeometryError
from ..model import Metadata, ParsedFile, Track, Waypoint
from ._fastxml import MARK, Block, NotFast, PointShape, parse_fast
from ._values import parse_float, parse_time, text_coordinate
from ._xml import PointColumns, Scanner, scan

__all__ = ["parse", "parse_tcx", "parse_tcx_fast"]

_NAN = math.nan


class _TcxScanner(Scanner):
    START_TAGS = frozenset({"Trackpoint", "CoursePoint", "Track", "Activity", "Course", "Position"})
    TEXT_TAGS = frozenset({"Time", "LatitudeDegrees", "LongitudeDegrees", "AltitudeMeters", "Name", "PointType", "Id"})
    END_TAGS = frozenset({"Trackpoint", "CoursePoint"})

    def __init__(self, path: str | None) -> None:
        super().__init__(path)
        self.activity = PointColumns()
        self.course = PointColumns()
        self.course_points: list[Waypoint] = []
        self.sport: str | None = None
        self.device: str | None = None
        self.author: str | None = None
        self.course_name: str | None = None
        self.activity_id: str | None = None
        self.n_activities = self.n_courses = 0
        self._in = ""  # "activity" or "course": the container being read
        self._depth = 0  # stack depth of the point being read, 0 when none
        self._kind = ""
        self._has_position = False
        self._lat = self._lon = self._ele = self._time = _NAN
        self._name = ""
        self._type: str | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        stack = self.stack
        parent = stack[-2] if len(stack) > 1 else ""
        if tag == "Trackpoint" or tag == "CoursePoint":
            if self._depth or parent != ("Track" if tag == "Trackpoint" else "Course"):
                return
            self._depth = len(stack)
            self._kind = tag
            self._has_position = False
            self._lat = self._lon = self._ele = self._time = _NAN
            self._name = ""
            self._type = None
        elif tag == "Position":
            if self._depth and len(stack) == self._depth + 1:
                self._has_position = True
        elif tag == "Track":
            if self._in:
                (self.activity if self._in == "activity" else self.course).new_segment = True
        elif tag == "Activity":
            self._in = "activity"
            self.n_activities += 1
            self.sport = self.sport or (attrs.get("Sport") or "").strip() or None
        elif tag == "Course":
            self._in = "course"
            self.n_courses += 1

    def text(self, tag: str, text: str) -> None:
        stack = self.stack
        depth = len(stack)
        if self._depth:
            if depth == self._depth:  # direct child of the point
                if tag == "Time":
                    self._time = parse_time(text)
                elif tag == "AltitudeMeters":
                    self._ele = parse_float(text)
                elif tag == "Name":
                    self._name = text.strip()
                elif tag == "PointType":
                    self._type = text.strip() or None
            elif depth == self._depth + 1 and stack[-1] == "Position":
                if tag == "LatitudeDegrees":
                    self._lat = text_coordinate(text, "lat", tag, self.path, attribute=False)
                elif tag == "LongitudeDegrees":
                    self._lon = text_coordinate(text, "lon", tag, self.path, attribute=False)
            return
        if tag == "Name":
            parent = stack[-1]
            grand = stack[-2] if depth > 1 else ""
            if parent == "Course":
                self.course_name = self.course_name or text.strip() or None
            elif parent == "Creator" and grand == "Activity":
                self.device = self.device or text.strip() or None
            elif parent == "Author":
                self.author = self.author or text.strip() or None
        elif tag == "Id" and stack[-1] == "Activity":
            self.activity_id = self.activity_id or text.strip() or None

    def end(self, tag: str) -> None:
        if not self._depth or len(self.stack) + 1 != self._depth:
            return
        self._depth = 0
        pts = self.activity if self._in == "activity" else self.course
        if not self._has_position:
            if tag == "Trackpoint":
                pts.without_position += 1
            return  # a course point without a position cannot be placed either
        for value, name in ((self._lat, "LatitudeDegrees"), (self._lon, "LongitudeDegrees")):
            if value != value:
                raise CorruptFileError(f"{tag} Position without {name}", path=self.path)
        if tag == "CoursePoint":
            self.course_points.append(
                Waypoint(
                    lon=self._lon, lat=self._lat, name=self._name, ele_m=self._ele, epoch_s=self._time, kind=self._type
                )
            )
            return
        pts.append(self._lon, self._lat, self._ele, self._time)

    def result(self) -> ParsedFile:
        path = self.path
        if self.root != "TrainingCenterDatabase":
            raise CorruptFileError(f"root element is <{self.root}>, not <TrainingCenterDatabase>", path=path)
        extra: dict[str, Any] = {"activities": self.n_activities, "courses": self.n_courses}
        if self.activity_id:
            extra["activity_id"] = self.activity_id
        if len(self.activity):
            pts, kind, name = self.activity, "activity", None
            if len(self.course):
                extra["ignored_course_points"] = len(self.course)
            waypoints: tuple[Waypoint, ...] = ()
        elif len(self.course) or self.course_points:
            pts, kind, name = self.course, "course", self.course_name
            waypoints = tuple(self.course_points)
        else:
            raise NoGeometryError("TCX file has no trackpoint with a position", path=path)
        if pts.without_position:
            extra["trackpoints_without_position"] = pts.without_position
        meta = Metadata(
            format="tcx",
            path=path,
            name=name,
            device=self.device if kind == "activity" else None,
            sport=self.sport if kind == "activity" else None,
            creator=self.author,
            kind=kind,
            extra=extra,
        )
        lon, lat, ele, time, _ = pts.columns()
        track = Track.from_arrays(lon=lon, lat=lat, epoch_s=time, ele_m=ele, segment_starts=pts.starts, meta=meta)
        return ParsedFile(track=track, waypoints=waypoints)


def parse_tcx(stream: BinaryIO, path: str | None = None) -> ParsedFile:
    """Read a TCX document (activities or courses).

    Parameters
    ----------
    stream : binary file object
        The (decompressed) TCX content.
    path : str, optional
        File name, used in error messages and :attr:`Metadata.path`.

    Returns
    -------
    ParsedFile
        The trackpoints with a position as a :class:`~offcourse.model.Track`
        (``kind`` is ``activity`` or ``course``) and, for a course, its
        ``CoursePoint`` elements as waypoints (``kind`` is the ``PointType``).

    Raises
    ------
    CorruptFileError
        Malformed XML, entity declarations, a root element other than
        ``TrainingCenterDatabase``, or a position that is not a number or out of range.
    NoGeometryError
        No trackpoint has a position.

    Examples
    --------
    >>> import io
    >>> doc = b'''<TrainingCenterDatabase><Activities><Activity Sport="Running"><Lap><Track>
    ...   <Trackpoint><Time>1970-01-01T00:00:05Z</Time><Position><LatitudeDegrees>45.5</LatitudeDegrees>
    ...   <LongitudeDegrees>6.5</LongitudeDegrees></Position><AltitudeMeters>1000</AltitudeMeters></Trackpoint>
    ...   <Trackpoint><Time>1970-01-01T00:00:06Z</Time></Trackpoint>
    ... </Track></Lap></Activity></Activities></TrainingCenterDatabase>'''
    >>> t = parse_tcx(io.BytesIO(doc)).track
    >>> t.lat.tolist(), t.lon.tolist(), t.epoch_s.tolist(), t.meta.sport
    ([45.5], [6.5], [5.0], 'Running')
    """
    scanner = _TcxScanner(path)
    scan(stream, scanner)
    return scanner.result()


_SHAPES = (
    PointShape(
        container=b"Track",
        point=b"Trackpoint",
        attributes=False,
        slots={
            ("Time",): "time",
            ("AltitudeMeters",): "ele",
            ("Position", "LatitudeDegrees"): "lat",
            ("Position", "LongitudeDegrees"): "lon",
        },
        position=("Position",),
        forbidden=frozenset((_TcxScanner.START_TAGS | _TcxScanner.END_TAGS) - {"Position"}),
    ),
)


class _FastTcxScanner(_TcxScanner):
    """The hardened scanner over the skeleton of a document whose runs of trackpoints were read by the fast path."""

    START_TAGS = _TcxScanner.START_TAGS | {MARK}

    def __init__(self, path: str | None, blocks: list[Block]) -> None:
        super().__init__(path)
        self.blocks = blocks
        self.used = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag != MARK:
            super().start(tag, attrs)
            return
        parent = self.stack[-2] if len(self.stack) > 1 else ""
        if self.used >= len(self.blocks) or self._depth or parent != "Track":
            raise NotFast
        block = self.blocks[self.used]
        self.used += 1
        pts = self.activity if self._in == "activity" else self.course
        pts.without_position += block.without_position
        pts.extend(block.columns)


def parse_tcx_fast(data: bytes, path: str | None = None) -> ParsedFile | None:
    """Read a TCX document with the fast path (:mod:`offcourse.read._fastxml`); ``None`` when it does not apply.

    The result, when there is one, is the one :func:`parse_tcx` gives, bit for bit.
    """
    return parse_fast(data, path, _SHAPES, _FastTcxScanner)


def parse(data: bytes, path: str | None = None) -> ParsedFile:
    """The registry's entry point (:mod:`offcourse.read.formats`): the fast path, else :func:`parse_tcx`."""
    fast = parse_tcx_fast(data, path)
    return fast if fast is not None else parse_tcx(io.BytesIO(data), path)

"""Read GPX 1.0 and 1.1: tracks (``trk``), routes (``rte``) and waypoints (``wpt``).

Each ``trkseg`` (and each ``trk``) starts a segment of the returned track. Route
points are used only when the file has no track points; each ``rte`` is then a
segment. Extensions of any namespace are ignored: positions,
times, elevations and HDOP come from the standard elements only.

See :mod:`offcourse.read._xml` for the hardening (no entities, no external
references) and the tolerance (byte-order marks, leading whitespace, undeclared
namespace prefixes).
"""

from __future__ import annotations

import io
import math
from typing import Any, BinaryIO

from ..errors import CorruptFileError, NoGeometryError
from ..model import Metadata, ParsedFile, Track, Waypoint
from ._fastxml import MARK, Block, NotFast, PointShape, parse_fast
from ._limits import MAX_POINTS, too_many_points
from ._values import parse_float, parse_time, text_coordinate
from ._xml import PointColumns, Scanner, scan

__all__ = ["parse", "parse_gpx", "parse_gpx_fast"]

_NAN = math.nan
# Where each kind of point may appear (a trkpt directly in a trk, without trkseg, is tolerated).
_PARENTS = {"trkpt": ("trkseg", "trk"), "rtept": ("rte",), "wpt": ("gpx",)}


class _GpxScanner(Scanner):
    START_TAGS = frozenset({"trkpt", "rtept", "wpt", "trkseg", "trk", "rte"})
    TEXT_TAGS = frozenset({"ele", "time", "hdop", "name", "type", "sym"})
    END_TAGS = frozenset({"trkpt", "rtept", "wpt"})

    def __init__(self, path: str | None) -> None:
        super().__init__(path)
        self.trk = PointColumns()
        self.rte = PointColumns()
        self.wpts: list[Waypoint] = []
        self.doc_name: str | None = None
        self.trk_name: str | None = None
        self.rte_name: str | None = None
        self.sport: str | None = None
        self.n_trk = self.n_rte = 0
        self.trk_starts: list[int] = []  # index of the first point of each <trk>
        self.bad_times = 0
        # the point being read: its depth in the stack, its kind, and its fields
        self._depth = 0
        self._kind = ""
        self._lat = self._lon = self._ele = self._time = self._hdop = _NAN
        self._name = ""
        self._type: str | None = None
        self._sym: str | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        stack = self.stack
        parent = stack[-2] if len(stack) > 1 else ""
        if tag == "trkpt" or tag == "rtept" or tag == "wpt":
            if self._depth or parent not in _PARENTS[tag]:
                return  # an extension element that happens to share the name
            self._depth = len(stack)
            self._kind = tag
            self._lat = text_coordinate(attrs.get("lat"), "lat", tag, self.path)
            self._lon = text_coordinate(attrs.get("lon"), "lon", tag, self.path)
            self._ele = self._time = self._hdop = _NAN
            self._name = ""
            self._type = self._sym = None
        elif tag == "trkseg" or tag == "trk":
            self.trk.new_segment = True
            if tag == "trk" and parent == "gpx":
                self.n_trk += 1
                self.trk_starts.append(len(self.trk))
        elif tag == "rte" and parent == "gpx":
            self.rte.new_segment = True
            self.n_rte += 1

    def text(self, tag: str, text: str) -> None:
        depth = len(self.stack)
        if self._depth and depth == self._depth:  # a child of the point being read
            if tag == "ele":
                self._ele = parse_float(text)
            elif tag == "time":
                if text.strip():
                    self._time = parse_time(text)
                    if self._time != self._time:
                        self.bad_times += 1
            elif tag == "hdop":
                self._hdop = parse_float(text)
            elif tag == "name":
                self._name = text.strip()
            elif tag == "type":
                self._type = text.strip() or None
            elif tag == "sym":
                self._sym = text.strip() or None
            return
        if self._depth:
            return  # inside a point's extensions
        parent = self.stack[-1] if self.stack else ""
        if tag == "name":
            name = text.strip() or None
            if parent == "metadata" or (parent == "gpx" and depth == 1):  # GPX 1.1 / GPX 1.0
                self.doc_name = self.doc_name or name
            elif parent == "trk":
                self.trk_name = self.trk_name or name
            elif parent == "rte":
                self.rte_name = self.rte_name or name
        elif tag == "type" and parent == "trk":
            self.sport = self.sport or text.strip() or None

    def end(self, tag: str) -> None:
        if not self._depth or len(self.stack) + 1 != self._depth:
            return
        self._depth = 0
        if self._kind == "wpt":
            if len(self.wpts) >= MAX_POINTS:
                raise too_many_points(self.path)
            self.wpts.append(
                Waypoint(
                    lon=self._lon,
                    lat=self._lat,
                    name=self._name,
                    ele_m=self._ele,
                    epoch_s=self._time,
                    kind=self._type or self._sym,
                )
            )
            return
        pts = self.trk if self._kind == "trkpt" else self.rte
        pts.append(self._lon, self._lat, self._ele, self._time, self._hdop)

    def result(self) -> ParsedFile:
        path = self.path
        if self.root != "gpx":
            raise CorruptFileError(f"root element is <{self.root}>, not <gpx>", path=path)
        attrs = self.root_attrs
        creator = (attrs.get("creator") or "").strip() or None
        extra: dict[str, Any] = {
            "version": (attrs.get("version") or "").strip() or None,
            "tracks": self.n_trk,
            "track_starts": self.trk_starts if len(self.trk) else [],
            "routes": self.n_rte,
        }
        trk, rte = self.trk, self.rte
        sport = self.sport
        if len(trk):
            pts, kind, name = trk, "track", self.doc_name or self.trk_name or self.rte_name
            if len(rte):
                extra["ignored_route_points"] = len(rte)
        elif len(rte):
            pts, kind, name = rte, "route", self.doc_name or self.rte_name or self.trk_name
            sport = None
        elif self.wpts:
            pts, kind, name = trk, "waypoints", self.doc_name or self.trk_name or self.rte_name
        else:
            raise NoGeometryError("GPX file has no track points, route points or waypoints", path=path)
        if self.bad_times:
            extra["unparsed_times"] = self.bad_times
        meta = Metadata(format="gpx", path=path, name=name, sport=sport, creator=creator, kind=kind, extra=extra)
        lon, lat, ele, time, hdop = pts.columns()
        track = Track.from_arrays(
            lon=lon, lat=lat, epoch_s=time, ele_m=ele, hdop=hdop, segment_starts=pts.starts, meta=meta
        )
        return ParsedFile(track=track, waypoints=tuple(self.wpts))


def parse_gpx(stream: BinaryIO, path: str | None = None) -> ParsedFile:
    """Read a GPX 1.0 or 1.1 document.

    Parameters
    ----------
    stream : binary file object
        The (decompressed) GPX content.
    path : str, optional
        File name, used in error messages and :attr:`Metadata.path`.

    Returns
    -------
    ParsedFile
        The track points (or route points when the file has no track points) as a
        :class:`~offcourse.model.Track`, and the ``wpt`` elements as waypoints.
        A file with waypoints only gives an empty track with ``kind="waypoints"``.

    Raises
    ------
    CorruptFileError
        Malformed XML, entity declarations, a root element other than ``gpx``, or a
        point with a missing, non-numeric or out-of-range ``lat``/``lon``.
    NoGeometryError
        A valid GPX document without any point.

    Examples
    --------
    >>> import io
    >>> doc = b'''<gpx version="1.1" creator="me"><trk><trkseg>
    ...   <trkpt lat="45.5" lon="6.5"><ele>1000</ele><time>1970-01-01T00:00:10Z</time></trkpt>
    ...   <trkpt lat="45.6" lon="6.6"/></trkseg></trk></gpx>'''
    >>> t = parse_gpx(io.BytesIO(doc)).track
    >>> t.lat.tolist(), t.ele_m.tolist(), t.epoch_s.tolist(), t.meta.creator
    ([45.5, 45.6], [1000.0, nan], [10.0, nan], 'me')
    """
    scanner = _GpxScanner(path)
    scan(stream, scanner)
    return scanner.result()


_SHAPES = (
    PointShape(
        container=b"trkseg",
        point=b"trkpt",
        attributes=True,
        slots={("ele",): "ele", ("time",): "time", ("hdop",): "hdop"},
        position=None,
        forbidden=frozenset(_GpxScanner.START_TAGS | _GpxScanner.END_TAGS),
    ),
    PointShape(
        container=b"rte",
        point=b"rtept",
        attributes=True,
        slots={("ele",): "ele", ("time",): "time", ("hdop",): "hdop"},
        position=None,
        forbidden=frozenset(_GpxScanner.START_TAGS | _GpxScanner.END_TAGS),
    ),
)


class _FastGpxScanner(_GpxScanner):
    """The hardened scanner over the skeleton of a document whose runs of points were read by the fast path."""

    START_TAGS = _GpxScanner.START_TAGS | {MARK}

    def __init__(self, path: str | None, blocks: list[Block]) -> None:
        super().__init__(path)
        self.blocks = blocks
        self.used = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag != MARK:
            super().start(tag, attrs)
            return
        parent = self.stack[-2] if len(self.stack) > 1 else ""
        if self.used >= len(self.blocks) or self._depth:
            raise NotFast
        block = self.blocks[self.used]
        self.used += 1
        if parent != block.shape.container.decode():
            raise NotFast
        (self.trk if parent == "trkseg" else self.rte).extend(block.columns)


def parse_gpx_fast(data: bytes, path: str | None = None) -> ParsedFile | None:
    """Read a GPX document with the fast path (:mod:`offcourse.read._fastxml`); ``None`` when it does not apply.

    The result, when there is one, is the one :func:`parse_gpx` gives, bit for bit.
    """
    return parse_fast(data, path, _SHAPES, _FastGpxScanner)


def parse(data: bytes, path: str | None = None) -> ParsedFile:
    """The registry's entry point (:mod:`offcourse.read.formats`): the fast path, else :func:`parse_gpx`."""
    fast = parse_gpx_fast(data, path)
    return fast if fast is not None else parse_gpx(io.BytesIO(data), path)

"""Read routes and recordings: FIT, GPX, TCX, GeoJSON and LiveTrail JSON, gzip-compressed or not.

The format is detected from the content (:func:`detect_format`), never from the
file name alone. Each format has its own module with one ``parse_*`` function
returning a :class:`~offcourse.model.ParsedFile`; this module opens the file,
undoes gzip with a bound on the decompressed size and dispatches.

Examples
--------
>>> detect_format(b"\\x0e\\x10\\x00\\x00\\x00\\x00\\x00\\x00.FIT")
'fit'
>>> detect_format(b'\\xef\\xbb\\xbf<?xml version="1.0"?><gpx version="1.1">')
'gpx'
>>> detect_format(b'{"type": "FeatureCollection", "features": []}')
'geojson'
"""

from __future__ import annotations

import io
import os
import re
import zlib

from ..errors import FileTooLargeError, NoGeometryError, OffcourseError, ReadError, UnknownFormatError
from ..model import ParsedFile, Route, Track

__all__ = [
    "MAX_BYTES",
    "detect_format",
    "load_bytes",
    "parse_bytes",
    "read_file",
    "read_route",
    "read_track",
]

MAX_BYTES = 512 * 1024 * 1024
"""Largest file, or decompressed gzip content, that is read (bytes)."""

_SNIFF = 4096
_GEOJSON_TYPE = re.compile(rb'"(Feature|FeatureCollection|LineString|MultiLineString|Point|GeometryCollection)"')
_XML_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?(gpx|TrainingCenterDatabase)\b")


def detect_format(head: bytes) -> str:
    """Name the format of a file from its first bytes.

    Returns one of ``gzip``, ``fit``, ``gpx``, ``tcx``, ``json``/``geojson``/``livetrail``.

    Raises
    ------
    UnknownFormatError
        When the bytes match no supported format.
    """
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if len(head) >= 12 and head[0] in (12, 14) and head[8:12] == b".FIT":
        return "fit"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text[:2] in (b"\xff\xfe", b"\xfe\xff"):
        # UTF-16 XML: re-encode the sniffed part to find the root element
        text = head.decode("utf-16", errors="ignore").encode("utf-8", errors="ignore").lstrip()
    if text.startswith(b"<"):
        m = _XML_ROOT.search(text)
        if m is None:
            raise UnknownFormatError("XML, but neither GPX nor TCX")
        return "gpx" if m.group(1) == b"gpx" else "tcx"
    if text.startswith((b"{", b"[")):
        if b'"type"' in text and _GEOJSON_TYPE.search(text):
            return "geojson"
        return "json"
    if not head:
        raise UnknownFormatError("empty file")
    raise UnknownFormatError("not a FIT, GPX, TCX or GeoJSON file")


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """Decompress gzip data (all members) without ever holding more than ``max_bytes``."""
    out = bytearray()
    d = zlib.decompressobj(wbits=31)
    buf = data
    try:
        while buf:
            chunk = d.decompress(buf, max_bytes + 1 - len(out))
            out += chunk
            if len(out) > max_bytes:
                raise FileTooLargeError(f"decompressed content exceeds {max_bytes} bytes")
            if d.unconsumed_tail:
                buf = d.unconsumed_tail
                continue
            if d.eof:
                buf = d.unused_data
                if buf and buf[:2] == b"\x1f\x8b":
                    d = zlib.decompressobj(wbits=31)  # next gzip member
                    continue
                break
            buf = b""
        if not d.eof:
            raise ReadError("truncated gzip stream")
    except zlib.error as exc:
        raise ReadError(f"bad gzip data: {exc}") from None
    return bytes(out)


def load_bytes(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> bytes:
    """Read a file, undoing gzip compression, with a bound on the size held in memory.

    Raises
    ------
    ReadError
        The file is missing, a folder, unreadable, or bad gzip.
    FileTooLargeError
        The file or its decompressed content exceeds ``max_bytes``.
    """
    spath = os.fsdecode(path)
    try:
        if os.path.isdir(path):
            raise ReadError("is a folder, not a file", path=spath)
        size = os.path.getsize(path)
        if size > max_bytes:
            raise FileTooLargeError(f"file is {size} bytes, more than the bound of {max_bytes}", path=spath)
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise ReadError("no such file", path=spath) from None
    except PermissionError:
        raise ReadError("permission denied", path=spath) from None
    except IsADirectoryError:
        raise ReadError("is a folder, not a file", path=spath) from None
    except OSError as exc:
        raise ReadError(f"cannot read: {exc.strerror or exc}", path=spath) from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = _gunzip(data, max_bytes)
        except OffcourseError as exc:
            raise exc.with_path(spath) from None
    return data


def parse_bytes(data: bytes, path: str | None = None) -> ParsedFile:
    """Parse the (decompressed) content of a file of any supported format."""
    try:
        fmt = detect_format(data[:_SNIFF])
        if fmt == "gzip":
            data = _gunzip(data, MAX_BYTES)
            fmt = detect_format(data[:_SNIFF])
        if fmt == "fit":
            from .fit import parse_fit

            return parse_fit(data, path)
        if fmt == "gpx":
            from .gpx import parse_gpx

            return parse_gpx(io.BytesIO(data), path)
        if fmt == "tcx":
            from .tcx import parse_tcx

            return parse_tcx(io.BytesIO(data), path)
        if fmt == "geojson":
            from .geojson import parse_geojson

            return parse_geojson(data, path)
        from .livetrail import parse_livetrail

        return parse_livetrail(data, path)
    except OffcourseError as exc:
        raise exc.with_path(path) if path else exc from None
    except RecursionError:
        raise ReadError("nesting too deep", path=path) from None
    except MemoryError:
        raise FileTooLargeError("content too large to parse", path=path) from None


def read_file(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> ParsedFile:
    """Read any supported file (maybe gzip-compressed) into its points and named points."""
    spath = os.fsdecode(path)
    return parse_bytes(load_bytes(path, max_bytes=max_bytes), spath)


def read_track(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> Track:
    """Read a watch recording (or any file with points) as a :class:`~offcourse.model.Track`."""
    return read_file(path, max_bytes=max_bytes).track


def read_route(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> Route:
    """Read an official route (GPX track or route, FIT course, TCX course, GeoJSON, LiveTrail)
    or any recording used as a route. Named points (``wpt``, course points, Point features)
    become checkpoints located along it.

    Raises
    ------
    NoGeometryError
        The file has no track or route points.
    InvalidRouteError
        Fewer than two distinct points.
    """
    spath = os.fsdecode(path)
    parsed = read_file(path, max_bytes=max_bytes)
    if len(parsed.track) == 0:
        extra = f" (only {len(parsed.waypoints)} waypoints)" if parsed.waypoints else ""
        raise NoGeometryError(f"no track or route points{extra}", path=spath)
    try:
        return Route.from_track(parsed.track, parsed.waypoints)
    except OffcourseError as exc:
        raise exc.with_path(spath) from None

"""Read routes and recordings: FIT, GPX, TCX, KML, KMZ, GeoJSON and LiveTrail JSON, gzip-compressed or not.

The format is detected from the content (:func:`detect_format`), never from the
file name alone. Each format has its own module with a ``parse(data, path)`` function
returning a :class:`~offcourse.model.ParsedFile`, and one line in the registry
(:mod:`offcourse.read.formats`); this module opens the file, undoes gzip with a bound on
the decompressed size and dispatches through the registry. Whatever the format,
the result goes through one cleaning pass (:mod:`offcourse.read._limits`): lone
surrogates in any text become U+FFFD, times ``datetime`` cannot show (outside the years
1 to 9999) become no time with a warning, and a file holds at most
:data:`MAX_POINTS` points.

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
import stat
import zlib
from dataclasses import replace

import numpy as np

from ..errors import (
    FileTooLargeError,
    InvalidRouteError,
    NoGeometryError,
    OffcourseError,
    ReadError,
    UnknownFormatError,
)
from ..model import ParsedFile, Route, Track
from . import formats
from ._limits import MAX_FIT_FALLBACK_BYTES, MAX_JSON_BYTES, MAX_POINTS, clean_parsed

__all__ = [
    "MAX_BYTES",
    "MAX_FIT_FALLBACK_BYTES",
    "MAX_JSON_BYTES",
    "MAX_POINTS",
    "ROUTE_GAP_WARN_M",
    "detect_format",
    "gunzip_once",
    "load_bytes",
    "parse_bytes",
    "read_file",
    "read_route",
    "read_track",
]

MAX_BYTES = 512 * 1024 * 1024
"""Largest file, or decompressed gzip content, that is read (bytes)."""

_SNIFF = 4096
_CHUNK = 1 << 20


def detect_format(head: bytes) -> str:
    """Name the format of a file from its first bytes.

    Returns ``gzip`` or the name of a format of :data:`offcourse.read.formats.FORMATS`
    (``fit``, ``gpx``, ``tcx``, ``kml``, ``kmz``, ``geojson``, ``json``).

    Raises
    ------
    UnknownFormatError
        When the bytes match no supported format.
    """
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    return formats.sniff(head).name


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


def _read_bounded(fh: io.BufferedReader, max_bytes: int) -> bytes:
    """Read a whole file, or at most ``max_bytes + 1`` bytes of a pipe or device (which reports no size)."""
    if stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
        return fh.read()
    chunks: list[bytes] = []
    total = 0
    while total <= max_bytes:
        chunk = fh.read(min(_CHUNK, max_bytes + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def load_bytes(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> bytes:
    """Read a file, undoing gzip compression, with a bound on the size held in memory.

    Raises
    ------
    ReadError
        The file is missing, a folder, unreadable, has a bad name, or is bad gzip.
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
            data = _read_bounded(fh, max_bytes)
        if len(data) > max_bytes:
            raise FileTooLargeError(f"file is more than the bound of {max_bytes} bytes", path=spath)
    except FileNotFoundError:
        raise ReadError("no such file", path=spath) from None
    except PermissionError:
        raise ReadError("permission denied", path=spath) from None
    except IsADirectoryError:
        raise ReadError("is a folder, not a file", path=spath) from None
    except OSError as exc:
        raise ReadError(f"cannot read: {exc.strerror or exc}", path=spath) from None
    except ValueError as exc:  # a NUL byte in the name, a name that cannot be encoded
        raise ReadError(f"bad file name: {exc}", path=spath) from None
    return gunzip_once(data, spath, max_bytes=max_bytes)


def _format_bound(data: bytes, max_bytes: int) -> int:
    """The bound on the decompressed size of gzip ``data``, from the format its first bytes show.

    JSON is decoded whole into Python objects many times its size: its bound is
    :data:`MAX_JSON_BYTES` (when lower than ``max_bytes``), so that a small ``.geojson.gz``
    cannot ask for gigabytes.
    """
    try:
        head = zlib.decompressobj(wbits=31).decompress(data[: _SNIFF * 16], _SNIFF)
        fmt = detect_format(head)
    except (zlib.error, OffcourseError):
        return max_bytes
    return min(max_bytes, MAX_JSON_BYTES) if fmt != "gzip" and formats.by_name(fmt).json else max_bytes


def _check_json_size(data: bytes, bound: int) -> None:
    """Refuse JSON that would take too much memory once decoded, before decoding it."""
    if len(data) > min(bound, MAX_JSON_BYTES):
        raise FileTooLargeError(
            f"JSON content is {len(data)} bytes, more than the bound of {min(bound, MAX_JSON_BYTES)} for JSON"
        )
    if data.count(b"[") > MAX_POINTS + 1000:  # each position is a list: more lists than points allowed
        raise FileTooLargeError(f"more than {MAX_POINTS} points in one file")


def gunzip_once(data: bytes, path: str | None = None, *, max_bytes: int = MAX_BYTES) -> bytes:
    """Undo one layer of gzip compression (all members, bounded by ``max_bytes``); other bytes unchanged.

    :func:`read_file` reads a file through this and then :func:`parse_bytes`, which undoes one
    more layer: a ``.gpx.gz.gz`` is read, a third layer is refused.
    """
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return _gunzip(data, _format_bound(data, max_bytes))
    except OffcourseError as exc:
        raise exc.with_path(path) if path else exc from None


def parse_bytes(data: bytes, path: str | None = None, *, max_bytes: int | None = None) -> ParsedFile:
    """Parse the content of a file of any supported format.

    gzip-compressed content is decompressed (once: gzip inside gzip is refused) with
    ``max_bytes`` (default :data:`MAX_BYTES`) as the bound on the decompressed size.

    Raises
    ------
    OffcourseError
        Only subclasses of it, whatever the bytes: :class:`UnknownFormatError`,
        :class:`~offcourse.errors.CorruptFileError` (and :class:`~offcourse.errors.TruncatedFileError`),
        :class:`FileTooLargeError`, :class:`NoGeometryError`, :class:`ReadError`.
    """
    bound = MAX_BYTES if max_bytes is None else max_bytes
    try:
        fmt = detect_format(data[:_SNIFF])
        if fmt == "gzip":
            data = _gunzip(data, _format_bound(data, bound))
            fmt = detect_format(data[:_SNIFF])
            if fmt == "gzip":
                raise UnknownFormatError("gzip-compressed data inside gzip-compressed data")
        return clean_parsed(_parse(fmt, data, path, bound), path)
    except OffcourseError as exc:
        raise exc.with_path(path) if path else exc from None
    except RecursionError:
        raise ReadError("nesting too deep", path=path) from None
    except MemoryError:
        raise FileTooLargeError("content too large to parse", path=path) from None


def _parse(fmt: str, data: bytes, path: str | None, bound: int) -> ParsedFile:
    entry = formats.by_name(fmt)
    if entry.json:
        _check_json_size(data, bound)
    return entry.parse(data, path)


def read_file(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> ParsedFile:
    """Read any supported file (maybe gzip-compressed) into its points and named points."""
    spath = os.fsdecode(path)
    return parse_bytes(load_bytes(path, max_bytes=max_bytes), spath, max_bytes=max_bytes)


def read_track(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> Track:
    """Read a watch recording (or any file with points) as a :class:`~offcourse.model.Track`."""
    return read_file(path, max_bytes=max_bytes).track


def _without_null_island(track: Track) -> Track:
    """The track without its points at exactly (0, 0), with a warning in ``meta.extra["warnings"]``.

    (0, 0) is where receivers put a fix they do not have; the engine ignores such fixes in a
    recording, and a route through the Gulf of Guinea is never what the organiser drew.
    """
    bad = (track.lon == 0.0) & (track.lat == 0.0)
    k = int(bad.sum())
    if k == 0:
        return track
    keep = ~bad
    n = len(track) - k
    before = np.concatenate(([0], np.cumsum(keep)))
    starts = sorted({int(before[s]) for s in track.segment_starts.tolist() if before[s] < n})
    warnings = [*track.meta.extra.get("warnings", []), f"{k} point(s) at (0, 0) left out of the route"]
    meta = replace(track.meta, extra={**track.meta.extra, "warnings": warnings})
    return Track.from_arrays(
        lon=track.lon[keep],
        lat=track.lat[keep],
        epoch_s=track.epoch_s[keep],
        ele_m=track.ele_m[keep],
        hacc_m=track.hacc_m[keep],
        hdop=track.hdop[keep],
        segment_starts=starts if n else [],
        meta=meta,
    )


ROUTE_GAP_WARN_M = 200.0
"""A route whose consecutive segments (lines, ``trkseg``) are further apart than this gets a warning."""


def _with_gap_warning(track: Track) -> Track:
    """The track, with a warning when its segments, joined by straight lines in a route, leave gaps.

    A MultiLineString whose lines are stored out of order becomes a route with long straight
    jumps between them (and the course rejected by every runner there): say so.
    """
    starts = track.segment_starts[(track.segment_starts > 0) & (track.segment_starts < len(track))]
    if not len(starts):
        return track
    from pyproj import Geod

    _, _, dist = Geod(ellps="WGS84").inv(
        track.lon[starts - 1], track.lat[starts - 1], track.lon[starts], track.lat[starts]
    )
    gap_m = np.asarray(dist, dtype=np.float64)
    big = np.flatnonzero(gap_m > ROUTE_GAP_WARN_M)
    if not len(big):
        return track
    k = int(big[np.argmax(gap_m[big])])
    text = (
        f"{len(big)} gap(s) between route segments joined by straight lines, the longest "
        f"{gap_m[k] / 1000:.2f} km between segments {k + 1} and {k + 2}: "
        "lines stored out of order, or a gap in the recording?"
    )
    meta = replace(track.meta, extra={**track.meta.extra, "warnings": [*track.meta.extra.get("warnings", []), text]})
    return replace(track, meta=meta)


TRACKS_CONTINUE_M = 200.0
"""Tracks of a route file whose ends lie this near the next one's start are pieces of one route."""


def _with_warning(track: Track, warning: str) -> Track:
    extra = {**track.meta.extra, "warnings": [*track.meta.extra.get("warnings", []), warning]}
    return replace(track, meta=replace(track.meta, extra=extra))


def _choose_track(track: Track, starts: list[int], choice: int | None, path: str) -> Track:
    """One route from a file holding several tracks (GPX ``<trk>`` elements).

    Tracks that continue one another (ends within :data:`TRACKS_CONTINUE_M`) are one route;
    otherwise the first is used. ``choice`` picks one (1-based), or 0 joins them all in file
    order. A warning says what was done.
    """
    n = len(track)
    bounds = sorted({0, *(s for s in starts if 0 <= s < n)})
    pieces = [(a, b) for a, b in zip(bounds, [*bounds[1:], n], strict=True) if b > a]
    if choice is not None and not 0 <= choice <= len(pieces):
        raise InvalidRouteError(f"no track {choice}: the file holds {len(pieces)}", path=path)
    if len(pieces) < 2:
        return track
    if choice == 0:
        return _with_warning(track, f"the route file holds {len(pieces)} tracks: all joined in file order, as asked")
    from pyproj import Geod

    ends = np.array([b - 1 for _, b in pieces[:-1]])
    nexts = np.array([a for a, _ in pieces[1:]])
    _, _, gaps = Geod(ellps="WGS84").inv(track.lon[ends], track.lat[ends], track.lon[nexts], track.lat[nexts])
    if choice is None and float(np.max(gaps)) <= TRACKS_CONTINUE_M:
        # one route drawn in pieces
        return _with_warning(
            track,
            f"the route file holds {len(pieces)} tracks that continue one another: joined in file order "
            "(--route-track N to use one)",
        )
    k = (choice or 1) - 1
    a, b = pieces[k]
    warnings = list(track.meta.extra.get("warnings", []))
    if choice is None:
        warnings.append(
            f"the route file holds {len(pieces)} tracks that do not continue one another: the first was used "
            "(--route-track N to choose another)"
        )
    extra = {**track.meta.extra, "warnings": warnings, "tracks": 1, "track_starts": [0], "track_used": k + 1}
    seg = sorted({0, *(int(x) - a for x in track.segment_starts.tolist() if a <= x < b)})
    return Track.from_arrays(
        lon=track.lon[a:b],
        lat=track.lat[a:b],
        epoch_s=track.epoch_s[a:b],
        ele_m=track.ele_m[a:b],
        hacc_m=track.hacc_m[a:b],
        hdop=track.hdop[a:b],
        segment_starts=seg,
        meta=replace(track.meta, extra=extra),
    )


def read_route(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES, track: int | None = None) -> Route:
    """Read an official route (GPX track or route, FIT course, TCX course, KML, KMZ, GeoJSON, LiveTrail)
    or any recording used as a route. Named points (``wpt``, course points, Point features)
    become checkpoints located along it. Points at exactly (0, 0) (a receiver without a fix)
    are left out, with a warning in ``route.meta.extra["warnings"]``.

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
        starts = list(parsed.track.meta.extra.get("track_starts") or [])
        chosen = _choose_track(parsed.track, starts, track, spath)
        return Route.from_track(_with_gap_warning(_without_null_island(chosen)), parsed.waypoints)
    except OffcourseError as exc:
        raise exc.with_path(spath) from None

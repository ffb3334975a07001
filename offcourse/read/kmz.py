"""Read KMZ: a ZIP archive holding a KML document (``doc.kml``, or else its first ``.kml``).

The archive is read within the bounds of :mod:`offcourse.read.archive` (sizes, ratio, names),
only its ``.kml`` members are decompressed, and the document is read by
:mod:`offcourse.read.kml`; ``meta.format`` is ``kmz`` and ``meta.extra["kmz_member"]`` names
the document used.

Examples
--------
>>> import io, zipfile
>>> buf = io.BytesIO()
>>> with zipfile.ZipFile(buf, "w") as z:
...     z.writestr("doc.kml", b"<kml><Placemark><LineString><coordinates>1,2 3,4</coordinates>"
...                b"</LineString></Placemark></kml>")
>>> t = parse(buf.getvalue(), "route.kmz").track
>>> t.lon.tolist(), t.meta.format, t.meta.extra["kmz_member"]
([1.0, 3.0], 'kmz', 'doc.kml')
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import UnknownFormatError
from ..model import ParsedFile
from .archive import zip_members
from .kml import parse_kml

__all__ = ["parse", "parse_kmz"]


def _is_kml(name: str) -> bool:
    return name.lower().endswith(".kml")


def parse_kmz(data: bytes, path: str | None = None) -> ParsedFile:
    """Read a KMZ archive's KML document.

    Raises
    ------
    UnknownFormatError
        A ZIP archive without a ``.kml`` member (a ZIP of uploads is for ``offcourse batch``).
    ArchiveError, FileTooLargeError
        As :func:`offcourse.read.archive.zip_members`.
    CorruptFileError, NoGeometryError
        As :func:`offcourse.read.kml.parse_kml`.
    """
    members = zip_members(data, name=path, wanted=_is_kml)
    if not members:
        raise UnknownFormatError(
            "a ZIP archive without a .kml document: not a KMZ (offcourse batch reads a ZIP of uploads)", path=path
        )
    doc = next((m for m in members if m.name.lower() == "doc.kml"), members[0])
    parsed = parse_kml(doc.data, path)
    track = parsed.track
    meta = replace(track.meta, format="kmz", extra={**track.meta.extra, "kmz_member": doc.name})
    return replace(parsed, track=replace(track, meta=meta))


parse = parse_kmz
"""The registry's entry point (:mod:`offcourse.read.formats`)."""

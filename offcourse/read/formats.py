"""The registry of file formats: one :class:`Format` line per format, everything else derived.

Format detection (:func:`offcourse.read.detect_format`), dispatch
(:func:`offcourse.read.parse_bytes`), the suffixes batch looks for in a folder
(:func:`recording_suffixes`, :func:`route_suffixes`, :func:`all_suffixes`), the text that names
the formats in help (:func:`describe`) and the fuzz targets all read :data:`FORMATS`.

Adding a format is one module of :mod:`offcourse.read` with a
``parse(data: bytes, path: str | None) -> ParsedFile`` function, and one line here. The
module is imported only when a file of its format is read, so that ``offcourse --help``
imports no reader. Detection goes down :data:`FORMATS` in order and takes the first whose
``sniff`` accepts the first bytes (a :class:`Head`); gzip compression is undone before,
whatever the format.

Examples
--------
>>> [f.name for f in FORMATS]
['fit', 'gpx', 'tcx', 'kml', 'kmz', 'geojson', 'json']
>>> recording_suffixes()
('.fit', '.gpx', '.tcx', '.kml', '.kmz', '.geojson', '.json')
>>> by_name("kml").label, by_suffix("Route.KMZ.gz").name
('KML', 'kmz')
>>> sniff(b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2">').name
'kml'
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import UnknownFormatError
from ..model import ParsedFile

__all__ = [
    "FORMATS",
    "GZIP_SUFFIX",
    "Format",
    "Head",
    "all_suffixes",
    "by_name",
    "by_suffix",
    "describe",
    "recording_suffixes",
    "route_suffixes",
    "sniff",
]

GZIP_SUFFIX = ".gz"
"""Any suffix of the registry may be followed by this one (gzip compression, undone whatever the format)."""

_GEOJSON_TYPE = re.compile(rb'"(Feature|FeatureCollection|LineString|MultiLineString|Point|GeometryCollection)"')
_XML_COMMENT = re.compile(rb"<!--.*?-->", re.S)
_XML_ELEMENT = re.compile(rb"<(?![?!/])(?:[A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")


@dataclass(frozen=True)
class Head:
    """The first bytes of a file, with what every sniff needs worked out once.

    Attributes
    ----------
    raw : bytes
        The bytes as they are.
    text : bytes
        Without UTF-8 byte-order marks and leading whitespace; UTF-16 re-encoded as UTF-8.
    xml_root : str or None
        The local name (without namespace prefix) of the first element, when the text is XML.
    json : bool
        The text starts as a JSON object or array does.
    """

    raw: bytes
    text: bytes = field(repr=False)
    xml_root: str | None
    json: bool

    @classmethod
    def of(cls, raw: bytes) -> Head:
        """Work out a :class:`Head` from a file's first bytes."""
        text = raw.lstrip(b"\xef\xbb\xbf").lstrip()
        if text[:2] in (b"\xff\xfe", b"\xfe\xff"):
            # UTF-16 XML: re-encode the sniffed part to find the root element
            text = raw.decode("utf-16", errors="ignore").encode("utf-8", errors="ignore").lstrip()
        root = None
        if text.startswith(b"<"):
            m = _XML_ELEMENT.search(_XML_COMMENT.sub(b"", text))
            root = m.group(1).decode("ascii", "replace") if m else ""
        return cls(raw=raw, text=text, xml_root=root, json=text.startswith((b"{", b"[")))

    @property
    def fit(self) -> bool:
        """A FIT file header: its size (12 or 14) first, ``.FIT`` at bytes 8 to 11."""
        return len(self.raw) >= 12 and self.raw[0] in (12, 14) and self.raw[8:12] == b".FIT"

    @property
    def geojson(self) -> bool:
        """JSON naming a GeoJSON type early enough to be seen (the JSON reader decides for sure)."""
        return self.json and b'"type"' in self.text and _GEOJSON_TYPE.search(self.text) is not None


@dataclass(frozen=True, kw_only=True)
class Format:
    """One file format the readers know.

    Attributes
    ----------
    name : str
        What :func:`offcourse.read.detect_format` returns for it.
    label : str
        The name people know it by, for help and messages.
    suffixes : tuple of str
        File name suffixes, lower case with the dot (each may be followed by ``.gz``).
    sniff : callable, optional
        Whether a file's first bytes (:class:`Head`) are of this format.
    xml_root : str, optional
        For an XML format, the local name of its root element (instead of ``sniff``).
    module : str
        The module of :mod:`offcourse.read` whose ``parse(data, path)`` reads it.
    route : bool
        It can hold an official route.
    recording : bool
        It can hold a recording (points with times).
    json : bool
        It is JSON, decoded whole: bounded by :data:`~offcourse.read.MAX_JSON_BYTES`.
    """

    name: str
    label: str
    suffixes: tuple[str, ...]
    module: str
    sniff: Callable[[Head], bool] | None = None
    xml_root: str | None = None
    route: bool = True
    recording: bool = True
    json: bool = False

    def matches(self, head: Head) -> bool:
        """Whether ``head`` is the start of a file of this format."""
        if self.xml_root is not None:
            return head.xml_root == self.xml_root
        return self.sniff is not None and self.sniff(head)

    def parse(self, data: bytes, path: str | None = None) -> ParsedFile:
        """Read ``data`` (not compressed) with this format's reader."""
        reader: Callable[[bytes, str | None], ParsedFile] = importlib.import_module(
            f"{__package__}.{self.module}"
        ).parse
        return reader(data, path)


# fmt: off
FORMATS: tuple[Format, ...] = (
    Format(name="fit", label="FIT", suffixes=(".fit",), sniff=lambda h: h.fit, module="fit"),
    Format(name="gpx", label="GPX", suffixes=(".gpx",), xml_root="gpx", module="gpx"),
    Format(name="tcx", label="TCX", suffixes=(".tcx",), xml_root="TrainingCenterDatabase", module="tcx"),
    Format(name="kml", label="KML", suffixes=(".kml",), xml_root="kml", module="kml"),
    Format(name="kmz", label="KMZ", suffixes=(".kmz",), sniff=lambda h: h.raw[:4] == b"PK\x03\x04", module="kmz"),
    Format(name="geojson", label="GeoJSON", suffixes=(".geojson", ".json"), sniff=lambda h: h.geojson, module="json", json=True),  # noqa: E501
    Format(name="json", label="LiveTrail JSON", suffixes=(".json",), sniff=lambda h: h.json, module="json", recording=False, json=True),  # noqa: E501
)
# fmt: on
"""Every format, in the order detection tries them."""


def _unique(suffixes: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(suffixes))


def all_suffixes() -> tuple[str, ...]:
    """Every suffix of every format (``.fit``, ``.gpx``, ...), lower case, each maybe followed by ``.gz``."""
    return _unique([s for f in FORMATS for s in f.suffixes])


def recording_suffixes() -> tuple[str, ...]:
    """The suffixes of the formats that can hold a recording: what batch looks for in a folder."""
    return _unique([s for f in FORMATS if f.recording for s in f.suffixes])


def route_suffixes() -> tuple[str, ...]:
    """The suffixes of the formats that can hold an official route."""
    return _unique([s for f in FORMATS if f.route for s in f.suffixes])


def by_name(name: str) -> Format:
    """The format called ``name``.

    Raises
    ------
    KeyError
        No such format.
    """
    for f in FORMATS:
        if f.name == name:
            return f
    raise KeyError(name)


def by_suffix(file_name: str) -> Format | None:
    """The first format whose suffix ends ``file_name`` (any case, maybe followed by ``.gz``); ``None`` if none."""
    low = file_name.lower()
    low = low.removesuffix(GZIP_SUFFIX)
    for f in FORMATS:
        if low.endswith(f.suffixes):
            return f
    return None


def describe(*, route: bool | None = None, recording: bool | None = None) -> str:
    """The formats as help text says them: ``"FIT, GPX, TCX, KML, KMZ, GeoJSON or LiveTrail JSON"``.

    ``route`` / ``recording`` keep only the formats that can (``True``) or cannot (``False``) hold one.

    >>> describe(recording=True)
    'FIT, GPX, TCX, KML, KMZ or GeoJSON'
    """
    labels = [
        f.label
        for f in FORMATS
        if (route is None or f.route == route) and (recording is None or f.recording == recording)
    ]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def sniff(raw: bytes) -> Format:
    """The format of a (not compressed) file from its first bytes.

    Raises
    ------
    UnknownFormatError
        The bytes match no format: empty, XML of another kind, or anything else.
    """
    head = Head.of(raw)
    for f in FORMATS:
        if f.matches(head):
            return f
    if not raw:
        raise UnknownFormatError("empty file")
    if head.xml_root is not None:
        xml = [f.label for f in FORMATS if f.xml_root]
        root = f" (root element <{head.xml_root[:40]}>)" if head.xml_root else ""
        raise UnknownFormatError(f"XML, but not {', '.join(xml[:-1])} or {xml[-1]}{root}")
    raise UnknownFormatError("not a FIT, GPX, TCX or GeoJSON file")

"""Hardened, streaming XML scanning shared by the GPX and TCX readers.

The parser is defusedxml's expat driver (:class:`defusedxml.expatreader.DefusedExpatParser`):
entity declarations and external references are refused, so an XXE or
"billion laughs" file raises :class:`~offcourse.errors.CorruptFileError` and
nothing is ever fetched; external DTDs are never loaded. The document is fed
in chunks and no tree is built: a :class:`Scanner` subclass receives the start
of the elements it asks for, the text of the elements it asks for and their end,
so memory stays bounded whatever the file size.

Files that real software writes but strict XML parsers refuse are still read:

* byte-order marks and whitespace before the XML declaration are skipped;
* namespace prefixes used but never declared (Strava and mapstogpx exports write
  ``<gpxdata:cadence>`` without declaring ``gpxdata``) are harmless, because the
  parser does not process namespaces: elements are matched by their local name
  (the part after the last ``:``), so any namespace, or none, is accepted;
* anything after the root element has closed is ignored.
"""

from __future__ import annotations

import math
from typing import BinaryIO
from xml.parsers import expat
from xml.parsers.expat import errors as expat_errors
from xml.sax import SAXParseException

import numpy as np
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.expatreader import DefusedExpatParser
from numpy.typing import NDArray

from ..errors import CorruptFileError, TruncatedFileError
from ._limits import MAX_POINTS, too_many_points
from ._values import parse_float, parse_time

__all__ = ["PointColumns", "Scanner", "parse_float", "parse_time", "scan"]

_CHUNK = 64 * 1024
_WS = b" \t\r\n"
_BOM8 = b"\xef\xbb\xbf"
_NO_ELEMENTS = expat_errors.codes[expat_errors.XML_ERROR_NO_ELEMENTS]
_UNCLOSED_TOKEN = expat_errors.codes[expat_errors.XML_ERROR_UNCLOSED_TOKEN]
_PARTIAL_CHAR = expat_errors.codes[expat_errors.XML_ERROR_PARTIAL_CHAR]


class PointColumns:
    """Columns of one kind of point (track, route, course) being collected by a scanner.

    Points come one at a time (:meth:`append`, the hardened scanner) or as whole runs of arrays
    (:meth:`extend`, the fast path of :mod:`offcourse.read._fastxml`); :meth:`columns` gives
    them all, in order.
    """

    def __init__(self) -> None:
        self.lon: list[float] = []
        self.lat: list[float] = []
        self.ele: list[float] = []
        self.time: list[float] = []
        self.hdop: list[float] = []
        self.starts: list[int] = []
        self.new_segment = True
        self.without_position = 0
        self._chunks: list[tuple[NDArray[np.float64], ...]] = []
        self._chunked = 0

    def __len__(self) -> int:
        return self._chunked + len(self.lon)

    def append(self, lon: float, lat: float, ele: float, time: float, hdop: float = math.nan) -> None:
        """Add one point, starting a new segment when one was opened.

        Raises
        ------
        FileTooLargeError
            The columns already hold :data:`~offcourse.read._limits.MAX_POINTS` points.
        """
        if len(self) >= MAX_POINTS:
            raise too_many_points(None, MAX_POINTS)
        if self.new_segment:
            self.starts.append(len(self))
            self.new_segment = False
        self.lon.append(lon)
        self.lat.append(lat)
        self.ele.append(ele)
        self.time.append(time)
        self.hdop.append(hdop)

    def extend(self, columns: tuple[NDArray[np.float64], ...]) -> None:
        """Add a run of points given as arrays ``(lon, lat, ele, time, hdop)``, as :meth:`append` would one by one.

        Raises
        ------
        FileTooLargeError
            More than :data:`~offcourse.read._limits.MAX_POINTS` points in all.
        """
        n = len(columns[0])
        if not n:
            return
        if len(self) + n > MAX_POINTS:
            raise too_many_points(None, MAX_POINTS)
        if self.new_segment:
            self.starts.append(len(self))
            self.new_segment = False
        self._flush()
        self._chunks.append(columns)
        self._chunked += n

    def _flush(self) -> None:
        if self.lon:
            lists = (self.lon, self.lat, self.ele, self.time, self.hdop)
            self._chunks.append(tuple(np.array(v, dtype=np.float64) for v in lists))
            self._chunked += len(self.lon)
            for v in lists:
                v.clear()

    def columns(self) -> tuple[NDArray[np.float64], ...]:
        """All the points as arrays ``(lon, lat, ele, time, hdop)``."""
        self._flush()
        if len(self._chunks) == 1:
            return self._chunks[0]
        if not self._chunks:
            return tuple(np.empty(0, dtype=np.float64) for _ in range(5))
        return tuple(np.concatenate([c[k] for c in self._chunks]) for k in range(5))


class Scanner:
    """Receives the elements of an XML document, by local name, as it is parsed.

    Subclasses set :attr:`START_TAGS`, :attr:`TEXT_TAGS` and :attr:`END_TAGS`
    and override :meth:`start`, :meth:`text` and :meth:`end`; only elements of
    those sets reach them, which keeps the per-element cost low.
    :attr:`stack` holds the local names of the open elements (the parent of a
    closing element is ``stack[-1]``).
    """

    START_TAGS: frozenset[str] = frozenset()
    """Local names whose start is passed to :meth:`start` (with the attributes)."""
    TEXT_TAGS: frozenset[str] = frozenset()
    """Local names whose text is collected and passed to :meth:`text` when they close."""
    END_TAGS: frozenset[str] = frozenset()
    """Local names whose end is passed to :meth:`end`."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.stack: list[str] = []
        self.root: str | None = None
        self.root_attrs: dict[str, str] = {}
        self.closed = False
        self._names: dict[str, str] = {}
        self._buf: list[str] = []
        self._capture = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        """An element of :attr:`START_TAGS` opens; ``self.stack[-1]`` is ``tag``."""

    def text(self, tag: str, text: str) -> None:
        """An element of :attr:`TEXT_TAGS` closes; ``self.stack[-1]`` is its parent."""

    def end(self, tag: str) -> None:
        """An element of :attr:`END_TAGS` closes; ``self.stack[-1]`` is its parent."""

    # expat callbacks -------------------------------------------------------

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        tag = self._names.get(name)
        if tag is None:
            tag = self._names[name] = name.rpartition(":")[2]
        stack = self.stack
        if not stack:
            if self.root is not None:  # pragma: no cover - expat refuses a second root
                return
            self.root = tag
            self.root_attrs = attrs
        stack.append(tag)
        if not self._capture and tag in self.TEXT_TAGS:
            self._capture = len(stack)
            self._buf = []
        if tag in self.START_TAGS:
            self.start(tag, attrs)

    def _end(self, name: str) -> None:
        stack = self.stack
        tag = stack.pop()
        if self._capture and self._capture == len(stack) + 1:
            self._capture = 0
            self.text(tag, "".join(self._buf))
        elif tag in self.END_TAGS:
            self.end(tag)
        if not stack:
            self.closed = True

    def _chars(self, data: str) -> None:
        if self._capture:
            self._buf.append(data)


class _Parser(DefusedExpatParser):  # type: ignore[misc]
    """defusedxml's hardened expat driver, wired straight to a :class:`Scanner`."""

    def __init__(self, scanner: Scanner) -> None:
        super().__init__(forbid_dtd=False, forbid_entities=True, forbid_external=True)
        self._scanner = scanner

    def reset(self) -> None:
        super().reset()  # installs the defusedxml handlers (entities, external references)
        p = self._parser
        p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)  # never load an external DTD
        p.buffer_text = True
        p.buffer_size = _CHUNK
        p.StartElementHandler = self._scanner._start
        p.EndElementHandler = self._scanner._end
        p.CharacterDataHandler = self._scanner._chars
        p.ProcessingInstructionHandler = None

    def error_offset(self) -> int | None:
        p = self._parser
        idx = getattr(p, "ErrorByteIndex", -1)
        return idx if isinstance(idx, int) and idx >= 0 else None


def _corrupt(exc: Exception, path: str | None, offset: int | None) -> CorruptFileError:
    if isinstance(exc, EntitiesForbidden):
        return CorruptFileError(
            "XML entity declarations are not allowed (possible XXE or billion-laughs attack)", path=path
        )
    if isinstance(exc, ExternalReferenceForbidden):  # pragma: no cover - external DTDs are never loaded
        return CorruptFileError("XML external references are not allowed (possible XXE attack)", path=path)
    if isinstance(exc, DTDForbidden):  # pragma: no cover - DTDs are allowed, entities are not
        return CorruptFileError("XML document type declarations are not allowed", path=path)
    if isinstance(exc, SAXParseException):
        cause = exc.getException()
        code = getattr(cause, "code", None)
        where = f"line {exc.getLineNumber()}, column {exc.getColumnNumber()}"
        if code == _NO_ELEMENTS:
            if offset == 0 or (exc.getLineNumber() == 1 and exc.getColumnNumber() == 0):
                return CorruptFileError("empty XML document", path=path)
            return TruncatedFileError(f"XML ends before its root element closes ({where})", path=path, offset=offset)
        if code in (_UNCLOSED_TOKEN, _PARTIAL_CHAR):
            return TruncatedFileError(f"XML ends inside a tag or character ({where})", path=path, offset=offset)
        return CorruptFileError(f"malformed XML: {exc.getMessage()} ({where})", path=path, offset=offset)
    if isinstance(exc, UnicodeError):
        return CorruptFileError(f"bad text encoding: {exc}", path=path, offset=offset)
    if isinstance(exc, ValueError) and "encoding" in str(exc):
        # pyexpat refuses a declared multi-byte encoding other than UTF-8/UTF-16 (UTF-7, Shift-JIS, ...)
        return CorruptFileError(f"unsupported text encoding ({exc})", path=path, offset=offset)
    return CorruptFileError(f"unreadable XML: {exc}", path=path, offset=offset)


def scan(stream: BinaryIO, scanner: Scanner) -> None:
    """Parse the XML in ``stream``, with hardening and tolerance, feeding ``scanner``.

    Raises
    ------
    CorruptFileError
        Malformed XML, entity declarations (XXE, billion laughs), bad or unsupported encoding.
    TruncatedFileError
        The XML ends before its root element closes.
    """
    path = scanner.path
    parser = _Parser(scanner)
    skipped = 0
    try:
        # Skip UTF-8 byte-order marks and whitespace before the first "<".
        chunk = stream.read(_CHUNK)
        while chunk:
            stripped = chunk.lstrip(_WS)
            while stripped.startswith(_BOM8):
                stripped = stripped[len(_BOM8) :].lstrip(_WS)
            skipped += len(chunk) - len(stripped)
            chunk = stripped
            if chunk:
                break
            chunk = stream.read(_CHUNK)
        if not chunk:
            raise CorruptFileError("empty XML document", path=path)
        while chunk:
            parser.feed(chunk)
            chunk = stream.read(_CHUNK)
        parser.close()
    except (SAXParseException, DefusedXmlException, expat.ExpatError, UnicodeError, LookupError, ValueError) as exc:
        if scanner.closed and isinstance(exc, SAXParseException):
            return  # junk after the root element: the document itself is complete
        offset = parser.error_offset()
        raise _corrupt(exc, path, None if offset is None else offset + skipped) from None
    except RecursionError:  # pragma: no cover - expat does not recurse in Python
        raise CorruptFileError("XML nested too deeply", path=path) from None

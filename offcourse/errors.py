"""Typed exceptions raised by offcourse.

Every error that bad input can cause is an :class:`OffcourseError`. Each one
carries structured fields (``path``, ``offset``) in the manner of fitdecode's
exception hierarchy, and its ``str()`` is one line fit for a command line::

    >>> e = CorruptFileError("bad CRC", path="run.fit", offset=1234)
    >>> str(e)
    'run.fit: bad CRC (at byte 1234)'
    >>> isinstance(e, ReadError)
    True
"""

from __future__ import annotations

__all__ = [
    "OffcourseError",
    "ReadError",
    "UnknownFormatError",
    "CorruptFileError",
    "TruncatedFileError",
    "ArchiveError",
    "FileTooLargeError",
    "NoGeometryError",
    "InvalidRouteError",
    "InvalidTrackError",
    "ProjectionError",
    "InvalidStateError",
    "InvalidFixError",
    "SourceError",
]


class OffcourseError(Exception):
    """Base class of every error offcourse raises on bad input.

    Parameters
    ----------
    message : str
        What is wrong, without the file name.
    path : str, optional
        The file the problem was found in.
    offset : int, optional
        Byte offset in the (decompressed) file, where known.
    """

    def __init__(self, message: str, *, path: str | None = None, offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.offset = offset

    def with_path(self, path: str) -> OffcourseError:
        """Return this error with ``path`` filled in when it was unknown."""
        if self.path is None:
            self.path = path
        return self

    def __str__(self) -> str:
        text = self.message
        if self.offset is not None:
            text += f" (at byte {self.offset})"
        if self.path is not None:
            text = f"{self.path}: {text}"
        return text.replace("\n", " ")


class ReadError(OffcourseError):
    """A file could not be read as a route or a recording."""


class UnknownFormatError(ReadError):
    """The content matches none of the supported formats."""


class CorruptFileError(ReadError):
    """The file is in a known format but its content is invalid (bad CRC, bad XML, ...)."""


class TruncatedFileError(CorruptFileError):
    """The file ends before the data its header declares."""


class FileTooLargeError(ReadError):
    """The file, or its decompressed content, exceeds the configured size bound."""


class NoGeometryError(ReadError):
    """The file is valid but holds no usable positions."""


class InvalidRouteError(OffcourseError):
    """The geometry cannot serve as a route (fewer than two distinct points, ...)."""


class InvalidTrackError(OffcourseError):
    """The recording cannot be used (no timestamps where they are required, ...)."""


class ProjectionError(OffcourseError):
    """Coordinates cannot be projected (out of range, too far from the route, ...)."""


class InvalidStateError(InvalidTrackError):
    """A saved monitor state cannot be restored: another version, another route, a bad field.

    A subclass of :class:`InvalidTrackError`, which ``Monitor.restore`` raised before it had its own.
    """


class InvalidFixError(InvalidTrackError):
    """A fix pushed to the live engine is unusable as given (a naive time, swapped coordinates, ...)."""


class SourceError(ReadError):
    """A live source failed: cannot connect, connection lost for good, no such device, bad address.

    A :class:`ReadError`, so the command line prints it as one line naming the source.
    """


class ArchiveError(CorruptFileError):
    """A ZIP archive is damaged, or holds what is refused: a member named outside it (an absolute name,
    ``..``), archives nested deeper than one level, an encrypted member."""

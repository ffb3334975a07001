"""Reading and hashing the uploads: regular files only, never blocking on a FIFO or a device.

Part of :mod:`offcourse.batch`. The reader's :func:`offcourse.read.load_bytes` opens any path
(a FIFO would block the worker for ever), so batch opens its files here, after checking that
they are regular files within :data:`offcourse.read.MAX_BYTES`, and hands the bytes to the
reader's :func:`~offcourse.read.gunzip_once` and :func:`~offcourse.read.parse_bytes`.
"""

from __future__ import annotations

import hashlib
import os
import stat
from typing import IO

from ..errors import OffcourseError, ReadError
from ..read import MAX_BYTES
from .inputs import _display

__all__ = ["file_sha256", "read_regular"]

_HASH_CHUNK = 1 << 20


def _read_error(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not a file"
    return f"cannot read: {exc.strerror or exc}"


def _open_regular(path: bytes) -> IO[bytes]:
    """Open a regular file for reading; never blocks on a FIFO or a device.

    Raises
    ------
    ReadError
        With the one-line reason (missing, a folder, not a regular file, too large, ...).
    """
    spath = _display(path)
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise ReadError("is a folder, not a file", path=spath)
        if not stat.S_ISREG(st.st_mode):
            raise ReadError("not a regular file", path=spath)
        if st.st_size > MAX_BYTES:
            raise ReadError(f"file is {st.st_size} bytes, more than the bound of {MAX_BYTES}", path=spath)
        return open(path, "rb")
    except OSError as exc:
        raise ReadError(_read_error(exc), path=spath) from None
    except ValueError as exc:  # a NUL byte in the name (as read.load_bytes says)
        raise ReadError(f"bad file name: {exc}", path=spath) from None


def file_sha256(path: bytes) -> str:
    """SHA-256 of a file's bytes (as stored, compressed or not), read in 1 MiB chunks.

    Raises
    ------
    ReadError
        When the file cannot be read.
    """
    with _open_regular(path) as fh:
        h = hashlib.sha256()
        try:
            while chunk := fh.read(_HASH_CHUNK):
                h.update(chunk)
        except OSError as exc:
            raise ReadError(_read_error(exc), path=_display(path)) from None
    return h.hexdigest()


def read_regular(path: bytes) -> bytes:
    """The bytes of a regular file (as stored: maybe gzip), bounded by MAX_BYTES; ReadError otherwise."""
    with _open_regular(path) as fh:
        try:
            # read what the file holds (not a MAX_BYTES buffer for every small file), up to the bound
            return fh.read(min(os.fstat(fh.fileno()).st_size, MAX_BYTES) + 1)
        except OSError as exc:
            raise ReadError(_read_error(exc), path=_display(path)) from None


def _reason(exc: OffcourseError, *paths: bytes) -> str:
    """The error's line without the file name in front (the row already names the file)."""
    text = str(exc)
    for path in paths:
        for prefix in (_display(path), os.fsdecode(path)):
            if text.startswith(prefix + ": "):
                return text[len(prefix) + 2 :]
    return text

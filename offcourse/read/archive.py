"""Bounded reading of ZIP archives: the members of a KMZ, or of a ZIP of uploads.

ZIP is read with the same care as gzip (:func:`offcourse.read.gunzip_once`): what the
archive declares is never trusted, the bytes actually decompressed are counted.

* the total of the members' decompressed sizes is at most ``max_bytes``
  (:data:`offcourse.read.MAX_BYTES` by default), and the archive holds at most
  :data:`MAX_MEMBERS` members;
* a member may not decompress to more than :data:`MAX_RATIO` times its compressed size
  (beyond its first :data:`RATIO_FREE_BYTES`): zip bombs stop early;
* a member that is itself a ZIP archive (``*.zip``) is opened, one level only: an archive
  inside it is refused;
* a member whose name is absolute (``/etc/passwd``, ``C:\\x``) or leaves the archive with
  ``..`` is refused, even though nothing is ever written to disk (such names are the sign of
  a malicious archive);
* encrypted members and unknown compression methods are refused;
* folders, and the ``__MACOSX/`` resource forks that macOS adds, are skipped.

Every refusal is a typed error naming the archive: :class:`~offcourse.errors.ArchiveError`
(a :class:`~offcourse.errors.CorruptFileError`), or
:class:`~offcourse.errors.FileTooLargeError` for the sizes.

Examples
--------
>>> import io, zipfile
>>> buf = io.BytesIO()
>>> with zipfile.ZipFile(buf, "w") as z:
...     z.writestr("runs/a.gpx", b"<gpx/>")
>>> [(m.name, m.data) for m in zip_members(buf.getvalue(), name="uploads.zip")]
[('runs/a.gpx', b'<gpx/>')]
"""

from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ArchiveError, FileTooLargeError, OffcourseError, ReadError

__all__ = ["MAX_MEMBERS", "MAX_RATIO", "RATIO_FREE_BYTES", "ZipMember", "is_zip", "zip_members"]

MAX_MEMBERS = 10_000
"""Most members (files, folders, members of the archives inside) read from one archive."""

MAX_RATIO = 200
"""Most a member may grow when decompressed (GPX compresses about 10 to 20 times, FIT about 3)."""

RATIO_FREE_BYTES = 1 << 20
"""Decompressed bytes of a member allowed whatever its ratio (tiny members compress oddly)."""

_DEFAULT_MAX_BYTES = 512 * 1024 * 1024  # offcourse.read.MAX_BYTES, not imported (that module imports this one)
_CHUNK = 1 << 16
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP = b"PK\x05\x06"
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ZipMember:
    """One file of an archive.

    Attributes
    ----------
    name : str
        Its name inside the archive (``/``-separated); a member of an archive inside the
        archive is named ``inner.zip/its/name``.
    data : bytes
        Its decompressed content.
    """

    name: str
    data: bytes


def is_zip(data: bytes) -> bool:
    """Whether ``data`` starts as a ZIP archive does (an empty archive included)."""
    return data[:4] in (_ZIP_MAGIC, _EMPTY_ZIP)


def _check_name(member: str) -> None:
    parts = member.replace("\\", "/").split("/")
    if member.startswith(("/", "\\")) or _DRIVE.match(member) or ".." in parts:
        raise ArchiveError(f"member {member[:80]!r} is named outside the archive (absolute or '..')")


class _Budget:
    """What is left of the bounds for one archive and the archives inside it."""

    def __init__(self, max_bytes: int) -> None:
        self.bytes_left = max_bytes
        self.max_bytes = max_bytes
        self.members = 0

    def count(self) -> None:
        self.members += 1
        if self.members > MAX_MEMBERS:
            raise FileTooLargeError(f"more than {MAX_MEMBERS} members in the archive")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> bytes:
    if info.flag_bits & 0x1:
        raise ArchiveError(f"member {info.filename[:80]!r} is encrypted")
    ratio_bound = max(MAX_RATIO * info.compress_size, RATIO_FREE_BYTES)
    out = bytearray()
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(_CHUNK)
            if not chunk:
                break
            out += chunk
            if len(out) > budget.bytes_left:
                raise FileTooLargeError(f"decompressed archive content exceeds {budget.max_bytes} bytes")
            if len(out) > ratio_bound:
                raise FileTooLargeError(
                    f"member {info.filename[:80]!r} decompresses to more than {MAX_RATIO} times its size (a zip bomb?)"
                )
    budget.bytes_left -= len(out)
    return bytes(out)


def _members(
    data: bytes,
    budget: _Budget,
    depth: int,
    prefix: str,
    wanted: Callable[[str], bool] | None,
    refused: list[tuple[str, str]] | None = None,
) -> list[ZipMember]:
    out: list[ZipMember] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            for info in infos:
                budget.count()
                name = info.filename
                try:
                    _check_name(name)
                except ArchiveError as exc:
                    if refused is None:
                        raise
                    refused.append((prefix + name, str(exc)))
                    continue
                if info.is_dir() or name.startswith("__MACOSX/"):
                    continue
                full = prefix + name
                nested = name.lower().endswith(".zip")
                if not nested and wanted is not None and not wanted(full):
                    continue
                if info.flag_bits & 0x1 and refused is not None:
                    refused.append((full, f"member {name[:80]!r} is encrypted"))
                    continue
                content = _read_member(zf, info, budget)
                if nested and is_zip(content):
                    if depth >= 1:
                        raise ArchiveError(f"member {full[:80]!r}: an archive inside an archive inside the archive")
                    out.extend(_members(content, budget, depth + 1, full + "/", wanted, refused))
                    continue
                if wanted is None or wanted(full):
                    out.append(ZipMember(full, content))
    except zipfile.BadZipFile as exc:
        where = f" (member of {prefix[:-1]!r})" if prefix else ""
        raise ArchiveError(f"damaged ZIP archive{where}: {exc}") from None
    except NotImplementedError as exc:  # a compression method zipfile does not know
        raise ArchiveError(f"unsupported ZIP member: {exc}") from None
    except (zlib.error, EOFError, ValueError) as exc:
        raise ArchiveError(f"damaged ZIP archive: {exc}") from None
    except RuntimeError as exc:  # zipfile: "File ... is encrypted, password required"
        raise ArchiveError(f"unreadable ZIP member: {exc}") from None
    return out


def zip_members(
    source: bytes | str | os.PathLike[str],
    *,
    name: str | None = None,
    max_bytes: int = _DEFAULT_MAX_BYTES,
    wanted: Callable[[str], bool] | None = None,
    refused: list[tuple[str, str]] | None = None,
) -> list[ZipMember]:
    """The files of a ZIP archive, in archive order, read within the bounds of the module docstring.

    Parameters
    ----------
    source : bytes or path
        The archive's content, or its file name.
    name : str, optional
        The archive's name for error messages (default: ``source`` when it is a path).
    max_bytes : int
        Bound on the file's size and on the total decompressed content.
    wanted : callable, optional
        Keep only the members whose (full) name it accepts; the others are not decompressed.
    refused : list, optional
        When given, a member named outside the archive or encrypted is not read and its
        ``(full name, reason)`` is appended here, the other members are still returned (a ZIP
        of uploads with one hostile name); without it, such a member refuses the whole archive.
        The bounds on sizes, counts and nesting always refuse the whole archive.

    Raises
    ------
    ArchiveError
        Damaged archive, a member named outside it, archives nested too deep, encryption.
    FileTooLargeError
        Too large, too many members, a member growing more than :data:`MAX_RATIO` times.
    ReadError
        The file cannot be read.
    """
    path = name
    try:
        if isinstance(source, bytes):
            data = source
        else:
            path = name or os.fsdecode(source)
            from . import load_bytes

            data = load_bytes(source, max_bytes=max_bytes)
        if len(data) > max_bytes:
            raise FileTooLargeError(f"archive is {len(data)} bytes, more than the bound of {max_bytes}")
        if not is_zip(data):
            raise ArchiveError("not a ZIP archive")
        return _members(data, _Budget(max_bytes), 0, "", wanted, refused)
    except OffcourseError as exc:
        raise exc.with_path(path) if path else exc from None
    except MemoryError:
        raise ReadError("archive too large to read", path=path) from None

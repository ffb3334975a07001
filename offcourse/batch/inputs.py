"""The inputs of a batch: command-line files, folders and patterns expanded into one input per row.

Part of :mod:`offcourse.batch` (which re-exports every public name): the row keys, and the
expansion of TRACKS that never follows a link to a folder and lists each file once.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..read.formats import recording_suffixes

__all__ = [
    "ERROR_KINDS",
    "FLAG_KINDS",
    "ROW_KEYS",
    "SUMMARY_KEYS",
    "TRACK_SUFFIXES",
    "BatchInput",
    "Row",
    "expand_inputs",
]

Row = dict[str, Any]

ROW_KEYS = (
    "file",
    "name",
    "bib",
    "status",
    "verdict",
    "verdict_reason",
    "verdict_facts",
    "error",
    "error_kind",
    "flags",
    "sha256",
    "title",
    "fixes",
    "start_time",
    "duration_s",
    "distance_m",
    "excursions",
    "extra_distance_m",
    "time_off_course_s",
    "skipped_m",
    "wrong_way_m",
    "completed",
    "coverage",
    "worst",
    "excursion_list",
)
"""The keys of every row, in this order (the JSON rows).

``flags`` is a list of ``{"kind", "text"}`` (:data:`FLAG_KINDS`); ``error_kind`` says what an error
row is (:data:`ERROR_KINDS`); ``worst`` is the number (from 1) of the row's worst excursion;
``title`` is the recording's own title (an activity name), ``name`` the runner's name;
``verdict_reason`` is in SI words and ``verdict_facts`` the same reason as words and ``[tag, metres]``
(:func:`offcourse.verdict.facts_to_json`), for saying it in other units."""

SUMMARY_KEYS = (*ROW_KEYS[ROW_KEYS.index("fixes") : -2], "verdict", "verdict_reason")
"""The summary of a row (the verdict, its reason and the figures): ``None`` on an error row."""

FLAG_KINDS = ("damaged", "duplicate", "course_file", "other_day", "not_this_route")
"""Flags an ok row may carry: a damaged file (CRC mismatch, cut short), a duplicate of another upload,
a course or route file rather than a recording, recorded on another day than the race, another route."""

ERROR_KINDS = ("not_gps", "not_a_recording", "elsewhere", "unreadable", "error")
"""What an error row is: not a GPS file at all, a GPS file that is no recording (a KML route, an
archive), a recording made somewhere else, a file that could not be read, any other problem."""

TRACK_SUFFIXES = recording_suffixes()
"""Suffixes of the recordings read (any case, maybe followed by ``.gz``). A folder gives every file
in it, recordings or not, so that every upload leaves a row."""


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class BatchInput:
    """One row to come: a file to check, or an argument that already failed (``error``).

    Attributes
    ----------
    path : bytes
        The file (or the folder / pattern that gave no file), as given or found.
    error : str, optional
        Why there is nothing to check (a folder without recordings, a pattern that
        matches nothing, an unreadable folder).
    shown : bytes, optional
        What the rows call it when that is not ``path``: a member of a ZIP upload, read from
        a private copy, is ``uploads.zip/ann.gpx``.
    """

    path: bytes
    error: str | None = None
    shown: bytes | None = None
    error_kind: str = "error"
    """What the error row is (see :data:`ERROR_KINDS`)."""

    @property
    def name(self) -> bytes:
        """What the rows call the input: ``shown``, else ``path``."""
        return self.path if self.shown is None else self.shown

    @property
    def display(self) -> str:
        """The name as text; bytes that are not UTF-8 are shown as ``\\xNN``."""
        return _display(self.name)


def _display(path: bytes) -> str:
    return path.decode("utf-8", errors="backslashreplace")


_OWN_FILES = (b"offcourse-cache.jsonl",)  # CACHE_NAME: the batch's own cache beside its outputs


def _is_upload_name(name: bytes) -> bool:
    """Whether a file found in a folder is an upload: any file but hidden ones and the batch's cache."""
    return not name.startswith(b".") and name not in _OWN_FILES


def _walk(folder: bytes) -> Iterator[BatchInput]:
    """Every file under a folder, sorted (hidden files and folders, and the batch's own cache, left
    out); unreadable sub-folders as error inputs. Files that are not recordings give rows too."""
    problems: list[BatchInput] = []

    def onerror(exc: OSError) -> None:
        where = os.fsencode(exc.filename) if exc.filename is not None else folder
        reason = "permission denied" if isinstance(exc, PermissionError) else f"cannot list: {exc.strerror or exc}"
        problems.append(BatchInput(where, reason))

    found = 0
    for root, dirs, files in os.walk(folder, onerror=onerror):
        dirs[:] = sorted(d for d in dirs if not d.startswith(b"."))
        for name in sorted(files):
            if _is_upload_name(name):
                found += 1
                yield BatchInput(os.path.join(root, name))
    yield from problems
    if not found and not problems:
        yield BatchInput(folder, "no file in this folder")


def _subdirs(folder: bytes) -> Iterator[bytes]:
    """``folder`` and every folder under it, never through a symbolic link (what ``**`` matches)."""
    for root, dirs, _ in os.walk(folder or b".", followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(b".") and not os.path.islink(os.path.join(root, d)))
        if folder:
            yield root
        else:  # a relative pattern: paths as glob gives them, without "./"
            yield b"" if root == b"." else root[2:]


def _glob(pattern: bytes) -> list[bytes]:
    """Expand a pattern as ``glob.glob(pattern, recursive=True)`` does, but ``**`` never goes
    through a link to a folder: a link to a parent folder made ``glob`` repeat every file
    (41 rows per file), and two such links made it run forever. As with ``glob``, names
    starting with a dot match only a pattern part starting with a dot."""
    sep = os.sep.encode()
    found = [sep if pattern.startswith(sep) else b""]
    for part in (p for p in pattern.split(sep) if p):
        nxt: list[bytes] = []
        for base in found:
            if part == b"**":
                nxt.extend(_subdirs(base))
            elif glob.has_magic(part):
                try:
                    names = os.listdir(base or b".")
                except (OSError, ValueError):
                    continue
                dot = part.startswith(b".")
                nxt.extend(os.path.join(base, n) for n in fnmatch.filter(names, part) if dot or not n.startswith(b"."))
            elif os.path.lexists(os.path.join(base, part)):
                nxt.append(os.path.join(base, part))
        found = nxt
    return sorted({p for p in found if p})


def _identity(path: bytes) -> tuple[int, int] | bytes:
    """What makes two paths the same file: (device, inode), else the absolute path."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return os.path.abspath(path)
    return (st.st_dev, st.st_ino)


def expand_inputs(args: Iterable[str | bytes | os.PathLike[str]]) -> list[BatchInput]:
    """Turn command-line TRACKS (files, folders, glob patterns) into one input per row.

    A folder is searched recursively and gives every file in it (hidden files and folders, and
    the batch's own cache, skipped): a file that is no recording gets a row saying so. A
    pattern (``*``, ``?``, ``[``, and ``**`` for any depth) is expanded; folders it
    matches are searched. Any other argument is taken as a file, whatever its name
    and whether it exists: problems with it are found when it is read. A folder or
    pattern that yields no file gives one error input, so that every argument leaves
    a trace. The same file reached twice (by any path or link: same device and inode)
    is listed once. Links to folders are not followed, by folder search or by ``**``.

    Parameters
    ----------
    args : iterable of str, bytes or path
        As given on the command line (``bytes`` keep names that are not UTF-8).

    Returns
    -------
    list of BatchInput
        In argument order, folders and pattern matches sorted.
    """
    out: list[BatchInput] = []
    seen: set[tuple[int, int] | bytes] = set()

    def add(item: BatchInput) -> None:
        if item.error is not None:
            out.append(item)
            return
        key = _identity(item.path)
        if key in seen:
            return
        seen.add(key)
        out.append(item)

    for arg in args:
        raw = os.fsencode(arg)
        if os.path.isdir(raw):
            for item in _walk(raw):
                add(item)
        elif not os.path.lexists(raw) and glob.has_magic(raw):
            matches = _glob(raw)
            for m in matches:
                if os.path.isdir(m):
                    for item in _walk(m):
                        add(item)
                else:
                    add(BatchInput(m))
            if not matches:
                add(BatchInput(raw, "no file matches this pattern"))
        else:
            add(BatchInput(raw))
    return out


def _stem(path: bytes) -> str:
    name = _display(os.path.basename(path))
    if name.lower().endswith(".gz"):
        name = name[:-3]
    stem, dot, _ = name.rpartition(".")
    return stem if dot and stem else name

"""ZIP uploads: each file of the archive is an upload of its own, with its own row.

Part of :mod:`offcourse.batch`. The archive is read by :func:`offcourse.read.archive.zip_members`
(bounded: sizes, member count, ratio, one level of nesting, names outside the archive
refused); its files are copied to a private folder of the batch and checked from there
like any other upload, each row naming it ``uploads.zip/member.gpx``. A member refused by
itself (named outside the archive, ``../evil.gpx``, or encrypted) is an error row of its own,
``uploads.zip/../evil.gpx``, and the others are checked. An archive that cannot be read (damaged,
beyond the bounds) is one error row; an empty one too.

Examples
--------
>>> import io, tempfile, zipfile, pathlib
>>> tmp = tempfile.TemporaryDirectory()
>>> d = pathlib.Path(tmp.name)
>>> with zipfile.ZipFile(d / "up.zip", "w") as z:
...     z.writestr("runs/a.gpx", b"<gpx/>"); z.writestr("runs/.DS_Store", b"x"); z.writestr("b.fit", b"")
>>> got = expand_archives([BatchInput(str(d / "up.zip").encode())], d / "members")
>>> [(os.path.basename(i.name), i.display.endswith("up.zip/runs/a.gpx")) for i in got]
[(b'a.gpx', True), (b'b.fit', False)]
>>> tmp.cleanup()
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from ..errors import OffcourseError
from ..read.archive import zip_members
from .inputs import BatchInput

__all__ = ["ARCHIVE_SUFFIXES", "expand_archives"]

ARCHIVE_SUFFIXES = (b".zip",)
"""Uploads opened as archives of uploads (by name: a KMZ is a ZIP too, and is a route)."""


def _is_archive(item: BatchInput) -> bool:
    if item.error is not None or not item.path.lower().endswith(ARCHIVE_SUFFIXES):
        return False
    try:
        return stat.S_ISREG(os.stat(item.path).st_mode)  # never open a FIFO named .zip
    except (OSError, ValueError):
        return False


def _wanted(name: str) -> bool:
    """Members that are uploads: not hidden files (``.DS_Store``), whatever their type."""
    return not os.path.basename(name).startswith(".")


def expand_archives(inputs: Sequence[BatchInput], folder: Path) -> list[BatchInput]:
    """The inputs with every ZIP upload replaced by its files, copied under ``folder``.

    Parameters
    ----------
    inputs : sequence of BatchInput
    folder : Path
        A private folder (created when needed) that lives as long as the batch.

    Returns
    -------
    list of BatchInput
        In order; an archive's files in archive order, each ``shown`` as ``ARCHIVE/MEMBER``.
        An archive that cannot be read, or holds no file, is one error input.
    """
    out: list[BatchInput] = []
    for n, item in enumerate(inputs):
        if not _is_archive(item):
            out.append(item)
            continue
        refused: list[tuple[str, str]] = []
        try:
            members = zip_members(os.fsdecode(item.path), name=item.display, wanted=_wanted, refused=refused)
        except OffcourseError as exc:
            text = str(exc)
            prefix = item.display + ": "
            out.append(
                BatchInput(
                    item.path, text[len(prefix) :] if text.startswith(prefix) else text, item.shown, "unreadable"
                )
            )
            continue
        for name, reason in refused:
            shown = item.name + b"/" + name.encode("utf-8", "surrogateescape")
            out.append(BatchInput(item.path, f"refused: {reason}", shown, "unreadable"))
        if not members:
            if not refused:
                out.append(BatchInput(item.path, "no file in this archive", item.shown, "unreadable"))
            continue
        box = folder / str(n)
        box.mkdir(parents=True, exist_ok=True)
        for k, m in enumerate(members):
            base = os.path.basename(m.name) or "member"
            copy = box / f"{k}-{base}"
            copy.write_bytes(m.data)
            out.append(
                BatchInput(os.fsencode(copy), shown=item.name + b"/" + m.name.encode("utf-8", "surrogateescape"))
            )
    return out

"""What the batch adds to the rows once they are all known: names and bibs, duplicates, other days.

Part of :mod:`offcourse.batch`. A worker sees one file; whether an upload repeats another, which
runner a file belongs to and whether it was recorded on the race day are known here, in the
process that holds every row.

Examples
--------
>>> rows = [{"file": "up/Ann.gpx", "name": "Ann", "sha256": "aa", "status": "ok", "flags": [], "title": "Move",
...          "start_time": "2024-05-01T22:30:00+00:00"},
...         {"file": "up/copy.gpx", "name": "copy", "sha256": "aa", "status": "ok", "flags": [], "title": None,
...          "start_time": "2024-05-01T22:30:00+00:00"}]
>>> import datetime, zoneinfo
>>> rows = annotate_rows(rows, race_date=datetime.date(2024, 5, 2), tz=zoneinfo.ZoneInfo("Europe/Paris"))
>>> [[f["text"] for f in r["flags"]] for r in rows]
[[], ['duplicate of up/Ann.gpx (the same bytes)']]
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from ..errors import OffcourseError
from ..read._limits import clean_text
from .inputs import Row
from .rows import flag

__all__ = ["NAME_SOURCES", "Names", "annotate_rows", "read_names"]

NAME_SOURCES = ("auto", "file", "title")
"""Where runners' names come from without a list: ``auto`` (the file's author or athlete, else the
file name), ``file`` (the file name) or ``title`` (the recording's title, else the file name)."""

MAX_NAMES_BYTES = 16 * 1024 * 1024
"""Largest names list read (bytes)."""


@dataclass(frozen=True)
class Names:
    """How rows are named: a source (:data:`NAME_SOURCES`) and a list of runners (by file or by bib)."""

    source: str = "auto"
    by_file: Mapping[str, tuple[str, str | None]] | None = None
    """File name (lower case, with and without its suffixes) -> (name, bib)."""
    by_bib: Mapping[str, tuple[str, str | None]] | None = None
    """Bib -> (name, bib), for files whose name holds the bib as a number."""


def _keys_of_file(name: str) -> list[str]:
    """A file name's lookup keys: the base name and its stem, lower case (``Ann.GPX.gz``: ann.gpx.gz, ann)."""
    base = os.path.basename(name.replace("\\", "/")).strip().lower()
    stem = base[:-3] if base.endswith(".gz") else base
    out = [base, stem]
    if "." in stem:
        out.append(stem.rsplit(".", 1)[0])
    return list(dict.fromkeys(out))


def read_names(path: str | os.PathLike[str]) -> Names:
    """Read a list of runners: CSV with a header holding ``name`` and ``file`` and/or ``bib``.

    A row with a ``file`` names the upload of that file name (with or without its suffix); a row
    with a ``bib`` names an upload whose file name holds that number (``bib-123.fit``, ``123_ann.gpx``).
    A UTF-8 byte-order mark and ``;`` separators (as spreadsheets write them) are accepted.

    Raises
    ------
    OffcourseError
        The file cannot be read, has no ``name`` column or neither ``file`` nor ``bib``.
    """
    spath = os.fsdecode(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_NAMES_BYTES + 1)
    except OSError as exc:
        raise OffcourseError(f"cannot read the names list: {exc.strerror or exc}", path=spath) from None
    if len(data) > MAX_NAMES_BYTES:
        raise OffcourseError(f"names list larger than {MAX_NAMES_BYTES} bytes", path=spath)
    text = data.decode("utf-8-sig", errors="replace")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    fields = {(f or "").strip().lower(): f for f in reader.fieldnames or []}
    if "name" not in fields or not ({"file", "bib"} & set(fields)):
        raise OffcourseError("a names list needs a header with name, and file or bib (or both)", path=spath)
    by_file: dict[str, tuple[str, str | None]] = {}
    by_bib: dict[str, tuple[str, str | None]] = {}
    for rec in reader:
        name = clean_text(" ".join((rec.get(fields["name"]) or "").split()))
        bib = clean_text((rec.get(fields["bib"]) or "").strip()) if "bib" in fields else ""
        file = (rec.get(fields["file"]) or "").strip() if "file" in fields else ""
        if not name:
            continue
        entry = (name, bib or None)
        if file:
            for k in _keys_of_file(file):
                by_file.setdefault(k, entry)
        if bib:
            by_bib.setdefault(bib.lstrip("0") or "0", entry)
    return Names("auto", by_file, by_bib)


def _lookup(names: Names, file: str) -> tuple[str, str | None] | None:
    if names.by_file:
        for k in _keys_of_file(file):
            if k in names.by_file:
                return names.by_file[k]
    if names.by_bib:
        base = os.path.basename(file.replace("\\", "/"))
        for number in re.findall(r"\d+", base):
            hit = names.by_bib.get(number.lstrip("0") or "0")
            if hit is not None:
                return hit
    return None


def _stem_of(file: str) -> str:
    keys = _keys_of_file(file)
    base = os.path.basename(file.replace("\\", "/"))
    low = base.lower()
    if low.endswith(".gz"):
        base = base[:-3]
    return base.rsplit(".", 1)[0] if "." in base.strip(".") and len(keys) > 1 else base


def _local_date(iso: Any, tz: tzinfo | None) -> date | None:
    if not isinstance(iso, str):
        return None
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return (t.astimezone(tz) if tz is not None else t).date()


def annotate_rows(
    rows: Iterable[Row],
    *,
    names: Names | None = None,
    race_date: date | None = None,
    tz: tzinfo | None = None,
) -> list[Row]:
    """Name the runners, flag duplicates and recordings of another day; new rows, input order kept.

    Parameters
    ----------
    rows : iterable of dict
        In input order (the first of identical uploads is the original).
    names : Names, optional
        Where names come from (default :data:`NAME_SOURCES` ``auto``: the row's name as the worker
        gave it). A list names the files it knows and gives their bib.
    race_date : date, optional
        The race day: an ok row whose start, in ``tz``, is another day gets an ``other_day`` flag.
    tz : tzinfo, optional
        The zone of the race day (default UTC).
    """
    names = names or Names()
    first_of: dict[str, str] = {}
    out: list[Row] = []
    for row in rows:
        row = dict(row)
        flags = [f for f in row.get("flags") or [] if f.get("kind") not in ("duplicate", "other_day")]
        file = str(row.get("file") or "")
        if names.source == "file":
            row["name"] = _stem_of(file)
        elif names.source == "title" and row.get("title"):
            row["name"] = row["title"]
        hit = _lookup(names, file)
        if hit is not None:
            row["name"], row["bib"] = hit
        sha = row.get("sha256")
        if isinstance(sha, str) and sha:
            if sha in first_of:
                flags.append(flag("duplicate", f"duplicate of {first_of[sha]} (the same bytes)"))
            else:
                first_of[sha] = file
        course = any(f.get("kind") == "course_file" for f in flags)  # a plan's times are no race day
        if race_date is not None and row.get("status") == "ok" and not course:
            day = _local_date(row.get("start_time"), tz)
            if day is not None and day != race_date:
                flags.append(flag("other_day", f"recorded on {day.isoformat()}, not on the race day {race_date}"))
        row["flags"] = flags
        out.append(row)
    return out

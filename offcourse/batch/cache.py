"""The result cache of a batch: JSON lines, validated on reading, never fatal on writing.

Part of :mod:`offcourse.batch` (which re-exports every public name).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import OffcourseError
from ..read._limits import clean_text
from ..verdict import facts_from_json
from .inputs import ROW_KEYS, SUMMARY_KEYS, Row, _display, _stem

if TYPE_CHECKING:
    from .worker import TaskResult

__all__ = ["CACHE_NAME", "ResultCache", "Warn", "cached_row", "stderr_warning"]

CACHE_NAME = "offcourse-cache.jsonl"
"""File name of the default cache (beside the first output file, else in the current folder)."""

# --------------------------------------------------------------------------- cache


Warn = Callable[[str], None]
"""Receives one line of warning (the cache cannot be written, a cache line was ignored...)."""


def stderr_warning(message: str) -> None:
    """The default :data:`Warn`: ``offcourse: warning: MESSAGE`` on stderr."""
    with contextlib.suppress(OSError, ValueError):
        print(f"offcourse: warning: {message}", file=sys.stderr, flush=True)


_NUMBER_KEYS = frozenset(SUMMARY_KEYS) - {"fixes", "start_time", "completed", "verdict", "verdict_reason"}


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _clean_json(v: Any) -> tuple[bool, Any]:
    """(valid, cleaned): strings cleaned of lone surrogates; no NaN or infinity anywhere."""
    if isinstance(v, str):
        return True, clean_text(v)
    if v is None or isinstance(v, bool):
        return True, v
    if isinstance(v, int | float):
        return _finite(v), v
    if isinstance(v, list):
        out = []
        for x in v:
            ok, x = _clean_json(x)
            if not ok:
                return False, None
            out.append(x)
        return True, out
    if isinstance(v, dict):
        d = {}
        for k, x in v.items():
            ok, x = _clean_json(x)
            if not ok:
                return False, None
            d[clean_text(k)] = x
        return True, d
    return False, None


def cached_row(entry: Any, key: str) -> tuple[str, str | None, Row] | None:
    """``(sha256, meta_name, row)`` of a cache line of this job, or ``None`` when it is not a valid one.

    A line written by hand or by another program may be valid JSON with the wrong types
    (a string for ``fixes``, NaN or infinity for a distance, a missing key...): such a
    row would crash the outputs or put NaN in them, so it is refused whole.
    """
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    sha, meta_name, row = entry.get("sha256"), entry.get("meta_name"), entry.get("row")
    if not isinstance(sha, str) or not isinstance(row, dict) or not (meta_name is None or isinstance(meta_name, str)):
        return None
    ok, row = _clean_json(row)
    if not ok or set(row) != set(ROW_KEYS) or row["sha256"] != sha or row["status"] not in ("ok", "error"):
        return None
    text_keys = ("file", "name", "bib", "title", "error", "error_kind", "start_time", "verdict", "verdict_reason")
    if not all(row[k] is None or isinstance(row[k], str) for k in text_keys):
        return None
    if row["verdict_facts"] is not None and facts_from_json(row["verdict_facts"]) is None:
        return None
    flags = row["flags"]
    if not isinstance(flags, list) or not all(
        isinstance(f, dict) and set(f) == {"kind", "text"} and all(isinstance(v, str) for v in f.values())
        for f in flags
    ):
        return None
    worst = row["worst"]
    if not (worst is None or (isinstance(worst, int) and not isinstance(worst, bool))):
        return None
    if not (row["fixes"] is None or (isinstance(row["fixes"], int) and not isinstance(row["fixes"], bool))):
        return None
    if not all(row[k] is None or _finite(row[k]) for k in _NUMBER_KEYS):
        return None
    if not (row["completed"] is None or isinstance(row["completed"], bool)):
        return None
    exc = row["excursion_list"]
    if not isinstance(exc, list) or not all(isinstance(e, dict) for e in exc):
        return None
    if row["status"] == "ok" and (row["fixes"] is None or row["excursions"] != len(exc)):
        return None
    for e in exc:
        coords = e.get("coordinates", [])
        if not isinstance(coords, list) or not all(
            isinstance(c, list) and len(c) == 2 and all(_finite(x) for x in c) for c in coords
        ):
            return None
    return sha, None if meta_name is None else clean_text(meta_name), row


class ResultCache:
    """Append-only JSON-lines file of results, keyed by job key and file SHA-256.

    Each line is ``{"key", "sha256", "meta_name", "row"}``; lines of other jobs and a
    truncated last line (a process killed while writing) are ignored on loading, and
    so, with one warning, are lines of this job that are not valid rows (see
    :func:`cached_row`). Every :meth:`put` writes a whole line at once (unbuffered),
    so what was written survives the process being killed.

    A cache that cannot be written (a full disk, a quota, a device) costs a warning,
    once, and the batch goes on without it: the outputs never depend on the cache.
    A path that is not a regular file (``/dev/full``, a FIFO) is never read.

    Parameters
    ----------
    path : path or None
        The file (created when missing). ``None``: remember nothing.
    key : str
        The job key (:attr:`JobSpec.key`).
    warn : callable, optional
        Receives each warning line (default: :func:`stderr_warning`).
    """

    def __init__(self, path: str | os.PathLike[str] | None, key: str, warn: Warn | None = None) -> None:
        self.path = None if path is None else Path(path)
        self.key = key
        self.warn = warn or stderr_warning
        self.warnings: list[str] = []
        self._entries: dict[str, tuple[str | None, Row]] = {}
        self._fh: IO[bytes] | None = None
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tail = self._load(self.path)
            self._fh = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise OffcourseError(f"cannot use the cache: {exc.strerror or exc}", path=str(self.path)) from None
        if tail != b"\n":
            self._write(b"\n")  # end a line cut short, so the next entry starts cleanly

    def _load(self, path: Path) -> bytes:
        """Read this job's valid entries; the file's last byte (a newline when it is fine)."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return b"\n"
        if not stat.S_ISREG(st.st_mode):
            if not stat.S_ISCHR(st.st_mode):  # a FIFO would block, a socket cannot be opened
                raise OSError(0, "not a regular file")
            return b"\n"  # /dev/null, /dev/full: nothing to read
        tail = b"\n"
        bad = 0
        with open(path, "rb") as fh:
            for line in fh:
                tail = line[-1:]
                try:
                    entry = json.loads(line)
                except (ValueError, RecursionError):
                    continue  # a line cut short by a kill or a full disk
                if not isinstance(entry, dict) or entry.get("key") != self.key:
                    continue
                got = cached_row(entry, self.key)
                if got is None:
                    bad += 1
                    continue
                self._entries[got[0]] = (got[1], got[2])
        if bad:
            self._warn(f"{path}: {bad} cache line(s) of this job are not valid rows, ignored (checked again)")
        return tail

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        self.warn(message)

    def _write(self, data: bytes) -> None:
        """Write all of ``data``; on failure warn once and stop writing to the cache."""
        fh = self._fh
        if fh is None:
            return
        view = memoryview(data)
        try:
            while view:
                n = fh.write(view)
                if not n:
                    raise OSError(0, "nothing written")
                view = view[n:]
        except OSError as exc:
            self._fh = None
            with contextlib.suppress(OSError):
                fh.close()
            reason = exc.strerror or str(exc)
            self._warn(f"{self.path}: cannot write the cache ({reason}); going on without it")

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, sha256: str, path: bytes) -> Row | None:
        """The cached row for this content, with this file's path (and name when not from metadata)."""
        entry = self._entries.get(sha256)
        if entry is None:
            return None
        meta_name, cached = entry
        row: Row = dict(cached)
        row["file"] = _display(path)
        row["name"] = meta_name or _stem(path)
        return row

    def put(self, result: TaskResult) -> None:
        """Remember a result (written to the file at once)."""
        sha = result.row.get("sha256")
        if not result.cacheable or not sha:
            return
        self._entries[sha] = (result.meta_name, result.row)
        if self._fh is not None:
            entry = {"key": self.key, "sha256": sha, "meta_name": result.meta_name, "row": result.row}
            try:
                line = json.dumps(entry, ensure_ascii=True, separators=(",", ":"), allow_nan=False) + "\n"
            except ValueError:  # pragma: no cover - rows hold no NaN (report_to_dict rounds them to None)
                return
            self._write(line.encode("ascii"))

    def close(self) -> None:
        """Close the file."""
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()
            self._fh = None

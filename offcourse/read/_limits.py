"""Bounds on what one file may hold, and the cleaning every parsed file goes through once.

Every reader returns its :class:`~offcourse.model.ParsedFile` through :func:`clean_parsed`
(called by :func:`offcourse.read.parse_bytes`), so that whatever the bytes, what leaves
the read layer can be printed, encoded and stored:

* **text** (names, sport, device, creator, waypoint names and kinds, and the strings of
  ``meta.extra``): a lone surrogate (``"\\ud800"``, which JSON's ``\\uXXXX`` escapes can
  produce) cannot be encoded as UTF-8 and would crash every output; each one becomes
  U+FFFD, the replacement character.
* **times** outside the years 1 to 9999 (UTC), which :class:`datetime.datetime` cannot
  show (a GPX ``9999-12-31T23:00:00-01:00``, a GeoJSON ``coordTimes`` of ``1e15``), are
  treated as no time at all (``NaN``), with a warning in ``meta.extra["warnings"]``: the
  fix keeps its position, as a fix without a ``<time>`` does.
* **points**: at most :data:`MAX_POINTS` per file (track points plus named points); the
  readers stop at that count with :class:`~offcourse.errors.FileTooLargeError` before
  collecting more.

>>> clean_text("Jane \\ud800 Doe") == "Jane \\ufffd Doe"
True
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import FileTooLargeError
from ..model import Metadata, ParsedFile, Waypoint

__all__ = [
    "MAX_FIT_FALLBACK_BYTES",
    "MAX_JSON_BYTES",
    "MAX_POINTS",
    "MAX_TIME_S",
    "MIN_TIME_S",
    "clean_parsed",
    "clean_text",
    "clean_value",
    "terminal_text",
    "too_many_points",
]

MAX_POINTS = 2_000_000
"""Most points (track or route points plus named points) read from one file: 23 days at 1 Hz
(the longest races, 150 hours, are about 540,000). The readers collect Python lists before the
arrays are made, about 200 bytes a point: this bounds a file's memory to about 0.6 GB (5 million
points of GeoJSON took 1.3 GB)."""

MAX_JSON_BYTES = 32 * 1024 * 1024
"""Largest (decompressed) GeoJSON or LiveTrail document (a day at 1 Hz with times is about 6 MB).
JSON is decoded whole into Python objects, which take 5 to 20 times the text's size; with at most
:data:`MAX_POINTS` lists (``[``) in the text, checked before decoding, the memory stays under
about 0.6 GB whatever the content (a 64 MiB document of ``[0,0],`` took 1.3 GB)."""

MAX_FIT_FALLBACK_BYTES = 8 * 1024 * 1024
"""Largest FIT file given to the slow pure-Python decoder (fitdecode) when the fast decoder cannot
read it: two days of 1 Hz records. fitdecode reads 0.1 to 1 MB/s (15 MiB of records took 149 s on
a loaded two-core machine; 512 MiB took ten minutes on a quick one)."""

MIN_TIME_S = -62135596800.0
"""0001-01-01T00:00:00Z in seconds since the Unix epoch: the earliest time ``datetime`` can show."""

MAX_TIME_S = 253402300800.0
"""10000-01-01T00:00:00Z: times from here on cannot be shown by ``datetime``."""

_SURROGATE = re.compile("[\ud800-\udfff]")


_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udc7f\udd00-\udfff]")


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def terminal_text(text: str) -> str:
    r"""``text`` safe to print on a terminal: control characters shown as escapes.

    C0 controls but the line feed (ESC starts the sequences that recolour, move the cursor
    or set the window title), DEL, C1 controls, the bidirectional overrides (which make
    text read backwards) and lone surrogates become ``\xNN`` or ``\uNNNN``; but not U+DC80 to
    U+DCFF, the bytes of a file name that is not UTF-8 as ``os.fsdecode`` gives them, which print
    as those bytes (``surrogateescape``).

    >>> terminal_text("Ann\x1b[2J\u202eevil\nnext")
    'Ann\\x1b[2J\\u202eevil\nnext'
    """
    return _CONTROL.sub(_escape, text)


def too_many_points(path: str | None, bound: int | None = None) -> FileTooLargeError:
    """The error of a file holding more than ``bound`` (default :data:`MAX_POINTS`) points."""
    return FileTooLargeError(f"more than {MAX_POINTS if bound is None else bound} points in one file", path=path)


def clean_text(text: str) -> str:
    """``text`` with each lone surrogate (not encodable as UTF-8) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def clean_value(value: Any) -> Any:
    """``value`` with :func:`clean_text` applied to every string in it (dict keys, lists, tuples)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_value(k): clean_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(clean_value(v) for v in value)
    return value


def _opt(text: str | None) -> str | None:
    return None if text is None else clean_text(text)


def _time_ok(epoch_s: float) -> bool:
    return not math.isfinite(epoch_s) or MIN_TIME_S <= epoch_s < MAX_TIME_S


def clean_parsed(parsed: ParsedFile, path: str | None = None) -> ParsedFile:
    """Apply the bounds and the cleaning described in the module docstring.

    Raises
    ------
    FileTooLargeError
        More than :data:`MAX_POINTS` points and named points.
    """
    track = parsed.track
    if len(track) + len(parsed.waypoints) > MAX_POINTS:
        raise too_many_points(path or track.meta.path)
    meta = track.meta
    warnings: list[str] = []
    epoch = track.epoch_s
    with np.errstate(invalid="ignore"):
        bad = np.isfinite(epoch) & ((epoch < MIN_TIME_S) | (epoch >= MAX_TIME_S))
    n_bad = int(bad.sum())
    if n_bad:
        warnings.append(f"{n_bad} time(s) outside the years 1 to 9999 treated as no time")
        epoch = epoch.copy()
        epoch[bad] = math.nan
    waypoints: list[Waypoint] = []
    wpt_bad = 0
    for w in parsed.waypoints:
        t = w.epoch_s
        if not _time_ok(t):
            t = math.nan
            wpt_bad += 1
        waypoints.append(replace(w, name=clean_text(w.name), kind=_opt(w.kind), epoch_s=t))
    if wpt_bad:
        warnings.append(f"{wpt_bad} waypoint time(s) outside the years 1 to 9999 treated as no time")
    extra = clean_value(meta.extra)
    if warnings:
        extra["warnings"] = [*extra.get("warnings", []), *warnings]
    new_meta = Metadata(
        format=meta.format,
        path=meta.path,
        name=_opt(meta.name),
        device=_opt(meta.device),
        sport=_opt(meta.sport),
        creator=_opt(meta.creator),
        kind=_opt(meta.kind),
        extra=extra,
    )
    new_track = replace(track, epoch_s=epoch, meta=new_meta)
    return ParsedFile(track=new_track, waypoints=tuple(waypoints))

"""The outputs of a batch: severity order, CSV, JSON, GeoJSON, the table and the progress bar.

Part of :mod:`offcourse.batch` (which re-exports every public name). Files are written through a
temporary file beside them, removed whatever goes wrong.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import OffcourseError
from ..read._limits import clean_text, terminal_text
from ..verdict import VerdictKind
from .inputs import ROW_KEYS, Row, _display

if TYPE_CHECKING:
    from .scheduler import BatchResult

__all__ = [
    "OnRow",
    "atomic_write_text",
    "csv_cell",
    "geojson_features",
    "rows_to_csv",
    "rows_to_geojson",
    "rows_to_json",
    "rows_to_table",
    "sort_rows",
    "split_antimeridian",
    "tqdm_progress",
]

OnRow = Callable[[Row, bool], None]
"""Called once per row as it is known: ``(row, from_cache)``."""

# --------------------------------------------------------------------------- output

_VERDICT_ORDER = {k.value: i for i, k in enumerate(VerdictKind)}


def _severity(row: Row) -> tuple[Any, ...]:
    if row["status"] != "ok":
        return (len(_VERDICT_ORDER) + 1, 0.0, 0.0, 0.0, row["file"])
    return (
        _VERDICT_ORDER.get(row.get("verdict") or "", len(_VERDICT_ORDER)),
        -((row["skipped_m"] or 0.0) + (row["wrong_way_m"] or 0.0)),
        -(row["extra_distance_m"] or 0.0),
        -(row["excursions"] or 0),
        row["file"],
    )


def sort_rows(rows: Iterable[Row]) -> list[Row]:
    """Most severe first, by verdict: cuts, then wrong way, then lost, did not finish, partial, on
    course, not this route, not judged; error rows last. Within a verdict, the most route bypassed
    or run the wrong way, then the most extra distance. Ties (and error rows) are in file order.
    """
    return sorted(rows, key=_severity)


def _atomic_write(path: str | os.PathLike[str], write: Callable[[IO[str]], None]) -> None:
    """Write a text file through a temporary file beside it, so no half-written output remains."""
    target = Path(os.fsdecode(path))
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", errors="replace", newline="") as fh:
            write(fh)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise OffcourseError(f"cannot write: {exc.strerror or exc}", path=str(target)) from None
    except BaseException:  # an encoding bug, Ctrl-C: never leave the temporary file behind
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file beside it."""

    def write(fh: IO[str]) -> None:
        fh.write(text)

    _atomic_write(path, write)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_cell(v: Any) -> Any:
    """A value as a CSV cell; text a spreadsheet would run as a formula is neutralised.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a line break (a runner's name,
    a file name, an error message) gets a single quote in front, as OWASP advises
    against CSV injection; numbers are left as they are.

    >>> [csv_cell(v) for v in ("=HYPERLINK(1)", "-run.gpx", -12.5, None, True, "Ann")]
    ["'=HYPERLINK(1)", "'-run.gpx", -12.5, '', 'true', 'Ann']
    """
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        v = clean_text(v)
        if v.startswith(_FORMULA_START):
            return "'" + v
    return v


def rows_to_csv(rows: Iterable[Row], path: str | os.PathLike[str] | IO[str]) -> None:
    """Write rows as CSV (every key but ``excursion_list``), in the order given."""
    cols = [k for k in ROW_KEYS if k != "excursion_list"]

    def write(fh: IO[str]) -> None:
        w = csv.writer(fh, lineterminator="\n")
        quoted = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_ALL)
        w.writerow(cols)
        for row in rows:
            cells = [csv_cell(row.get(k)) for k in cols]
            # the minimal writer quotes a cell holding "\n" but not one holding "\r", which readers take for
            # the end of the line: such a row is written with every cell quoted
            (quoted if any(isinstance(c, str) and "\r" in c for c in cells) else w).writerow(cells)

    if isinstance(path, str | os.PathLike):
        _atomic_write(path, write)
    else:
        write(path)


def _job_dict(result: BatchResult) -> dict[str, Any]:
    return {
        "route": {
            "path": _display(result.spec.route_path),
            "name": result.route.name,
            "sha256": result.spec.route_sha256,
            "length_m": round(result.route.length_m, 1),
        },
        "options": asdict(result.spec.options),
        "summary": result.summary(),
    }


def rows_to_json(result: BatchResult, path: str | os.PathLike[str]) -> None:
    """Write ``{"route", "options", "summary", "rows"}``, rows most severe first."""
    doc = {**_job_dict(result), "rows": sort_rows(result.rows)}
    _atomic_write(path, lambda fh: json.dump(doc, fh, ensure_ascii=False, indent=1))


def split_antimeridian(coords: list[list[float]]) -> list[list[list[float]]]:
    """Cut a line where it crosses the antimeridian (RFC 7946, 3.1.9): the parts, each within [-180, 180].

    A step of more than 180 degrees of longitude is taken as the short way across ±180°; the
    crossing point (latitude interpolated) ends one part and starts the next.

    >>> split_antimeridian([[179.0, 10.0], [-179.0, 12.0]])
    [[[179.0, 10.0], [180.0, 11.0]], [[-180.0, 11.0], [-179.0, 12.0]]]
    """
    parts: list[list[list[float]]] = [[]]
    prev: list[float] | None = None
    for c in coords:
        if prev is not None and abs(c[0] - prev[0]) > 180.0:
            east = prev[0] > 0  # leaving through +180 (eastwards) or -180
            x0 = prev[0]
            x1 = c[0] + 360.0 if east else c[0] - 360.0
            edge = 180.0 if east else -180.0
            f = (edge - x0) / (x1 - x0) if x1 != x0 else 0.0
            lat = round(prev[1] + f * (c[1] - prev[1]), 7)
            parts[-1].append([edge, lat])
            parts.append([[-edge, lat]])
        parts[-1].append(c)
        prev = c
    return parts


def _line_geometry(coords: list[list[float]]) -> dict[str, Any] | None:
    if not coords:
        return None
    if len(coords) == 1:
        coords = [coords[0], coords[0]]
    parts = split_antimeridian(coords)
    if len(parts) == 1:
        return {"type": "LineString", "coordinates": coords}
    return {"type": "MultiLineString", "coordinates": parts}


def geojson_features(rows: Iterable[Row]) -> list[dict[str, Any]]:
    """Every excursion as a LineString Feature; properties: the file, the runner and the excursion's fields.

    A geometry of a single point is written as a two-point line; one without points is ``null``.
    A line crossing the antimeridian is cut there into a MultiLineString (RFC 7946, 3.1.9).
    """
    feats: list[dict[str, Any]] = []
    for row in rows:
        for k, exc in enumerate(row.get("excursion_list") or [], 1):
            coords = exc.get("coordinates") or []
            props = {"file": row["file"], "name": row["name"], "sha256": row["sha256"], "number": k}
            props.update((key, v) for key, v in exc.items() if key != "coordinates")
            geometry = _line_geometry(coords)
            feats.append({"type": "Feature", "properties": props, "geometry": geometry})
    return feats


def rows_to_geojson(rows: Iterable[Row], path: str | os.PathLike[str]) -> None:
    """Write a GeoJSON FeatureCollection of every excursion (QGIS, geojson.io)."""
    doc = {"type": "FeatureCollection", "features": geojson_features(rows)}
    _atomic_write(path, lambda fh: json.dump(doc, fh, ensure_ascii=False))


def _hms(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _cut(text: str, width: int, *, keep_end: bool = False) -> str:
    if len(text) <= width:
        return text
    return "…" + text[-(width - 1) :] if keep_end else text[: width - 1] + "…"


def _m(v: float | None, sign: bool = False) -> str:
    if v is None:
        return ""
    return f"{v:+.0f}" if sign and v else f"{v:.0f}"


def _pct(v: float | None) -> str:
    return "" if v is None else f"{100 * v:.0f} %"


def rows_to_table(rows: Iterable[Row], *, name_width: int = 24, file_width: int = 36) -> str:
    """A table for people, one line per row in the order given (use :func:`sort_rows` first)."""
    head = (
        f"{'#':>4}  {'runner':<{name_width}}  {'file':<{file_width}}  {'fixes':>7}  {'time':>8}  {'km':>6}  "
        f"{'verdict':<14}  {'exc':>3}  {'extra m':>7}  {'off course':>10}  {'skipped m':>9}  {'wrong-way m':>11}  "
        "covered"
    )
    lines = [head]
    for n, row in enumerate(rows, 1):
        name = _cut(row["name"] or "", name_width)
        file = _cut(row["file"], file_width, keep_end=True)
        if row["status"] != "ok":
            lines.append(f"{n:>4}  {name:<{name_width}}  {file:<{file_width}}  error: {row['error']}")
            continue
        km = "" if row["distance_m"] is None else f"{row['distance_m'] / 1000:.2f}"
        lines.append(
            f"{n:>4}  {name:<{name_width}}  {file:<{file_width}}  {row['fixes']:>7}  {_hms(row['duration_s']):>8}  "
            f"{km:>6}  {(row.get('verdict') or '').replace('_', ' '):<14}  {row['excursions']:>3}  "
            f"{_m(row['extra_distance_m'], True):>7}  "
            f"{_hms(row['time_off_course_s']):>10}  {_m(row['skipped_m']):>9}  {_m(row['wrong_way_m']):>11}  "
            f"{_pct(row.get('coverage'))}"
        )
    return terminal_text("\n".join(lines))


def tqdm_progress(total: int, *, enabled: bool | None = None, stream: IO[str] | None = None) -> tuple[OnRow, Any]:
    """A tqdm progress bar (files done, fixes/s, ETA) as an ``on_row`` callback.

    Parameters
    ----------
    total : int
        Number of rows to come.
    enabled : bool, optional
        Default: only when ``stream`` is a terminal.
    stream : file, optional
        Default ``sys.stderr``.

    Returns
    -------
    on_row, bar
        The callback for :func:`run_batch`, and the bar to ``close()`` (``None`` when disabled).
    """
    stream = stream or sys.stderr
    if enabled is None:
        enabled = stream.isatty()
    if not enabled:
        return (lambda row, from_cache: None), None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="file", file=stream, dynamic_ncols=True, smoothing=0.1)
    t0 = time.perf_counter()
    fixes = [0]

    def on_row(row: Row, from_cache: bool) -> None:
        if not from_cache and row["status"] == "ok":
            fixes[0] += int(row["fixes"] or 0)
        dt = max(time.perf_counter() - t0, 1e-9)
        bar.set_postfix_str(f"{fixes[0] / dt:,.0f} fixes/s", refresh=False)
        bar.update(1)

    return on_row, bar

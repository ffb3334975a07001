"""The files of a batch: severity order, the CSV sheets, JSON and GeoJSON.

Part of :mod:`offcourse.batch` (which re-exports every public name). Files are written through a
temporary file beside them, removed whatever goes wrong. The CSV sheets are for people (a
:class:`~offcourse.present.Style`'s units and zone, ``h:mm:ss``, UTF-8 with a byte-order mark so
that spreadsheets show accents); JSON and GeoJSON stay SI and UTC.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import OffcourseError
from ..model import Route
from ..present import KIND_COLOUR, KIND_WORDS, METRES_PER_FOOT, VERDICT_WORDS, Style, Units, hms
from ..read._limits import clean_text
from ..verdict import VerdictKind
from .inputs import Row, _display
from .words import finding_text, flags_text, publish_names, publish_rows, reason_text, where_text, worst_of

if TYPE_CHECKING:
    from .scheduler import BatchResult

__all__ = [
    "EXCURSION_COLUMNS",
    "RUNNER_COLUMNS",
    "atomic_write_text",
    "csv_cell",
    "excursions_to_csv",
    "geojson_features",
    "route_features",
    "rows_to_csv",
    "rows_to_geojson",
    "rows_to_json",
    "sort_rows",
    "split_antimeridian",
]

# --------------------------------------------------------------------------- output

_VERDICT_ORDER = {k.value: i for i, k in enumerate(VerdictKind)}


def _severity(row: Row) -> tuple[Any, ...]:
    if row["status"] != "ok":  # errors, then files that are no recording at all
        junk = row.get("error_kind") in ("not_gps", "not_a_recording")
        return (len(_VERDICT_ORDER) + 1 + junk, 0.0, 0.0, 0.0, row["file"])
    return (
        _VERDICT_ORDER.get(row.get("verdict") or "", len(_VERDICT_ORDER)),
        -((row["skipped_m"] or 0.0) + (row["wrong_way_m"] or 0.0)),
        -(row["extra_distance_m"] or 0.0),
        -(row["excursions"] or 0),
        row["file"],
    )


def sort_rows(rows: Iterable[Row]) -> list[Row]:
    """Most severe first, by verdict: cuts, then wrong way, then lost, did not finish, partial, on
    course, not this route, not judged; error rows last, files that are no recording at all after
    them. Within a verdict, the most route bypassed or run the wrong way, then the most extra
    distance. Ties (and error rows) are in file order.
    """
    return sorted(rows, key=_severity)


def _atomic_write(path: str | os.PathLike[str], write: Callable[[IO[str]], None], *, encoding: str = "utf-8") -> None:
    """Write a text file through a temporary file beside it, so no half-written output remains."""
    target = Path(os.fsdecode(path))
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding=encoding, errors="replace", newline="") as fh:
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


def _sheet(header: list[str], lines: Iterable[list[Any]], path: str | os.PathLike[str] | IO[str], bom: bool) -> None:
    def write(fh: IO[str]) -> None:
        w = csv.writer(fh, lineterminator="\n")
        quoted = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_ALL)
        w.writerow(header)
        for line in lines:
            cells = [csv_cell(v) for v in line]
            # the minimal writer quotes a cell holding "\n" but not one holding "\r", which readers take for
            # the end of the line: such a row is written with every cell quoted
            (quoted if any(isinstance(c, str) and "\r" in c for c in cells) else w).writerow(cells)

    if isinstance(path, str | os.PathLike):
        _atomic_write(path, write, encoding="utf-8-sig" if bom else "utf-8")
    else:
        write(path)


def _n(v: Any, digits: int = 0) -> float | int | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or v != v or abs(v) == float("inf"):
        return None
    return round(float(v)) if digits == 0 else round(float(v), digits)


def _short_unit(style: Style) -> tuple[str, float]:
    return ("ft", METRES_PER_FOOT) if style.units == Units.MI else ("m", 1.0)


def _hms_or_blank(v: Any) -> str:
    n = _n(v)
    return "" if n is None else hms(n)


RUNNER_COLUMNS = (
    "rank", "name", "bib", "verdict", "verdict_reason", "worst_finding", "excursions", "extra_{s}",
    "time_off_course", "skipped_{s}", "wrong_way_{s}", "covered_pct", "completed", "distance_{l}",
    "duration", "start_time", "fixes", "flags", "status", "error", "file",
)  # fmt: skip
"""The runners sheet's columns (``{s}``: m or ft, ``{l}``: km or mi)."""


def rows_to_csv(
    rows: Iterable[Row],
    path: str | os.PathLike[str] | IO[str],
    *,
    style: Style | None = None,
    bom: bool = True,
) -> None:
    """Write the runners sheet: one line per row, in the order given (use :func:`sort_rows` first).

    Distances in the style's units (``extra_m`` or ``extra_ft``, ``distance_km`` or ``distance_mi``),
    durations as ``h:mm:ss``, the start in the style's zone, the verdict in words and the worst
    finding located by the checkpoints around it. A path is written in UTF-8 with a byte-order mark
    unless ``bom`` is false (a stream gets none). Text that would start a formula is neutralised.
    """
    style = style or Style()
    rows = publish_rows(list(rows))
    short, per = _short_unit(style)
    header = [c.format(s=short, l=style.long_unit) for c in RUNNER_COLUMNS]

    def lines() -> Iterable[list[Any]]:
        for rank, row in enumerate(rows, 1):
            ok = row.get("status") == "ok"
            worst = worst_of(row)
            dist = _n(row.get("distance_m"))
            cov = _n(row.get("coverage"), 4)
            verdict = str(row.get("verdict") or "")
            yield [
                rank,
                row.get("name"),
                row.get("bib"),
                VERDICT_WORDS.get(verdict, verdict) if ok else "ERROR",
                reason_text(row, style) if ok else None,
                "" if worst is None else finding_text(worst, style),
                row.get("excursions"),
                *(_n(None if _n(row.get(k)) is None else float(row[k]) / per) for k in ("extra_distance_m",)),
                _hms_or_blank(row.get("time_off_course_s")),
                *(_n(None if _n(row.get(k)) is None else float(row[k]) / per) for k in ("skipped_m", "wrong_way_m")),
                None if cov is None else round(100 * cov, 1),
                row.get("completed"),
                None if dist is None else round(style.long(dist), 3),
                _hms_or_blank(row.get("duration_s")),
                _local_time(row.get("start_time"), style),
                row.get("fixes"),
                flags_text(row, style),
                row.get("status"),
                row.get("error"),
                row.get("file"),
            ]

    _sheet(header, lines(), path, bom)


def _local_time(iso: Any, style: Style) -> str | None:
    if not isinstance(iso, str):
        return None
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return style.time(t.timestamp())


EXCURSION_COLUMNS = (
    "rank", "name", "bib", "verdict", "number", "kind", "where", "exit", "rejoin", "checkpoint_before",
    "checkpoint_after", "distance_{s}", "extra_{s}", "route_bypassed_{s}", "max_offset_{s}", "time_lost",
    "start_time", "end_time", "file",
)  # fmt: skip
"""The excursions sheet's columns (``{s}``: m or ft)."""


def excursions_to_csv(
    rows: Iterable[Row],
    path: str | os.PathLike[str] | IO[str],
    *,
    style: Style | None = None,
    bom: bool = True,
) -> None:
    """Write the excursions sheet: one line per excursion (and skipped section) of every row.

    ``rank`` is the row's line in the runners sheet (rows in the same order), ``where`` the place
    along the route with the checkpoints around it.
    """
    style = style or Style()
    rows = publish_rows(list(rows))
    short, per = _short_unit(style)
    header = [c.format(s=short) for c in EXCURSION_COLUMNS]

    def cp(e: dict[str, Any], side: str) -> str | None:
        b = e.get("between")
        c = b.get(side) if isinstance(b, dict) else None
        if not isinstance(c, dict):
            return None
        return f"{c.get('name')} ({style.route_position(_n(c.get('route_m'), 1), 1)})"

    def size(e: dict[str, Any], key: str) -> float | int | None:
        v = _n(e.get(key), 1)
        return None if v is None else _n(v / per)

    def lines() -> Iterable[list[Any]]:
        for rank, row in enumerate(rows, 1):
            verdict = str(row.get("verdict") or "")
            for k, e in enumerate(row.get("excursion_list") or [], 1):
                if not isinstance(e, dict):
                    continue
                kind = str(e.get("kind") or "")
                yield [
                    rank,
                    row.get("name"),
                    row.get("bib"),
                    VERDICT_WORDS.get(verdict, verdict),
                    k,
                    KIND_WORDS.get(kind, kind),
                    where_text(e, style),
                    style.route_position(_n(e.get("exit_route_m"), 1)),
                    style.route_position(_n(e.get("rejoin_route_m"), 1))
                    if e.get("rejoin_route_m") is not None
                    else None,
                    cp(e, "before"),
                    cp(e, "after"),
                    size(e, "distance_m"),
                    size(e, "extra_distance_m"),
                    size(e, "route_bypassed_m"),
                    size(e, "max_offset_m"),
                    _hms_or_blank(e.get("time_lost_s")),
                    _local_time(e.get("start_time"), style),
                    _local_time(e.get("end_time"), style),
                    row.get("file"),
                ]

    _sheet(header, lines(), path, bom)


def _job_dict(result: BatchResult) -> dict[str, Any]:
    summary = result.summary()
    if summary.get("cache"):
        summary["cache"] = publish_names([summary["cache"]])[0]
    return {
        "route": {
            "path": publish_names([_display(result.spec.route_path)])[0],
            "name": result.route.name,
            "sha256": result.spec.route_sha256,
            "length_m": round(result.route.length_m, 1),
        },
        "options": asdict(result.spec.options),
        "summary": summary,
    }


def rows_to_json(result: BatchResult, path: str | os.PathLike[str]) -> None:
    """Write ``{"route", "options", "summary", "rows"}``, rows most severe first."""
    doc = {**_job_dict(result), "rows": publish_rows(sort_rows(result.rows))}
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
    """Every excursion as a LineString Feature; properties: the file, the runner, the excursion's fields,
    and simplestyle (``stroke``, ``stroke-width``, ``marker-color``) by kind for geojson.io and QGIS.

    A geometry of a single point is written as a two-point line; one without points is ``null``.
    A line crossing the antimeridian is cut there into a MultiLineString (RFC 7946, 3.1.9).
    """
    feats: list[dict[str, Any]] = []
    for row in rows:
        for k, exc in enumerate(row.get("excursion_list") or [], 1):
            coords = exc.get("coordinates") or []
            props = {
                "role": "excursion",
                "file": row["file"],
                "name": row["name"],
                "sha256": row["sha256"],
                "number": k,
            }
            props.update((key, v) for key, v in exc.items() if key != "coordinates")
            colour = KIND_COLOUR.get(str(exc.get("kind")), "#d62728")
            props.update({"stroke": colour, "stroke-width": 3, "stroke-opacity": 0.9, "marker-color": colour})
            geometry = _line_geometry(coords)
            feats.append({"type": "Feature", "properties": props, "geometry": geometry})
    return feats


ROUTE_COLOUR = "#555555"
"""The route's stroke in GeoJSON (simplestyle)."""


def route_features(route: Route) -> list[dict[str, Any]]:
    """The route as a LineString Feature (cut at ±180°) and its checkpoints as Point Features."""
    coords = [[round(x, 7), round(y, 7)] for x, y in zip(route.lon.tolist(), route.lat.tolist(), strict=True)]
    props = {
        "role": "route",
        "name": route.name,
        "length_m": round(route.length_m, 1),
        "stroke": ROUTE_COLOUR,
        "stroke-width": 4,
        "stroke-opacity": 0.6,
    }
    feats: list[dict[str, Any]] = [{"type": "Feature", "properties": props, "geometry": _line_geometry(coords)}]
    for cp in route.checkpoints:
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "role": "checkpoint",
                    "name": clean_text(cp.name),
                    "route_m": round(cp.route_m, 1),
                    "marker-color": ROUTE_COLOUR,
                    "marker-size": "small",
                },
                "geometry": {"type": "Point", "coordinates": [round(cp.lon, 7), round(cp.lat, 7)]},
            }
        )
    return feats


def rows_to_geojson(rows: Iterable[Row], path: str | os.PathLike[str], *, route: Route | None = None) -> None:
    """Write a GeoJSON FeatureCollection (QGIS, geojson.io): the route and its checkpoints first when
    given, then every excursion styled by kind."""
    feats = route_features(route) if route is not None else []
    doc = {"type": "FeatureCollection", "features": [*feats, *geojson_features(publish_rows(list(rows)))]}
    _atomic_write(path, lambda fh: json.dump(doc, fh, ensure_ascii=False))

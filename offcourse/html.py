"""One self-contained HTML page for a whole race field.

:func:`field_page` turns the batch's rows (one per recording) into a single page a
race director can open from a USB stick: a table of the field that sorts when a
header is clicked (numbers as numbers), an overview of the route with every place
a runner left it, and beside each flagged runner a small picture of each of their
excursions (the route nearby in grey, the runner's path in red).

Everything is inline — CSS, SVG, a few lines of script — and the page's
Content-Security-Policy forbids any network access, so it never loads anything.
All text from the recordings (names, file names, error messages) is escaped.

Examples
--------
>>> from offcourse.model import Route
>>> route = Route.from_arrays(lon=[7.0, 7.01], lat=[46.0, 46.0], name="Demo")
>>> row = {"file": "a.gpx", "name": "<b>Ann</b>", "status": "ok", "excursions": 0}
>>> page = field_page([row], route)
>>> page.startswith("<!DOCTYPE html>"), "&lt;b&gt;Ann&lt;/b&gt;" in page, "<b>Ann" in page
(True, True, False)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

import numpy as np

from .batch.words import finding_text, flags_text, publish_rows, reason_text, where_text, worst_of
from .errors import OffcourseError
from .model import FloatArray, Route
from .plot import clip_to_box, format_label, length_text, nice_length, simplify_xy
from .present import KIND_WORDS, VERDICT_WORDS, Style, hms

__all__ = ["MAX_PICTURES", "excursion_svg", "field_page", "route_overview_svg"]

MAX_PICTURES = 6
"""Pictures drawn per runner at most; further excursions are noted as ``+N more``."""

KIND_CLASS = {"off_course": "off", "wrong_direction": "ww", "skipped_section": "skip"}

CSS = """
:root { --ink: #1c2833; --muted: #5d6d7e; --line: #d5dbdb; --route: #9aa5b1; --off: #d62728;
        --ww: #8e44ad; --skip: #e67e22; --ok: #1e8449; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       margin: 1.2rem; max-width: 100%; }
h1 { font-size: 1.4rem; margin: 0 0 .2rem; }
p.sub { color: var(--muted); margin: 0 0 1rem; }
.top { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; margin-bottom: 1rem; }
dl.stats { display: grid; grid-template-columns: auto auto; gap: .15rem 1rem; margin: 0; }
dl.stats dt { color: var(--muted); } dl.stats dd { margin: 0; font-weight: 600; text-align: right; }
figure { margin: 0; }
figcaption { font-size: 12px; color: var(--muted); }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
thead th { position: sticky; top: 0; background: #f4f6f7; border-bottom: 2px solid var(--line);
           text-align: left; vertical-align: bottom; padding: 0; }
th button { font: inherit; font-weight: 600; background: none; border: 0; padding: .45rem .5rem; cursor: pointer;
            color: inherit; text-align: inherit; width: 100%; }
th[data-type="num"] button { text-align: right; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
th.pics { padding: .45rem .5rem; }
td { border-bottom: 1px solid var(--line); padding: .35rem .5rem; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.file { color: var(--muted); font-size: 12px; word-break: break-all; min-width: 6rem; max-width: 12rem; }
td.start { min-width: 5.5rem; }
td.where { min-width: 8rem; max-width: 16rem; overflow-wrap: break-word; }
td.notes { min-width: 9rem; max-width: 16rem; overflow-wrap: break-word; }
tr.error td, tr.junk td { background: #fdedec; }
tr.junk td { color: var(--muted); }
tr.flagged td.name { font-weight: 600; }
td.err { color: #922b21; overflow-wrap: anywhere; white-space: normal; max-width: 22rem; }
td.notes { color: #7e5109; font-size: 12px; }
.pics-row { display: flex; flex-wrap: wrap; gap: .4rem; }
td.pics { min-width: 160px; max-width: 24rem; }
details summary { cursor: pointer; color: var(--ink); }
details ol { margin: .3rem 0 .4rem 1.2rem; padding: 0; font-size: 12px; }
details li { margin: .1rem 0; }
.pic { width: 120px; }
.pic figcaption { line-height: 1.2; margin-top: 2px; }
.more { color: var(--muted); font-size: 12px; align-self: center; }
svg { display: block; overflow: hidden; }
svg .bg { fill: #fbfcfc; stroke: var(--line); }
svg .route { fill: none; stroke: var(--route); stroke-width: 4; stroke-linecap: round; stroke-linejoin: round; }
svg .route.thin { stroke-width: 2; }
svg .path { fill: none; stroke-width: 2; stroke-linejoin: round; }
svg .off { stroke: var(--off); } svg .ww { stroke: var(--ww); }
svg .skip { stroke: var(--skip); stroke-dasharray: 5 3; }
svg .exit { fill: #fff; stroke: var(--off); stroke-width: 2; }
svg .rejoin { fill: #fff; stroke: var(--ok); stroke-width: 2; }
svg .spot { fill: var(--off); fill-opacity: .55; stroke: #fff; stroke-width: .8; }
svg .start { fill: var(--ok); } svg .finish { fill: var(--ink); }
svg .bar { stroke: var(--ink); stroke-width: 2; }
svg text { font: 10px system-ui, sans-serif; fill: var(--ink); }
.yes { color: var(--ok); } .no { color: #c0392b; }
"""

SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("field");
  var body = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  function key(row, i, num) {
    var cell = row.cells[i];
    var v = cell.getAttribute("data-v");
    if (v === null) { v = cell.textContent; }
    if (num) { return v === "" ? NaN : parseFloat(v); }
    return v.toLowerCase();
  }
  heads.forEach(function (th, i) {
    var button = th.querySelector("button");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var num = th.getAttribute("data-type") === "num";
      var now = th.getAttribute("aria-sort");
      // numbers: largest first on the first click (the worst at the top); text: A to Z
      var asc = now ? now !== "ascending" : !num;
      var dir = asc ? 1 : -1;
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a, i, num), y = key(b, i, num);
        if (num) {
          var xn = isNaN(x), yn = isNaN(y);
          if (xn || yn) { return xn === yn ? 0 : (xn ? 1 : -1); }  // blanks last either way
          return dir * (x - y);
        }
        return dir * x.localeCompare(y);
      });
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var frag = document.createDocumentFragment();
      rows.forEach(function (r) { frag.appendChild(r); });
      body.appendChild(frag);
    });
  });
}());
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


# -- values from untrusted rows ------------------------------------------------------------------
def _num(v: Any) -> float | None:
    """A finite number, or ``None`` (booleans, strings and NaN are not numbers here)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _text(v: Any) -> str:
    return "" if v is None else str(v)


def _lonlat(v: Any) -> tuple[float, float] | None:
    if isinstance(v, Sequence) and not isinstance(v, str) and len(v) >= 2:
        lon, lat = _num(v[0]), _num(v[1])
        if lon is not None and lat is not None and abs(lon) <= 180 and abs(lat) <= 90:
            return lon, lat
    return None


# -- SVG -------------------------------------------------------------------------------------------
def _path_d(x: FloatArray, y: FloatArray) -> str:
    """SVG path data, one ``M ... L ...`` run per stretch between NaN breaks."""
    parts: list[str] = []
    pen_up = True
    for xi, yi in zip(x.tolist(), y.tolist(), strict=True):
        if not (math.isfinite(xi) and math.isfinite(yi)):
            pen_up = True
            continue
        parts.append(f"{'M' if pen_up else 'L'}{xi:.1f} {yi:.1f}")
        pen_up = False
    return "".join(parts)


class _Frame:
    """Metres in the route's projection to SVG pixels (y down) inside a ``w`` x ``h`` picture."""

    def __init__(self, box: tuple[float, float, float, float], w: float, h: float) -> None:
        x0, x1, y0, y1 = box
        self.k = min(w / max(x1 - x0, 1e-9), h / max(y1 - y0, 1e-9))
        # centre the box
        self.x0 = (x0 + x1) / 2 - w / 2 / self.k
        self.y1 = (y0 + y1) / 2 + h / 2 / self.k
        self.w, self.h = w, h

    def xy(self, x: Any, y: Any) -> tuple[FloatArray, FloatArray]:
        return (
            (np.asarray(x, dtype=np.float64) - self.x0) * self.k,
            (self.y1 - np.asarray(y, dtype=np.float64)) * self.k,
        )

    def scale_bar(self, style: Style | None = None) -> str:
        if style is None:
            length = nice_length(self.w / self.k / 4.0)
            text = length_text(length)
        else:
            length, text = style.scale_bar(self.w / self.k / 4.0)
        px = length * self.k
        y = self.h - 7
        return (
            f'<line class="bar" x1="6" y1="{y}" x2="{6 + px:.1f}" y2="{y}"/>'
            f'<text x="6" y="{y - 4}">{escape(text)}</text>'
        )


def _project(route: Route, pts: list[tuple[float, float]]) -> tuple[FloatArray, FloatArray]:
    if not pts:
        return np.zeros(0), np.zeros(0)
    a = np.asarray(pts, dtype=np.float64)
    try:
        return route.projection.forward(a[:, 0], a[:, 1])
    except OffcourseError:  # antipodal or otherwise unprojectable: nothing to draw
        return np.zeros(0), np.zeros(0)


def excursion_svg(
    route: Route, excursion: Mapping[str, Any], number: int, *, size: int = 120, style: Style | None = None
) -> str:
    """A small picture of one excursion: the route nearby in grey, the runner's path in colour.

    Parameters
    ----------
    route : Route
        The official route; its projection places the picture (y up is north).
    excursion : mapping
        One item of a batch row's ``excursion_list``: the keys of
        :func:`offcourse.report.report_to_dict`'s excursions plus ``coordinates``
        (``[[lon, lat], ...]`` of the runner's fixes during the excursion).
    number : int
        The excursion's number for the runner, from 1.
    size : int
        Width and height in CSS pixels.
    style : Style, optional
        Units of the label and the scale bar (default kilometres and metres).

    Returns
    -------
    str
        An inline ``<svg>`` element (no namespace declaration needed inside HTML), with a ``<title>``.
    """
    kind = _text(excursion.get("kind"))
    exit_m = _num(excursion.get("exit_route_m")) or 0.0
    rejoin_m = _num(excursion.get("rejoin_route_m"))
    coords = excursion.get("coordinates") or []
    pts = [p for p in (_lonlat(c) for c in coords) if p is not None] if isinstance(coords, Sequence) else []
    px, py = _project(route, pts)
    if kind == "skipped_section" or len(px) == 0:
        lo, hi = sorted((exit_m, rejoin_m if rejoin_m is not None else exit_m))
        px, py = route.point_at(np.linspace(lo, hi, max(2, min(400, int((hi - lo) / 10.0) + 2))))
    ends = [p for p in (_lonlat(excursion.get("exit")), _lonlat(excursion.get("rejoin"))) if p is not None]
    ex, ey = _project(route, ends if kind == "off_course" else [])
    allx = np.concatenate([px, ex])
    ally = np.concatenate([py, ey])
    half = max(float(np.ptp(allx)), float(np.ptp(ally))) / 2 * 1.25 + 25.0
    half = max(half, 100.0)
    cx, cy = (float(allx.max()) + float(allx.min())) / 2, (float(ally.max()) + float(ally.min())) / 2
    box = (cx - half, cx + half, cy - half, cy + half)
    frame = _Frame(box, size, size)
    tol = 2 * half / size / 2  # half a pixel
    wide = (box[0] - half, box[1] + half, box[2] - half, box[3] + half)
    rx, ry = simplify_xy(*clip_to_box(route.x, route.y, wide), tol)
    sx, sy = simplify_xy(px, py, tol)
    label = format_label(
        number,
        kind,
        exit_m,
        rejoin_m,
        _num(excursion.get("distance_m")),
        _num(excursion.get("extra_distance_m")),
        _num(excursion.get("time_lost_s")),
        style,
    )
    out = [
        f'<svg viewBox="0 0 {size} {size}" width="{size}" height="{size}" role="img" aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
        f'<rect class="bg" x="0.5" y="0.5" width="{size - 1}" height="{size - 1}"/>',
        f'<path class="route" d="{_path_d(*frame.xy(rx, ry))}"/>',
        f'<path class="path {KIND_CLASS.get(kind, "off")}" d="{_path_d(*frame.xy(sx, sy))}"/>',
    ]
    for (xi, yi), cls in zip(zip(*frame.xy(ex, ey), strict=True), ("exit", "rejoin"), strict=False):
        out.append(f'<circle class="{cls}" cx="{xi:.1f}" cy="{yi:.1f}" r="3.5"/>')
    out += [frame.scale_bar(style), "</svg>"]
    return "".join(out)


def route_overview_svg(
    route: Route, rows: Sequence[Mapping[str, Any]], *, width: int = 420, style: Style | None = None
) -> str:
    """The whole route with a dot wherever a runner left it: where the marking failed shows as a cluster."""
    x0, x1 = float(route.x.min()), float(route.x.max())
    y0, y1 = float(route.y.min()), float(route.y.max())
    span = max(x1 - x0, y1 - y0, 100.0)
    pad = span * 0.04
    box = (x0 - pad, x1 + pad, y0 - pad, y1 + pad)
    height = int(min(max(width * (box[3] - box[2]) / (box[1] - box[0]), 160), 480))
    frame = _Frame(box, width, height)
    rx, ry = simplify_xy(route.x, route.y, 0.5 / frame.k)
    spots: list[tuple[float, float]] = []
    for row in rows:
        for e in _excursions(row):
            p = _lonlat(e.get("exit"))
            if p is None:
                m = _num(e.get("exit_route_m"))
                if m is None:
                    continue
                lon, lat = route.lonlat_at([m])
                p = (float(lon[0]), float(lat[0]))
            spots.append(p)
    sx, sy = frame.xy(*_project(route, spots))
    sx0, sy0 = frame.xy(route.x[:1], route.y[:1])
    sx1, sy1 = frame.xy(route.x[-1:], route.y[-1:])
    name = escape(route.name or "route")
    out = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{name}: where runners left the route">',
        f"<title>{name}: where runners left the route</title>",
        f'<rect class="bg" x="0.5" y="0.5" width="{width - 1}" height="{height - 1}"/>',
        f'<path class="route thin" d="{_path_d(*frame.xy(rx, ry))}"/>',
        f'<circle class="start" cx="{sx0[0]:.1f}" cy="{sy0[0]:.1f}" r="4"/>',
        f'<rect class="finish" x="{sx1[0] - 3.5:.1f}" y="{sy1[0] - 3.5:.1f}" width="7" height="7"/>',
    ]
    out += [f'<circle class="spot" cx="{a:.1f}" cy="{b:.1f}" r="4"/>' for a, b in zip(sx, sy, strict=True)]
    out += [frame.scale_bar(style), "</svg>"]
    return "".join(out)


def _excursions(row: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = row.get("excursion_list") or []
    return [e for e in items if isinstance(e, Mapping)] if isinstance(items, Sequence) else []


# -- the table ------------------------------------------------------------------------------------
_JUNK = ("not_gps", "not_a_recording")


def _flagged(row: Mapping[str, Any]) -> bool:
    return row.get("status") == "ok" and (
        (_num(row.get("excursions")) or 0) > 0
        or (_num(row.get("skipped_m")) or 0) > 0
        or (_num(row.get("wrong_way_m")) or 0) > 0
        or bool(row.get("flags"))
    )


def _junk(row: Mapping[str, Any]) -> bool:
    return row.get("status") != "ok" and row.get("error_kind") in _JUNK


def _has_flag(row: Mapping[str, Any], kind: str) -> bool:
    flags = row.get("flags")
    return isinstance(flags, Sequence) and any(isinstance(f, Mapping) and f.get("kind") == kind for f in flags)


def _runner(row: Mapping[str, Any]) -> bool:
    """A recording of a runner, counted once: ok, neither a duplicate upload nor a course file."""
    return row.get("status") == "ok" and not _has_flag(row, "duplicate") and not _has_flag(row, "course_file")


def _columns(style: Style) -> list[tuple[str, str, Callable[[float], str] | None]]:
    """(row key, header, number format; None for text): the page's columns in the style's units."""
    return [
        ("name", "Runner", None),
        ("verdict", "Verdict", None),
        ("where", "Where (worst)", None),
        ("excursions", "Excursions", lambda v: f"{v:,.0f}"),
        ("extra_distance_m", "Extra distance", style.signed_distance),
        ("time_off_course_s", "Off course", hms),
        ("skipped_m", "Skipped", style.distance),
        ("coverage", "Covered", lambda v: f"{100 * v:.0f} %"),
        ("distance_m", "Distance", style.length),
        ("duration_s", "Time", hms),
        ("start_time", "Start", None),
        ("notes", "Notes", None),
        ("file", "File", None),
    ]


def _start_text(iso: str, style: Style) -> str:
    from datetime import datetime

    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return style.time(t.timestamp())[:16].replace("T", " ")


def _cell(key: str, fmt: Callable[[float], str] | None, row: Mapping[str, Any], style: Style) -> str:
    v = row.get(key)
    ok = row.get("status") == "ok"
    if fmt is not None:
        n = _num(v)
        if n is None or not ok:
            return '<td class="num" data-v="">—</td>'
        return f'<td class="num" data-v="{n!r}">{escape(fmt(n))}</td>'
    if key == "name":
        name = _text(v) or _text(row.get("file"))
        bib = _text(row.get("bib"))
        label = f"{escape(name)} <small>#{escape(bib)}</small>" if bib else escape(name)
        return f'<td class="name">{label}</td>'
    if key == "verdict":
        if not ok:
            word = "NOT A RECORDING" if _junk(row) else "ERROR"
            return f'<td class="verdict v-error">{word}</td>'
        text = _text(v)
        reason = reason_text(row, style)
        shown = VERDICT_WORDS.get(text, text.replace("_", " "))
        return f'<td class="verdict v-{escape(text)}" title="{escape(reason)}">{escape(shown)}</td>'
    if key == "where":
        e = worst_of(row)
        return f'<td class="where">{escape(where_text(e, style)) if e is not None else ""}</td>'
    if key == "notes":
        if not ok:
            return f'<td class="err">{escape(_text(row.get("error")) or "error")}</td>'
        return f'<td class="notes">{escape(flags_text(row, style))}</td>'
    if key == "start_time":
        return f'<td class="start">{escape(_start_text(_text(v), style)) if v else ""}</td>'
    return f'<td class="{escape(key)}">{escape(_text(v))}</td>'


def _label(i: int, e: Mapping[str, Any], style: Style) -> str:
    return f"{i} · {finding_text(e, style)}"


def _pictures(route: Route, row: Mapping[str, Any], style: Style) -> str:
    if row.get("status") != "ok":
        return "<td></td>"
    items = _excursions(row)
    if not items:
        return "<td></td>"
    figs: list[str] = []
    for i, e in enumerate(items[:MAX_PICTURES], 1):
        svg = excursion_svg(route, e, i, style=style)
        kind = _text(e.get("kind"))
        caption = f"{i} · {KIND_WORDS.get(kind, kind)} · {style.route_position(_num(e.get('exit_route_m')))}"
        figs.append(f'<figure class="pic">{svg}<figcaption>{escape(caption)}</figcaption></figure>')
    if len(items) > MAX_PICTURES:
        figs.append(f'<span class="more">+{len(items) - MAX_PICTURES} more</span>')
    listing = "".join(f"<li>{escape(_label(i, e, style))}</li>" for i, e in enumerate(items, 1))
    summary = f"{len(items)} finding{'s' if len(items) != 1 else ''}"  # the worst is in its own column
    return (
        f'<td class="pics"><details><summary>{escape(summary)}</summary><ol>{listing}</ol>'
        f'<div class="pics-row">{"".join(figs)}</div></details></td>'
    )


def field_page(
    rows: Sequence[Mapping[str, Any]], route: Route, *, title: str | None = None, style: Style | None = None
) -> str:
    """The whole field on one self-contained HTML page.

    Parameters
    ----------
    rows : sequence of mapping
        One per recording, as the batch writes them: ``file``, ``name``, ``bib``, ``status``
        (``"ok"`` or ``"error"``), ``error``, ``error_kind``, ``flags``, ``verdict``, ``fixes``,
        ``start_time``, ``duration_s``, ``distance_m``, ``excursions``, ``extra_distance_m``,
        ``time_off_course_s``, ``skipped_m``, ``coverage``, ``worst`` and ``excursion_list`` (the
        excursions of ``report_to_dict`` plus ``between`` and ``coordinates``). Missing keys show
        as blanks. Rows keep their order (the batch sorts by severity).
    route : Route
        The official route the field was checked against.
    title : str, optional
        The page's title; by default from the route's name.
    style : Style, optional
        Units and time zone of what the page shows (default kilometres, UTC).

    Returns
    -------
    str
        The HTML document: inline CSS, SVG and script, no external resource, every value from
        the rows escaped, file names relative to the folder holding them (never an absolute
        path). One ``<tr>`` per row in the table body.
    """
    style = style or Style()
    rname = route.name or "Route"
    title = title or f"{rname} · the field"
    rows = publish_rows(rows)
    runners = [r for r in rows if _runner(r)]  # a duplicate upload or a course file is no runner
    n_ok = len(runners)
    n_dup = sum(1 for r in rows if r.get("status") == "ok" and _has_flag(r, "duplicate"))
    n_course = sum(
        1 for r in rows if r.get("status") == "ok" and _has_flag(r, "course_file") and not _has_flag(r, "duplicate")
    )
    n_junk = sum(1 for r in rows if _junk(r)) + n_course
    n_err = sum(1 for r in rows if r.get("status") != "ok" and not _junk(r))
    n_flag = sum(1 for r in runners if _flagged(r))
    n_exc = sum(len(_excursions(r)) for r in runners)
    tz_label = "UTC" if style.tz is None else str(style.tz)
    columns = _columns(style)
    head = ['<th data-type="num"><button type="button">#</button></th>']
    for key, header, fmt in columns:
        kind = "num" if fmt is not None else "text"
        head.append(f'<th data-type="{kind}" data-key="{key}"><button type="button">{escape(header)}</button></th>')
    head.append('<th class="pics">Findings</th>')
    body: list[str] = []
    for i, row in enumerate(rows, 1):
        if row.get("status") != "ok":
            cls = "junk" if _junk(row) else "error"
        else:
            cls = "flagged" if _flagged(row) else "clean"
        cells = [f'<td class="num" data-v="{i}">{i}</td>']
        cells += [_cell(key, fmt, row, style) for key, _, fmt in columns]
        cells.append(_pictures(route, row, style))
        body.append(f'<tr class="{cls}">{"".join(cells)}</tr>')
    stats = [
        ("Runners", f"{n_ok + n_err:,}"),
        ("Checked", f"{n_ok:,}"),
        ("Errors", f"{n_err:,}"),
        ("Not recordings", f"{n_junk:,}"),
        ("Duplicates", f"{n_dup:,}"),
        ("Flagged", f"{n_flag:,}"),
        ("Excursions", f"{n_exc:,}"),
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="generator" content="offcourse">',
            f"<title>{escape(title)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            f"<h1>{escape(title)}</h1>",
            f'<p class="sub">{escape(rname)} · {escape(style.length(route.length_m))} · '
            f"{len(route.checkpoints)} checkpoints · times in {escape(tz_label)}. "
            "Click a column header to sort; click again to reverse; open a runner's findings for the pictures.</p>",
            '<div class="top">',
            f"<figure>{route_overview_svg(route, runners, style=style)}"
            "<figcaption>Where runners left the route (one dot per excursion)</figcaption></figure>",
            '<dl class="stats">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in stats) + "</dl>",
            "</div>",
            '<table id="field">',
            f"<thead><tr>{''.join(head)}</tr></thead>",
            "<tbody>",
            *body,
            "</tbody>",
            "</table>",
            f"<script>{SCRIPT}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )

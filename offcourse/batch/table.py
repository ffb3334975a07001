"""The field in the terminal: a table sorted by severity that fits the window, and the progress bar.

Part of :mod:`offcourse.batch`. :func:`rows_to_table` gives plain text (what a pipe or a file
receives), fitted to a width by dropping the least useful columns and shortening text;
:func:`print_table` uses ``rich`` on a terminal when it is installed (the ``field`` extra).
Every text from the recordings goes through :func:`~offcourse.read._limits.terminal_text`, so
no name can send escape sequences to the terminal.

Examples
--------
>>> rows = [{"file": "a.gpx", "name": "Ann", "status": "ok", "verdict": "lost", "excursions": 1,
...          "extra_distance_m": 412.0, "duration_s": 3725.0, "distance_m": 10450.0, "flags": []},
...         {"file": "notes.txt", "name": "notes", "status": "error", "error": "not a GPS file"}]
>>> print(rows_to_table(rows))
#  runner  verdict  exc   extra     time  distance  notes                  file
1  Ann     LOST       1  +412 m  1:02:05  10.45 km                         a.gpx
2  notes   ERROR                                    error: not a GPS file  notes.txt
>>> print(rows_to_table(rows, width=50))
#  runner  verdict  exc   extra  notes
1  Ann     LOST       1  +412 m
2  notes   ERROR                 error: not a GPS…
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from ..present import VERDICT_WORDS, Style, hms
from ..read._limits import terminal_text
from .inputs import Row
from .words import finding_text, flags_text, publish_rows, where_text, worst_of

__all__ = ["OnRow", "print_table", "rows_to_table", "tqdm_progress"]

OnRow = Callable[[Row, bool], None]
"""Called once per row as it is known: ``(row, from_cache)``."""


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v) if v == v and abs(v) != float("inf") else None


@dataclass
class _Column:
    header: str
    values: list[str]
    right: bool = False
    priority: int = 0
    """Dropped first when the window is narrow: the lowest priority (the runner and verdict never)."""
    min_width: int = 0
    """Shortened down to this when the window is narrow (0: never shortened)."""

    @property
    def width(self) -> int:
        return max([len(self.header), *(len(v) for v in self.values)])


def _verdict(row: Mapping[str, Any]) -> str:
    if row.get("status") != "ok":
        return "NO RECORDING" if row.get("error_kind") in ("not_gps", "not_a_recording") else "ERROR"
    v = str(row.get("verdict") or "")
    return VERDICT_WORDS.get(v, v.replace("_", " ").upper())


def _notes(row: Mapping[str, Any], style: Style) -> str:
    if row.get("status") != "ok":
        return f"error: {row.get('error') or 'unknown'}"
    return flags_text(row, style)


def _columns(rows: Sequence[Mapping[str, Any]], style: Style) -> list[_Column]:
    def num(key: str, fmt: Callable[[float], str]) -> list[str]:
        out = []
        for r in rows:
            v = _num(r.get(key))
            out.append("" if v is None or r.get("status") != "ok" else fmt(v))
        return out

    def where(r: Mapping[str, Any]) -> str:
        e = worst_of(r)
        return "" if e is None else where_text(e, style)

    def skipped(v: float) -> str:
        return style.distance(v) if v else ""

    return [
        _Column("#", [str(i) for i in range(1, len(rows) + 1)], right=True, priority=9),
        _Column("runner", [str(r.get("name") or "") for r in rows], priority=10, min_width=10),
        _Column("verdict", [_verdict(r) for r in rows], priority=10),
        _Column("where", [where(r) for r in rows], priority=7, min_width=16),
        _Column("exc", num("excursions", lambda v: f"{v:.0f}"), right=True, priority=6),
        _Column(
            "extra", num("extra_distance_m", lambda v: style.signed_distance(v) if v else ""), right=True, priority=5
        ),
        _Column("off course", num("time_off_course_s", lambda v: hms(v) if v else ""), right=True, priority=3),
        _Column("skipped", num("skipped_m", skipped), right=True, priority=4),
        _Column("time", num("duration_s", hms), right=True, priority=2),
        _Column("distance", num("distance_m", style.length), right=True, priority=1),
        _Column("covered", num("coverage", lambda v: f"{100 * v:.0f} %"), right=True, priority=2),
        _Column("notes", [_notes(r, style) for r in rows], priority=8, min_width=14),
        _Column("file", [str(r.get("file") or "") for r in rows], priority=0, min_width=12),
    ]


def _fit(columns: list[_Column], width: int | None) -> list[tuple[_Column, int]]:
    """The columns shown and their widths: all at full width, or within ``width`` characters."""
    shown = [c for c in columns if any(c.values) or c.priority >= 9]
    while True:
        widths = [c.width for c in shown]
        total = sum(widths) + 2 * (len(shown) - 1)
        if width is None or total <= width:
            return list(zip(shown, widths, strict=True))
        spare = sum(w - c.min_width for c, w in zip(shown, widths, strict=True) if c.min_width and w > c.min_width)
        excess = total - width
        if spare >= excess:
            for k in sorted(range(len(shown)), key=lambda k: -widths[k]):  # shorten the widest first
                c = shown[k]
                if not c.min_width or widths[k] <= c.min_width:
                    continue
                cut = min(excess, widths[k] - c.min_width)
                widths[k] -= cut
                excess -= cut
                if not excess:
                    break
            return list(zip(shown, widths, strict=True))
        droppable = [c for c in shown if c.priority < 9]
        if not droppable:
            return list(zip(shown, widths, strict=True))
        shown.remove(min(droppable, key=lambda c: c.priority))


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def rows_to_table(rows: Iterable[Row], *, style: Style | None = None, width: int | None = None) -> str:
    """The field as plain text, one line per row in the order given (use :func:`sort_rows` first).

    Parameters
    ----------
    rows : iterable of dict
    style : Style, optional
        Units (and zone) of the figures; default kilometres.
    width : int, optional
        Most characters a line may take (a terminal's width): the least useful columns are left
        out and long text shortened to fit. Default: no limit.
    """
    rows = [{k: terminal_text(v) if isinstance(v, str) else v for k, v in r.items()} for r in publish_rows(list(rows))]
    style = style or Style()
    fitted = _fit(_columns(rows, style), width)
    lines = []
    header = [c.header.rjust(w) if c.right else c.header.ljust(w) for c, w in fitted]
    lines.append("  ".join(header).rstrip())
    for i in range(len(rows)):
        cells = []
        for c, w in fitted:
            v = _cut(c.values[i], w)
            cells.append(v.rjust(w) if c.right else v.ljust(w))
        lines.append("  ".join(cells).rstrip())
    return terminal_text("\n".join(lines))


def print_table(rows: Iterable[Row], *, style: Style | None = None, stream: IO[str] | None = None) -> None:
    """Print the field: with ``rich`` on a terminal (colours, the window's width), plain text otherwise."""
    stream = stream or sys.stdout
    rows = publish_rows(list(rows))
    tty = getattr(stream, "isatty", lambda: False)()
    if tty:
        try:
            from rich.console import Console
        except ImportError:  # no rich (the field extra): plain text fitted to the window
            pass
        else:
            _print_rich(rows, style or Style(), Console(file=stream, highlight=False))
            return
    width = shutil.get_terminal_size((0, 0)).columns if tty else 0
    print(rows_to_table(rows, style=style, width=width or None), file=stream)


_RICH_STYLE = {"CUT": "bold red", "WRONG WAY": "bold magenta", "LOST": "red", "ERROR": "dim red", "ON COURSE": "green"}


def _print_rich(rows: list[Row], style: Style, console: Any) -> None:
    from rich.table import Table
    from rich.text import Text

    clean = [{k: terminal_text(v) if isinstance(v, str) else v for k, v in r.items()} for r in rows]
    columns = _fit(_columns(clean, style), console.width)
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for c, _ in columns:
        wrap = c.header in ("where", "notes")
        table.add_column(
            c.header,
            justify="right" if c.right else "left",
            overflow="fold" if wrap else "ellipsis",
            no_wrap=not wrap,
            min_width=min(c.min_width or c.width, c.width),
        )
    for i, row in enumerate(clean):
        cells = [Text(c.values[i]) for c, _ in columns]
        verdict = _verdict(row)
        table.add_row(*cells, style=_RICH_STYLE.get(verdict))
    console.print(table)


def worst_line(row: Mapping[str, Any], style: Style) -> str:
    """The row's worst finding in words (``""`` when it has none)."""
    e = worst_of(row)
    return "" if e is None else finding_text(e, style)


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

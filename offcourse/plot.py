"""Pictures of one report: the route, the track and each wrong turn, as PNG or SVG.

:func:`plot_report` draws, in the route's own metric projection with equal axes,
the route, the recording, every excursion (highlighted, numbered and labelled
``"1 · km 3.42 · +412 m · 0:04:10"``: number, km along the route, extra distance,
time lost), the exit and rejoin markers, the checkpoints and a scale bar; a zoomed
panel for each of the first :data:`MAX_ZOOMS` excursions, so a wrong turn of 300 m
stays visible on a 170 km route; and below, the distance off the route along the
route with the detector's thresholds.

matplotlib is optional (``pip install 'offcourse[plot]'``). It is imported only
inside :func:`plot_report`, never when :mod:`offcourse` is imported, and the
figure is a plain :class:`matplotlib.figure.Figure` on an Agg canvas: no pyplot,
no global backend switch, no global state.

Examples
--------
>>> from offcourse.report import Excursion
>>> from offcourse.present import Style, Units
>>> e = Excursion(kind="off_course", start_epoch_s=0.0, end_epoch_s=250.0, exit_route_m=3420.0,
...               rejoin_route_m=3500.0, max_offset_m=180.0, extra_distance_m=412.0, time_lost_s=250.0)
>>> excursion_label(1, e)
'1 · km 3.42 · +412 m · 0:04:10'
>>> plot_format("map.svg"), plot_format(b"MAP.PNG")
('svg', 'png')
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .detect import Monitor, Options
from .errors import OffcourseError
from .match import RouteIndex
from .model import FloatArray, Route, Track
from .present import KIND_COLOUR, KIND_WORDS, Style, excursion_label, format_label, hms, length_text, nice_length
from .report import Excursion, Report, project_track

__all__ = [
    "MAX_ZOOMS",
    "excursion_label",
    "check_plot_target",
    "clip_to_box",
    "excursion_mask",
    "format_label",
    "length_text",
    "nice_length",
    "plot_format",
    "plot_report",
    "progress_trace",
    "simplify_xy",
]

MAX_ZOOMS = 6
"""Zoomed panels drawn at most; further excursions are noted as ``+N more``."""

PROFILE_COLUMNS = 1500
"""Columns of the distance-off-the-route panel: the nearest and farthest fix in each are drawn."""

MAX_LISTED = 24
"""Excursion labels listed beside the map at most; further ones are noted as ``+N more``."""

FORMATS = {".png": "png", ".svg": "svg"}

NEEDS_MATPLOTLIB = "--plot needs matplotlib: pip install 'offcourse[plot]'"

# colours: one per kind of excursion, route and track in quiet tones
ROUTE_COLOUR = "#7fb3d5"
TRACK_COLOUR = "#34495e"
EXIT_COLOUR = "#d62728"
REJOIN_COLOUR = "#1e8449"


# -- pure helpers (no matplotlib) ------------------------------------------------------------------
def plot_format(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> str:
    """The picture format for a file name: ``"png"`` or ``"svg"``, from its extension.

    Raises
    ------
    OffcourseError
        Any other extension, with a one-line message naming the file.
    """
    name = os.fsdecode(path)
    ext = os.path.splitext(name)[1].lower()
    if ext not in FORMATS:
        raise OffcourseError(
            f"cannot tell the picture format from the extension {ext or '(none)'!r}: use .png or .svg", path=name
        )
    return FORMATS[ext]


def check_plot_target(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> None:
    """Fail early, before a long check, when ``path`` cannot be plotted: bad extension or no matplotlib."""
    plot_format(path)
    if importlib.util.find_spec("matplotlib") is None:
        raise OffcourseError(NEEDS_MATPLOTLIB)


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def progress_trace(
    route: Route, track: Track, options: Options | None = None, *, index: RouteIndex | None = None
) -> tuple[FloatArray, FloatArray]:
    """Progress along the route and distance off it at every fix, as the live engine saw them.

    Re-runs a :class:`~offcourse.detect.Monitor` over the projected fixes and reads ``route_m``
    and ``offset_m`` after each one. :func:`plot_report` does not need it for a report made by
    :func:`offcourse.report.check`, which carries its own per-fix :class:`~offcourse.report.Trace`.

    Parameters
    ----------
    route, track :
        The official route and the recording.
    options : Options, optional
        The detector settings the report was made with.
    index : RouteIndex, optional
        The route's prepared index, when the caller has one (saves building it again).

    Returns
    -------
    route_m, offset_m : ndarray of float64
        One value per fix, metres. ``NaN`` before the runner was found on the route and for
        fixes the engine ignored (no position, out of time order, spikes). While off course the
        progress stays at the exit, so an excursion shows as a spike at its km.
    """
    monitor = Monitor(route, options, index=index)
    x, y = project_track(route, track)
    n = len(track)
    route_m = np.full(n, np.nan)
    offset_m = np.full(n, np.nan)
    push = monitor.push_projected
    cols = zip(track.epoch_s.tolist(), x.tolist(), y.tolist(), track.ele_m.tolist(), track.hacc_m.tolist(), strict=True)
    for i, (t, xi, yi, ele, hacc) in enumerate(cols):
        ignored = monitor.ignored_fixes
        push(t, xi, yi, ele, hacc)
        if monitor.ignored_fixes == ignored and monitor.phase != "waiting":
            route_m[i] = monitor.route_m
            offset_m[i] = monitor.offset_m
    return route_m, offset_m


def excursion_mask(track: Track, e: Excursion) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """The fixes of the track during an excursion (from its start to its end, or to the end of the track)."""
    t = track.epoch_s
    end = e.end_epoch_s if e.end_epoch_s is not None else math.inf
    return np.asarray((t >= e.start_epoch_s) & (t <= end), dtype=bool)


def _plain(text: str) -> str:
    """Text from a file, safe for matplotlib: no mathtext (a ``$`` pair would be parsed as TeX)."""
    return text.replace("\\", "\\\\").replace("$", r"\$").replace("\n", " ")


def simplify_xy(x: FloatArray, y: FloatArray, tolerance_m: float) -> tuple[FloatArray, FloatArray]:
    """Fewer vertices for drawing (Douglas-Peucker); NaN breaks are kept as breaks."""
    if len(x) < 200 or tolerance_m <= 0:
        return x, y
    import shapely

    ok = np.isfinite(x) & np.isfinite(y)
    out_x: list[FloatArray] = []
    out_y: list[FloatArray] = []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.astype(np.int8), [0]))))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a >= 2:
            line = shapely.simplify(shapely.linestrings(np.column_stack([x[a:b], y[a:b]])), tolerance_m)
            c = shapely.get_coordinates(line)
        else:
            c = np.column_stack([x[a:b], y[a:b]])
        out_x += [c[:, 0], np.array([np.nan])]
        out_y += [c[:, 1], np.array([np.nan])]
    if not out_x:
        return x[:0], y[:0]
    return np.concatenate(out_x), np.concatenate(out_y)


def clip_to_box(x: FloatArray, y: FloatArray, box: tuple[float, float, float, float]) -> tuple[FloatArray, FloatArray]:
    """Only the segments that may cross ``box`` (bounding boxes overlap); NaN breaks elsewhere."""
    x0, x1, y0, y1 = box
    keep = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    if len(x) >= 2:
        a, b = x[:-1], x[1:]
        c, d = y[:-1], y[1:]
        crosses = (np.minimum(a, b) <= x1) & (np.maximum(a, b) >= x0)
        crosses &= (np.minimum(c, d) <= y1) & (np.maximum(c, d) >= y0)
        keep[:-1] |= crosses
        keep[1:] |= crosses
    return np.where(keep, x, np.nan), np.where(keep, y, np.nan)


# -- drawing -----------------------------------------------------------------------------------------
class _Excursion:
    """What the drawing needs of one excursion, projected."""

    def __init__(self, number: int, e: Excursion, report: Report, tx: FloatArray, ty: FloatArray, style: Style) -> None:
        route = report.route
        self.number = number
        self.e = e
        self.label = excursion_label(number, e, style)
        self.colour = KIND_COLOUR.get(e.kind, "#d62728")
        if e.kind == "skipped_section":
            lo, hi = sorted((e.exit_route_m, e.rejoin_route_m if e.rejoin_route_m is not None else e.exit_route_m))
            s = np.linspace(lo, hi, max(2, min(2000, int((hi - lo) / 5.0) + 2)))
            self.x, self.y = route.point_at(s)
        else:
            m = excursion_mask(report.track, e)
            self.x, self.y = tx[m], ty[m]
            ok = np.isfinite(self.x)
            self.x, self.y = self.x[ok], self.y[ok]
        self.exit = self._point(route, e.exit_lonlat)
        self.rejoin = self._point(route, e.rejoin_lonlat)
        if e.kind != "off_course":
            self.exit = self.rejoin = None
        pts_x = [*self.x.tolist(), *[p[0] for p in (self.exit, self.rejoin) if p]]
        pts_y = [*self.y.tolist(), *[p[1] for p in (self.exit, self.rejoin) if p]]
        if not pts_x:
            px, py = route.point_at([e.exit_route_m])
            pts_x, pts_y = [float(px[0])], [float(py[0])]
        self.bounds = (min(pts_x), max(pts_x), min(pts_y), max(pts_y))
        # where the number goes: the point of the excursion farthest from where it left the route
        ax_, ay_ = self.exit if self.exit else (pts_x[0], pts_y[0])
        far = int(np.argmax(np.hypot(np.asarray(pts_x) - ax_, np.asarray(pts_y) - ay_)))
        self.tip = (pts_x[far], pts_y[far])
        d = math.hypot(pts_x[far] - ax_, pts_y[far] - ay_)
        self.direction = ((pts_x[far] - ax_) / d, (pts_y[far] - ay_) / d) if d > 0 else (0.7071, 0.7071)

    @staticmethod
    def _point(route: Route, lonlat: tuple[float, float] | None) -> tuple[float, float] | None:
        if lonlat is None:
            return None
        x, y = route.projection.forward([lonlat[0]], [lonlat[1]])
        return float(x[0]), float(y[0])


def _square_box(bounds: tuple[float, float, float, float], pad: float, min_half: float) -> tuple[float, ...]:
    x0, x1, y0, y1 = bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = max((x1 - x0) / 2, (y1 - y0) / 2) * (1 + pad) + min_half * 0.25
    half = max(half, min_half)
    return cx - half, cx + half, cy - half, cy + half


def _scale_bar(ax: Any, points: Sequence[tuple[FloatArray, FloatArray]], style: Style, fontsize: float = 8.0) -> None:
    """A bar of a round length (1, 2 or 5 x 10^k m, ft or mi; about a fifth of the width) in the emptiest corner."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    w, h = x1 - x0, y1 - y0
    length, label = style.scale_bar(w / 5.0)
    # the box around the bar and its label, in data units (the label is about 2.2 font sizes tall)
    pt = h / (ax.get_position().height * ax.get_figure().get_figheight() * 72.0)  # metres per point
    bw, bh = length + 0.03 * w, fontsize * 2.4 * pt
    corners = [(x0 + 0.02 * w, y0 + 0.02 * h), (x1 - 0.02 * w - bw, y0 + 0.02 * h),
               (x0 + 0.02 * w, y1 - 0.02 * h - bh), (x1 - 0.02 * w - bw, y1 - 0.02 * h - bh)]  # fmt: skip

    def crowd(c: tuple[float, float]) -> int:
        n = 0
        for px, py in points:
            n += int(np.count_nonzero((px >= c[0]) & (px <= c[0] + bw) & (py >= c[1]) & (py <= c[1] + bh)))
        return n

    cx, cy = min(corners, key=crowd)  # the first corner (lower left) wins a tie
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((cx, cy), bw, bh, facecolor="white", edgecolor="none", alpha=0.75, zorder=8))
    bx, by = cx + 0.015 * w, cy + fontsize * 0.6 * pt
    ax.plot([bx, bx + length], [by, by], color="black", lw=2.5, solid_capstyle="butt", zorder=9)
    ax.text(bx + length / 2, by + fontsize * 0.35 * pt, label, ha="center", va="bottom",
            fontsize=fontsize, zorder=9)  # fmt: skip


def _set_box(ax: Any, box: Sequence[float]) -> float:
    """Equal axes showing at least ``box`` (grown to the axes' shape); returns the width shown, metres."""
    fig = ax.get_figure()
    pos = ax.get_position()
    w_in, h_in = pos.width * fig.get_figwidth(), pos.height * fig.get_figheight()
    x0, x1, y0, y1 = box
    w, h = x1 - x0, y1 - y0
    if h / w < h_in / w_in:  # too wide a box for the data: grow y
        grow = (w * h_in / w_in - h) / 2
        y0, y1 = y0 - grow, y1 + grow
    else:
        grow = (h * w_in / h_in - w) / 2
        x0, x1 = x0 - grow, x1 + grow
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_autoscale_on(False)
    return float(x1 - x0)


def _draw_geometry(
    ax: Any,
    report: Report,
    tx: FloatArray,
    ty: FloatArray,
    items: list[_Excursion],
    *,
    box: Sequence[float] | None,
    tolerance_m: float,
    big: bool,
) -> None:
    """Route, track, excursions, exit and rejoin markers, checkpoints, start and finish."""
    route = report.route
    rx, ry = route.x, route.y
    if box is not None:
        margin = (box[1] - box[0]) * 0.5
        wide = (box[0] - margin, box[1] + margin, box[2] - margin, box[3] + margin)
        rx, ry = clip_to_box(rx, ry, wide)
        tx, ty = clip_to_box(tx, ty, wide)
    rx, ry = simplify_xy(rx, ry, tolerance_m)
    tx, ty = simplify_xy(tx, ty, tolerance_m)
    ax.plot(rx, ry, color=ROUTE_COLOUR, lw=5 if big else 7, solid_capstyle="round", zorder=1, label="route")
    ax.plot(tx, ty, color=TRACK_COLOUR, lw=0.7 if big else 1.0, zorder=2, label="track")
    kinds_seen: set[str] = set()
    for it in items:
        name = KIND_WORDS.get(it.e.kind, it.e.kind)
        label = name if it.e.kind not in kinds_seen else None
        kinds_seen.add(it.e.kind)
        ex, ey = simplify_xy(it.x, it.y, tolerance_m)
        style = "--" if it.e.kind == "skipped_section" else "-"
        ax.plot(ex, ey, color=it.colour, lw=2.6 if big else 2.2, ls=style, zorder=3, label=label)
    exits = [it.exit for it in items if it.exit]
    rejoins = [it.rejoin for it in items if it.rejoin]
    ms = 7 if big else 9
    if exits:
        ax.plot(*zip(*exits, strict=True), "v", ms=ms, mfc="white", mec=EXIT_COLOUR, mew=2, zorder=5, label="exit")
    if rejoins:
        ax.plot(
            *zip(*rejoins, strict=True), "^", ms=ms, mfc="white", mec=REJOIN_COLOUR, mew=2, zorder=5, label="rejoin"
        )
    ax.plot(route.x[:1], route.y[:1], "o", ms=ms, color="#27ae60", mec="white", zorder=4, label="start")
    ax.plot(route.x[-1:], route.y[-1:], "s", ms=ms, color="black", mec="white", zorder=4, label="finish")
    cps = route.checkpoints
    if cps:
        cx, cy = route.projection.forward([c.lon for c in cps], [c.lat for c in cps])
        ax.plot(cx, cy, "D", ms=4 if big else 6, mfc="#f1c40f", mec="black", mew=0.7, zorder=4, label="checkpoint")
        if box is not None or len(cps) <= 12:
            seen: set[tuple[int, int]] = set()
            for c, xi, yi in zip(cps, cx.tolist(), cy.tolist(), strict=True):
                if box is not None and not (box[0] <= xi <= box[1] and box[2] <= yi <= box[3]):
                    continue
                key = (round(xi / 200.0), round(yi / 200.0))
                if key in seen:
                    continue
                seen.add(key)
                name = c.name if len(c.name) <= 28 else c.name[:27] + "…"
                ax.annotate(
                    _plain(name), (xi, yi), xytext=(4, 4), textcoords="offset points", fontsize=6.5, color="#555",
                    zorder=6, clip_on=True,
                )  # fmt: skip


def _zoom_title(it: _Excursion, style: Style) -> str:
    e = it.e
    if e.kind == "off_course":
        extra = (
            f", up to {style.distance(e.max_offset_m)} off"
            if e.max_offset_m is not None and _finite(e.max_offset_m)
            else ""
        )
        return f"{it.number}: off course at {style.route_position(e.exit_route_m)}{extra}"
    lo, hi = sorted((e.exit_route_m, e.rejoin_route_m if e.rejoin_route_m is not None else e.exit_route_m))
    what = {"wrong_direction": "wrong way", "shortcut": "shortcut"}.get(e.kind, "skipped")
    return f"{it.number}: {what} from {style.route_position(lo)} to {style.long(hi):.2f}"


def _badge(ax: Any, it: _Excursion, *, distance_pt: float = 16.0) -> None:
    """The excursion's number in a circle, just beyond the tip of the excursion."""
    dx, dy = it.direction
    ax.annotate(
        str(it.number),
        it.tip,
        xytext=(dx * distance_pt, dy * distance_pt),
        textcoords="offset points",
        ha="center",
        va="center",
        fontsize=8,
        fontweight="bold",
        color=it.colour,
        bbox={"boxstyle": "circle,pad=0.25", "fc": "white", "ec": it.colour, "lw": 1.2},
        arrowprops={"arrowstyle": "-", "color": it.colour, "lw": 0.8, "shrinkA": 0, "shrinkB": 0},
        zorder=7,
        annotation_clip=False,
    )


def _profile(
    ax: Any,
    report: Report,
    items: list[_Excursion],
    trace: tuple[FloatArray, FloatArray],
    options: Options,
    style: Style,
) -> None:
    """Distance off the route (m or ft) along the route (km or mi), with the engine's thresholds."""
    s, d_m = trace
    ok = np.isfinite(s) & np.isfinite(d_m)
    d = style.short(1.0) * d_m  # metres or feet from here on
    off, back_on = style.short(options.off_threshold_m), style.short(options.back_on_threshold_m)
    top = float(np.nanmax(d[ok])) if ok.any() else 0.0
    log = top > 8 * off
    # one column per ~pixel along the route: the nearest and the farthest fix in it (spikes stay,
    # a 40,000-fix trace does not weigh on the SVG); columns no fix fell in stay empty
    n = PROFILE_COLUMNS
    length = max(report.route.length_m, 1.0)
    col = np.minimum((s[ok] / length * n).astype(np.int64), n - 1)
    near = np.full(n, np.nan)
    far = np.full(n, np.nan)
    np.fmin.at(near, col, d[ok])
    np.fmax.at(far, col, d[ok])
    along = style.long(1.0)  # km or miles per metre
    km = (np.arange(n) + 0.5) / n * length * along
    unit = style.short_unit
    ax.fill_between(km, near, far, color=TRACK_COLOUR, alpha=0.3, lw=0, zorder=3)
    ax.plot(km, far, color=TRACK_COLOUR, lw=0.8, zorder=3, label="distance off the route")
    ax.axhline(off, color=EXIT_COLOUR, ls="--", lw=1, zorder=2, label=f"off threshold {off:.3g} {unit}")
    ax.axhline(back_on, color=REJOIN_COLOUR, ls=":", lw=1.2, zorder=2, label=f"back-on threshold {back_on:.3g} {unit}")
    ymax = max(top * 1.25, off * 2.0)
    if log:
        # far excursions would flatten the thresholds: linear up to twice the off threshold, log beyond
        ax.set_yscale("symlog", linthresh=2 * off, linscale=1.5)
        ticks = [0.0, back_on, off, 2 * off]
        ticks += [v for v in (200.0, 500.0, 1000.0, 2000.0, 5000.0, 10_000.0, 20_000.0) if ticks[-1] < v <= ymax]
        ax.set_yticks(ticks, [f"{v:g}" for v in ticks])
        ax.minorticks_off()
    ax.set_ylim(0, ymax)
    last_km, row = -math.inf, 0
    gap_km = report.route.length_m * along / 60  # numbers nearer than this are stacked
    for it in items:
        e = it.e
        lo, hi = sorted((e.exit_route_m, e.rejoin_route_m if e.rejoin_route_m is not None else e.exit_route_m))
        ax.axvspan(lo * along, max(hi, lo + report.route.length_m / 800) * along, color=it.colour, alpha=0.18, lw=0)
        row = row + 1 if lo * along - last_km < gap_km else 0
        last_km = lo * along
        ax.annotate(
            str(it.number), (lo * along, 1.0), xycoords=("data", "axes fraction"), xytext=(0, 2 + 9 * (row % 4)),
            textcoords="offset points", ha="center", va="bottom", fontsize=7.5, fontweight="bold", color=it.colour,
        )  # fmt: skip
    for c in report.route.checkpoints:
        ax.axvline(c.route_m * along, color="#bbb", lw=0.5, zorder=1)
    ax.set_xlim(0, report.route.length_m * along)
    ax.set_xlabel(f"along the route ({style.long_unit})")
    ax.set_ylabel(f"off the route ({unit})")
    ax.grid(True, axis="y", color="#eee", lw=0.6)
    ax.legend(loc="best", fontsize=7, framealpha=0.85)


def _side_panel(ax: Any, report: Report, items: list[_Excursion], handles: Any, style: Style) -> list[str]:
    """Titles, the numbered list of excursions and the symbol legend, beside the map."""
    ax.set_axis_off()
    route, track = report.route, report.track
    rname = route.name or os.path.basename(route.meta.path or "") or "route"
    tname = os.path.basename(track.meta.path or "") or track.meta.name or "track"
    ax.text(0, 1.0, _plain(rname), fontsize=12, fontweight="bold", va="top", transform=ax.transAxes)
    ax.text(0, 0.955, style.length(route.length_m), fontsize=8.5, color="#555", va="top", transform=ax.transAxes)
    ax.text(0, 0.91, _plain(tname), fontsize=10, va="top", transform=ax.transAxes)
    when = ""
    if len(track) and report.times_known and math.isfinite(float(track.epoch_s[0])):
        when = f"{style.clock(float(track.epoch_s[0]))} · "
    ax.text(0, 0.87, f"{when}{style.length(report.distance_m)} · {len(track)} fixes", fontsize=8.5, color="#555",
            va="top", transform=ax.transAxes)  # fmt: skip
    summary = (
        f"{len(items)} excursion{'s' if len(items) != 1 else ''} · "
        f"extra {style.signed_distance(report.extra_distance_m)} · off course {hms(report.time_off_course_s)}"
    )
    ax.text(0, 0.80, summary, fontsize=9, va="top", transform=ax.transAxes)
    done = "route completed" if report.completed else "route NOT completed"
    ax.text(0, 0.76, done, fontsize=9, va="top", transform=ax.transAxes,
            color="#1e8449" if report.completed else "#c0392b")  # fmt: skip
    drawn: list[str] = []
    if not items:
        ax.text(0, 0.69, "No wrong turn: the runner stayed on the route.", fontsize=9, va="top",
                transform=ax.transAxes)  # fmt: skip
    else:
        along = "mile" if style.long_unit == "mi" else "km"
        ax.text(0, 0.69, f"number · {along} along the route · extra distance · time lost", fontsize=7.5, color="#555",
                va="top", transform=ax.transAxes)  # fmt: skip
        shown = items[:MAX_LISTED]
        step = min(0.045, 0.36 / max(1, len(shown)))
        size = 9.0 if step >= 0.04 else 7.5
        for k, it in enumerate(shown):
            ax.text(0, 0.65 - k * step, it.label, fontsize=size, color=it.colour, va="top", transform=ax.transAxes,
                    gid=f"excursion-label-{it.number}")  # fmt: skip
            drawn.append(it.label)
        if len(items) > MAX_ZOOMS:
            note = f"+{len(items) - MAX_ZOOMS} more not zoomed (numbers {MAX_ZOOMS + 1} to {len(items)}: map only)"
            ax.text(0, 0.65 - (len(shown) + 1.3) * step, note, fontsize=7.5, color="#555", va="top",
                    transform=ax.transAxes)  # fmt: skip
        if len(items) > len(shown):
            ax.text(0, 0.65 - len(shown) * step, f"+{len(items) - len(shown)} more (offcourse check --format json)",
                    fontsize=size, color="#555", va="top", transform=ax.transAxes)  # fmt: skip
    ax.legend(*handles, loc="lower left", fontsize=8, frameon=False, ncols=2)
    return drawn


def plot_report(
    report: Report,
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes],
    *,
    options: Options | None = None,
    index: RouteIndex | None = None,
    style: Style | None = None,
) -> list[str]:
    """Draw a report as a PNG or SVG file (by the file's extension).

    Parameters
    ----------
    report : Report
        What :func:`offcourse.report.check` found.
    path : path-like
        The file to write; ``.png`` or ``.svg``. In SVG the labels are ``<text>`` elements.
    options : Options, optional
        The detector settings the report was made with (for the thresholds); default: those the
        report carries (:attr:`Report.trace <offcourse.report.Report.trace>`).
    index : RouteIndex, optional
        The route's prepared index, for a report without a trace (the engine then runs again
        through :func:`progress_trace`).
    style : Style, optional
        Units and time zone of the labels (default kilometres and metres, UTC).

    Returns
    -------
    list of str
        The excursion labels drawn, in order (``"1 · km 3.42 · +412 m · 0:04:10"``).

    Raises
    ------
    OffcourseError
        Unknown extension, matplotlib missing, or the file cannot be written.
    """
    fmt = plot_format(path)
    name = os.fsdecode(path)
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise OffcourseError(NEEDS_MATPLOTLIB) from None
    style = style or Style()
    trace = report.trace
    options = options or (trace.options if trace is not None else Options())
    route, track = report.route, report.track
    if trace is not None:
        progress = (trace.route_m, trace.offset_m)
    else:  # a report built by hand: run the engine for its trace
        progress = progress_trace(route, track, options, index=index)
    tx, ty = project_track(route, track)
    items = [_Excursion(i, e, report, tx, ty, style) for i, e in enumerate(report.excursions, 1)]
    zooms = items[:MAX_ZOOMS]
    zoom_rows = math.ceil(len(zooms) / 3)

    heights = [6.4] + [3.3] * zoom_rows + [2.5]
    top_in, bottom_in, gap_in = 0.35, 0.55, 0.65
    fig_h = sum(heights) + top_in + bottom_in + gap_in * (len(heights) - 1)
    with matplotlib.rc_context({"svg.fonttype": "none", "font.size": 9, "axes.titlesize": 9}):
        fig = Figure(figsize=(12.0, fig_h), dpi=120)
        FigureCanvasAgg(fig)
        gs = fig.add_gridspec(
            len(heights), 1, height_ratios=heights, left=0.06, right=0.98, top=1 - top_in / fig_h,
            bottom=bottom_in / fig_h, hspace=gap_in / (sum(heights) / len(heights)),
        )  # fmt: skip
        top = gs[0].subgridspec(1, 2, width_ratios=[2.15, 1.0], wspace=0.04)
        ax_map = fig.add_subplot(top[0])
        ax_side = fig.add_subplot(top[1])

        # the whole route
        rb = (float(route.x.min()), float(route.x.max()), float(route.y.min()), float(route.y.max()))
        xs = [rb[0], rb[1], *(it.bounds[0] for it in items), *(it.bounds[1] for it in items)]
        ys = [rb[2], rb[3], *(it.bounds[2] for it in items), *(it.bounds[3] for it in items)]
        fin = np.isfinite(tx)
        if fin.any():
            xs += [float(np.nanmin(tx)), float(np.nanmax(tx))]
            ys += [float(np.nanmin(ty)), float(np.nanmax(ty))]
        span = max(max(xs) - min(xs), max(ys) - min(ys), 100.0)
        pad = span * 0.04
        box = (min(xs) - pad, max(xs) + pad, min(ys) - pad, max(ys) + pad)
        shown = _set_box(ax_map, box)
        _draw_geometry(ax_map, report, tx, ty, items, box=None, tolerance_m=shown / 2500.0, big=True)
        for it in items:
            _badge(ax_map, it)
        _scale_bar(ax_map, [(route.x, route.y), (tx, ty)], style)
        ax_map.set_xticks([])
        ax_map.set_yticks([])
        for spine in ax_map.spines.values():
            spine.set_color("#bbb")
        handles = ax_map.get_legend_handles_labels()
        drawn = _side_panel(ax_side, report, items, handles, style)

        # one zoomed panel per excursion
        if zooms:
            grid = gs[1 : 1 + zoom_rows].subgridspec(zoom_rows, min(3, len(zooms)), wspace=0.12, hspace=0.28)
            for k, it in enumerate(zooms):
                ax = fig.add_subplot(grid[k // 3, k % 3])
                zbox = _square_box(it.bounds, 0.3, 3.0 * options.off_threshold_m)
                zshown = _set_box(ax, zbox)
                shown_box = (*ax.get_xlim(), *ax.get_ylim())  # the box grown to the panel's shape
                _draw_geometry(ax, report, tx, ty, [it], box=shown_box, tolerance_m=zshown / 1500.0, big=False)
                _badge(ax, it, distance_pt=12.0)
                _scale_bar(ax, [(route.x, route.y), (tx, ty)], style, fontsize=7.5)
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_title(_zoom_title(it, style), color=it.colour, loc="left")

        _profile(fig.add_subplot(gs[-1]), report, items, progress, options, style)
        try:
            fig.savefig(name, format=fmt, metadata={"Date": None} if fmt == "svg" else None, facecolor="white")
        except OSError as exc:
            raise OffcourseError(f"cannot write the picture: {exc.strerror or exc}", path=name) from None
    return drawn

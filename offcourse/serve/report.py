"""The field report at the end of a race: the same report as ``offcourse batch``, from what was received.

:func:`export_recordings` writes each runner's stored fixes, every one in time order (late ones
included), as a GPX file named after the runner; :func:`field_report` then runs
:func:`offcourse.batch.run_batch` on them and writes the batch's outputs: ``report.json``,
``report.csv`` and ``report.html``. ``offcourse serve-report ROUTE --db race.sqlite --out DIR``
does both.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from ..detect import Options
from ..detect.state import route_fingerprint
from ..model import Route
from .auth import Runner

if TYPE_CHECKING:
    from ..batch import Names
from .store import Store

__all__ = ["export_recordings", "field_report", "recording_name", "report_names", "runner_label"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def runner_label(device: str, runner: Runner | None) -> str:
    """How the report names a runner: ``Name #bib``, else the device id.

    >>> runner_label("7", Runner("7", bib="101", name="Ida Nilsson")), runner_label("7", None)
    ('Ida Nilsson #101', '7')
    """
    if runner is None:
        return device
    name = runner.name or device
    return f"{name} #{runner.bib}" if runner.bib else name


def _gpx(label: str, rows: list[tuple[float, float, float, float | None]]) -> str:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="offcourse serve" '
        'xmlns="http://www.topografix.com/GPX/1/1">',
        f"<metadata><name>{escape(label)}</name></metadata><trk><name>{escape(label)}</name><trkseg>",
    ]
    for t, lat, lon, ele in rows:
        when = datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        ele_xml = f"<ele>{ele:.1f}</ele>" if ele is not None and math.isfinite(ele) else ""
        out.append(f"<trkpt lat={quoteattr(repr(lat))} lon={quoteattr(repr(lon))}>{ele_xml}<time>{when}</time></trkpt>")
    out.append("</trkseg></trk></gpx>\n")
    return "\n".join(out)


def recording_name(index: int, device: str) -> str:
    """The file a device's fixes are exported to: unique per device, readable, safe on any file system.

    The index and a hash of the exact id keep ids that differ only in characters a file name cannot
    hold (``w:2``, ``w@2``) apart.

    >>> recording_name(0, "w:2"), recording_name(1, "w@2")
    ('0000-w_2-bea9d422.gpx', '0001-w_2-9497843a.gpx')
    """
    digest = hashlib.sha256(device.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{index:04d}-{_UNSAFE.sub('_', device)[:64]}-{digest}.gpx"


def export_recordings(
    store: Store, folder: str | os.PathLike[str], runners: Mapping[str, Runner] | None = None
) -> list[Path]:
    """Each device's fixes as ``FOLDER/NNNN-DEVICE-HASH.gpx`` (every stored fix, in time order); the paths.

    One file per device, in :meth:`Store.devices` order (see :func:`recording_name`).
    """
    runners = runners or {}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, device in enumerate(store.devices()):
        path = folder / recording_name(index, device)
        path.write_text(_gpx(runner_label(device, runners.get(device)), store.all_positions(device)), encoding="utf-8")
        paths.append(path)
    return paths


def report_names(devices: list[str], paths: list[Path], runners: Mapping[str, Runner]) -> Names:
    """The batch's names list for the exported files: each file is its runner's name and bib
    (the device id when the runner has no name; no bib when none is listed)."""
    from ..batch import Names

    by_file: dict[str, tuple[str, str | None]] = {}
    for device, path in zip(devices, paths, strict=True):
        runner = runners.get(device)
        entry = ((runner.name if runner else "") or device, (runner.bib if runner else "") or None)
        by_file[path.name.lower()] = by_file[path.stem.lower()] = entry
    return Names("auto", by_file)


def field_report(
    route_path: str | os.PathLike[str],
    route: Route,
    db_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    runners: Mapping[str, Runner] | None = None,
    options: Options | None = None,
    jobs: int | None = None,
    route_track: int | None = None,
) -> dict[str, Any]:
    """Export the recordings and run the batch on them; the batch's summary with the output paths.

    Writes ``OUT/recordings/*.gpx``, ``OUT/report.json``, ``OUT/report.csv`` and
    ``OUT/report.html``; each row carries its runner's ``name`` and ``bib`` from ``runners``.
    """
    from .. import batch
    from ..html import field_page

    out = Path(out)
    store = Store(db_path, route_fingerprint(route), readonly=True)  # a mistyped --db is not created
    try:
        devices = store.devices()
        paths = export_recordings(store, out / "recordings", runners)
    finally:
        store.close()
    if not paths:
        return {"files": 0, "outputs": []}
    result = batch.run_batch(
        route_path,
        batch.expand_inputs([os.fsencode(p) for p in paths]),
        options,
        jobs=jobs,
        cache_path=None,
        route_track=route_track,
        names=report_names(devices, paths, runners or {}),
    )
    rows = batch.sort_rows(result.rows)
    outputs = [out / "report.json", out / "report.csv", out / "report.html"]
    batch.rows_to_json(result, outputs[0])
    batch.rows_to_csv(rows, outputs[1])
    batch.atomic_write_text(outputs[2], field_page(rows, result.route, title=f"offcourse: {len(rows)} runners"))
    return {**result.summary(), "outputs": [str(p) for p in outputs]}

"""Check a whole race field against one route: every recording, one row each, nothing lost.

The batch engine behind ``offcourse batch``. The parent process expands the inputs
(files, folders, globs) into paths, hashes each file, looks it up in the result cache
and sends the paths it has not seen to workers: a local process pool (``jobs``
processes) or a Dask cluster (``scheduler``). Each worker reads the route and builds
its :class:`~offcourse.match.RouteIndex` once, then reads, checks and summarises each
recording itself, so the parent never holds a track and only a bounded number of
paths are in flight.

Every input gives exactly one row (a ``dict``, see :data:`ROW_KEYS`): ``status`` is
``"ok"`` with the summary of :func:`offcourse.check` and every excursion with its
geometry, or ``"error"`` with a one-line reason (a missing or unreadable file, a
folder or a pattern with no recording in it, a corrupt file, a recording somewhere
else, a worker that died on it...).

Results are appended, one JSON line per row and written at once, to a cache keyed by
the SHA-256 of each file's bytes and by a job key (the route file's SHA-256, the
detector options and the engine version): a batch interrupted by Ctrl-C or ``kill``
and run again continues where it stopped, and a recording already checked (under any
name) is never checked again.

The package, one idea per module, every public name re-exported here:
:mod:`~offcourse.batch.inputs` (files, folders and patterns to inputs),
:mod:`~offcourse.batch.files` (reading and hashing), :mod:`~offcourse.batch.rows` (a report
to a row), :mod:`~offcourse.batch.worker` (one file checked), :mod:`~offcourse.batch.cache`,
:mod:`~offcourse.batch.backends` (in-process, pool, Dask), :mod:`~offcourse.batch.scheduler`
(:func:`run_batch`) and :mod:`~offcourse.batch.outputs` (table, CSV, JSON, GeoJSON).

Examples
--------
>>> import tempfile, pathlib
>>> tmp = tempfile.TemporaryDirectory()
>>> d = pathlib.Path(tmp.name)
>>> result = run_batch("routes/allermuir-hill-race.gpx",
...                    expand_inputs(["samples/allermuir-wrong-turn.gpx", str(d / "missing.gpx")]),
...                    jobs=1, cache_path=d / "cache.jsonl")
>>> [(r["status"], r["excursions"], r["error"]) for r in sort_rows(result.rows)]
[('ok', 1, None), ('error', None, 'no such file')]
>>> result.checked, result.cached
(2, 0)
>>> run_batch("routes/allermuir-hill-race.gpx", expand_inputs(["samples/allermuir-wrong-turn.gpx"]),
...           jobs=1, cache_path=d / "cache.jsonl").cached
1
>>> tmp.cleanup()
"""

from __future__ import annotations

from ..read._limits import terminal_text
from ..report import check  # noqa: F401 - kept importable as before the split
from .annotate import NAME_SOURCES, Names, annotate_rows, read_names
from .backends import check_scheduler_address
from .cache import CACHE_NAME, ResultCache, Warn, cached_row, stderr_warning
from .files import file_sha256
from .inputs import ROW_KEYS, SUMMARY_KEYS, TRACK_SUFFIXES, BatchInput, Row, expand_inputs
from .outputs import (
    atomic_write_text,
    csv_cell,
    excursions_to_csv,
    geojson_features,
    route_features,
    rows_to_csv,
    rows_to_geojson,
    rows_to_json,
    sort_rows,
    split_antimeridian,
)
from .rows import MAX_EXCURSION_POINTS, error_row, report_row, runner_name
from .scheduler import MAX_ATTEMPTS, BatchResult, run_batch
from .table import OnRow, print_table, rows_to_table, tqdm_progress
from .words import plural, publish_names, publish_rows, where_text
from .worker import FILE_TIMEOUT_S, JobSpec, TaskResult, check_file, job_spec, run_task

__all__ = [
    "CACHE_NAME",
    "FILE_TIMEOUT_S",
    "MAX_ATTEMPTS",
    "MAX_EXCURSION_POINTS",
    "ROW_KEYS",
    "SUMMARY_KEYS",
    "TRACK_SUFFIXES",
    "NAME_SOURCES",
    "BatchInput",
    "Names",
    "BatchResult",
    "JobSpec",
    "OnRow",
    "ResultCache",
    "Row",
    "TaskResult",
    "Warn",
    "annotate_rows",
    "atomic_write_text",
    "cached_row",
    "check_file",
    "check_scheduler_address",
    "csv_cell",
    "error_row",
    "excursions_to_csv",
    "expand_inputs",
    "file_sha256",
    "geojson_features",
    "job_spec",
    "plural",
    "print_table",
    "publish_names",
    "publish_rows",
    "read_names",
    "report_row",
    "route_features",
    "rows_to_csv",
    "rows_to_geojson",
    "rows_to_json",
    "rows_to_table",
    "run_batch",
    "run_task",
    "runner_name",
    "sort_rows",
    "split_antimeridian",
    "stderr_warning",
    "terminal_text",
    "tqdm_progress",
    "where_text",
]

"""The batch itself: every input to exactly one row, the workers kept fed, crashes retried.

Part of :mod:`offcourse.batch`.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, tzinfo
from pathlib import Path
from typing import Any

from ..detect import Options
from ..errors import OffcourseError, ReadError
from ..model import Route
from ..present import route_zone
from .annotate import Names, annotate_rows
from .archives import expand_archives
from .backends import _Backend, _Dask, _InProcess, _Pool
from .cache import ResultCache, Warn
from .files import _reason, file_sha256
from .inputs import BatchInput, Row, _display, _stem
from .rows import error_row
from .table import OnRow
from .worker import FILE_TIMEOUT_S, JobSpec, TaskResult, job_spec

__all__ = ["MAX_ATTEMPTS", "BatchResult", "run_batch"]

MAX_ATTEMPTS = 3
"""A file whose worker died is given to another worker up to this many times in all."""

DASK_TASKS_PER_THREAD = 3
"""Dask tasks in flight per worker thread: one running, one waiting on the worker (Dask sends a
worker one task more than it has threads), one at the scheduler for the next free worker."""

DASK_TASK_S = 1.0
"""The worker time a Dask task of several files aims at: its 10-12 ms of scheduler and client CPU
are then about 1 % of it, and rows still come back every half second or so."""

DASK_FIRST_BATCH = 4
"""Files in each of the first Dask tasks, before any file's time is known."""

DASK_MAX_BATCH = 64
"""Most files in one Dask task."""


@dataclass
class BatchResult:
    """Everything a batch produced.

    Attributes
    ----------
    rows : list of dict
        One row per input, in input order (see :func:`sort_rows` for severity order).
    cached, checked : int
        Rows taken from the cache (or from another file with the same content in this run),
        and rows this run worked out (read errors included); they add up to ``len(rows)``.
    route : Route
    spec : JobSpec
    cache_path : Path or None
    """

    rows: list[Row]
    cached: int
    checked: int
    route: Route
    spec: JobSpec
    cache_path: Path | None
    elapsed_s: float = 0.0
    fixes_checked: int = 0
    """Fixes of the files checked by this run (not those from the cache)."""
    warnings: list[str] = field(default_factory=list)
    """Warning lines of this run (cache not writable, cache lines ignored)."""

    @property
    def errors(self) -> int:
        """Number of error rows."""
        return sum(r["status"] == "error" for r in self.rows)

    def summary(self) -> dict[str, Any]:
        """Counts for people and machines."""
        return {
            "files": len(self.rows),
            "ok": len(self.rows) - self.errors,
            "errors": self.errors,
            "cached": self.cached,
            "checked": self.checked,
            "fixes_checked": self.fixes_checked,
            "elapsed_s": round(self.elapsed_s, 2),
            "cache": None if self.cache_path is None else str(self.cache_path),
        }


@dataclass
class _Job:
    """One file content on its way through a worker, and the inputs waiting for it."""

    ids: list[int]
    sha: str
    attempt: int = 1
    alone: bool = False


def _refuse_route_among_tracks(route_path: bytes, inputs: Sequence[BatchInput]) -> None:
    """The route given again among the tracks (``batch uploads/*.gpx`` without a route) is refused."""
    try:
        st = os.stat(route_path)
    except OSError:
        return
    for item in inputs:
        if item.error is not None:
            continue
        try:
            other = os.stat(item.path)
        except (OSError, ValueError):
            continue
        if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
            raise OffcourseError(
                f"the route is also one of the tracks ({item.display}): give the official route first, "
                "then the recordings (offcourse batch ROUTE TRACKS...)",
                path=_display(route_path),
            )


def _for_input(result: TaskResult, path: bytes) -> Row:
    row = dict(result.row)
    row["file"] = _display(path)
    row["name"] = result.meta_name or _stem(path)
    return row


def run_batch(
    route_path: str | bytes | os.PathLike[str],
    inputs: Sequence[BatchInput],
    options: Options | None = None,
    *,
    jobs: int | None = None,
    scheduler: Any = None,
    cache_path: str | os.PathLike[str] | None = None,
    on_row: OnRow | None = None,
    in_flight: int | None = None,
    on_warning: Warn | None = None,
    file_timeout_s: float | None = FILE_TIMEOUT_S,
    route_track: int | None = None,
    names: Names | None = None,
    race_date: date | None = None,
    tz: tzinfo | None = None,
    worker_memory_mb: int | None = None,
) -> BatchResult:
    """Check every input against the route; one row per input, whatever happens.

    Parameters
    ----------
    route_path : path
        The official route (read here to fail early, and by each worker).
    inputs : sequence of BatchInput
        From :func:`expand_inputs`.
    options : Options, optional
        Detector settings, as for ``check``.
    jobs : int, optional
        Local worker processes (default: all cores). ``1`` checks in this process.
    scheduler : str or distributed.Client, optional
        A Dask scheduler address (or a connected client): run the tasks on that cluster.
        The workers must see the route and the recordings at the same absolute paths (and the
        files of ZIP uploads, copied to a temporary folder of this process: on a cluster of
        several machines, point ``TMPDIR`` at a shared folder).
    cache_path : path, optional
        The result cache (JSON lines); ``None`` caches nothing.
    on_row : callable, optional
        Progress: called with each row as it is known and whether it came from the
        cache (or from another file with the same content).
    in_flight : int, optional
        Most files sent to workers and not yet back (default: four per worker, at least 8;
        on Dask no limit on files, three tasks per worker thread, of several files each:
        as many as the workers check in about :data:`DASK_TASK_S`, fewer towards the end).
    on_warning : callable, optional
        Receives each warning line as it happens (the cache cannot be written, cache lines
        ignored); default :func:`stderr_warning`. They are also in ``BatchResult.warnings``.
    file_timeout_s : float, optional
        Most seconds spent on one file (default :data:`FILE_TIMEOUT_S`; ``None``: no limit):
        a file taking longer gives an error row (not cached), never a hang. In a pool
        worker or with ``jobs=1`` the worker stops itself (SIGALRM); a pool where no file
        at all ends within the limit plus a minute is stopped and its files are retried
        alone, then given an error row. Dask workers are not limited.
    route_track : int, optional
        A route file holding several tracks: use track N (1-based; 0 joins them all); default
        as :func:`offcourse.read_route` (the first, unless they continue one another).
    names : Names, optional
        How runners are named (:func:`~offcourse.batch.annotate.read_names`, or a source such as
        ``Names("file")``); default: the file's author or athlete, else the file name.
    race_date : date, optional
        The race day: rows recorded on another day (in ``tz``) are flagged ``other_day``.
    tz : tzinfo, optional
        The zone of the race day (default: the route's local zone, found from its start).
    worker_memory_mb : int, optional
        Most memory (address space, MiB) of each pool worker: a file needing more gives an error
        row ("out of memory"), the other files go on. With ``jobs=1`` the files are then checked in
        one worker process (never in this one). Not applied on Dask, nor where the worker's present
        size cannot be read (no ``/proc``: see :func:`~offcourse.batch.worker.limit_memory`).

    Returns
    -------
    BatchResult
        One row per input, and one per file of each ZIP upload; ``cached + checked == len(rows)``.

    Raises
    ------
    OffcourseError
        The route cannot be read or used, the cache cannot be opened, the scheduler
        cannot be reached. Problems with recordings are rows, never exceptions.
    KeyboardInterrupt
        Passed on after stopping the workers; the finished rows are already in the cache.
    """
    with tempfile.TemporaryDirectory(prefix="offcourse-batch-") as members:
        return _run(
            route_path, expand_archives(inputs, Path(members)), options, jobs=jobs, scheduler=scheduler,
            cache_path=cache_path, on_row=on_row, in_flight=in_flight, on_warning=on_warning,
            file_timeout_s=file_timeout_s, route_track=route_track, names=names, race_date=race_date, tz=tz,
            worker_memory_mb=worker_memory_mb,
        )  # fmt: skip


def _run(
    route_path: str | bytes | os.PathLike[str],
    inputs: Sequence[BatchInput],
    options: Options | None,
    *,
    jobs: int | None,
    scheduler: Any,
    cache_path: str | os.PathLike[str] | None,
    on_row: OnRow | None,
    in_flight: int | None,
    on_warning: Warn | None,
    file_timeout_s: float | None,
    route_track: int | None,
    names: Names | None,
    race_date: date | None,
    tz: tzinfo | None,
    worker_memory_mb: int | None,
) -> BatchResult:
    started = time.perf_counter()
    spec, route = job_spec(route_path, options, route_track=route_track)
    if file_timeout_s is not None and not file_timeout_s > 0:
        raise OffcourseError(f"the per-file time limit must be positive, got {file_timeout_s}")
    if worker_memory_mb is not None and worker_memory_mb < 1:
        raise OffcourseError(f"the worker memory limit must be at least 1 MB, got {worker_memory_mb}")
    _refuse_route_among_tracks(spec.route_path, inputs)
    spec = replace(spec, file_timeout_s=file_timeout_s, worker_memory_mb=worker_memory_mb)
    cache = ResultCache(cache_path, spec.key, on_warning)
    for w in route.meta.extra.get("warnings", []):  # a route stored out of order, points at (0, 0)...
        cache._warn(f"{_display(spec.route_path)}: {w}")
    rows: list[Row | None] = [None] * len(inputs)
    counts = {"cached": 0, "checked": 0, "fixes": 0}

    def emit(i: int, row: Row, from_cache: bool) -> None:
        rows[i] = row
        counts["cached" if from_cache else "checked"] += 1
        if not from_cache and row["status"] == "ok":
            counts["fixes"] += int(row["fixes"] or 0)
        if on_row is not None:
            on_row(row, from_cache)

    n_workers = max(1, jobs if jobs is not None else os.cpu_count() or 1)
    backend: _Backend
    try:
        if scheduler is not None:
            backend = _Dask(spec, scheduler)
        elif n_workers == 1 and worker_memory_mb is None:
            backend = _InProcess(spec)  # a memory limit needs a worker process: it cannot limit this one
        else:
            backend = _Pool(spec, n_workers)
    except BaseException:
        cache.close()
        raise
    pool = isinstance(backend, _Pool)
    if backend.batches:  # Dask: a few tasks per worker thread, several files each
        task_limit = DASK_TASKS_PER_THREAD * backend.threads
        file_limit = max(1, in_flight) if in_flight else len(inputs) + 1
    else:  # one file a task
        task_limit = file_limit = max(1, in_flight or max(8, 4 * backend.threads))

    flying: dict[Any, list[_Job]] = {}
    by_sha: dict[str, _Job] = {}
    ready: deque[_Job] = deque()  # new files, and files to retry, waiting for a task
    suspects: deque[_Job] = deque()  # pool: after a crash, the files that were in flight, one at a time
    alone: deque[_Job] = deque()  # Dask: the files of a task that killed its workers, one a task
    timing = {"files": 0, "worker_s": 0.0}  # Dask: what the tasks back so far took on the workers

    def submit(jobs: list[_Job], by_itself: bool = False) -> None:
        files = []
        for job in jobs:
            job.alone = by_itself
            item = inputs[job.ids[0]]
            files.append((os.path.abspath(item.path), item.name))
        flying[backend.submit(files)] = jobs

    def batch_size(files_flying: int, unsent: int) -> int:
        """Files for the next task: about DASK_TASK_S of work, spread over every slot at the end."""
        if not backend.batches:
            return 1
        if timing["files"] == 0 or timing["worker_s"] <= 0:
            k = DASK_FIRST_BATCH
        else:
            k = round(DASK_TASK_S * timing["files"] / timing["worker_s"])
        k = min(k, DASK_MAX_BATCH, -(-unsent // task_limit), file_limit - files_flying)
        return max(1, k)

    def finish(job: _Job, result: TaskResult) -> None:
        by_sha.pop(job.sha, None)
        cache.put(result)
        for k, i in enumerate(job.ids):
            emit(i, _for_input(result, inputs[i].name), k > 0)

    def fail(job: _Job, reason: str) -> None:
        by_sha.pop(job.sha, None)
        for i in job.ids:
            emit(i, error_row(inputs[i].name, reason, None if job.sha.startswith("#") else job.sha), False)

    def start(i: int) -> None:
        """The row of input ``i`` now (bad input, the cache), or its file queued for a worker."""
        item = inputs[i]
        if item.error is not None:
            emit(i, error_row(item.name, item.error, kind=item.error_kind), False)
            return
        if cache.path is None:  # nothing to look up: the worker hashes what it reads, once
            ready.append(_Job([i], f"#{i}"))  # (a file given twice is then checked twice; annotate_rows flags it)
            return
        try:
            sha = file_sha256(item.path)
        except ReadError as exc:
            emit(i, error_row(item.name, _reason(exc, item.path), kind="unreadable"), False)
            return
        row = cache.get(sha, item.name)
        if row is not None:
            emit(i, row, True)
        elif sha in by_sha:
            by_sha[sha].ids.append(i)  # the same content is on its way: not checked twice
        else:
            by_sha[sha] = job = _Job([i], sha)
            ready.append(job)

    def settle(fut: Any, crashed: list[_Job]) -> None:
        jobs = flying.pop(fut)
        out = backend.outcome(fut)
        if isinstance(out, tuple):  # Dask: the results and the task's time on its worker
            results, worker_s = out
            timing["files"] += len(jobs)
            timing["worker_s"] += worker_s
        elif isinstance(out, list):
            results = out
        elif isinstance(out, str):  # Dask: the workers died on this task too often
            for job in jobs:  # which file kills them, if any? each goes again alone, then fails alone
                if job.alone:
                    fail(job, out)
                else:
                    alone.append(job)
            return
        else:
            crashed.extend(jobs)
            return
        for job, result in zip(jobs, results, strict=True):
            finish(job, result)

    taken = 0  # inputs started
    cancel = True
    try:
        while True:
            while len(flying) < task_limit:  # keep the workers fed, never more than the limits out
                if suspects:  # after a pool crash, the files that were in flight go one at a time
                    if flying:
                        break
                    submit([suspects.popleft()], by_itself=True)
                    continue
                files_flying = sum(len(jobs) for jobs in flying.values())
                if files_flying >= file_limit:
                    break
                if alone:
                    submit([alone.popleft()], by_itself=True)
                    continue
                k = batch_size(files_flying, len(inputs) - taken + len(ready))
                while len(ready) < k and taken < len(inputs):
                    taken += 1
                    start(taken - 1)
                if not ready:
                    break
                submit([ready.popleft() for _ in range(min(k, len(ready)))])
            if not flying:
                break
            crashed: list[_Job] = []
            for fut in backend.wait(list(flying)):
                settle(fut, crashed)
            if crashed and pool:
                for fut in list(flying):  # the rest of a broken pool: results or crashes, at once
                    settle(fut, crashed)
                backend.recover()
            again: list[_Job] = []
            for job in crashed:
                if job.alone or not pool:
                    job.attempt += 1
                if job.attempt > MAX_ATTEMPTS:
                    fail(job, f"the worker died while checking this file ({MAX_ATTEMPTS} attempts)")
                elif pool:
                    suspects.append(job)
                elif job.alone:
                    alone.append(job)
                else:
                    again.append(job)
            ready.extendleft(reversed(again))  # Dask: lost or cancelled, sent again first
        cancel = False
    finally:
        backend.close(cancel)
        cache.close()
    done = [r for r in rows if r is not None]
    if len(done) != len(inputs):  # pragma: no cover - a bug, never bad input
        raise RuntimeError(f"batch lost {len(inputs) - len(done)} rows")
    if race_date is not None and tz is None:
        tz = route_zone(float(route.lon[0]), float(route.lat[0]))
    done = annotate_rows(done, names=names, race_date=race_date, tz=tz)
    return BatchResult(
        rows=done,
        cached=counts["cached"],
        checked=counts["checked"],
        route=route,
        spec=spec,
        cache_path=cache.path,
        elapsed_s=time.perf_counter() - started,
        fixes_checked=counts["fixes"],
        warnings=list(cache.warnings),
    )

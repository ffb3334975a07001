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

This module holds the workers and the scheduling; the expansion of the inputs
(:mod:`offcourse._batch_inputs`), the cache (:mod:`offcourse._batch_cache`) and the
outputs (:mod:`offcourse._batch_output`) live beside it and are re-exported here.

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

import concurrent.futures as cf
import contextlib
import hashlib
import json
import math
import os
import re
import signal
import socket
import stat
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from . import __version__
from ._batch_cache import CACHE_NAME, ResultCache, Warn, cached_row, stderr_warning
from ._batch_inputs import ROW_KEYS, SUMMARY_KEYS, TRACK_SUFFIXES, BatchInput, Row, _display, _stem, expand_inputs
from ._batch_output import (
    OnRow,
    atomic_write_text,
    csv_cell,
    geojson_features,
    rows_to_csv,
    rows_to_geojson,
    rows_to_json,
    rows_to_table,
    sort_rows,
    split_antimeridian,
    tqdm_progress,
)
from .detect import Options
from .errors import OffcourseError, ReadError
from .match import RouteIndex
from .model import Metadata, Route, Track
from .read import MAX_BYTES, gunzip_once, parse_bytes, read_route
from .read._limits import clean_text, terminal_text
from .report import Excursion, Report, check, iso_utc, report_to_dict, valid_positions

__all__ = [
    "CACHE_NAME",
    "FILE_TIMEOUT_S",
    "MAX_ATTEMPTS",
    "MAX_EXCURSION_POINTS",
    "ROW_KEYS",
    "SUMMARY_KEYS",
    "TRACK_SUFFIXES",
    "atomic_write_text",
    "BatchInput",
    "BatchResult",
    "JobSpec",
    "ResultCache",
    "cached_row",
    "check_file",
    "check_scheduler_address",
    "csv_cell",
    "error_row",
    "expand_inputs",
    "geojson_features",
    "job_spec",
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
]

MAX_EXCURSION_POINTS = 500
"""An excursion's geometry is decimated to at most this many points."""

FILE_TIMEOUT_S = 600.0
"""Default per-file time limit of :func:`run_batch` (seconds): a file taking longer is an error row."""

MAX_ATTEMPTS = 3
"""A file whose worker died is given to another worker up to this many times in all."""

CACHE_VERSION = 1

_HASH_CHUNK = 1 << 20
_HUNG_GRACE_S = 60.0


# --------------------------------------------------------------------------- reading and hashing


def _read_error(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not a file"
    return f"cannot read: {exc.strerror or exc}"


def _open_regular(path: bytes) -> IO[bytes]:
    """Open a regular file for reading; never blocks on a FIFO or a device.

    Raises
    ------
    ReadError
        With the one-line reason (missing, a folder, not a regular file, too large, ...).
    """
    spath = _display(path)
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise ReadError("is a folder, not a file", path=spath)
        if not stat.S_ISREG(st.st_mode):
            raise ReadError("not a regular file", path=spath)
        if st.st_size > MAX_BYTES:
            raise ReadError(f"file is {st.st_size} bytes, more than the bound of {MAX_BYTES}", path=spath)
        return open(path, "rb")
    except OSError as exc:
        raise ReadError(_read_error(exc), path=spath) from None
    except ValueError as exc:  # a NUL byte in the name (as read.load_bytes says)
        raise ReadError(f"bad file name: {exc}", path=spath) from None


def file_sha256(path: bytes) -> str:
    """SHA-256 of a file's bytes (as stored, compressed or not), read in 1 MiB chunks.

    Raises
    ------
    ReadError
        When the file cannot be read.
    """
    with _open_regular(path) as fh:
        h = hashlib.sha256()
        try:
            while chunk := fh.read(_HASH_CHUNK):
                h.update(chunk)
        except OSError as exc:
            raise ReadError(_read_error(exc), path=_display(path)) from None
    return h.hexdigest()


def _read_bytes(path: bytes) -> bytes:
    with _open_regular(path) as fh:
        try:
            # read what the file holds (not a MAX_BYTES buffer for every small file), up to the bound
            return fh.read(min(os.fstat(fh.fileno()).st_size, MAX_BYTES) + 1)
        except OSError as exc:
            raise ReadError(_read_error(exc), path=_display(path)) from None


def _reason(exc: OffcourseError, path: bytes) -> str:
    """The error's line without the file name in front (the row already names the file)."""
    text = str(exc)
    for prefix in (_display(path), os.fsdecode(path)):
        if text.startswith(prefix + ": "):
            return text[len(prefix) + 2 :]
    return text


# --------------------------------------------------------------------------- rows


def runner_name(meta: Metadata | None, path: bytes) -> str:
    """The runner's name: from the file's metadata where present, else the file name's stem.

    The metadata's author or athlete (``meta.extra``) is preferred, then its ``name``
    (a GPX ``metadata/name`` or track name, a FIT course name).

    >>> runner_name(None, b"results/Jane-Doe.gpx.gz")
    'Jane-Doe'
    >>> runner_name(Metadata("gpx", name="  Morning Run "), b"x.gpx")
    'Morning Run'
    """
    if meta is not None:
        for value in (meta.extra.get("author"), meta.extra.get("athlete"), meta.name):
            if isinstance(value, str) and value.strip():
                return " ".join(value.split())
    return _stem(path)


def error_row(path: bytes, reason: str, sha256: str | None = None) -> Row:
    """The row of a file that could not be checked."""
    row: Row = dict.fromkeys(ROW_KEYS)
    reason = clean_text(reason)  # a message quoting hostile text must not break the outputs
    row.update(file=_display(path), name=_stem(path), status="error", error=reason, sha256=sha256, excursion_list=[])
    return row


def _decimate(n: int, limit: int = MAX_EXCURSION_POINTS) -> Any:
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def _lonlat_list(lon: Any, lat: Any) -> list[list[float]]:
    ok = np.isfinite(lon) & np.isfinite(lat)
    lon, lat = lon[ok], lat[ok]
    idx = _decimate(len(lon))
    return [[round(x, 7), round(y, 7)] for x, y in zip(lon[idx].tolist(), lat[idx].tolist(), strict=True)]


def _excursion_coordinates(e: Excursion, route: Route, track: Track) -> list[list[float]]:
    """Where the excursion went: the runner's fixes, or for a skipped section the route skipped."""
    if e.kind == "skipped_section":
        lo, hi = sorted((e.exit_route_m, e.rejoin_route_m if e.rejoin_route_m is not None else e.exit_route_m))
        inner = route.cum_m[(route.cum_m > lo) & (route.cum_m < hi)]
        lon, lat = route.lonlat_at(np.concatenate(([lo], inner, [hi])))
        return _lonlat_list(lon, lat)
    t = track.epoch_s
    end = e.end_epoch_s if e.end_epoch_s is not None else math.inf
    sel = (t >= e.start_epoch_s) & (t <= end) & valid_positions(track)  # no receiver (0, 0) in the line
    return _lonlat_list(track.lon[sel], track.lat[sel])


def report_row(report: Report, path: bytes, sha256: str | None) -> Row:
    """The row of a checked recording: :func:`~offcourse.report.report_to_dict`'s figures and geometry."""
    d = report_to_dict(report)
    track = report.track
    times = track.epoch_s[np.isfinite(track.epoch_s)]
    s = d["summary"]
    excursions = []
    for e, ed in zip(report.excursions, d["excursions"], strict=True):
        excursions.append({**ed, "coordinates": _excursion_coordinates(e, report.route, track)})
    return {
        "file": _display(path),
        "name": runner_name(track.meta, path),
        "status": "ok",
        "verdict": s["verdict"],
        "verdict_reason": s["verdict_reason"],
        "error": None,
        "sha256": sha256,
        "fixes": len(track),
        "start_time": iso_utc(float(times[0])) if len(times) else None,
        "duration_s": round(float(times[-1] - times[0]), 1) if len(times) else None,
        "distance_m": d["track"]["distance_m"],
        "excursions": s["excursions"],
        "extra_distance_m": s["extra_distance_m"],
        "time_off_course_s": s["time_off_course_s"],
        "skipped_m": s["skipped_m"],
        "wrong_way_m": s["wrong_way_m"],
        "completed": s["completed"],
        "coverage": s["coverage"]["fraction"],
        "excursion_list": excursions,
    }


# --------------------------------------------------------------------------- the job and the worker side


@dataclass(frozen=True)
class JobSpec:
    """What every worker needs: the route (read by each worker from its path), options, job key.

    Small and picklable: it travels with each Dask task and once to each pool worker.
    """

    key: str
    route_path: bytes
    route_sha256: str
    options: Options
    file_timeout_s: float | None = None
    """Most seconds a worker spends on one file (``None``: no limit); not part of the job key."""
    route_track: int | None = None
    """Which track of a route file holding several (see :func:`offcourse.read_route`)."""


def job_spec(
    route_path: str | bytes | os.PathLike[str], options: Options | None = None, *, route_track: int | None = None
) -> tuple[JobSpec, Route]:
    """Read and hash the route, and derive the job key that names cached results.

    Returns
    -------
    spec : JobSpec
    route : Route
        The route as read in this process (the workers read their own).

    Raises
    ------
    OffcourseError
        The route cannot be read or used.
    """
    path = os.path.abspath(os.fsencode(route_path))
    options = options or Options()
    sha = file_sha256(path)
    route = read_route(os.fsdecode(path), track=route_track)
    ident = {"v": CACHE_VERSION, "offcourse": __version__, "route_sha256": sha, "options": asdict(options)}
    if route_track is not None:
        ident["route_track"] = route_track
    key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]
    return JobSpec(key=key, route_path=path, route_sha256=sha, options=options, route_track=route_track), route


@dataclass
class _Prepared:
    route: Route
    index: RouteIndex
    options: Options


_PREPARED: dict[str, _Prepared] = {}
_PREPARED_LOCK = threading.Lock()


def _prepare(spec: JobSpec) -> _Prepared:
    """The route and its index for this job, read and built once per process."""
    with _PREPARED_LOCK:
        prep = _PREPARED.get(spec.key)
        if prep is None:
            sha = file_sha256(spec.route_path)
            if sha != spec.route_sha256:
                raise OffcourseError("the route file changed during the batch", path=_display(spec.route_path))
            route = read_route(os.fsdecode(spec.route_path), track=spec.route_track)
            prep = _Prepared(route, RouteIndex(route), spec.options)
            _warm_up(prep)
            _PREPARED.clear()  # one job at a time per process
            _PREPARED[spec.key] = prep
        return prep


def _warm_up(prep: _Prepared) -> None:
    """Check a short walk along the route once, so that one-time costs (lazy imports, compiling the
    engine) are paid here and not counted in the first file's time limit."""
    n = min(len(prep.route.lon), 20)
    track = Track.from_arrays(
        lon=prep.route.lon[:n], lat=prep.route.lat[:n], epoch_s=np.arange(n, dtype=np.float64) * 10.0
    )
    with contextlib.suppress(Exception):  # only a warm-up: any problem shows on the files themselves
        check(prep.route, track, prep.options, index=prep.index)


@dataclass(frozen=True)
class TaskResult:
    """What a worker sends back for one file."""

    row: Row
    meta_name: str | None
    """The runner's name from the file's metadata (``None`` when it came from the file name)."""
    cacheable: bool
    """False for problems that may not recur (unreadable file, route missing on the worker, bug)."""


def check_file(path: bytes, route: Route, options: Options | None = None, *, index: RouteIndex | None = None) -> Row:
    """Check one recording and give its row; never raises for bad input (error row instead).

    Parameters
    ----------
    path : bytes
        The recording (FIT, GPX, TCX, GeoJSON; maybe gzip-compressed).
    route, options, index :
        As for :func:`offcourse.check`; share ``index`` across files.
    """
    return _check_path(path, path, route, options or Options(), index or RouteIndex(route)).row


def _check_path(
    path: bytes, shown: bytes, route: Route, options: Options, index: RouteIndex, timeout_s: float | None = None
) -> TaskResult:
    sha: str | None = None
    try:
        raw = _read_bytes(path)
        sha = hashlib.sha256(raw).hexdigest()
        parsed = parse_bytes(gunzip_once(raw, _display(shown)), _display(shown))  # as read_file reads it
        del raw
        report = check(route, parsed.track, options, index=index)
        row = report_row(report, shown, sha)
        meta_name = runner_name(parsed.track.meta, b"")
        return TaskResult(row, meta_name or None, True)
    except OffcourseError as exc:
        return TaskResult(error_row(shown, _reason(exc, shown), sha), None, sha is not None)
    except _FileTimeout:
        return _timeout_row(shown, timeout_s)
    except MemoryError:
        return TaskResult(error_row(shown, "out of memory while checking this file", sha), None, False)
    except Exception as exc:  # a bug must cost one row, not the batch
        text = f"internal error: {type(exc).__name__}: {exc}".replace("\n", " ")
        return TaskResult(error_row(shown, text, sha), None, False)


class _FileTimeout(BaseException):
    """The per-file time limit ran out (raised by SIGALRM in the worker's main thread).

    A ``BaseException``, so that no ``except Exception`` on the way (a reader turning any
    decoder failure into a typed error) can swallow it and go on."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _FileTimeout


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`_FileTimeout` in the block after ``seconds``; only where SIGALRM can be used:
    the main thread (a pool worker, ``jobs=1``), when no other alarm is set (a Dask worker's
    threads rely on the parent's watchdog instead)."""
    usable = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if seconds is None or not seconds > 0 or not usable:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _timeout_row(shown: bytes, seconds: float | None) -> TaskResult:
    reason = f"took more than the per-file time limit of {seconds:g} s (--file-timeout-s)"
    return TaskResult(error_row(shown, reason), None, False)


def run_task(spec: JobSpec, path: bytes, shown: bytes | None = None) -> TaskResult:
    """Check one file on a worker (pool process or Dask worker): the function both backends run.

    Parameters
    ----------
    spec : JobSpec
        The job; its route is read and indexed on the first call in this process.
    path : bytes
        Absolute path of the recording, as the worker sees it.
    shown : bytes, optional
        The path as given by the user, for the row (defaults to ``path``).
    """
    shown = path if shown is None else shown
    try:
        prep = _prepare(spec)
    except OffcourseError as exc:
        return TaskResult(error_row(shown, f"route unusable on this worker: {exc}"), None, False)
    try:
        with _time_limit(spec.file_timeout_s):
            return _check_path(path, shown, prep.route, prep.options, prep.index, spec.file_timeout_s)
    except _FileTimeout:  # the alarm rang after _check_path's own handler
        return _timeout_row(shown, spec.file_timeout_s)


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True  # no /proc: trust kill(0)


def _watch_parent(batch_pid: int) -> None:
    """Exit this worker when the batch process dies (``kill -9``): never outlive it, idle or busy."""
    parent = os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != parent or not _alive(batch_pid):
            os._exit(1)


def _init_worker(spec: JobSpec, batch_pid: int) -> None:
    """Pool initializer: ignore Ctrl-C (the batch stops the pool), watch the batch, read the route."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(batch_pid,), daemon=True).start()
    with contextlib.suppress(OffcourseError):  # each task will then report it on its row
        _prepare(spec)


# --------------------------------------------------------------------------- backends


class _Backend(Protocol):
    def submit(self, path: bytes, shown: bytes) -> Any: ...

    def wait(self, futures: Sequence[Any]) -> list[Any]: ...

    def outcome(self, future: Any) -> TaskResult | str | None:
        """The result; a reason (``str``) when the file must not be retried; ``None`` to retry it."""
        ...

    def recover(self) -> None: ...

    def close(self, cancel: bool) -> None: ...


class _InProcess:
    """``jobs=1``: check each file in this process, no pool."""

    def __init__(self, spec: JobSpec) -> None:
        self.spec = spec

    def submit(self, path: bytes, shown: bytes) -> cf.Future[TaskResult]:
        fut: cf.Future[TaskResult] = cf.Future()
        fut.set_result(run_task(self.spec, path, shown))
        return fut

    def wait(self, futures: Sequence[Any]) -> list[Any]:
        return list(futures)

    def outcome(self, future: Any) -> TaskResult | str | None:
        result: TaskResult = future.result()
        return result

    def recover(self) -> None:
        pass

    def close(self, cancel: bool) -> None:
        pass


def _mp_context() -> Any:
    import multiprocessing as mp

    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["offcourse.batch"])
        return ctx
    return mp.get_context("spawn")


class _Pool:
    """A local process pool; a worker that dies breaks the pool, which is then rebuilt."""

    def __init__(self, spec: JobSpec, jobs: int) -> None:
        self.spec = spec
        self.jobs = jobs
        self.executor = self._start()

    def _start(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=self.jobs,
            mp_context=_mp_context(),
            initializer=_init_worker,
            initargs=(self.spec, os.getpid()),
        )

    def submit(self, path: bytes, shown: bytes) -> cf.Future[TaskResult]:
        return self.executor.submit(run_task, self.spec, path, shown)

    def wait(self, futures: Sequence[Any]) -> list[Any]:
        limit = self.spec.file_timeout_s
        grace = None if limit is None else limit + _HUNG_GRACE_S
        done, _ = cf.wait(futures, timeout=grace, return_when=cf.FIRST_COMPLETED)
        if not done:  # no file ended within the limit: the workers are stuck where SIGALRM cannot reach
            for proc in list(getattr(self.executor, "_processes", {}).values()):
                proc.terminate()  # their files come back as crashes, retried alone
            done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def outcome(self, future: Any) -> TaskResult | str | None:
        from concurrent.futures.process import BrokenProcessPool

        try:
            result: TaskResult = future.result()
        except (BrokenProcessPool, cf.CancelledError):
            return None
        return result

    def recover(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self._start()

    def close(self, cancel: bool) -> None:
        if cancel:
            for proc in list(getattr(self.executor, "_processes", {}).values()):
                proc.terminate()  # the files in flight are not cached: they are checked on the next run
        self.executor.shutdown(wait=True, cancel_futures=cancel)


_ADDRESS = re.compile(r"^(?:(tcp|tls)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):([0-9]{1,5})/?$")


def check_scheduler_address(address: str, *, connect_timeout_s: float = 5.0) -> None:
    """Fail at once, with one line, on a Dask address that is malformed or where nothing listens.

    ``distributed.Client`` would try for its whole timeout and then, at exit, block a further
    60 s closing the client it half made.

    Addresses of other protocols (``ucx://``, ``inproc://``...) are left to ``distributed``.

    Raises
    ------
    OffcourseError
        Not ``[tcp://|tls://]HOST:PORT``, or the connection is refused or times out.
    """
    scheme = address.strip().partition("://")[0] if "://" in address else "tcp"
    if scheme not in ("tcp", "tls") and scheme.isalnum():
        return
    m = _ADDRESS.match(address.strip())
    if m is None or not 0 < int(m.group(3)) < 65536:
        raise OffcourseError(f"bad Dask scheduler address {address!r}: expected tcp://HOST:PORT")
    host = m.group(2).strip("[]")
    try:
        with socket.create_connection((host, int(m.group(3))), timeout=connect_timeout_s):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise OffcourseError(f"cannot reach the Dask scheduler at {address}: {reason}") from None


class _Dask:
    """A Dask distributed cluster: the same :func:`run_task` as tasks; lost workers are rescheduled."""

    def __init__(self, spec: JobSpec, scheduler: Any) -> None:
        try:
            import distributed
        except ImportError:
            raise OffcourseError("--scheduler needs dask.distributed: pip install 'offcourse[dask]'") from None
        self.spec = spec
        self.distributed: Any = distributed
        self.own = isinstance(scheduler, str)
        if isinstance(scheduler, str):
            check_scheduler_address(scheduler)
            try:
                self.client: Any = self.distributed.Client(scheduler, set_as_default=False, timeout=30)
            except (OSError, TimeoutError, ValueError) as exc:
                raise OffcourseError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        else:
            self.client = scheduler
        self.done: Any = self.distributed.as_completed(loop=self.client.loop)
        self.pending: set[Any] = set()

    def submit(self, path: bytes, shown: bytes) -> Any:
        key = f"offcourse-check-{uuid.uuid4().hex}"
        future = self.client.submit(run_task, self.spec, path, shown, key=key, pure=False)
        self.done.add(future)
        self.pending.add(future)
        return future

    def wait(self, futures: Sequence[Any]) -> list[Any]:
        first = next(self.done)  # blocks until a task ends
        ended = [first, *self.done.next_batch(block=False)]
        self.pending.difference_update(ended)
        return ended

    def outcome(self, future: Any) -> TaskResult | str | None:
        if future.status == "finished":
            result: TaskResult = future.result()
            return result
        if future.status == "error":
            exc = future.exception()
            if isinstance(exc, self.distributed.KilledWorker):
                return f"the Dask workers checking this file died ({exc})".replace("\n", " ")
        return None  # lost or cancelled: submit again

    def recover(self) -> None:
        pass

    def close(self, cancel: bool) -> None:
        if cancel and self.pending:
            with contextlib.suppress(Exception):  # stopping anyway: a cluster gone away is not an error here
                self.client.cancel(list(self.pending))
        self.pending.clear()
        if self.own:
            self.client.close()


# --------------------------------------------------------------------------- the batch


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
        The workers must see the route and the recordings at the same absolute paths.
    cache_path : path, optional
        The result cache (JSON lines); ``None`` caches nothing.
    on_row : callable, optional
        Progress: called with each row as it is known and whether it came from the
        cache (or from another file with the same content).
    in_flight : int, optional
        Most files sent to workers and not yet back (default: four per worker, at least 8).
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

    Returns
    -------
    BatchResult
        ``cached + checked == len(inputs)``.

    Raises
    ------
    OffcourseError
        The route cannot be read or used, the cache cannot be opened, the scheduler
        cannot be reached. Problems with recordings are rows, never exceptions.
    KeyboardInterrupt
        Passed on after stopping the workers; the finished rows are already in the cache.
    """
    started = time.perf_counter()
    spec, route = job_spec(route_path, options, route_track=route_track)
    if file_timeout_s is not None and not file_timeout_s > 0:
        raise OffcourseError(f"the per-file time limit must be positive, got {file_timeout_s}")
    spec = replace(spec, file_timeout_s=file_timeout_s)
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
            n_workers = max(1, len(backend.client.scheduler_info().get("workers", {})))
        elif n_workers == 1:
            backend = _InProcess(spec)
        else:
            backend = _Pool(spec, n_workers)
    except BaseException:
        cache.close()
        raise
    pool = isinstance(backend, _Pool)
    limit = max(1, in_flight or max(8, 4 * n_workers))

    flying: dict[Any, _Job] = {}
    by_sha: dict[str, _Job] = {}
    suspects: deque[_Job] = deque()

    def submit(job: _Job, alone: bool = False) -> None:
        path = inputs[job.ids[0]].path
        job.alone = alone
        flying[backend.submit(os.path.abspath(path), path)] = job

    def finish(job: _Job, result: TaskResult) -> None:
        by_sha.pop(job.sha, None)
        cache.put(result)
        for k, i in enumerate(job.ids):
            emit(i, _for_input(result, inputs[i].path), k > 0)

    def fail(job: _Job, reason: str) -> None:
        by_sha.pop(job.sha, None)
        for i in job.ids:
            emit(i, error_row(inputs[i].path, reason, job.sha), False)

    def start(i: int) -> None:
        item = inputs[i]
        if item.error is not None:
            emit(i, error_row(item.path, item.error), False)
            return
        try:
            sha = file_sha256(item.path)
        except ReadError as exc:
            emit(i, error_row(item.path, _reason(exc, item.path)), False)
            return
        row = cache.get(sha, item.path)
        if row is not None:
            emit(i, row, True)
        elif sha in by_sha:
            by_sha[sha].ids.append(i)  # the same content is on its way: not checked twice
        else:
            by_sha[sha] = job = _Job([i], sha)
            submit(job)

    def settle(fut: Any, crashed: list[_Job]) -> None:
        job = flying.pop(fut)
        out = backend.outcome(fut)
        if isinstance(out, TaskResult):
            finish(job, out)
        elif isinstance(out, str):
            fail(job, out)
        else:
            crashed.append(job)

    todo = iter(range(len(inputs)))
    exhausted = False
    cancel = True
    try:
        while True:
            while len(flying) < limit:  # keep the workers fed, never more than `limit` files out
                if suspects:  # after a pool crash, the files that were in flight go one at a time
                    if flying:
                        break
                    submit(suspects.popleft(), alone=True)
                    continue
                i_next = None if exhausted else next(todo, None)
                if i_next is None:
                    exhausted = True
                    break
                start(i_next)
            if not flying:
                break
            crashed: list[_Job] = []
            for fut in backend.wait(list(flying)):
                settle(fut, crashed)
            if crashed and pool:
                for fut in list(flying):  # the rest of a broken pool: results or crashes, at once
                    settle(fut, crashed)
                backend.recover()
            for job in crashed:
                if job.alone or not pool:
                    job.attempt += 1
                if job.attempt > MAX_ATTEMPTS:
                    fail(job, f"the worker died while checking this file ({MAX_ATTEMPTS} attempts)")
                elif pool:
                    suspects.append(job)
                else:
                    submit(job)
        cancel = False
    finally:
        backend.close(cancel)
        cache.close()
    done = [r for r in rows if r is not None]
    if len(done) != len(inputs):  # pragma: no cover - a bug, never bad input
        raise RuntimeError(f"batch lost {len(inputs) - len(done)} rows")
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

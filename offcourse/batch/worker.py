"""The worker side of a batch: the job, the route read once per process, one file checked.

Part of :mod:`offcourse.batch`. :func:`run_task` is what every backend runs, in this process,
in a pool worker or on a Dask worker; it never raises for bad input (an error row instead) and
stops itself after the per-file time limit.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .. import __version__, _hindsight_loops
from ..detect import Options, _kernel
from ..errors import FileTooLargeError, InvalidTrackError, OffcourseError, ReadError, UnknownFormatError
from ..match import RouteIndex
from ..model import Route, Track
from ..read import gunzip_once, parse_bytes, read_route
from ..report import check
from .files import _reason, file_sha256, read_regular
from .inputs import Row, _display
from .rows import error_row, report_row, runner_name

__all__ = [
    "CACHE_VERSION",
    "FILE_TIMEOUT_S",
    "JobSpec",
    "TaskResult",
    "check_file",
    "job_spec",
    "run_task",
    "run_tasks",
]

FILE_TIMEOUT_S = 600.0
"""Default per-file time limit of :func:`run_batch` (seconds): a file taking longer is an error row."""

CACHE_VERSION = 2
"""Part of the job key: rows of another shape are never read back."""


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
    worker_memory_mb: int | None = None
    """Most address space of a pool worker (MiB; ``None``: no limit); not part of the job key."""


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
    engine) are paid here and not counted in the first file's time limit.

    A worker checks many files, so it also loads the compiled engine now (0.4-1 s, once): a single
    ``offcourse check`` loads it only for long recordings, where it wins on its own, but a worker
    then runs every recording of :data:`~offcourse.detect.options.COMPILED_LOADED_MIN_FIXES` fixes or
    more compiled (the same events, ``tests/detect/test_kernel.py``) instead of the Python engine.
    """
    with contextlib.suppress(Exception):  # without numba the Python engine does it all
        _kernel.available()
        _hindsight_loops.warm_up()  # and hindsight's walks (offcourse._hindsight_loops)
    undo_malloc_trim()

    n = min(len(prep.route.lon), 20)
    track = Track.from_arrays(
        lon=prep.route.lon[:n], lat=prep.route.lat[:n], epoch_s=np.arange(n, dtype=np.float64) * 10.0
    )
    with contextlib.suppress(Exception):  # only a warm-up: any problem shows on the files themselves
        check(prep.route, track, prep.options, index=prep.index)


M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameters (malloc.h)."""

MMAP_THRESHOLD_BYTES = 32 << 20
TRIM_THRESHOLD_BYTES = 64 << 20
"""What glibc's own adaptive thresholds reach for blocks of this size (its 64-bit mmap maximum, and twice it)."""


def undo_malloc_trim(libc: Any = None) -> bool:
    """In a worker started with ``MALLOC_TRIM_THRESHOLD_`` set (Dask's nanny sets 65536, to give
    memory back to the system at once), let glibc keep the large blocks a check allocates and frees.

    With that variable set glibc stops adapting its thresholds, so every numpy array over 128 kB is
    mapped and unmapped afresh, page faults and all: the same 20,000-fix file took 0.20 s of CPU
    instead of 0.124 s (+62 %). The thresholds set here are those glibc adapts to by itself.
    Returns whether they were set (Linux with glibc, and the variable set).
    """
    if not os.environ.get("MALLOC_TRIM_THRESHOLD_") or not sys.platform.startswith("linux"):
        return False
    try:
        lib = ctypes.CDLL(None) if libc is None else libc
        mallopt = lib.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mmap_set = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    trim_set = bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    return mmap_set and trim_set


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
    head = b""
    try:
        raw = read_regular(path)
        sha = hashlib.sha256(raw).hexdigest()
        head = raw[:_SNIFF]
        data = gunzip_once(raw, _display(shown))  # as read_file reads it
        head = data[:_SNIFF]
        del raw
        parsed = parse_bytes(data, _display(shown))
        del data
        report = check(route, parsed.track, options, index=index)
        row = report_row(report, shown, sha)
        meta_name = runner_name(parsed.track.meta, b"")
        return TaskResult(row, meta_name or None, True)
    except UnknownFormatError as exc:
        kind, reason = not_a_recording(head, shown, _reason(exc, shown, path))
        return TaskResult(error_row(shown, reason, sha, kind), None, sha is not None)
    except InvalidTrackError as exc:
        reason = _reason(exc, shown, path)
        kind = "elsewhere" if "never comes within" in reason else "error"
        return TaskResult(error_row(shown, reason, sha, kind), None, sha is not None)
    except FileTooLargeError as exc:
        if _MEMORY_LIMIT_MB[0] is not None and "too large to parse" in str(exc):  # the reader's MemoryError
            return TaskResult(error_row(shown, _out_of_memory(), sha), None, False)  # depends on the limit
        return TaskResult(error_row(shown, _reason(exc, shown, path), sha, "unreadable"), None, sha is not None)
    except ReadError as exc:
        return TaskResult(error_row(shown, _reason(exc, shown, path), sha, "unreadable"), None, sha is not None)
    except OffcourseError as exc:
        return TaskResult(error_row(shown, _reason(exc, shown, path), sha), None, sha is not None)
    except _FileTimeout:
        return _timeout_row(shown, timeout_s)
    except MemoryError:
        return TaskResult(error_row(shown, _out_of_memory(), sha), None, False)
    except Exception as exc:  # a bug must cost one row, not the batch
        text = f"internal error: {type(exc).__name__}: {exc}".replace("\n", " ")
        return TaskResult(error_row(shown, text, sha), None, False)


_SNIFF = 4096
_ROUTE_FORMATS = {b".kml": "KML", b".kmz": "KMZ"}


def not_a_recording(head: bytes, path: bytes, reason: str) -> tuple[str, str]:
    """Why a file the reader does not know is no recording: ``(error kind, reason)``.

    >>> not_a_recording(b"<?xml?><kml xmlns='x'>", b"route.kml", "XML, but neither GPX nor TCX")
    ('not_a_recording', 'KML is a route format, not a recording')
    >>> not_a_recording(b"hello", b"notes.txt", "not a FIT, GPX, TCX or GeoJSON file")
    ('not_gps', 'not a GPS file')
    """
    low = path.lower()
    suffix = os.path.splitext(low[:-3] if low.endswith(b".gz") else low)[1]
    if suffix in _ROUTE_FORMATS or b"<kml" in head[:_SNIFF]:
        return "not_a_recording", f"{_ROUTE_FORMATS.get(suffix, 'KML')} is a route format, not a recording"
    if head[:4] == b"PK\x03\x04" or suffix == b".zip":
        return "not_a_recording", "a ZIP archive: unpack it and give its files (ZIP uploads are not read yet)"
    if not head:
        return "not_gps", "not a GPS file (empty)"
    return "not_gps", "not a GPS file"


def _out_of_memory() -> str:
    limit = _MEMORY_LIMIT_MB[0]
    if limit is None:
        return "out of memory while checking this file"
    return f"out of memory: needs more than the worker memory limit of {limit} MB (--worker-memory-mb)"


_MEMORY_LIMIT_MB: list[int | None] = [None]


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


def run_tasks(spec: JobSpec, files: Sequence[tuple[bytes, bytes]]) -> tuple[list[TaskResult], float]:
    """Check several files in one task (a Dask task): :func:`run_task` on each, in order.

    One task per file costs the Dask scheduler and the client some milliseconds each, as much as a
    tenth of a file's check; a task of several files pays it once. A bad file is its own error row
    and the others are checked all the same (:func:`run_task` never raises for bad input).

    Parameters
    ----------
    spec : JobSpec
    files : sequence of (path, shown)
        As for :func:`run_task`.

    Returns
    -------
    results : list of TaskResult
        One per file, in the order given.
    worker_s : float
        Seconds the files took on the worker (the batch sizes the next tasks from it); the
        route, read and indexed on a worker's first task, is not counted.
    """
    with contextlib.suppress(OffcourseError):  # else each file's row says why
        _prepare(spec)
    t0 = time.perf_counter()
    results = [run_task(spec, path, shown) for path, shown in files]
    return results, time.perf_counter() - t0


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
    if spec.worker_memory_mb is not None:
        limit_memory(spec.worker_memory_mb)


def limit_memory(mb: int) -> bool:
    """Limit this process's address space to ``mb`` MiB more than it uses now (RLIMIT_AS).

    Called in each pool worker once the route is read and the engine warmed up, so the limit
    is what one file may take: beyond it allocations fail with ``MemoryError``, the file gets
    an error row and the worker goes on with the next. Where ``resource`` is missing (Windows),
    or where the process's present size cannot be read (no ``/proc``: macOS, BSD), nothing is
    limited: the limit is on what a file adds, and a limit on the total would starve a worker
    whose libraries alone take more. Returns whether the limit was set.
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return False
    used = _address_space_bytes()
    if used <= 0:
        return False
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    want = used + mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    _MEMORY_LIMIT_MB[0] = mb
    return True


def _address_space_bytes() -> int:
    """This process's address space now (VmSize), 0 where /proc is missing."""
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0

"""Where the files are checked: in this process, a local process pool, or a Dask cluster.

Part of :mod:`offcourse.batch`. Each backend runs :func:`~offcourse.batch.worker.run_task`
(the Dask backend several files a task: :func:`~offcourse.batch.worker.run_tasks`); the scheduler
(:func:`~offcourse.batch.run_batch`) feeds them and settles what comes back.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import re
import socket
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from ..errors import OffcourseError
from .worker import JobSpec, TaskResult, _init_worker, run_task, run_tasks

__all__ = ["check_scheduler_address"]

_HUNG_GRACE_S = 60.0

Files = Sequence[tuple[bytes, bytes]]
"""The files of one task: ``(absolute path, path as shown)`` each."""


class _Backend(Protocol):
    threads: int
    """Files checked at the same time (worker processes, or the Dask cluster's worker threads)."""
    batches: bool
    """Whether a task may hold several files (else ``submit`` is given one file a time)."""

    def submit(self, files: Files) -> Any: ...

    def wait(self, futures: Sequence[Any]) -> list[Any]: ...

    def outcome(self, future: Any) -> list[TaskResult] | tuple[list[TaskResult], float] | str | None:
        """The results, one per file in the order submitted (with the worker's seconds when the
        backend reports them); a reason (``str``) when the task's files must not be retried as
        they were sent; ``None`` to retry them."""
        ...

    def recover(self) -> None: ...

    def close(self, cancel: bool) -> None: ...


class _InProcess:
    """``jobs=1``: check each file in this process, no pool."""

    threads = 1
    batches = False

    def __init__(self, spec: JobSpec) -> None:
        self.spec = spec

    def submit(self, files: Files) -> cf.Future[TaskResult]:
        ((path, shown),) = files
        fut: cf.Future[TaskResult] = cf.Future()
        fut.set_result(run_task(self.spec, path, shown))
        return fut

    def wait(self, futures: Sequence[Any]) -> list[Any]:
        return list(futures)

    def outcome(self, future: Any) -> list[TaskResult] | str | None:
        result: TaskResult = future.result()
        return [result]

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
    """A local process pool; a worker that dies breaks the pool, which is then rebuilt.

    One file a task: a task costs the pool far less than a file's check, and a worker that dies
    takes one file with it, which the scheduler then retries alone."""

    batches = False

    def __init__(self, spec: JobSpec, jobs: int) -> None:
        self.spec = spec
        self.jobs = self.threads = jobs
        self.executor = self._start()

    def _start(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=self.jobs,
            mp_context=_mp_context(),
            initializer=_init_worker,
            initargs=(self.spec, os.getpid()),
        )

    def submit(self, files: Files) -> cf.Future[TaskResult]:
        ((path, shown),) = files
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

    def outcome(self, future: Any) -> list[TaskResult] | str | None:
        from concurrent.futures.process import BrokenProcessPool

        try:
            result: TaskResult = future.result()
        except (BrokenProcessPool, cf.CancelledError):
            return None
        return [result]

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
    """A Dask distributed cluster: :func:`run_tasks` on several files a task; Dask itself gives the
    tasks of a worker that died to another worker (:class:`distributed.KilledWorker` once a task
    was on too many of them).

    A Dask task costs the scheduler and this client 5-6 ms of CPU each, a tenth of a 20,000-fix
    file's check, taken from the workers on a small machine: the scheduler
    (:func:`~offcourse.batch.run_batch`) sends several files a task (``batches``).
    """

    batches = True

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
        try:
            workers = self.client.scheduler_info().get("workers", {})
            self.threads = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        except BaseException:
            if self.own:
                self.client.close()
            raise
        self.done: Any = self.distributed.as_completed(loop=self.client.loop)
        self.pending: set[Any] = set()

    def submit(self, files: Files) -> Any:
        key = f"offcourse-check-{uuid.uuid4().hex}"
        future = self.client.submit(run_tasks, self.spec, list(files), key=key, pure=False)
        self.done.add(future)
        self.pending.add(future)
        return future

    def wait(self, futures: Sequence[Any]) -> list[Any]:
        first = next(self.done)  # blocks until a task ends
        ended = [first, *self.done.next_batch(block=False)]
        self.pending.difference_update(ended)
        return ended

    def outcome(self, future: Any) -> tuple[list[TaskResult], float] | str | None:
        if future.status == "finished":
            result: tuple[list[TaskResult], float] = future.result()
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

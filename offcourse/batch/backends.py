"""Where the files are checked: in this process, a local process pool, or a Dask cluster.

Part of :mod:`offcourse.batch`. Each backend runs :func:`~offcourse.batch.worker.run_task`;
the scheduler (:func:`~offcourse.batch.run_batch`) feeds them and settles what comes back.
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
from .worker import JobSpec, TaskResult, _init_worker, run_task

__all__ = ["check_scheduler_address"]

_HUNG_GRACE_S = 60.0


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

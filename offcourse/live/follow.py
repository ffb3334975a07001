"""Follow one runner live: a source's fixes through a :class:`~offcourse.Monitor`, events out.

Three ways to use it, all on the same :class:`Session`:

- ``for seq, event in Session(route, source, state_path=...)`` — blocking (the command line);
- ``async for event in follow(route, source)`` — the source is read in a thread, so the event loop
  is never blocked;
- ``run(route, source, on_event=callback)`` — blocking, one call per event.

**Saved state and resuming.** With ``state_path`` the session writes its state (the monitor's
:meth:`~offcourse.Monitor.state`, the time of the last fix pushed, how many events were delivered,
and the events raised but not yet delivered) atomically after every event, every
``save_every_s`` seconds and at the end. A session started with an existing state file continues
from it: fixes at or before the saved last time are skipped, undelivered events are delivered
first, so a run killed at any point and restarted on the same file source gives exactly the events
of an uninterrupted run. Delivery is at least once: an event whose delivery was interrupted is
delivered again, with the same sequence number ``seq``. After a file source has ended the state
is marked closed and a restart does nothing.

>>> import numpy as np, offcourse
>>> from offcourse.live.sources import Source
>>> p = offcourse.LocalProjection(7.0, 46.0)
>>> lon, lat = p.inverse(np.array([0.0, 2000.0]), np.array([0.0, 0.0]))
>>> route = offcourse.Route.from_arrays(lon=lon, lat=lat, projection=p)
>>> class Walk(Source):
...     finite = True
...     def __iter__(self):
...         for t in range(200):
...             lo, la = p.inverse(np.array([3.0 * t]), np.array([0.0 if t < 100 else 3.0 * (t - 100)]))
...             yield offcourse.Fix(float(t), float(lo[0]), float(la[0]))
>>> [e.kind for seq, e in Session(route, Walk())]
['started', 'off_course', 'never_rejoined']
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from ..detect import Event, Fix, Monitor, Options
from ..errors import OffcourseError, ReadError
from ..model import Route
from .sources import Source, Warn, open_source, seconds

__all__ = ["STATE_FORMAT", "Session", "event_from_dict", "event_json", "follow", "run"]

STATE_FORMAT = "offcourse-follow-state"
_STATE_VERSION = 1


def _event_classes() -> dict[str, type[Event]]:
    out: dict[str, type[Event]] = {}
    todo: list[type[Event]] = [Event]
    while todo:
        cls = todo.pop()
        out.setdefault(cls.kind, cls)
        todo.extend(cls.__subclasses__())
    return out


def event_from_dict(data: dict[str, Any]) -> Event:
    """The event :meth:`Event.to_dict` gave (None for NaN accepted)."""
    cls = _event_classes().get(str(data.get("kind")))
    if cls is None or cls is Event:
        raise ValueError(f"unknown event kind {data.get('kind')!r}")
    values = {k: (math.nan if v is None else v) for k, v in data.items() if k != "kind"}
    return cls(**values)


def _finite(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def event_json(seq: int, event: Event) -> dict[str, Any]:
    """The event as strict JSON data: ``seq`` (1, 2, ... in a run), ``time`` (ISO 8601 UTC), its fields.

    Non-finite numbers become null.
    """
    from ..report import iso_utc

    return {"seq": seq, "time": iso_utc(event.epoch_s), **{k: _finite(v) for k, v in event.to_dict().items()}}


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path`` with ``text`` so that a reader (or a crash) sees the old or the new file whole."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".offcourse-state-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class Session:
    """One runner on one route, fed from one source, with optional saved state.

    Parameters
    ----------
    route : Route
    source : Source or str
        A :class:`~offcourse.live.sources.Source`, or an address for
        :func:`~offcourse.live.sources.open_source`.
    options : Options, optional
        Detector settings (ignored when resuming: the saved ones apply).
    state_path : path, optional
        Where the state is saved; resumed from when the file exists.
    save_every_s : float
        Also save this often (wall clock) while fixes arrive without events.
    speed : float
        For a file source given as a string: times real time (0: no waiting).
    on_fix : callable, optional
        Called after every fix pushed (``on_fix(session, fix)``), e.g. to show progress.

    Raises
    ------
    ReadError
        The state file is not a follow state.
    InvalidTrackError
        The state belongs to another route.
    """

    def __init__(
        self,
        route: Route,
        source: Source | str,
        *,
        options: Options | None = None,
        state_path: str | os.PathLike[str] | None = None,
        save_every_s: float = 10.0,
        speed: float = 1.0,
        warn: Warn | None = None,
        on_fix: Callable[[Session, Fix], None] | None = None,
    ) -> None:
        self.route = route
        self.source = open_source(source, speed=speed, warn=warn) if isinstance(source, str) else source
        self.state_path = state_path
        self.save_every_s = save_every_s
        self.on_fix = on_fix
        self.last_epoch_s = -math.inf
        self.fixes = 0
        self.delivered = 0
        self.pending: list[Event] = []
        self.closed = False
        self.resumed = False
        self.stop_requested = False
        self.reading = False
        self._saved_at = time.monotonic()
        saved = self._load(state_path) if state_path is not None else None
        if saved is None:
            self.monitor = Monitor(route, options)
        else:
            self.monitor = self._resume(saved)
        self.source.after_s = self.last_epoch_s

    # -- state --------------------------------------------------------------------------------
    @staticmethod
    def _load(path: str | os.PathLike[str]) -> dict[str, Any] | None:
        name = os.fsdecode(path)
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise ReadError(f"cannot read the state file: {getattr(exc, 'strerror', None) or exc}", path=name) from None
        try:
            data = json.loads(text)
        except ValueError:
            raise ReadError("not a follow state (invalid JSON)", path=name) from None
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise ReadError("not a follow state file", path=name)
        if data.get("version") != _STATE_VERSION:
            raise ReadError(
                f"follow state version {data.get('version')!r}; this offcourse reads version {_STATE_VERSION}",
                path=name,
            )
        return data

    def _resume(self, data: dict[str, Any]) -> Monitor:
        name = os.fsdecode(self.state_path or "")
        try:
            monitor = Monitor.restore(self.route, data["monitor"])
            last = data["last_epoch_s"]
            self.last_epoch_s = -math.inf if last is None else float(last)
            self.fixes = int(data["fixes"])
            self.delivered = int(data["delivered"])
            self.pending = [event_from_dict(e) for e in data["pending"]]
            self.closed = bool(data["closed"])
        except OffcourseError as exc:
            raise exc.with_path(name) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise ReadError(f"damaged follow state ({exc})", path=name) from None
        self.resumed = True
        return monitor

    def state(self) -> dict[str, Any]:
        """Everything needed to continue: JSON-serialisable (the monitor's state may hold NaN)."""
        return {
            "format": STATE_FORMAT,
            "version": _STATE_VERSION,
            "source": self.source.name,
            "last_epoch_s": self.last_epoch_s if math.isfinite(self.last_epoch_s) else None,
            "fixes": self.fixes,
            "delivered": self.delivered,
            "pending": [{k: _finite(v) for k, v in e.to_dict().items()} for e in self.pending],
            "closed": self.closed,
            "monitor": self.monitor.state(),
        }

    def save(self) -> None:
        """Write the state file now (atomically); nothing without ``state_path``."""
        if self.state_path is not None:
            write_atomic(self.state_path, json.dumps(self.state()))
        self._saved_at = time.monotonic()

    # -- the steps ----------------------------------------------------------------------------
    def push(self, fix: Fix) -> bool:
        """Push one fix (skipped when at or before the last one); its events join :attr:`pending`.

        Returns whether the state should be saved now (:meth:`save`): the fix raised events, or
        ``save_every_s`` has passed since the last save.
        """
        if not seconds(fix) > self.last_epoch_s:
            return False
        events = self.monitor.push(fix)
        self.last_epoch_s = seconds(fix)
        self.fixes += 1
        self.pending.extend(events)
        return bool(events) or time.monotonic() - self._saved_at >= self.save_every_s

    def end(self) -> None:
        """The source has ended: close the monitor (its closing events join :attr:`pending`)."""
        if not self.closed:
            self.pending.extend(self.monitor.close())
            self.closed = True
            self.save()

    def ack(self) -> None:
        """The first pending event was delivered."""
        self.pending.pop(0)
        self.delivered += 1
        if not self.pending:
            self.save()

    def _deliveries(self) -> Iterator[tuple[int, Event]]:
        while self.pending:
            yield self.delivered + 1, self.pending[0]
            self.ack()

    def __iter__(self) -> Iterator[tuple[int, Event]]:
        """Blocking: ``(seq, event)`` pairs; an event counts as delivered when the next is asked for."""
        yield from self._deliveries()
        if self.closed:
            return
        fixes = iter(self.source)
        while not self.stop_requested:
            self.reading = True
            try:
                fix = next(fixes, None)
            finally:
                self.reading = False
            if fix is None:
                break
            if self.push(fix):
                self.save()
            if self.on_fix is not None:
                self.on_fix(self, fix)
            yield from self._deliveries()
        if not self.stop_requested and not self.source.closed and self.source.finite:
            self.end()
            yield from self._deliveries()

    def stop(self) -> None:
        """Ask the loop to stop after the current fix (thread-safe); the source is closed."""
        self.stop_requested = True
        self.source.close()

    @property
    def progress(self) -> str:
        """``km 23.4 of 100.2, on course`` (or ``waiting for the start``, ``OFF COURSE``, ...)."""
        m = self.monitor
        status = {
            "waiting": "waiting for the start",
            "on": "on course",
            "suspect": "on course?",
            "off": "OFF COURSE",
            "finished": "finished",
        }.get(m.phase, m.phase)
        if m.phase == "off":
            status += f" ({m.offset_m:.0f} m from the route)"
        return f"km {m.route_m / 1000:.1f} of {m.index.length_m / 1000:.1f}, {status}"


# -- async and callback forms -----------------------------------------------------------------


async def follow(
    route: Route,
    source: Source | str,
    *,
    options: Options | None = None,
    state_path: str | os.PathLike[str] | None = None,
    speed: float = 1.0,
    warn: Warn | None = None,
    queue_size: int = 256,
) -> AsyncIterator[Event]:
    """``async for event in follow(route, source)``: the events as they happen.

    The source is read in a thread (its blocking reads never block the event loop); the engine
    runs on the loop (microseconds a fix) and the state file is written in a thread. Leaving the
    loop (``break``, cancellation) closes the source. Parameters as for :class:`Session`.

    Raises
    ------
    OffcourseError
        What the source raised (bad file, connection lost for good...), re-raised here.
    """
    session = Session(route, source, options=options, state_path=state_path, speed=speed, warn=warn)
    src = session.source
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    room = threading.Semaphore(queue_size)  # back-pressure: the reader waits while the queue is full

    def put(item: tuple[str, Any]) -> bool:
        while not room.acquire(timeout=0.25):
            if src.closed:
                return False
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is closed
            return False
        return True

    def reader() -> None:
        try:
            for fix in src:
                if not put(("fix", fix)):
                    return
            put(("end", None))
        except BaseException as exc:  # re-raised in the consumer
            put(("error", exc))

    async def deliveries() -> AsyncIterator[Event]:
        while session.pending:
            yield session.pending[0]
            session.pending.pop(0)
            session.delivered += 1
            if not session.pending:
                await asyncio.to_thread(session.save)

    thread = threading.Thread(target=reader, name=f"offcourse source {src.name}", daemon=True)
    try:
        async for e in deliveries():
            yield e
        if session.closed:
            return
        thread.start()
        while True:
            what, item = await queue.get()
            room.release()
            if what == "error":
                raise item
            if what == "end":
                if src.finite and not session.closed:
                    session.pending.extend(session.monitor.close())
                    session.closed = True
                    await asyncio.to_thread(session.save)
                    async for e in deliveries():
                        yield e
                return
            if session.push(item):
                await asyncio.to_thread(session.save)
            async for e in deliveries():
                yield e
    finally:
        src.close()
        if thread.is_alive():
            await asyncio.to_thread(thread.join, 2.0)
        await asyncio.to_thread(session.save)


def run(
    route: Route,
    source: Source | str,
    on_event: Callable[[Event], Any],
    *,
    options: Options | None = None,
    state_path: str | os.PathLike[str] | None = None,
    speed: float = 1.0,
    warn: Warn | None = None,
) -> Session:
    """Blocking callback form: ``on_event(event)`` for every event, until the source ends.

    Returns the session (its :attr:`~Session.monitor` holds the final state).
    """
    session = Session(route, source, options=options, state_path=state_path, speed=speed, warn=warn)
    try:
        for _seq, event in session:
            on_event(event)
    finally:
        session.save()
    return session

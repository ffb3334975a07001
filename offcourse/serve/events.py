"""Server-Sent Events: every open race-control page gets the alerts at once, positions once a second.

Each subscriber has a bounded queue (:data:`MAX_QUEUE` messages, :data:`MAX_QUEUE_BYTES` bytes); one
that does not keep up (a laptop asleep on a slow link) is dropped and its page reconnects
(``EventSource`` does so by itself) and reloads the state. The queues share the messages (one
``bytes`` object each, whoever waits for it), so the memory they hold is at most that of the
slowest subscriber's queue: :data:`MAX_QUEUE_BYTES` and its messages' few bytes of bookkeeping. Runner
positions are coalesced: a page gets, once per :data:`POSITIONS_EVERY_S`, the latest figures of every
runner that moved, not 400 messages a second.

Messages (the SSE ``event:`` names): ``alert`` (a new event, alert or not), ``resolved`` (a runner
came back: their open alert of that kind is resolved), ``ack`` (an alert was acknowledged),
``runners`` (a list of runner figures).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

__all__ = ["HEARTBEAT_S", "MAX_QUEUE", "MAX_QUEUE_BYTES", "MAX_SUBSCRIBERS", "POSITIONS_EVERY_S", "Broadcaster"]

POSITIONS_EVERY_S = 1.0
HEARTBEAT_S = 15.0
"""A comment line this often keeps proxies from closing an idle stream."""
MAX_QUEUE = 2000
"""Messages waiting for one subscriber before it is dropped."""
MAX_QUEUE_BYTES = 8 << 20
"""Bytes waiting for one subscriber before it is dropped: the ``runners`` message of 2,000 runners
is about 300 kB, so 2,000 of them would be 600 MB; this is some 25 s of them."""
MAX_SUBSCRIBERS = 200
log = logging.getLogger("offcourse.serve")


def sse(event: str, data: Any) -> bytes:
    """One Server-Sent Event (JSON data on one line)."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'), allow_nan=False)}\n\n".encode()


class _Queue(asyncio.Queue[bytes | None]):
    """One subscriber's messages, with the bytes they hold."""

    def __init__(self) -> None:
        super().__init__(MAX_QUEUE)
        self.bytes = 0


class Broadcaster:
    """Fan-out of messages to every subscriber; call :meth:`start` inside the event loop."""

    def __init__(self, views: Callable[[list[str]], Awaitable[bytes]]) -> None:
        self.views = views
        """Gets the ``runners`` message (:func:`sse` bytes) of the runners that moved, once per
        :data:`POSITIONS_EVERY_S` (made off the event loop: 2,000 runners are 300 kB of JSON)."""
        self._queues: set[_Queue] = set()
        self._moved: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def subscribers(self) -> int:
        """How many streams are open."""
        return len(self._queues)

    def start(self) -> None:
        """Start sending coalesced positions."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._positions())

    async def stop(self) -> None:
        """Close every stream and stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for q in list(self._queues):
            self._offer(q, None)

    @property
    def queued(self) -> tuple[int, int]:
        """The longest queue: messages, and the most bytes any queue holds."""
        return max((q.qsize() for q in self._queues), default=0), max((q.bytes for q in self._queues), default=0)

    def _offer(self, q: _Queue, message: bytes | None) -> None:
        size = 0 if message is None else len(message)
        if q.full() or q.bytes + size > MAX_QUEUE_BYTES:
            # dropped: what it holds is freed now (the page reloads the state when it reconnects), and
            # its stream ends when it reads the queue's end
            self._queues.discard(q)
            with contextlib.suppress(asyncio.QueueEmpty):
                while True:
                    q.get_nowait()
            q.bytes = 0
            q.put_nowait(None)
            return
        q.bytes += size
        q.put_nowait(message)

    def publish(self, event: str, data: Any) -> None:
        """Send one message to every subscriber now."""
        self.publish_bytes(sse(event, data))

    def publish_bytes(self, message: bytes) -> None:
        """Send one message already encoded by :func:`sse`."""
        for q in list(self._queues):
            self._offer(q, message)

    def moved(self, devices: Iterable[str]) -> None:
        """Runners whose figures changed: sent with the next positions message."""
        self._moved.update(devices)

    async def flush(self) -> None:
        """Send the coalesced positions now (when a page is open)."""
        if self._moved and self._queues:
            moved, self._moved = sorted(self._moved), set()
            self.publish_bytes(await self.views(moved))

    async def _positions(self) -> None:
        while True:
            await asyncio.sleep(POSITIONS_EVERY_S)
            try:
                await self.flush()
            except Exception:  # a failed read must not end the stream's updates
                log.exception("runner positions for the stream")

    def stream(self, first: bytes = b"") -> AsyncIterator[bytes]:
        """One subscriber's stream: ``first``, then every message until it is dropped or closed.

        Raises
        ------
        OverflowError
            Too many subscribers (the app answers 503).
        """
        if len(self._queues) >= MAX_SUBSCRIBERS:
            raise OverflowError("too many open streams")
        q = _Queue()
        self._queues.add(q)
        return self._read(q, first)

    async def _read(self, q: _Queue, first: bytes) -> AsyncIterator[bytes]:
        try:
            yield b"retry: 2000\n\n" + first
            while True:
                try:
                    message = await asyncio.wait_for(q.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield b": ping\n\n"
                    continue
                if message is None:
                    return
                q.bytes -= len(message)
                yield message
        finally:
            self._queues.discard(q)

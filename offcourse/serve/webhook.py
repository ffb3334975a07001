"""A webhook per alert: a race's own SMS or chat bridge gets one ``POST`` of JSON per alert.

Off the request path: alerts go into a bounded queue that :data:`CONCURRENCY` senders empty
together, so a slow or dead receiver never delays ingest, and one slow alert does not hold up the
others. Each alert is tried up to :data:`ATTEMPTS` times in a row, :data:`BACKOFF_S` apart
(doubling, at most :data:`MAX_BACKOFF_S`), each try within :data:`TIMEOUT_S`; any 2xx answer takes
it. An alert taken is marked in the store (``hook_s``). Every :data:`RESCAN_S` (and on start), the
alerts not taken yet (failed so far, dropped from a full queue, or left when the server died) are
read from the store and queued again: an alert is retried until the receiver takes it, for as
long as the server runs. A receiver may see an alert twice after a crash, never zero times.

The body: the alert as the API shows it (``id``, ``device``, ``bib``, ``name``, ``kind``,
``epoch_s``, ``data``) plus ``time`` (ISO 8601 UTC) and ``text``, one line for a person.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ATTEMPTS",
    "BACKOFF_S",
    "CONCURRENCY",
    "MAX_BACKOFF_S",
    "MAX_PENDING",
    "RESCAN_S",
    "TIMEOUT_S",
    "Webhook",
    "alert_text",
]

ATTEMPTS = 4
"""Tries in a row for one alert; then it waits for the next rescan (and a sender is free again)."""
BACKOFF_S = 2.0
MAX_BACKOFF_S = 30.0
TIMEOUT_S = 10.0
CONCURRENCY = 4
"""Alerts being sent at once."""
RESCAN_S = 30.0
"""How often the alerts not taken yet are queued again."""
MAX_PENDING = 10_000

log = logging.getLogger("offcourse.serve")


def alert_text(alert: dict[str, Any]) -> str:
    """One line for a person: who, what, where.

    >>> alert_text({"bib": "7", "name": "Ida", "kind": "off_course",
    ...             "data": {"exit_route_m": 12345.0, "offset_m": 80.4}})
    'bib 7 Ida: off course at km 12.3, 80 m from the route'
    """
    who = " ".join(x for x in (f"bib {alert.get('bib')}" if alert.get("bib") else "", alert.get("name") or "") if x)
    who = who or str(alert.get("device"))
    d = alert.get("data") or {}
    kind = str(alert.get("kind", "")).replace("_", " ")
    if alert.get("kind") == "off_course":
        return f"{who}: {kind} at km {d.get('exit_route_m', 0) / 1000:.1f}, {d.get('offset_m', 0):.0f} m from the route"
    if alert.get("kind") == "wrong_direction":
        return f"{who}: running the route the wrong way from km {d.get('from_route_m', 0) / 1000:.1f}"
    if alert.get("kind") == "skipped_section":
        return f"{who}: skipped km {d.get('from_route_m', 0) / 1000:.1f} to {d.get('to_route_m', 0) / 1000:.1f}"
    return f"{who}: {kind}"


class Webhook:
    """The sender; :meth:`start` inside the event loop, :meth:`send` from it, :meth:`stop` at the end.

    Parameters
    ----------
    url : str
    on_done : callable
        Called with the alert's id once the receiver took it (marks it in the store).
    pending : async callable, optional
        The alerts not taken yet (from the store), read on start and every ``rescan_s``.
    backoff_s, rescan_s : float, optional
        :data:`BACKOFF_S` and :data:`RESCAN_S` by default.
    transport : httpx transport, optional
        For tests.
    """

    def __init__(
        self,
        url: str,
        on_done: Callable[[int], Any],
        *,
        pending: Callable[[], Awaitable[list[dict[str, Any]]]] | None = None,
        backoff_s: float | None = None,
        rescan_s: float | None = None,
        concurrency: int = CONCURRENCY,
        transport: Any = None,
    ) -> None:
        self.url = url
        self.on_done = on_done
        self.pending = pending
        self.backoff_s = BACKOFF_S if backoff_s is None else backoff_s
        self.rescan_s = RESCAN_S if rescan_s is None else rescan_s
        self.concurrency = max(1, concurrency)
        self.transport = transport
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._known: set[int] = set()
        """Alerts queued or being sent (a rescan does not queue them twice)."""
        self._delivered: set[int] = set()
        self._retry: dict[int, dict[str, Any]] = {}
        """Alerts that failed :data:`ATTEMPTS` tries, queued again at the next rescan."""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop sending (alerts not taken are sent again at the next start)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def send(self, alert: dict[str, Any]) -> None:
        """Queue one alert (never blocks; an alert already queued, being sent or taken is skipped)."""
        alert_id = int(alert["id"])
        if alert_id in self._known or alert_id in self._delivered:
            return
        if self._queue.qsize() >= MAX_PENDING:
            dropped = self._queue.get_nowait()
            self._queue.task_done()
            self._known.discard(int(dropped["id"]))
            self.dropped += 1
            log.warning("webhook: queue full, alert %s postponed to the next rescan", dropped.get("id"))
        self._known.add(alert_id)
        self._queue.put_nowait(alert)

    async def idle(self) -> None:
        """Wait until every queued alert was sent or postponed (for tests and shutdown)."""
        await self._queue.join()

    async def rescan(self) -> None:
        """Queue again the alerts that failed and those the store says are not taken yet."""
        retry, self._retry = self._retry, {}
        for alert in retry.values():
            self.send(alert)
        if self.pending is not None:
            try:
                alerts = await self.pending()
            except Exception:  # a busy database: the next rescan
                log.warning("webhook: pending alerts not read, next try in %g s", self.rescan_s)
                return
            for alert in alerts:
                self.send(alert)

    async def _run(self) -> None:
        import httpx

        async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False, transport=self.transport) as client:
            loop = asyncio.get_running_loop()
            senders = [loop.create_task(self._sender(client)) for _ in range(self.concurrency)]
            try:
                while True:
                    await self.rescan()
                    await asyncio.sleep(self.rescan_s)
            finally:
                for task in senders:
                    task.cancel()
                await asyncio.gather(*senders, return_exceptions=True)

    async def _sender(self, client: Any) -> None:
        while True:
            alert = await self._queue.get()
            alert_id = int(alert["id"])
            try:
                if await self._deliver(client, alert):
                    self._delivered.add(alert_id)
                else:
                    self._retry[alert_id] = alert
            finally:
                self._known.discard(alert_id)
                self._queue.task_done()

    async def _deliver(self, client: Any, alert: dict[str, Any]) -> bool:
        """Up to :data:`ATTEMPTS` tries; whether the receiver took the alert."""
        import httpx

        when = datetime.fromtimestamp(alert["epoch_s"], UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        body = {**alert, "time": when, "text": alert_text(alert)}
        why = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                await asyncio.sleep(min(MAX_BACKOFF_S, self.backoff_s * 2 ** (attempt - 1)))
            try:
                answer = await client.post(self.url, json=body, headers={"User-Agent": "offcourse-serve"})
            except httpx.HTTPError as exc:
                why = type(exc).__name__
                continue
            if 200 <= answer.status_code < 300:
                self.sent += 1
                done = self.on_done(int(alert["id"]))
                if inspect.isawaitable(done):
                    await done
                return True
            why = f"status {answer.status_code}"
        self.failed += 1
        log.warning("webhook: alert %s not taken after %d tries (%s): again in %g s", alert["id"], ATTEMPTS, why,
                    self.rescan_s)  # fmt: skip
        return False

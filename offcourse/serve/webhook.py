"""A webhook per alert: a race's own SMS or chat bridge gets one ``POST`` of JSON per alert.

Off the request path: alerts go into a bounded queue that one task empties, so a slow or dead
receiver never delays ingest. Each alert is tried :data:`ATTEMPTS` times, :data:`BACKOFF_S` apart
(doubling), each try within :data:`TIMEOUT_S`; any 2xx answer takes it. An alert taken is marked in
the store (``hook_s``); on start, alerts never taken (the server died first) are queued again, so
a receiver may see an alert twice after a crash, never zero times while the server runs. A full
queue drops the oldest alert with a warning.

The body: the alert as the API shows it (``id``, ``device``, ``bib``, ``name``, ``kind``,
``epoch_s``, ``data``) plus ``time`` (ISO 8601 UTC) and ``text``, one line for a person.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = ["ATTEMPTS", "BACKOFF_S", "MAX_PENDING", "TIMEOUT_S", "Webhook", "alert_text"]

ATTEMPTS = 4
BACKOFF_S = 2.0
TIMEOUT_S = 10.0
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
    """

    def __init__(self, url: str, on_done: Callable[[int], Any], *, backoff_s: float | None = None) -> None:
        self.url = url
        self.on_done = on_done
        self.backoff_s = BACKOFF_S if backoff_s is None else backoff_s
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop sending (alerts still queued are sent again at the next start)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def send(self, alert: dict[str, Any]) -> None:
        """Queue one alert (never blocks)."""
        if self._queue.qsize() >= MAX_PENDING:
            dropped = self._queue.get_nowait()
            self.dropped += 1
            log.warning("webhook: queue full, alert %s dropped", dropped.get("id"))
        self._queue.put_nowait(alert)

    async def idle(self) -> None:
        """Wait until every queued alert was sent or given up (for tests and shutdown)."""
        await self._queue.join()

    async def _run(self) -> None:
        import httpx

        async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as client:
            while True:
                alert = await self._queue.get()
                try:
                    await self._deliver(client, alert)
                finally:
                    self._queue.task_done()

    async def _deliver(self, client: Any, alert: dict[str, Any]) -> None:
        import httpx

        when = datetime.fromtimestamp(alert["epoch_s"], UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        body = {**alert, "time": when, "text": alert_text(alert)}
        why = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
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
                return
            why = f"status {answer.status_code}"
        self.failed += 1
        log.warning("webhook: alert %s not delivered after %d attempts (%s)", alert["id"], ATTEMPTS, why)

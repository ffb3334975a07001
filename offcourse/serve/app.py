"""The Starlette application: ingest, the JSON API, the stream and the pages.

=========================================  ======================  ===============================
path                                       who                     what
=========================================  ======================  ===============================
``GET|POST /`` with a fix                  a registered device     OsmAnd / Traccar protocol
``POST /api/positions``                    devices, or the token   the JSON batch
``GET /live``, ``GET /runner/DEVICE``      token                   the pages
``GET /api/route``, ``/api/runners``,      token                   the same data as JSON
``/api/runners/DEVICE``, ``/api/alerts``
``POST /api/alerts/ID/ack``                token                   acknowledge an alert
``GET /api/stream``                        token                   Server-Sent Events
``GET /healthz``                           anyone                  ``ok``
=========================================  ======================  ===============================

Engine and database work is serialised (one lock; the store has one connection) and grouped:
requests that arrive while a group is being committed form the next group, one transaction. A
small group (the usual case: a fix or a few per request) is worked on the event loop, which
costs less than a hop to a thread; a large one (a tracker's backlog, the JSON batch) and every
read for the pages run in a worker thread, the loop serving the other connections meanwhile. An
ingest answer (200) is sent only after its transaction is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote_plus, urlencode

from ..detect import Options
from ..model import Route
from .auth import (
    DEVICE_BURST_FIXES,
    DEVICE_FIXES_PER_S,
    REFUSAL_BURST,
    REFUSALS_PER_S,
    RateLimiter,
    Runner,
    same_secret,
)
from .events import Broadcaster, sse
from .field import Field, Outcome
from .ingest import FUTURE_SLACK_S, MAX_BODY_BYTES, IngestError, Position, parse_json, parse_request
from .page import CSS, JS, live_page, runner_page
from .store import WAL_RESET_BYTES, Store
from .webhook import Webhook

if TYPE_CHECKING:  # Starlette is imported when the app is made: the package imports without the extra
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["COOKIE", "Config", "Server", "create_app"]

COOKIE = "offcourse_session"
CHECKPOINT_EVERY_S = 2.0
FORGET_EVERY_S = 60.0
"""How often the monitors of runners idle for :data:`~offcourse.serve.field.IDLE_S` leave memory."""
INLINE_MAX_FIXES = 200
"""A group of requests with more fixes than this is worked in the worker thread, off the event loop."""
INLINE_PARSE_BYTES = 16 << 10
"""A request body larger than this is parsed in a parser thread, off the event loop."""
_FIRST_ID = re.compile(
    rb'"(?:id|device_id|deviceid)"\s*:\s*"([A-Za-z0-9][A-Za-z0-9._:@-]{0,63})"'
    rb"|(?:^|[&\s])(?:id|deviceid)=([^&\s]{1,200})"
)
"""The first device id of a body (JSON or form lines), read before the whole body is parsed."""
log = logging.getLogger("offcourse.serve")
T = TypeVar("T")

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass
class Config:
    """What ``offcourse serve`` was started with."""

    route: Route
    db_path: str
    runners: Mapping[str, Runner]
    token: str
    webhook_url: str | None = None
    options: Options | None = None
    title: str = "offcourse: race control"
    rate_per_s: float | None = None
    """Fixes a second per device (None: :data:`~offcourse.serve.auth.DEVICE_FIXES_PER_S`)."""
    burst_fixes: float | None = None
    """Fixes a device may send at once (None: :data:`~offcourse.serve.auth.DEVICE_BURST_FIXES`)."""
    max_ahead_s: float = FUTURE_SLACK_S
    """How far after the server's clock a fix may be stamped (:data:`~offcourse.serve.ingest.FUTURE_SLACK_S`)."""
    refusals_per_s: float = REFUSALS_PER_S
    """Refused requests a second one client address may cause (:data:`~offcourse.serve.auth.REFUSALS_PER_S`)."""
    refusal_burst: float = REFUSAL_BURST


def _session(token: str) -> str:
    """The cookie's value: derived from the token, so that the cookie is not the token."""
    return hashlib.sha256(b"offcourse-session\0" + token.encode("utf-8", "surrogateescape")).hexdigest()


# -- answers (Starlette imported on first use: the package imports without the serve extra) -------------
def _raw(
    content: str | bytes, media_type: str, headers: Mapping[str, str] | None = None, status: int = 200
) -> Response:
    from starlette.responses import Response

    return Response(content, status_code=status, media_type=media_type, headers=headers)


def _error(status: int, reason: str) -> Response:
    return _raw(reason + "\n", "text/plain; charset=utf-8", SECURITY_HEADERS, status)


def _json(data: Any, status: int = 200) -> Response:
    from starlette.responses import JSONResponse

    return JSONResponse(data, status_code=status, headers=SECURITY_HEADERS)


def _redirect(url: str) -> Response:
    from starlette.responses import RedirectResponse

    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def _stream(body: AsyncIterator[bytes]) -> Response:
    from starlette.responses import StreamingResponse

    headers = {**SECURITY_HEADERS, "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


class Server:
    """The running service: store, field, streams, webhook, and the worker thread that owns the store."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.limiter = RateLimiter(
            rate_per_s=DEVICE_FIXES_PER_S if config.rate_per_s is None else config.rate_per_s,
            burst=DEVICE_BURST_FIXES if config.burst_fixes is None else config.burst_fixes,
        )
        """Fixes per device."""
        self.refusals = RateLimiter(rate_per_s=config.refusals_per_s, burst=config.refusal_burst)
        """Refused requests per client address."""
        self.parser = ThreadPoolExecutor(max_workers=1, thread_name_prefix="offcourse-parse")
        self.session = _session(config.token)
        self.broadcaster = Broadcaster(lambda devices: self.run(lambda: sse("runners", self.f.views(devices))))
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="offcourse-field")
        self._lock = asyncio.Lock()
        """Held while the field (its monitors, its database connection) is in use."""
        self._pending: list[tuple[list[Position], asyncio.Future[Outcome]]] = []
        self._draining = False
        self.field: Field | None = None
        self.webhook: Webhook | None = None

    @property
    def f(self) -> Field:
        """The field (opened by the lifespan, before any request)."""
        if self.field is None:
            raise RuntimeError("the server is not started")
        return self.field

    async def ingest(self, positions: list[Position]) -> Outcome:
        """Store and push one request's fixes; returns once they are committed.

        Requests that arrive while the field is busy are committed together (a group commit: one
        transaction, one write of the log, for all of them); each is still whole or absent. A
        group of up to :data:`INLINE_MAX_FIXES` fixes is worked on the event loop (no thread hop:
        well under a millisecond a fix); a larger one in the worker thread, the loop serving the
        other connections meanwhile.
        """
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending.append((positions, future))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                async with self._lock:
                    group, self._pending = self._pending, []
                    requests = [g[0] for g in group]
                    if sum(len(r) for r in requests) > INLINE_MAX_FIXES:
                        results = await asyncio.get_running_loop().run_in_executor(self.worker, self._commit, requests)
                    else:
                        results = self._commit(requests)
                for (_, future), result in zip(group, results, strict=True):
                    if future.done():  # its client went away: the fixes are stored all the same
                        continue
                    if isinstance(result, Outcome):
                        future.set_result(result)
                    else:
                        future.set_exception(result)
                await asyncio.sleep(0)  # read what arrived meanwhile: the next group
        finally:
            self._draining = False

    def _commit(self, requests: list[list[Position]]) -> list[Outcome | Exception]:
        """Commit the requests together; when that fails, each alone (only the faulty one fails)."""
        try:
            return list(self.f.ingest_many(requests, time.time()))
        except Exception:
            results: list[Outcome | Exception] = []
            for positions in requests:
                try:
                    results.append(self.f.ingest(positions, time.time()))
                except Exception as exc:
                    results.append(exc)
            return results

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the worker thread, while nothing else uses the field."""
        async with self._lock:
            return await asyncio.get_running_loop().run_in_executor(self.worker, partial(fn, *args))

    def _open(self) -> Field:
        c = self.config
        from ..detect.state import route_fingerprint

        store = Store(c.db_path, route_fingerprint(c.route))
        return Field(c.route, store, c.runners, c.options)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.field = await self.run(self._open)
        self.broadcaster.start()
        checkpoints = asyncio.get_running_loop().create_task(self._checkpoints())
        forget = asyncio.get_running_loop().create_task(self._forget_idle())
        if self.config.webhook_url:
            field = self.field

            def pending() -> list[dict[str, Any]]:
                return [{**alert, **field.who(alert["device"])} for alert in field.store.hooks_pending()]

            self.webhook = Webhook(
                self.config.webhook_url,
                lambda i: self.run(field.store.hook_done, i, time.time()),
                pending=partial(self.run, pending),
            )
            self.webhook.start()  # sends the alerts not taken before a restart, then rescans
        try:
            yield
        finally:
            checkpoints.cancel()
            forget.cancel()
            await self.broadcaster.stop()
            if self.webhook is not None:
                await self.webhook.stop()
            await self.run(self.field.save_all)
            await self.run(self.field.store.close)
            self.worker.shutdown(wait=True)
            self.parser.shutdown(wait=False, cancel_futures=True)

    async def _checkpoints(self) -> None:
        """The write-ahead log copied into the database every :data:`CHECKPOINT_EVERY_S`, in a thread of
        its own: the fsync it costs never holds up a request.

        Such a checkpoint never catches up with a writer that never stops (the fixes committed while
        it runs are left for the next), and the log is only started again from its beginning once
        all of it is copied: under a steady load it would grow for ever. So once it is larger than
        :data:`~offcourse.serve.store.WAL_RESET_BYTES`, a second checkpoint runs just after the
        first while no request is committed (it has only the last milliseconds' fixes to copy): the
        next commit starts the log again, and SQLite cuts the file back to that size.
        """
        store = self.f.store
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(CHECKPOINT_EVERY_S)
            try:
                await loop.run_in_executor(None, store.checkpoint)
                if store.wal_bytes() > WAL_RESET_BYTES:
                    async with self._lock:
                        await loop.run_in_executor(None, store.checkpoint)
            except Exception:  # a busy database: the next one catches up
                log.warning("checkpoint of %s postponed", store.path)

    async def _forget_idle(self) -> None:
        """Every :data:`FORGET_EVERY_S`, the monitors of runners who stopped sending leave memory."""
        while True:
            await asyncio.sleep(FORGET_EVERY_S)
            try:
                n = await self.run(self.f.forget_idle, time.time())
            except Exception:  # a busy database: the next round catches up
                log.warning("idle runners kept in memory for now")
                continue
            if n:
                log.info("%d idle runners left memory (their state saved)", n)

    # -- authentication --------------------------------------------------------------------------------
    def _token_given(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        return request.query_params.get("token")

    def race_control(self, request: Request) -> Response | None:
        """None when the request may see race control; else the 401, 403 or 429 answer.

        A token is compared only while the client's address has refusals left (no online guessing).
        """
        given = self._token_given(request)
        if given is not None:
            ip = _client(request)
            if self.refusals.empty(ip):
                return _error(429, "too many refused requests from this address: wait")
            return None if same_secret(given, self.config.token) else self._refuse(ip, _error(403, "wrong token"))
        cookie = request.cookies.get(COOKIE)
        if cookie is not None:
            return (
                None if same_secret(cookie, self.session) else _error(403, "stale session: open the page with ?token=")
            )
        return _error(401, "race control needs the token: Authorization: Bearer TOKEN, or ?token=TOKEN in a browser")

    def _refuse(self, ip: str, answer: Response) -> Response:
        """``answer``, counted against the client address (429 instead once it has none left)."""
        if not self.refusals.allow(ip):
            return _error(429, "too many refused requests from this address: wait")
        return answer

    def _devices_allowed(self, positions: list[Position], bridge: bool, ip: str) -> Response | None:
        seen: dict[str, int] = {}
        for p in positions:
            runner = self.config.runners.get(p.device)
            if runner is None:
                log.info("refused: unknown device %s", p.device)
                return self._refuse(ip, _error(403, f"unknown device {p.device}: not in the runners list"))
            if runner.key is not None and not bridge:
                if p.key is None:
                    return self._refuse(ip, _error(401, f"device {p.device} needs its key (key=...)"))
                if self.refusals.empty(ip):  # a key is compared only while the address has refusals left
                    return _error(429, "too many refused requests from this address: wait")
                if not same_secret(p.key, runner.key):
                    log.info("refused: wrong key for device %s", p.device)
                    return self._refuse(ip, _error(403, f"wrong key for device {p.device}"))
            seen[p.device] = seen.get(p.device, 0) + 1
        if not bridge:
            for device, count in seen.items():  # the bucket counts fixes, not requests
                if not self.limiter.allow(device, count):
                    rate = self.limiter.rate_per_s
                    return _error(429, f"device {device}: too many fixes (at most {rate:g} a second on average)")
        return None

    # -- ingest ------------------------------------------------------------------------------------------
    async def _body(self, request: Request) -> bytes:
        if request.method == "GET":
            return b""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise OverflowError
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise OverflowError
            chunks.append(chunk)
        return b"".join(chunks)

    def _unknown_first(self, request: Request, body: bytes) -> str | None:
        """The request's first device id when it is not registered (query ``id``, else the body's first)."""
        query = request.query_params
        device = query.get("id") or query.get("deviceid")
        if device is None:
            found = _FIRST_ID.search(body[:4096])
            if found is None:
                return None
            if found.group(1) is not None:
                device = found.group(1).decode("ascii")
            else:
                device = unquote_plus(found.group(2).decode("ascii", "replace"))
        return None if device in self.config.runners else device

    async def _ingest(self, request: Request, parse: Callable[[bytes], list[Position]], bridge_ok: bool) -> Response:
        """Read, check, parse, store. Cheap checks first: the token, and the first device id, before the
        body is parsed; a large body is parsed off the event loop."""
        ip = _client(request)
        bridge = bridge_ok and self._token_given(request) is not None
        if bridge:
            refused = self.race_control(request)
            if refused is not None:
                return refused
        try:
            body = await self._body(request)
        except OverflowError:
            return _error(413, f"body larger than {MAX_BODY_BYTES} bytes")
        if not bridge:
            unknown = self._unknown_first(request, body)
            if unknown is not None:  # refused before the body is parsed
                log.info("refused: unknown device %s", unknown[:64])
                return self._refuse(ip, _error(403, f"unknown device {unknown[:64]}: not in the runners list"))
        try:
            if len(body) > INLINE_PARSE_BYTES:
                positions = await asyncio.get_running_loop().run_in_executor(self.parser, parse, body)
            else:
                positions = parse(body)
        except IngestError as exc:
            return self._refuse(ip, _error(400, str(exc)))
        refused = self._devices_allowed(positions, bridge, ip)
        if refused is not None:
            return refused
        try:
            outcome = await self.ingest(positions)
        except Exception:
            log.exception("storing %d positions failed", len(positions))
            return _error(503, "positions not stored: try again")
        self._announce(outcome)
        # a tracker's answer: small, without the pages' headers
        return _raw(json.dumps(outcome.counts(), separators=(",", ":")), "application/json")

    def _announce(self, outcome: Outcome) -> None:
        for event in outcome.events:
            self.broadcaster.publish("alert", event)
            if event["alert"] and self.webhook is not None:
                self.webhook.send(event)
        for resolved in outcome.resolved:
            self.broadcaster.publish("resolved", resolved)
        self.broadcaster.moved(outcome.runners)

    async def osmand(self, request: Request) -> Response:
        query = request.query_params
        if request.method == "GET" and not any(k in query for k in ("id", "deviceid", "lat", "lon", "location")):
            return _redirect("/live")

        def parse(body: bytes) -> list[Position]:
            content_type = request.headers.get("content-type", "")
            return parse_request(request.method, dict(query), content_type, body, ahead_s=self.config.max_ahead_s)

        return await self._ingest(request, parse, bridge_ok=False)

    async def positions(self, request: Request) -> Response:
        def parse(body: bytes) -> list[Position]:
            return parse_json(body, dict(request.query_params), ahead_s=self.config.max_ahead_s)

        return await self._ingest(request, parse, bridge_ok=True)

    # -- race control ------------------------------------------------------------------------------------
    def _page(self, request: Request, make: Callable[[], str]) -> Response:
        if "token" in request.query_params:  # once: the cookie, then the same page without the token
            refused = self.race_control(request)
            if refused is not None:
                return refused
            rest = {k: v for k, v in request.query_params.items() if k != "token"}
            target = request.url.path + ("?" + urlencode(rest) if rest else "")
            answer = _redirect(target)
            # Secure when the browser came over https (to uvicorn directly, or to a proxy on this machine
            # that says so in X-Forwarded-Proto: uvicorn trusts the proxies of FORWARDED_ALLOW_IPS)
            secure = request.url.scheme == "https"
            answer.set_cookie(COOKIE, self.session, httponly=True, samesite="strict", path="/", secure=secure)
            return answer
        refused = self.race_control(request)
        if refused is not None:
            return refused
        return _raw(make(), "text/html; charset=utf-8", SECURITY_HEADERS)

    async def live(self, request: Request) -> Response:
        return self._page(request, lambda: live_page(self.config.title))

    async def runner(self, request: Request) -> Response:
        device = request.path_params["device"]
        if device not in self.config.runners:  # after the token: who is registered is race control's
            return self.race_control(request) or _error(404, "no such runner")
        return self._page(request, lambda: runner_page(device))

    async def _api(self, request: Request, fn: Callable[[], Awaitable[Any]]) -> Response:
        refused = self.race_control(request)
        if refused is not None:
            return refused
        return _json(await fn())

    async def route(self, request: Request) -> Response:
        return await self._api(request, partial(self.run, self.f.route_view))

    async def runners(self, request: Request) -> Response:
        return await self._api(request, partial(self.run, self.f.views))

    async def one_runner(self, request: Request) -> Response:
        device = request.path_params["device"]
        if device not in self.config.runners:
            return self.race_control(request) or _error(404, "no such runner")
        return await self._api(request, partial(self.run, self.f.track, device))

    async def alerts(self, request: Request) -> Response:
        field = self.f

        def alerts() -> list[dict[str, Any]]:
            return [{**a, **field.who(a["device"]), "alert": True} for a in field.store.events(alerts_only=True)]

        return await self._api(request, partial(self.run, alerts))

    async def ack(self, request: Request) -> Response:
        refused = self.race_control(request)
        if refused is not None:
            return refused
        if self._token_given(request) is None and request.headers.get("x-offcourse") != "1":
            return _error(403, "acknowledge from the page (X-Offcourse header missing)")
        try:
            event_id = int(request.path_params["id"])
        except ValueError:
            return _error(404, "no such alert")
        now = time.time()
        if not await self.run(self.f.store.ack, event_id, now):
            return _error(404, "no such alert")
        self.broadcaster.publish("ack", {"id": event_id, "acked_s": now})
        return _json({"id": event_id, "acked_s": now})

    async def stream(self, request: Request) -> Response:
        refused = self.race_control(request)
        if refused is not None:
            return refused
        try:
            body = self.broadcaster.stream(sse("hello", {"time_s": time.time()}))
        except OverflowError:
            return _error(503, "too many open streams")
        return _stream(body)

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name == "offcourse.js":
            return _raw(JS, "text/javascript", SECURITY_HEADERS)
        if name == "offcourse.css":
            return _raw(CSS, "text/css", SECURITY_HEADERS)
        return _error(404, "not found")

    async def health(self, request: Request) -> Response:
        return _raw("ok\n", "text/plain")


def _client(request: Request) -> str:
    """The client's address (uvicorn puts a trusted proxy's ``X-Forwarded-For`` there)."""
    return request.client.host if request.client is not None else ""


def create_app(config: Config) -> Starlette:
    """The ASGI application for ``config`` (its ``state.server`` is the :class:`Server`)."""
    from starlette.applications import Starlette
    from starlette.routing import Route as Path

    server = Server(config)
    app = Starlette(
        routes=[
            Path("/", server.osmand, methods=["GET", "POST"]),
            Path("/api/positions", server.positions, methods=["POST"]),
            Path("/live", server.live),
            Path("/runner/{device}", server.runner),
            Path("/api/route", server.route),
            Path("/api/runners", server.runners),
            Path("/api/runners/{device}", server.one_runner),
            Path("/api/alerts", server.alerts),
            Path("/api/alerts/{id}/ack", server.ack, methods=["POST"]),
            Path("/api/stream", server.stream),
            Path("/static/{name}", server.static),
            Path("/healthz", server.health),
        ],
        lifespan=server.lifespan,
    )
    app.state.server = server
    return app


def generated_token() -> str:
    """A random token for a server started without one."""
    return os.urandom(18).hex()

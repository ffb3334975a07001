"""The webhook: one POST per alert to the race's own receiver, retried when it fails, off the request path."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from offcourse.serve import webhook as webhook_module
from tests.serve.helpers import CLEAN_LEGS, WRONG_TURN_LEGS, client, fixes, send_all


class Receiver:
    """A local HTTP receiver that answers the first ``fail_first`` POSTs with 500."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.attempts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts += 1
                ok = receiver.attempts > fail_first
                if ok:
                    receiver.bodies.append(json.loads(body))
                self.send_response(200 if ok else 500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, n: int, timeout_s: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while len(self.bodies) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # and nothing more comes
        return self.bodies

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_one_post_per_alert_with_who_what_where(tmp_path: Path, receiver: Receiver) -> None:
    with client(tmp_path / "race.sqlite", webhook_url=receiver.url) as c:
        send_all(c, "dev-1", fixes(WRONG_TURN_LEGS))
        send_all(c, "dev-3", fixes(CLEAN_LEGS))
        [body] = receiver.wait_for(1)
    assert (body["device"], body["bib"], body["name"], body["kind"]) == (
        "dev-1",
        "101",
        "Ida <b>Nilsson</b>",
        "off_course",
    )
    assert body["text"].startswith("bib 101 Ida <b>Nilsson</b>: off course at km 1.0, ")
    assert body["time"] == "2025-05-17T09:06:00Z" and "key" not in json.dumps(body)
    with client(tmp_path / "race.sqlite", webhook_url=receiver.url):  # restarted: nothing is sent again
        assert receiver.wait_for(2, timeout_s=1.0) == [body]


def test_a_failing_receiver_is_tried_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhook_module, "BACKOFF_S", 0.05)
    flaky = Receiver(fail_first=2)
    try:
        with client(tmp_path / "race.sqlite", webhook_url=flaky.url) as c:
            send_all(c, "dev-1", fixes(WRONG_TURN_LEGS))
            [body] = flaky.wait_for(1)
        assert (flaky.attempts, body["kind"]) == (3, "off_course")
    finally:
        flaky.close()


def test_alerts_not_delivered_are_sent_after_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhook_module, "BACKOFF_S", 0.01)
    dead = "http://127.0.0.1:9/nobody"  # the discard port: nothing listens
    with client(tmp_path / "race.sqlite", webhook_url=dead) as c:
        send_all(c, "dev-1", fixes(WRONG_TURN_LEGS))
        time.sleep(0.5)
    later = Receiver()
    try:
        with client(tmp_path / "race.sqlite", webhook_url=later.url):
            [body] = later.wait_for(1)
        assert body["kind"] == "off_course"
    finally:
        later.close()


def _alert(i: int) -> dict[str, Any]:
    return {"id": i, "device": f"dev-{i}", "bib": str(i), "name": "", "kind": "off_course", "epoch_s": 1.7e9,
            "data": {"exit_route_m": 1000.0, "offset_m": 80.0}}  # fmt: skip


def test_an_alert_is_retried_until_taken_not_dropped_after_a_few_tries() -> None:
    import asyncio

    import httpx

    tries: list[int] = []
    taken: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        tries.append(json.loads(request.content)["id"])
        return httpx.Response(200 if len(tries) > 3 * webhook_module.ATTEMPTS else 503)

    async def scenario() -> None:
        hook = webhook_module.Webhook("http://bridge/hook", taken.append, backoff_s=0.0, rescan_s=0.0,
                                      transport=httpx.MockTransport(handler))  # fmt: skip
        hook.start()
        hook.send(_alert(7))
        for _ in range(10_000):  # the loop turns, no clock: until it is taken
            if taken:
                break
            await asyncio.sleep(0)
        await hook.stop()

    asyncio.run(scenario())
    assert taken == [7] and tries == [7] * (3 * webhook_module.ATTEMPTS + 1)


def test_alerts_are_sent_concurrently_a_slow_one_does_not_hold_up_the_others() -> None:
    import asyncio

    import httpx

    async def scenario() -> list[int]:
        others_taken = asyncio.Event()
        taken: list[int] = []

        async def handler(request: httpx.Request) -> httpx.Response:
            if json.loads(request.content)["id"] == 1:
                await others_taken.wait()  # the first alert hangs until the others went through
            return httpx.Response(200)

        def done(i: int) -> None:
            taken.append(i)
            if {2, 3} <= set(taken):
                others_taken.set()

        hook = webhook_module.Webhook("http://bridge/hook", done, transport=httpx.MockTransport(handler))
        hook.start()
        for i in (1, 2, 3):
            hook.send(_alert(i))
        await asyncio.wait_for(hook.idle(), 10.0)  # one at a time: never idle (the guard fails the test)
        await hook.stop()
        return taken

    assert asyncio.run(scenario()) == [2, 3, 1]


def test_pending_alerts_are_read_again_periodically_and_sent_once() -> None:
    import asyncio

    import httpx

    posted: list[int] = []
    store = {5: _alert(5)}

    def handler(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content)["id"])
        return httpx.Response(200)

    async def scenario() -> None:
        async def pending() -> list[dict[str, Any]]:
            return list(store.values())

        hook = webhook_module.Webhook("http://bridge/hook", store.pop, pending=pending, rescan_s=0.0,
                                      transport=httpx.MockTransport(handler))  # fmt: skip
        hook.start()
        for _ in range(200):
            await asyncio.sleep(0)
        store[6] = _alert(6)  # an alert the store has and nobody queued (a full queue dropped it)
        for _ in range(200):
            await asyncio.sleep(0)
        await hook.idle()
        await hook.stop()

    asyncio.run(scenario())
    assert posted == [5, 6] and store == {}

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

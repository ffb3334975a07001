"""Shared pieces of the server tests: a straight route, a field of three runners, a wrong turn."""

from __future__ import annotations

import importlib
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REQUIRE_SERVE = os.environ.get("OFFCOURSE_REQUIRE_SERVE") == "1"


def serve_extra(name: str) -> Any:
    """Import a module of the serve extra; skips the server tests without it (or fails them, with
    OFFCOURSE_REQUIRE_SERVE=1, as CI sets: a missing extra must not pass as skipped)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        message = f"{name} is not installed (pip install 'offcourse[serve]')"
        if REQUIRE_SERVE:
            pytest.fail(message + " and OFFCOURSE_REQUIRE_SERVE=1 requires it", pytrace=False)
        pytest.skip(message + "; set OFFCOURSE_REQUIRE_SERVE=1 to make this a failure", allow_module_level=True)


serve_extra("starlette")
serve_extra("uvicorn")
httpx = serve_extra("httpx")

import uvicorn  # noqa: E402

from offcourse.serve.app import Config, create_app  # noqa: E402
from offcourse.serve.auth import Runner  # noqa: E402
from tests.synth import PROJ, walk  # noqa: E402
from tests.synth import route as synth_route  # noqa: E402

T0 = 1_747_472_400.0  # 2025-05-17T09:00:00Z
TOKEN = "race-control-token-1234"
ROUTE = synth_route([(0.0, 0.0), (3000.0, 0.0)])
RUNNERS = {
    "dev-1": Runner("dev-1", bib="101", name="Ida <b>Nilsson</b>"),
    "dev-2": Runner("dev-2", bib="102", name="Jim Walmsley", key="jim-key"),
    "dev-3": Runner("dev-3", bib="103", name="Courtney"),
}
CLEAN_LEGS = [(0.0, 0.0), (3000.0, 0.0)]
WRONG_TURN_LEGS = [(0.0, 0.0), (1000.0, 0.0), (1000.0, 400.0), (1000.0, 0.0), (3000.0, 0.0)]


def fixes(legs: list[tuple[float, float]], step_s: float = 5.0) -> list[tuple[float, float, float]]:
    """``(epoch_s, lat, lon)`` every ``step_s`` seconds at 3 m/s along the legs (metres in PROJ)."""
    rows = walk(legs, speed_mps=3.0, step_s=step_s)
    lon, lat = PROJ.inverse(rows[:, 1], rows[:, 2])
    return [(T0 + float(t), float(la), float(lo)) for t, la, lo in zip(rows[:, 0], lat, lon, strict=True)]


def query(device: str, fix: tuple[float, float, float], **extra: Any) -> dict[str, Any]:
    t, lat, lon = fix
    return {"id": device, "timestamp": f"{t:.0f}", "lat": f"{lat:.7f}", "lon": f"{lon:.7f}", **extra}


def config(db: Path, **changes: Any) -> Config:
    return Config(
        **{"route": ROUTE, "db_path": str(db), "runners": RUNNERS, "token": TOKEN, "rate_per_s": 1e6, **changes}
    )


@contextmanager
def serving(db: Path, **changes: Any) -> Iterator[tuple[Any, uvicorn.Server]]:
    """A real server on a free loopback port (uvicorn in a thread) and an httpx client for it."""
    # proto IPPROTO_TCP: asyncio sets TCP_NODELAY only on such sockets (else 40 ms per answer, Nagle)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(config(db, **changes)), log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            yield c, server
    finally:
        server.should_exit = True  # a clean stop: the lifespan saves every runner's state
        thread.join(30)
        sock.close()


@contextmanager
def client(db: Path, **changes: Any) -> Iterator[Any]:
    """An httpx client of a server on ``db``, stopped cleanly at the end."""
    with serving(db, **changes) as (c, _):
        yield c


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def events(c: Any, device: str) -> list[dict[str, Any]]:
    """The device's events, oldest first, as the API gives them."""
    r = c.get(f"/api/runners/{device}", headers=auth())
    assert r.status_code == 200
    return list(reversed(r.json()["events"]))


def stored_positions(db: Path) -> list[tuple[str, float]]:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT device, epoch_s FROM positions ORDER BY device, epoch_s").fetchall()


def send_all(c: Any, device: str, fixes_: list[tuple[float, float, float]], **extra: Any) -> None:
    for f in fixes_:
        r = c.get("/", params=query(device, f, **extra))
        assert r.status_code == 200, r.text

"""gpsd's JSON protocol: TPV reports, and the source against a scripted server (partial lines, reconnects)."""

from __future__ import annotations

import json
import math
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from offcourse.live import GpsdSource, SourceError, open_source, parse_tpv
from offcourse.live.gpsd import WATCH
from tests.hang import time_limit


def tpv(t: int, mode: int = 3, **extra: object) -> bytes:
    obj = {
        "class": "TPV",
        "device": "/dev/pts/1",
        "mode": mode,
        "time": f"2025-05-17T09:00:{t:02d}.000Z",
        "lat": 55.8928 + t * 1e-5,
        "lon": -3.2036,
        "altMSL": 250.0,
        "eph": 19.0,
        **extra,
    }
    return json.dumps(obj).encode() + b"\r\n"


def test_tpv_fields_become_a_fix() -> None:
    f = parse_tpv(json.loads(tpv(7)))
    assert f is not None
    assert f.epoch_s == 1747472407.0
    assert (f.lon, f.lat, f.ele_m, f.hacc_m) == (-3.2036, pytest.approx(55.89287), 250.0, 19.0)


def test_tpv_accuracy_and_altitude_fallbacks() -> None:
    base = {"class": "TPV", "time": "2025-05-17T09:00:00Z", "lat": 1.0, "lon": 2.0}
    f3 = parse_tpv({**base, "mode": 3, "alt": 12.5, "epx": 4.0, "epy": 9.0})
    assert f3 is not None and (f3.ele_m, f3.hacc_m) == (12.5, 9.0)
    f2 = parse_tpv({**base, "mode": 2, "altMSL": 12.5})  # a 2D fix has no altitude
    assert f2 is not None and math.isnan(f2.ele_m) and math.isnan(f2.hacc_m)
    naive = parse_tpv({**base, "mode": 2, "time": "2025-05-17T09:00:00"})
    assert naive is not None and naive.epoch_s == 1747472400.0  # gpsd's times are UTC


@pytest.mark.parametrize(
    "obj",
    [
        {"class": "SKY", "mode": 3},
        {"class": "TPV", "mode": 1, "time": "2025-05-17T09:00:00Z", "lat": 1.0, "lon": 2.0},  # no fix
        {"class": "TPV", "mode": 3, "lat": 1.0, "lon": 2.0},  # no time yet
        {"class": "TPV", "mode": 3, "time": "yesterday", "lat": 1.0, "lon": 2.0},
        {"class": "TPV", "mode": 3, "time": "2025-05-17T09:00:00Z", "lat": "1.0", "lon": 2.0},
        {"class": "TPV", "mode": True, "time": "2025-05-17T09:00:00Z", "lat": 1.0, "lon": 2.0},
        ["TPV"],
    ],
)
def test_reports_without_a_usable_fix_are_skipped(obj: object) -> None:
    assert parse_tpv(obj) is None


class ScriptedGpsd:
    """A TCP server on loopback that plays one script (a list of byte chunks) per connection."""

    def __init__(self, scripts: list[list[bytes]]) -> None:
        self.scripts = scripts
        self.received: list[bytes] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(10)
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        for script in self.scripts:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                self.received.append(conn.recv(1024))
                for chunk in script:
                    conn.sendall(chunk)
                    threading.Event().wait(0.02)  # separate TCP segments: lines arrive cut
        self.server.close()


@contextmanager
def serving(scripts: list[list[bytes]]) -> Iterator[ScriptedGpsd]:
    server = ScriptedGpsd(scripts)
    server.thread.start()
    try:
        yield server
    finally:
        server.server.close()
        server.thread.join(10)


def test_partial_lines_bad_json_repeats_and_a_reconnect() -> None:
    version = b'{"class":"VERSION","release":"3.22","proto_major":3,"proto_minor":14}\r\n'
    t1 = tpv(1)
    first = [version, t1[:25], t1[25:], b"not json\r\n", b"[1, 2]\r\n", tpv(0, mode=1), t1, tpv(2)[:30]]
    second = [version, tpv(2), b'{"class":"ERROR","message":"unknown command"}\r\n', tpv(3)]
    warnings: list[str] = []
    with time_limit(30), serving([first, second]) as server:
        src = GpsdSource("127.0.0.1", server.port, warn=warnings.append)
        times = []
        for fix in src:
            times.append(fix.epoch_s - 1747472400.0)
            if len(times) == 3:
                src.close()
    assert times == [1.0, 2.0, 3.0]
    assert server.received == [WATCH, WATCH]  # the watch is asked for again after the reconnect
    assert src.stats() == {"fixes": 3, "bad_json": 2, "repeated": 1, "partial_lines": 1, "reconnects": 1}
    assert "gpsd says: unknown command" in warnings
    assert any(w.startswith("reconnected after") for w in warnings)


def test_resumed_source_skips_fixes_already_seen() -> None:
    with time_limit(30), serving([[tpv(1), tpv(2), tpv(3), tpv(4)]]) as server:
        src = GpsdSource("127.0.0.1", server.port, give_up_s=0.0)
        src.after_s = 1747472402.0
        got = []
        with pytest.raises(SourceError):  # the server goes away after its script; no reconnection
            for fix in src:
                got.append(fix.epoch_s - 1747472400.0)
    assert got == [3.0, 4.0]


def test_connection_refused_names_the_source() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    with time_limit(30), pytest.raises(SourceError, match=rf"^gpsd://127\.0\.0\.1:{port}: cannot connect: "):
        list(open_source(f"gpsd://127.0.0.1:{port}"))


def test_gives_up_after_a_loss_without_reconnection() -> None:
    with time_limit(30), serving([[tpv(1)]]) as server:
        src = GpsdSource("127.0.0.1", server.port, give_up_s=0.5)
        got = []
        with pytest.raises(SourceError, match=r"connection lost; no reconnection within 0\.5 s"):
            for fix in src:
                got.append(fix)
    assert len(got) == 1

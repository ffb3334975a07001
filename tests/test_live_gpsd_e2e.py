"""End to end against a real gpsd: Debian's ``gpsfake`` feeds gpsd the NMEA of a run with a wrong turn.

``offcourse follow ROUTE gpsd://127.0.0.1:PORT`` must raise the off-course alert, and killing it
(SIGKILL) after its first event and restarting it with the same ``--state`` must lose no event and
repeat none. Skipped when gpsd or gpsfake is missing (``apt-get install gpsd gpsd-clients``), except
when ``OFFCOURSE_REQUIRE_GPSD=1`` (as in ``.ci/run``): then it fails instead.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import offcourse
from offcourse.live import Session, event_json, write_nmea
from offcourse.live.nmea import checksum
from offcourse.report import fixes_of
from tests.live_helpers import ROUTE, WRONG_TURN, Follow, delivered, wait_until

LEAD_IN_CYCLES = 800  # receiver cycles without a fix before the run: time for follow to connect
SENTENCE_DELAY_S = 0.002  # gpsfake's delay between sentences: the 2,302 s run in about 25 s


def _require_gpsd() -> tuple[str, str]:
    gpsd, gpsfake = shutil.which("gpsd") or shutil.which("gpsd", path="/usr/sbin:/sbin"), shutil.which("gpsfake")
    if gpsd and gpsfake:
        return gpsd, gpsfake
    reason = "gpsd and gpsfake are not installed (Debian: apt-get install gpsd gpsd-clients)"
    if os.environ.get("OFFCOURSE_REQUIRE_GPSD") == "1":
        pytest.fail(reason + ", and OFFCOURSE_REQUIRE_GPSD=1 requires them")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as s:
        return int(s.getsockname()[1])


def _write_log(path: Path) -> None:
    """The wrong-turn run as a receiver would send it, after a lead-in of cycles without a fix."""
    track = offcourse.read_track(WRONG_TURN)
    with path.open("w", newline="") as fh:
        for i in range(LEAD_IN_CYCLES):  # 08:40:00 onwards, before the run starts at 09:00:00
            hms = f"08{40 + i // 60:02d}{i % 60:02d}.00"
            for body in (f"GPRMC,{hms},V,,,,,,,170525,,,N", f"GPGGA,{hms},,,,,0,00,,,M,,M,,"):
                fh.write(f"${body}*{checksum(body)}\r\n")
        write_nmea(fixes_of(track), fh)


@pytest.fixture
def gpsd(tmp_path: Path) -> Iterator[int]:
    """gpsd fed by gpsfake from the wrong-turn log; yields its port."""
    gpsd_path, gpsfake = _require_gpsd()
    log = tmp_path / "allermuir-wrong-turn.nmea"
    _write_log(log)
    port = _free_port()
    env = {**os.environ, "PATH": f"{os.path.dirname(gpsd_path)}:{os.environ.get('PATH', '')}"}
    proc = subprocess.Popen(
        [gpsfake, "-q", "-1", "-n", "-c", str(SENTENCE_DELAY_S), "-P", str(port), str(log)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # gpsfake and the gpsd it starts: one process group, ended together
    )

    def listening() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"gpsfake exited with status {proc.returncode}: {proc.stderr.read()!r}")  # type: ignore[union-attr]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True

    try:
        wait_until(listening, 30, f"gpsd to listen on port {port}")
        yield port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # a test harness: nothing of it to save
        proc.wait(timeout=10)


def test_alert_through_real_gpsd_survives_kill_and_restart(gpsd: int, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    source = f"gpsd://127.0.0.1:{gpsd}"
    args = (ROUTE, source, "--state", state, "--format", "jsonl", "--progress-s", "1")
    first = Follow(*args)
    try:
        assert first.wait_for("started", 60)["seq"] == 1
        wait_until(lambda: delivered(state) == 1, 30, "the first event's delivery to be saved")
        first.proc.send_signal(signal.SIGKILL)
    finally:
        first.kill()
    second = Follow(*args)
    try:
        off = second.wait_for("off_course", 90)
        second.wait_for("finished", 90)
        second.proc.send_signal(signal.SIGTERM)  # gpsd's stream never ends by itself
        status, err = second.finish(30)
    finally:
        second.kill()
    assert status == 0, err
    assert "resuming from" in err and "state saved to" in err
    events = first.events() + second.events()
    assert [e["kind"] for e in first.events()] == ["started"]
    assert [e["kind"] for e in events] == ["started", "off_course", "back_on_course", "finished"]
    assert [e["seq"] for e in events] == [1, 2, 3, 4]  # none lost, none repeated

    # the same events as the log read directly (gpsd's eph of 19 m widens the thresholds by 4 m)
    log = str(tmp_path / "allermuir-wrong-turn.nmea")
    direct = [event_json(seq, e) for seq, e in Session(offcourse.read_route(ROUTE), log, speed=0)]
    assert [e["kind"] for e in direct] == [e["kind"] for e in events]
    assert off["exit_route_m"] == pytest.approx(direct[1]["exit_route_m"], abs=30.0)
    assert off["epoch_s"] == pytest.approx(direct[1]["epoch_s"], abs=5.0)
    assert events[2]["rejoin_route_m"] == pytest.approx(direct[2]["rejoin_route_m"], abs=30.0)
    assert events[3]["epoch_s"] == pytest.approx(direct[3]["epoch_s"], abs=5.0)

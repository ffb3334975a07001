"""A restart, clean or after kill -9, loses no acknowledged position and resumes with identical events."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import offcourse
from offcourse.detect.state import route_fingerprint
from offcourse.serve import field as field_module
from offcourse.serve.field import Field
from offcourse.serve.ingest import Position
from offcourse.serve.store import Store
from tests.serve.helpers import (
    CLEAN_LEGS,
    ROUTE,
    RUNNERS,
    WRONG_TURN_LEGS,
    client,
    events,
    fixes,
    httpx,
    send_all,
    stored_positions,
)

REPO = Path(__file__).resolve().parents[2]
ALLERMUIR = REPO / "routes" / "allermuir-hill-race.gpx"
WRONG_TURN = REPO / "samples" / "allermuir-wrong-turn.gpx"


def positions(device: str, fs: list[tuple[float, float, float]]) -> list[Position]:
    return [Position(device, t, lat, lon) for t, lat, lon in fs]


def stored_events(store: Store) -> list[tuple[Any, ...]]:
    rows = store.db.execute("SELECT device, seq, n, kind, epoch_s, data, alert, resolved_s FROM events ORDER BY id")
    return rows.fetchall()


def run(db: Path, batches: list[list[Position]], *, crash_after: int | None = None) -> tuple[list[Any], list[Any], int]:
    """Ingest the batches; with ``crash_after``, drop the field after that many batches without
    saving anything (what kill -9 leaves) and go on with a new one. The events, runners and replays."""
    fp = route_fingerprint(ROUTE)
    store = Store(db, fp)
    f = Field(ROUTE, store, RUNNERS)
    replayed = 0
    for i, batch in enumerate(batches):
        if i == crash_after:
            store.close()  # no save_all: only what each request committed
            store = Store(db, fp)
            f = Field(ROUTE, store, RUNNERS)
        f.ingest(batch, 0.0)
        replayed = f.replayed
    out = stored_events(store), store.runners(), replayed
    store.close()
    return out


@pytest.mark.parametrize("crash_after", [1, 5, 40, 73, 90, 120])
def test_a_field_rebuilt_after_a_crash_raises_the_same_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_after: int
) -> None:
    monkeypatch.setattr(field_module, "SNAPSHOT_EVERY", 7)  # snapshots and replays both exercised
    wrong, clean = fixes(WRONG_TURN_LEGS), fixes(CLEAN_LEGS)
    # requests of one to three fixes, two runners interleaved
    batches = [positions("dev-1", wrong[i : i + 2]) + positions("dev-3", clean[i : i + 1]) for i in range(0, 250, 2)]
    whole = run(tmp_path / "whole.sqlite", batches)
    again = run(tmp_path / "crash.sqlite", batches, crash_after=crash_after)
    assert again[0] == whole[0] and again[1] == whole[1]
    assert [e[3] for e in whole[0] if e[0] == "dev-1"] == ["started", "off_course", "back_on_course", "finished"]
    assert again[2] <= 2 * 7  # the new field replayed only the fixes after each runner's snapshot


def test_a_clean_restart_of_the_app_gives_the_same_events(tmp_path: Path) -> None:
    wrong = fixes(WRONG_TURN_LEGS)
    with client(tmp_path / "whole.sqlite") as c:
        send_all(c, "dev-1", wrong)
        whole = events(c, "dev-1")
    with client(tmp_path / "twice.sqlite") as c:
        send_all(c, "dev-1", wrong[:80])  # stopped while the runner is off course
    with client(tmp_path / "twice.sqlite") as c:
        send_all(c, "dev-1", wrong[80:])
        again = events(c, "dev-1")
    strip = [{k: v for k, v in e.items() if k != "id"} for e in whole]
    assert [{k: v for k, v in e.items() if k != "id"} for e in again] == strip
    assert stored_positions(tmp_path / "twice.sqlite") == stored_positions(tmp_path / "whole.sqlite")


# -- the command, killed with SIGKILL mid-race ------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "offcourse", "serve", str(ALLERMUIR), "--db", str(tmp_path / "race.sqlite"),
           "--runners", str(tmp_path / "runners.csv"), "--port", str(port), "--device-rate", "1000"]  # fmt: skip
    env = {**os.environ, "OFFCOURSE_TOKEN": "the-race-control-token"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "exited")
    proc.kill()
    raise RuntimeError("the server did not start")


def test_kill_9_mid_race_loses_no_acknowledged_fix_and_resumes_identically(tmp_path: Path) -> None:
    route = offcourse.read_route(ALLERMUIR)
    track = offcourse.read_track(WRONG_TURN)
    fs = list(zip(track.epoch_s.tolist(), track.lat.tolist(), track.lon.tolist(), strict=True))
    reference = offcourse.Monitor(route)
    expected = [e.to_dict() for t, lat, lon in fs for e in reference.push(offcourse.Fix(t, lon, lat))]
    alert = next(e for e in expected if e["kind"] == "off_course")
    cut = next(i for i, f in enumerate(fs) if f[0] > alert["epoch_s"] + 60)  # killed while the runner is off

    (tmp_path / "runners.csv").write_text("device,bib,name\nwatch-1,7,Sample Runner\n")
    port = _free_port()
    acked: list[float] = []

    def send(lo: int, hi: int, step: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            for i in range(lo, hi, step):
                batch = [{"id": "watch-1", "timestamp": t, "lat": la, "lon": lo_} for t, la, lo_ in fs[i : i + step]]
                r = c.post("/api/positions", json=batch)
                assert r.status_code == 200, r.text
                acked.extend(t for t, _, _ in fs[i : i + step])

    proc = _start(tmp_path, port)
    try:
        send(0, cut, 7)
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # the server this test started, by its id
        proc.wait()
    proc = _start(tmp_path, port)
    try:
        send(cut, len(fs), 7)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            got = c.get("/api/runners/watch-1", headers={"Authorization": "Bearer the-race-control-token"}).json()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err and b"the-race-control-token" not in err
    nan_as_none = [{k: None if v != v else v for k, v in e.items()} for e in expected]
    assert [e["data"] for e in reversed(got["events"])] == json.loads(json.dumps(nan_as_none))
    stored = [t for _, t in stored_positions(tmp_path / "race.sqlite")]
    assert sorted(set(acked)) == stored and len(stored) == len({f[0] for f in fs})

"""Following a runner live: the session (saved state, resume), the async and callback forms, the CLI."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import offcourse
from offcourse.errors import InvalidTrackError, ReadError
from offcourse.live import ReplaySource, Session, Source, event_json, follow, run
from tests.hang import time_limit
from tests.live_helpers import ROUTE, WRONG_TURN, Follow, delivered, wait_until

KINDS = ["started", "off_course", "back_on_course", "finished"]


@pytest.fixture(scope="module")
def route() -> offcourse.Route:
    return offcourse.read_route(ROUTE)


@pytest.fixture(scope="module")
def reference(route: offcourse.Route) -> list[dict[str, Any]]:
    """The events of an uninterrupted run, as ``follow --format jsonl`` prints them."""
    return [event_json(seq, e) for seq, e in Session(route, ReplaySource(WRONG_TURN, speed=0))]


def test_reference_run_finds_the_wrong_turn_at_km_3(reference: list[dict[str, Any]]) -> None:
    assert [e["kind"] for e in reference] == KINDS
    assert [e["seq"] for e in reference] == [1, 2, 3, 4]
    off = reference[1]
    assert off["exit_route_m"] == pytest.approx(2997.7, abs=0.1)
    assert off["time"] == "2025-05-17T09:15:56+00:00"


@pytest.mark.parametrize("crash_after", [0, 1, 2, 3])
def test_crash_before_acknowledging_an_event_redelivers_it_with_its_seq(
    route: offcourse.Route, reference: list[dict[str, Any]], tmp_path: Path, crash_after: int
) -> None:
    state = tmp_path / "state.json"
    got = []
    for seq, e in Session(route, ReplaySource(WRONG_TURN, speed=0), state_path=state):
        got.append(event_json(seq, e))
        if len(got) == crash_after + 1:
            break  # the process dies while handling this event: it was never acknowledged
    again = [event_json(seq, e) for seq, e in Session(route, ReplaySource(WRONG_TURN, speed=0), state_path=state)]
    assert again[0] == got[-1]  # at least once: delivered again, same seq
    assert got + again[1:] == reference


def test_crash_between_fixes_resumes_with_identical_events(
    route: offcourse.Route, reference: list[dict[str, Any]], tmp_path: Path
) -> None:
    state = tmp_path / "state.json"

    class Crash(Exception):
        pass

    def crash_at_fix_1500(session: Session, fix: offcourse.Fix) -> None:
        if session.fixes == 1490:
            session.save()  # a periodic save, then ten more fixes pushed before the crash
        if session.fixes == 1500:  # between the back-on-course event and the finish
            raise Crash

    got: list[dict[str, Any]] = []
    with pytest.raises(Crash):
        session = Session(route, ReplaySource(WRONG_TURN, speed=0), state_path=state, on_fix=crash_at_fix_1500)
        for seq, e in session:
            got.append(event_json(seq, e))
    saved = json.loads(state.read_text())
    assert saved["fixes"] == 1490 and saved["delivered"] == 3 and not saved["closed"]
    again = Session(route, ReplaySource(WRONG_TURN, speed=0), state_path=state)
    assert again.resumed and again.fixes == 1490
    assert got + [event_json(seq, e) for seq, e in again] == reference
    assert json.dumps(again.monitor.state()) == json.dumps(_uninterrupted_final_state(route))


def _uninterrupted_final_state(route: offcourse.Route) -> dict[str, Any]:
    s = Session(route, ReplaySource(WRONG_TURN, speed=0))
    for _ in s:
        pass
    return s.monitor.state()


def test_a_closed_run_restarts_to_nothing(route: offcourse.Route, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    assert len(list(Session(route, ReplaySource(WRONG_TURN, speed=0), state_path=state))) == 4
    again = Session(route, ReplaySource(WRONG_TURN, speed=0), state_path=state)
    assert again.closed and list(again) == []


def test_state_of_another_route_or_no_state_is_a_clear_error(route: offcourse.Route, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    list(Session(route, ReplaySource(WRONG_TURN, speed=0), state_path=state))
    other = offcourse.read_route(Path(ROUTE).parent / "ramsay-round.gpx")
    with pytest.raises(InvalidTrackError, match=r"state\.json: saved monitor state: it belongs to another route"):
        Session(other, ReplaySource(WRONG_TURN, speed=0), state_path=state)
    junk = tmp_path / "junk.json"
    junk.write_text('{"hello": 1}')
    with pytest.raises(ReadError, match=r"junk\.json: not a follow state file"):
        Session(route, ReplaySource(WRONG_TURN, speed=0), state_path=junk)
    junk.write_text("{")
    with pytest.raises(ReadError, match=r"junk\.json: not a follow state \(invalid JSON\)"):
        Session(route, ReplaySource(WRONG_TURN, speed=0), state_path=junk)


def test_callback_form_gives_the_same_events(route: offcourse.Route, reference: list[dict[str, Any]]) -> None:
    got: list[offcourse.Event] = []
    session = run(route, str(WRONG_TURN), got.append, speed=0)
    assert [event_json(i + 1, e) for i, e in enumerate(got)] == reference
    assert session.closed and session.fixes == 2302


def test_async_form_gives_the_same_events(route: offcourse.Route, reference: list[dict[str, Any]]) -> None:
    async def collect() -> list[offcourse.Event]:
        return [e async for e in follow(route, ReplaySource(WRONG_TURN, speed=0))]

    with time_limit(60):
        got = asyncio.run(collect())
    assert [event_json(i + 1, e) for i, e in enumerate(got)] == reference


def test_async_form_resumes_from_the_state_the_sync_form_saved(
    route: offcourse.Route, reference: list[dict[str, Any]], tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    first = []
    for seq, e in Session(route, ReplaySource(WRONG_TURN, speed=0), state_path=state):
        first.append(event_json(seq, e))
        if len(first) == 2:
            break

    async def rest() -> list[offcourse.Event]:
        return [e async for e in follow(route, str(WRONG_TURN), speed=0, state_path=state)]

    with time_limit(60):
        later = asyncio.run(rest())
    assert first[:1] + [event_json(i + 2, e) for i, e in enumerate(later)] == reference
    assert json.loads(state.read_text())["delivered"] == 4


def test_a_blocking_source_never_blocks_the_event_loop(route: offcourse.Route) -> None:
    """The source blocks until a coroutine on the loop releases it: were it read on the loop, a deadlock."""
    released = threading.Event()
    track = offcourse.read_track(WRONG_TURN)

    class Gate(Source):
        finite = True
        name = "gate"

        def __iter__(self) -> Iterator[offcourse.Fix]:
            from offcourse.report import fixes_of

            for i, fix in enumerate(fixes_of(track)):
                if i == 10 and not released.wait(30):
                    raise AssertionError("never released")
                yield fix

    async def main() -> list[str]:
        async def release() -> None:
            await asyncio.sleep(0.05)
            released.set()

        task = asyncio.create_task(release())
        kinds = [e.kind async for e in follow(route, Gate())]
        await task
        return kinds

    with time_limit(60):
        assert asyncio.run(main()) == KINDS


def test_leaving_the_async_loop_early_closes_the_source(route: offcourse.Route) -> None:
    src = ReplaySource(WRONG_TURN, speed=0)

    async def first() -> str:
        async for e in follow(route, src):
            return e.kind
        return ""

    with time_limit(60):
        assert asyncio.run(first()) == "started"
    assert src.closed


# -- the command line ---------------------------------------------------------------------------


def test_cli_follow_prints_the_wrong_turn(reference: list[dict[str, Any]], tmp_path: Path) -> None:
    f = Follow(ROUTE, WRONG_TURN, "--speed", "0", "--format", "jsonl", "--state", tmp_path / "s.json")
    status, err = f.finish(120)
    assert status == 0, err
    assert f.events() == reference
    assert "\a" not in "".join(f.seen)  # stdout is not a terminal: no bell
    assert "km 6.7 of 6.8, finished" in err
    text = Follow(ROUTE, WRONG_TURN, "--speed", "0")
    assert text.finish(120)[0] == 0
    assert text.seen[1].startswith("2025-05-17T09:15:56+00:00  off_course           exit_epoch_s=1747473341.0")


def test_cli_exec_hook_gets_each_event_without_a_shell(reference: list[dict[str, Any]], tmp_path: Path) -> None:
    hook = tmp_path / "hook.py"
    hook.write_text(
        "import os, sys\n"
        "out = sys.argv[1]\n"
        "with open(out, 'a') as fh:\n"
        "    fh.write(os.environ['OFFCOURSE_EVENT'] + ' ' + sys.stdin.read() + ' ' + repr(sys.argv[2:]) + '\\n')\n"
    )
    log = tmp_path / "hook.log"
    command = f"{sys.executable} {hook} {log} ';' touch {tmp_path / 'pwned'} '$(id)'"
    f = Follow(ROUTE, WRONG_TURN, "--speed", "0", "--exec", command)
    status, err = f.finish(120)
    assert status == 0, err
    rows = log.read_text().splitlines()
    assert [r.split(" ", 1)[0] for r in rows] == KINDS
    payloads = [json.loads(r.split(" ", 1)[1].rsplit(" [", 1)[0]) for r in rows]
    assert payloads == reference
    assert all(r.endswith(f"[';', 'touch', '{tmp_path / 'pwned'}', '$(id)']") for r in rows)
    assert not (tmp_path / "pwned").exists()


def test_cli_kill_and_restart_gives_the_events_of_an_uninterrupted_run(
    reference: list[dict[str, Any]], tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    # 2,301 s of running at 400 times real time: about 6 s, the off-course alert 2.4 s after the start
    first = Follow(ROUTE, WRONG_TURN, "--speed", "400", "--format", "jsonl", "--state", state)
    try:
        assert first.wait_for("started", 60)["seq"] == 1
        wait_until(lambda: delivered(state) == 1, 30, "the first event's delivery to be saved")
        first.proc.send_signal(signal.SIGKILL)
    finally:
        first.kill()
    assert [e["kind"] for e in first.events()] == ["started"]  # killed before the alert
    second = Follow(ROUTE, WRONG_TURN, "--speed", "0", "--format", "jsonl", "--state", state)
    status, err = second.finish(120)
    assert status == 0, err
    assert "resuming from" in err
    assert first.events() + second.events() == reference


def test_cli_sigterm_saves_the_state_and_exits_cleanly(reference: list[dict[str, Any]], tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = Follow(ROUTE, WRONG_TURN, "--speed", "400", "--format", "jsonl", "--state", state)
    assert first.wait_for("started", 60)["seq"] == 1
    first.proc.send_signal(signal.SIGTERM)
    status, err = first.finish(30)
    assert status == 0, err
    assert f"state saved to {state}" in err
    saved = json.loads(state.read_text())
    assert saved["delivered"] == len(first.events()) and not saved["closed"]
    second = Follow(ROUTE, WRONG_TURN, "--speed", "0", "--format", "jsonl", "--state", state)
    assert second.finish(120)[0] == 0
    assert first.events() + second.events() == reference


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("gpsd://127.0.0.1:9", "offcourse: error: gpsd://127.0.0.1:9: cannot connect: Connection refused"),
        ("nope.gpx", "offcourse: error: nope.gpx: "),
        ("ftp://x", "offcourse: error: ftp://x: unknown kind of source"),
    ],
)
def test_cli_bad_source_is_one_error_line(source: str, message: str, tmp_path: Path) -> None:
    f = Follow(ROUTE, source, "--speed", "0", cwd=tmp_path)
    status, err = f.finish(60)
    assert status == 2
    assert err.startswith(message) and err.count("\n") == 1, err


def test_cli_exec_of_a_missing_program_is_refused_before_starting(tmp_path: Path) -> None:
    f = Follow(ROUTE, WRONG_TURN, "--exec", "no-such-program-xyz --flag")
    status, err = f.finish(60)
    assert (status, err) == (2, "offcourse: error: --exec: no-such-program-xyz: no such executable\n")


def test_cli_rings_the_bell_on_the_alert_when_stdout_is_a_terminal(tmp_path: Path) -> None:
    import os
    import pty
    import select
    import subprocess

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "offcourse", "follow", str(ROUTE), str(WRONG_TURN), "--speed", "0"],
        stdout=slave,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    os.close(slave)
    out = b""
    try:
        with time_limit(120):
            while True:
                ready, _, _ = select.select([master], [], [], 1.0)
                if not ready:
                    if proc.poll() is not None:
                        break
                    continue
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the terminal closed: the process ended
                    break
                if not chunk:
                    break
                out += chunk
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        os.close(master)
    lines = out.decode().splitlines()
    assert [line.split()[1] for line in lines] == KINDS
    assert [line.endswith("\a") for line in lines] == [False, True, False, False]

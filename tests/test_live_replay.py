"""Replaying a recording at real or accelerated speed (on a fake clock: no timed tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

import offcourse
from offcourse.errors import ReadError
from offcourse.live import ReplaySource, paced
from offcourse.live.replay import FakeClock
from offcourse.report import fixes_of

REPO = Path(__file__).resolve().parents[1]
WRONG_TURN = REPO / "samples" / "allermuir-wrong-turn.gpx"


def fix(t: float) -> offcourse.Fix:
    return offcourse.Fix(t, -3.2, 55.9)


def test_accelerated_replay_waits_a_tenth_of_each_gap() -> None:
    clock = FakeClock(1000.0)
    out = list(paced([fix(0), fix(1), fix(5), fix(5.5), fix(65.5)], speed=10, clock=clock.monotonic, wait=clock.wait))
    assert [f.epoch_s for f in out] == [0, 1, 5, 5.5, 65.5]
    assert clock.waits == [0.1, 0.4, 0.05, 6.0]


def test_whole_recording_at_ten_times_takes_a_tenth_of_its_duration() -> None:
    track = offcourse.read_track(WRONG_TURN)
    clock = FakeClock()
    n = sum(1 for _ in paced(fixes_of(track), speed=10, clock=clock.monotonic, wait=clock.wait))
    assert n == len(track)
    duration_s = float(track.epoch_s[-1] - track.epoch_s[0])
    assert duration_s == 2301.0
    assert clock.now_s == pytest.approx(230.1, abs=1e-6)


def test_a_late_consumer_is_not_made_to_wait_more() -> None:
    clock = FakeClock()
    out = []
    for f in paced([fix(0), fix(10), fix(20), fix(30)], speed=1, clock=clock.monotonic, wait=clock.wait):
        out.append(f.epoch_s)
        if f.epoch_s == 0:
            clock.now_s += 25.0  # the consumer took 25 s over the first fix
    assert out == [0, 10, 20, 30]
    assert clock.waits == [5.0]  # 10 and 20 were already due; 30 is due at 30


def test_speed_zero_never_waits_and_resume_skips_without_waiting() -> None:
    clock = FakeClock()
    fixes = [fix(t) for t in range(10)]
    assert len(list(paced(fixes, speed=0, clock=clock.monotonic, wait=clock.wait))) == 10
    assert clock.waits == []
    out = list(paced(fixes, speed=2, after_s=6, clock=clock.monotonic, wait=clock.wait))
    assert [f.epoch_s for f in out] == [7, 8, 9]
    assert clock.waits == [0.5, 0.5]  # pacing starts at the first fix after the resume point


def test_wait_returning_true_stops_the_replay() -> None:
    out = list(paced([fix(0), fix(1), fix(2)], speed=1, clock=lambda: 0.0, wait=lambda s: True))
    assert [f.epoch_s for f in out] == [0]


def test_replay_source_yields_the_recording_and_names_bad_files(tmp_path: Path) -> None:
    src = ReplaySource(WRONG_TURN, speed=0)
    src.after_s = float(offcourse.read_track(WRONG_TURN).epoch_s[-3])
    assert len(list(src)) == 2
    bad = tmp_path / "broken.gpx"
    bad.write_text("<gpx><trk>")
    with pytest.raises(ReadError, match=r"broken\.gpx: "):
        list(ReplaySource(bad, speed=0))

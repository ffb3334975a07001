"""The programs in ``examples/`` run and print what their docstrings promise (real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO


def run_example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # this checkout's offcourse, not another installed one
    return subprocess.run(
        [sys.executable, str(REPO / "examples" / name), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )


def test_live_alerts_prints_the_wrong_turn_at_km_3_as_it_happens() -> None:
    proc = run_example("live_alerts.py")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "09:00:00  started, km 0.0",
        "09:15:56  OFF COURSE at km 3.0, 60 m from the route",
        "09:18:42  back on course at km 3.0: +608 m, 183 s lost",
        "09:37:54  finished",
        "2302 fixes, 0 ignored, 7.42 km run",
    ]


def test_live_alerts_with_a_recording_from_elsewhere_never_starts() -> None:
    # a route in Scotland, a run in Vermont: the monitor waits for the start and raises nothing
    proc = run_example("live_alerts.py", "routes/allermuir-hill-race.gpx", "samples/mansfield-double-up-2017.gpx")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1 and lines[0].endswith("km run"), lines


def test_save_and_restore_mid_excursion_gives_the_events_of_an_uninterrupted_run() -> None:
    proc = run_example("save_restore.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    saved, restored, verdict = proc.stdout.splitlines()
    assert saved.startswith("saved after 1017 of 2302 fixes (phase 'off', km 3.01):")
    assert saved.endswith("['started', 'off_course']")
    assert restored.endswith("then: ['back_on_course', 'finished']")
    assert verdict == "identical to an uninterrupted run: True"


def test_field_report_checks_the_matching_sample_and_gives_the_others_error_rows() -> None:
    proc = run_example("field_report.py")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    table_row = next(line for line in lines if "samples/allermuir-wrong-turn.gpx" in line)
    assert table_row.split()[0] == "1" and " 98 % " in table_row  # most severe first, 98 % covered
    assert " LOST " in table_row
    assert "allermuir-wrong-turn #1: off_course at km 3.0, +608 m, 183 s lost" in proc.stdout
    never = "the recording never comes within 50 km of the route: is it the right route?"
    for other in ("fenix2-run.fit", "hohe-veitsch.gpx", "mansfield-double-up-2017.gpx"):
        assert f"samples/{other}: {never}" in lines
    summary = json.loads(lines[-1])
    assert "samples/SOURCES.md: not a GPS file" in lines  # every file of the folder has its row
    assert (summary["files"], summary["ok"], summary["errors"], summary["fixes_checked"]) == (6, 1, 5, 2302)


def test_gpsd_alerts_follows_a_source_without_blocking_and_resumes_from_its_state(tmp_path: object) -> None:
    proc = run_example("gpsd_alerts.py")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["started at km 0.0", "off_course at km 3.0", "back_on_course at km 3.0",
                                        "finished at km 6.7"]  # fmt: skip
    state = os.path.join(str(tmp_path), "run.state")
    first = run_example("gpsd_alerts.py", "routes/allermuir-hill-race.gpx", "samples/allermuir-wrong-turn.gpx", state)
    assert first.returncode == 0 and len(first.stdout.splitlines()) == 4
    again = run_example("gpsd_alerts.py", "routes/allermuir-hill-race.gpx", "samples/allermuir-wrong-turn.gpx", state)
    assert again.returncode == 0 and again.stdout == ""  # the run was finished: nothing twice

"""Several files a Dask task: the scheduler's batching, with a stand-in for the Dask backend.

The backend here runs :func:`offcourse.batch.worker.run_tasks` in this process and plays what a
cluster may do to a task (lost, or on workers that died too often), one task at a time, in the
order sent; ``tests/batch/test_dask.py`` runs the same scheduler on a real cluster.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from offcourse import batch
from offcourse.batch import scheduler
from offcourse.batch.worker import JobSpec, TaskResult, run_tasks
from tests.batch.test_batch import write_field, write_route

N_RUNNERS = 40
FILE_S = 0.1
"""What each file "takes" on the stand-in's workers: the batch is sized from it."""

Play = Callable[[int, list[str]], str | None]
"""The stand-in's script: for task number n holding these file names, ``"lost"``, ``"killed"`` or ``None``."""


class _Task:
    def __init__(self, n: int, files: list[tuple[bytes, bytes]]) -> None:
        self.n = n
        self.files = files
        self.names = [Path(shown.decode()).name for _, shown in files]


class StandIn:
    """The backend interface of ``backends._Dask``, over no cluster."""

    batches = True
    threads = 2

    def __init__(self, spec: JobSpec, play: Play) -> None:
        self.spec = spec
        self.play = play
        self.tasks: list[_Task] = []
        self.flying: list[_Task] = []
        self.most_files_flying = 0
        self.closed = False

    def submit(self, files: Sequence[tuple[bytes, bytes]]) -> _Task:
        task = _Task(len(self.tasks), list(files))
        self.tasks.append(task)
        self.flying.append(task)
        self.most_files_flying = max(self.most_files_flying, sum(len(t.files) for t in self.flying))
        return task

    def wait(self, futures: Sequence[Any]) -> list[Any]:
        first = min(futures, key=lambda t: t.n)  # the tasks end in the order sent, one at a time
        self.flying.remove(first)
        return [first]

    def outcome(self, future: Any) -> tuple[list[TaskResult], float] | str | None:
        what = self.play(future.n, future.names)
        if what == "lost":
            return None
        if what == "killed":
            return "the Dask workers checking this file died (KilledWorker: stand-in)"
        results, _ = run_tasks(self.spec, future.files)
        return results, FILE_S * len(future.files)

    def recover(self) -> None:
        pass

    def close(self, cancel: bool) -> None:
        self.closed = True


@pytest.fixture(scope="module")
def race(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 km route; 40 runners (clean, detours, wrong way; FIT, GPX, gzip); broken and killer files."""
    d = tmp_path_factory.mktemp("batching")
    runs = write_field(d, N_RUNNERS)
    (runs / "runner05b-broken.fit").write_bytes(b"\x0e\x10" + b"\x00" * 30)  # among the first task's files
    (runs / "runner17b-killer.gpx").write_bytes((runs / "runner17.gpx").read_bytes())
    return d


@pytest.fixture(scope="module")
def local(race: Path) -> batch.BatchResult:
    """The rows as ``--jobs 1`` gives them: the reference, bit for bit."""
    return batch.run_batch(race / "route.gpx", batch.expand_inputs([race / "runs"]), jobs=1, cache_path=None)


def run(race: Path, monkeypatch: pytest.MonkeyPatch, play: Play, **kw: Any) -> tuple[batch.BatchResult, StandIn]:
    made: list[StandIn] = []

    def make(spec: JobSpec, script: Play) -> StandIn:
        made.append(StandIn(spec, script))
        return made[0]

    monkeypatch.setattr(scheduler, "_Dask", make)
    inputs = batch.expand_inputs([race / "runs"])
    result = batch.run_batch(race / "route.gpx", inputs, scheduler=play, cache_path=None, **kw)
    assert made[0].closed
    return result, made[0]


def sent(stand_in: StandIn) -> list[list[str]]:
    return [t.names for t in stand_in.tasks]


def test_several_files_a_task_same_rows_same_order(
    race: Path, local: batch.BatchResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [p.name for p in sorted((race / "runs").iterdir())]
    result, stand_in = run(race, monkeypatch, lambda n, files: None)
    assert result.rows == local.rows  # bit for bit, in input order
    assert result.checked == len(names) == N_RUNNERS + 2
    tasks = sent(stand_in)
    assert [name for task in tasks for name in task] == names  # each file once, in input order
    # 3 tasks a worker thread of DASK_FIRST_BATCH files; then 1 s of work (10 files at 0.1 s), as many
    # as the files left spread over 6 tasks allow; the last ones alone
    assert [len(t) for t in tasks] == [4, 4, 4, 4, 4, 4, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1]
    assert stand_in.most_files_flying == 24
    # the broken file is its own error row, the other files of its task are checked
    assert "runner05b-broken.fit" in tasks[1]
    rows = {Path(r["file"]).name: r for r in result.rows}
    assert rows["runner05b-broken.fit"]["status"] == "error"
    assert all(rows[n]["status"] == "ok" for n in tasks[1] if n != "runner05b-broken.fit")


def test_batch_size_follows_the_files_time(
    race: Path, local: batch.BatchResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler, "DASK_TASK_S", 0.4)  # 4 files of 0.1 s
    monkeypatch.setattr(scheduler, "DASK_FIRST_BATCH", 1)
    monkeypatch.setattr(scheduler, "DASK_TASKS_PER_THREAD", 1)  # 2 tasks in flight
    result, stand_in = run(race, monkeypatch, lambda n, files: None)
    assert result.rows == local.rows
    assert [len(t) for t in sent(stand_in)] == [1, 1] + [4] * 9 + [2, 1, 1]


def test_in_flight_bounds_the_files_out(race: Path, local: batch.BatchResult, monkeypatch: pytest.MonkeyPatch) -> None:
    result, stand_in = run(race, monkeypatch, lambda n, files: None, in_flight=5)
    assert result.rows == local.rows
    assert stand_in.most_files_flying == 5
    assert max(len(t) for t in sent(stand_in)) == 4


def test_a_lost_batch_is_sent_again_first(
    race: Path, local: batch.BatchResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, stand_in = run(race, monkeypatch, lambda n, files: "lost" if n == 1 else None)
    assert result.rows == local.rows
    assert result.checked == N_RUNNERS + 2
    tasks = sent(stand_in)
    assert tasks[7] == tasks[1]  # lost: its files make the next task
    assert sorted(n for t in tasks[:1] + tasks[2:] for n in t) == sorted(p.name for p in (race / "runs").iterdir())


def test_a_batch_lost_every_time_ends_as_error_rows(
    race: Path, local: batch.BatchResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    doomed = "runner09.gpx.gz"
    result, stand_in = run(race, monkeypatch, lambda n, files: "lost" if doomed in files else None)
    tasks = sent(stand_in)
    assert doomed in tasks[2]
    assert [n for t in tasks for n in t].count(doomed) == batch.MAX_ATTEMPTS  # and no more
    died = f"the worker died while checking this file ({batch.MAX_ATTEMPTS} attempts)"
    assert len(result.rows) == len(local.rows)
    unlucky = set()
    for row, ref in zip(result.rows, local.rows, strict=True):
        name = Path(row["file"]).name
        if row["status"] == "error" and row["error"] == died:  # lost every time it was sent
            assert sum(name in t and doomed in t for t in tasks) == batch.MAX_ATTEMPTS
            unlucky.add(name)
        else:
            assert row == ref
    assert doomed in unlucky


def test_a_file_killing_its_workers_is_an_error_row_the_others_of_its_task_are_checked(
    race: Path, local: batch.BatchResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, stand_in = run(race, monkeypatch, lambda n, files: "killed" if "runner17b-killer.gpx" in files else None)
    rows = {Path(r["file"]).name: r for r in result.rows}
    killer = rows.pop("runner17b-killer.gpx")
    assert killer["status"] == "error" and killer["error"].startswith("the Dask workers checking this file died")
    tasks = sent(stand_in)
    with_killer = [t for t in tasks if "runner17b-killer.gpx" in t]
    assert len(with_killer) == 2 and len(with_killer[0]) > 1 and with_killer[1] == ["runner17b-killer.gpx"]
    for name in with_killer[0]:  # its companions go again one a task, once
        assert [n for t in tasks for n in t].count(name) == 2
        assert [t for t in tasks if name in t][1] == [name]
    expected = {Path(r["file"]).name: r for r in local.rows}
    del expected["runner17b-killer.gpx"]
    assert rows == expected
    assert result.checked == N_RUNNERS + 2


def test_run_tasks_one_result_per_file_in_order(race: Path) -> None:
    spec, _ = batch.job_spec(race / "route.gpx")
    names = ["runner05.fit", "runner05b-broken.fit", "runner06.fit", "runner05.fit"]
    files = [(os.fsencode(race / "runs" / n), os.fsencode(n)) for n in names]
    results, worker_s = run_tasks(spec, files)
    assert [r.row["file"] for r in results] == names
    assert [r.row["status"] for r in results] == ["ok", "error", "ok", "ok"]
    assert results[0] == results[3] == batch.run_task(spec, *files[0])
    assert results[1].row["error_kind"] == "not_gps" and results[1].cacheable
    assert 0 < worker_s < 60
    assert run_tasks(spec, []) == ([], pytest.approx(0, abs=0.01))


def test_run_tasks_route_gone_every_file_an_error_row(race: Path, tmp_path: Path) -> None:
    route = write_route(tmp_path / "route.gpx", [(0.0, 0.0), (3000.0, 1.0)])  # a new job: read afresh
    spec, _ = batch.job_spec(route)
    route.write_bytes(b"<gpx>changed</gpx>")
    files = [(os.fsencode(race / "runs" / n), os.fsencode(n)) for n in ["runner00.gpx", "runner01.gpx"]]
    results, _ = run_tasks(spec, files)
    assert [r.row["status"] for r in results] == ["error", "error"]
    assert all(r.row["error"].startswith("route unusable on this worker") and not r.cacheable for r in results)

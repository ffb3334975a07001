"""``offcourse batch --scheduler``: the same rows on a real Dask cluster, and none lost when a worker dies."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offcourse import batch
from offcourse.batch import backends
from offcourse.cli import main
from tests.batch.test_batch import write_field

distributed = pytest.importorskip("distributed")

N_RUNNERS = 16


@pytest.fixture(scope="module")
def race(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 km route; 16 runners (clean, detours, wrong way; FIT, GPX, gzip) and two broken files."""
    d = tmp_path_factory.mktemp("dask-race")
    runs = write_field(d, N_RUNNERS)
    (runs / "broken.fit").write_bytes(b"\x0e\x10" + b"\x00" * 30)
    (runs / "garbage.gpx").write_text("<html>not a recording</html>")
    return d


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A real scheduler and two worker processes (one thread each) on loopback."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=40,
    ) as c:
        yield c


@pytest.fixture(scope="module")
def local_rows(race: Path) -> list[dict[str, Any]]:
    result = batch.run_batch(race / "route.gpx", batch.expand_inputs([race / "runs"]), jobs=1, cache_path=None)
    return batch.sort_rows(result.rows)


def test_dask_rows_equal_local_rows(race: Path, cluster: Any, local_rows: list[dict[str, Any]]) -> None:
    inputs = batch.expand_inputs([race / "runs"])
    result = batch.run_batch(race / "route.gpx", inputs, scheduler=cluster.scheduler_address, cache_path=None)
    assert len(result.rows) == N_RUNNERS + 2 == len(local_rows)
    assert batch.sort_rows(result.rows) == local_rows
    assert [r["status"] for r in local_rows].count("error") == 2
    assert sum(1 for r in local_rows if r["excursions"]) == 12  # detours and wrong-way runs


def test_cli_scheduler_flag(race: Path, cluster: Any, tmp_path: Path, local_rows: list[dict[str, Any]]) -> None:
    import json

    out = tmp_path / "rows.json"
    argv = ["batch", str(race / "route.gpx"), str(race / "runs"), "--scheduler", cluster.scheduler_address]
    assert main([*argv, "--quiet", "--no-table", "--json", str(out)]) == 1
    assert json.loads(out.read_text())["rows"] == batch.publish_rows(local_rows)  # the JSON publishes file names
    assert (tmp_path / batch.CACHE_NAME).exists()


def _killer(client: Any, pids: dict[str, int], killed: list[int]) -> Any:
    """An ``on_row`` callback that kills, once, a worker busy with a task (its pid into ``killed``)."""

    def kill_a_busy_worker(row: dict[str, Any], from_cache: bool) -> None:
        if killed:
            return
        busy = [addr for addr, keys in client.processing().items() if keys and addr in pids]
        if busy:
            killed.append(pids[busy[0]])
            os.kill(pids[busy[0]], signal.SIGKILL)

    return kill_a_busy_worker


def test_worker_killed_mid_run_loses_no_file(race: Path, cluster: Any, local_rows: list[dict[str, Any]]) -> None:
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        pids: dict[str, int] = client.run(os.getpid)
        killed: list[int] = []
        kill_a_busy_worker = _killer(client, pids, killed)

        inputs = batch.expand_inputs([race / "runs"])
        result = batch.run_batch(
            race / "route.gpx", inputs, scheduler=client, cache_path=None, on_row=kill_a_busy_worker, in_flight=4
        )
        assert killed, "no worker was busy when the first row came back"
        assert len(result.rows) == N_RUNNERS + 2
        assert batch.sort_rows(result.rows) == local_rows
        assert result.checked == N_RUNNERS + 2
        # the nanny brings a new worker up; the cluster is whole again for the tests after this one
        client.wait_for_workers(2, timeout=30)
        assert killed[0] not in client.run(os.getpid).values()


def test_worker_killed_with_a_batch_loses_no_file(
    race: Path, cluster: Any, local_rows: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    submit = backends._Dask.submit

    def counting_submit(self: backends._Dask, files: backends.Files) -> Any:
        sizes.append(len(files))
        return submit(self, files)

    monkeypatch.setattr(backends._Dask, "submit", counting_submit)
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=30)
        pids: dict[str, int] = client.run(os.getpid)
        killed: list[int] = []
        kill_a_busy_worker = _killer(client, pids, killed)

        inputs = batch.expand_inputs([race / "runs"])
        route = race / "route.gpx"
        result = batch.run_batch(route, inputs, scheduler=client, cache_path=None, on_row=kill_a_busy_worker)
        assert killed, "no worker was busy when the first rows came back"
        # 18 files, 6 tasks in flight (3 a worker thread): what is left shared among 6 tasks each time
        assert sizes[:6] == [3, 3, 2, 2, 2, 1]
        assert result.rows == batch.run_batch(route, inputs, jobs=1, cache_path=None).rows  # in input order
        assert result.checked == N_RUNNERS + 2
        client.wait_for_workers(2, timeout=30)


@pytest.mark.filterwarnings("ignore:Port .* is already in use")  # the module's cluster holds the default port
def test_a_file_killing_its_workers_is_an_error_row_on_a_real_cluster(
    race: Path, tmp_path: Path, local_rows: list[dict[str, Any]]
) -> None:
    import shutil

    import dask

    runs = tmp_path / "runs"
    shutil.copytree(race / "runs", runs)
    shutil.copy(runs / "runner00.gpx", runs / "runner00b-killer.gpx")  # one of the first task's files

    class Killer(distributed.WorkerPlugin):  # defined here: sent by value to each worker, and to its successors
        def setup(self, worker: Any) -> None:
            from offcourse.batch import worker as w

            check_path = w._check_path

            def killing_check_path(path: bytes, shown: bytes, *args: Any) -> Any:
                if b"killer" in shown:
                    os._exit(1)
                return check_path(path, shown, *args)

            w._check_path = killing_check_path

    # a worker's death fails its task at once (allowed-failures 0: no 4 deaths a phase), and only its running
    # task (saturation 1.0: no task waits on a worker, so none shares the killer's fate)
    config = {"distributed.scheduler.allowed-failures": 0, "distributed.scheduler.worker-saturation": 1.0}
    with (
        dask.config.set(config),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None, silence_logs=50
        ) as c,
        distributed.Client(c.scheduler_address, set_as_default=False) as client,
    ):
        client.register_plugin(Killer())
        result = batch.run_batch(race / "route.gpx", batch.expand_inputs([runs]), scheduler=client, cache_path=None)
    rows = {Path(r["file"]).name: {**r, "file": Path(r["file"]).name} for r in result.rows}
    killer = rows.pop("runner00b-killer.gpx")
    assert killer["status"] == "error"
    assert killer["error"].startswith("the Dask workers checking this file died")
    assert rows == {Path(r["file"]).name: {**r, "file": Path(r["file"]).name} for r in local_rows}
    assert result.checked == N_RUNNERS + 3

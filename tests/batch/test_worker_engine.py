"""A batch worker loads the compiled engine once, at warm-up, so every recording it checks runs compiled."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
from offcourse.batch.worker import _Prepared, _warm_up
from offcourse.detect import Options, _kernel
from offcourse.match import RouteIndex
from offcourse.read import read_route
route = read_route("routes/allermuir-hill-race.gpx")
before = _kernel.loaded()
_warm_up(_Prepared(route, RouteIndex(route), Options()))
print(before, _kernel.loaded())
"""


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba is not installed")
def test_a_worker_loads_the_compiled_engine_at_warm_up() -> None:
    # in a fresh process: a single check of a short walk alone would not load numba (it pays only
    # from 30,000 fixes); a worker's warm-up does, so its 20,000-fix files run compiled
    env = {k: v for k, v in os.environ.items() if k != "OFFCOURSE_NO_NUMBA"}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "True"]


def test_without_numba_the_warm_up_still_works() -> None:
    env = {**os.environ, "OFFCOURSE_NO_NUMBA": "1"}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "False"]


class _FakeLibc:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return 1


def test_a_worker_started_to_trim_memory_at_once_keeps_large_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536: glibc then maps and unmaps every
    # large numpy array afresh; the worker sets the thresholds glibc would have adapted to
    from offcourse.batch import worker

    libc = _FakeLibc()
    monkeypatch.setattr(worker.sys, "platform", "linux")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    assert worker.undo_malloc_trim(libc) is True
    assert libc.calls == [(-3, 32 << 20), (-1, 64 << 20)]  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD


def test_a_worker_with_the_system_allocator_defaults_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from offcourse.batch import worker

    libc = _FakeLibc()
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert worker.undo_malloc_trim(libc) is False
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    monkeypatch.setattr(worker.sys, "platform", "darwin")
    assert worker.undo_malloc_trim(libc) is False
    assert libc.calls == []


def test_without_mallopt_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from offcourse.batch import worker

    monkeypatch.setattr(worker.sys, "platform", "linux")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    assert worker.undo_malloc_trim(object()) is False  # musl: no mallopt

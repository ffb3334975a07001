"""Start-up time of the command line: whole processes, as a person waits for them (issue 17).

Runs each command ``--runs`` times (after one warm-up run that fills the OS file cache and
``__pycache__``) and prints the minimum and the median wall time and the least CPU time (user +
system, all threads: numpy's BLAS threads count too), with the interpreter alone and
``import numpy`` as floors. On a busy machine the minimum is the figure to compare. The target
is ``offcourse --help`` and ``offcourse info SMALLFILE`` under 0.15 s.

Run: ``.venv/bin/python bench/bench_startup.py [--runs N] [--tree DIR]``; ``--tree`` measures
another checkout (for a before/after: ``--tree ../main``). Where each millisecond goes:
``.venv/bin/python -X importtime -m offcourse info FILE 2>&1 >/dev/null | sort -t'|' -k2 -n | tail``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
SMALL = "tests/data/gpx-track-and-route.gpx"
TIMED = "samples/allermuir-wrong-turn.gpx"


def commands() -> list[tuple[str, list[str]]]:
    py = [sys.executable]
    oc = [*py, "-m", "offcourse"]
    return [
        ("python -c pass (floor)", [*py, "-c", "pass"]),
        ("python -c 'import numpy' (floor)", [*py, "-c", "import numpy"]),
        ("offcourse --help", [*oc, "--help"]),
        ("offcourse --version", [*oc, "--version"]),
        ("offcourse check --help", [*oc, "check", "--help"]),
        (f"offcourse info {SMALL}", [*oc, "info", SMALL]),
        (f"offcourse info --tz UTC {TIMED}", [*oc, "info", "--tz", "UTC", TIMED]),
        (f"offcourse info {TIMED} (route zone looked up)", [*oc, "info", TIMED]),
    ]


def timed(cmd: list[str], cwd: Path, runs: int) -> tuple[list[float], list[float]] | None:
    """Wall and CPU (user + system) seconds of each run; None when the command fails."""
    env = {**os.environ, "PYTHONPATH": str(cwd)}  # that tree's offcourse, not an installed one
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode written once (the warm-up run)
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall, cpu = [], []
    for _ in range(runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        wall.append(time.perf_counter() - t0)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        if p.returncode != 0:  # e.g. a flag the measured tree does not have yet
            return None
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--tree", type=Path, default=HERE, help="the checkout to measure (default: this one)")
    args = ap.parse_args()
    tree = args.tree.resolve()
    print(f"tree {tree}, {args.runs} runs each, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(f"{'command':<62} {'wall min':>8} {'median':>7} {'cpu min':>8}  (seconds)")
    for name, cmd in commands():
        t = timed(cmd, tree, args.runs)
        if t is None:
            print(f"{name:<62} {'fails in this tree':>25}")
        else:
            wall, cpu = t
            print(f"{name:<62} {min(wall):8.3f} {statistics.median(wall):7.3f} {min(cpu):8.3f}")


if __name__ == "__main__":
    main()

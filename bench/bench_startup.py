"""Start-up time of the command line: whole processes, as a person waits for them (issue 17).

Runs each command ``--runs`` times (after one warm-up run that fills the OS file cache and
``__pycache__``) and prints the minimum and the median wall time, with the interpreter alone and
``import numpy`` as floors. The target is ``offcourse --help`` and ``offcourse info SMALLFILE``
under 0.15 s.

Run: ``.venv/bin/python bench/bench_startup.py [--runs N] [--tree DIR]``; ``--tree`` measures
another checkout (for a before/after: ``--tree ../main``). Where each millisecond goes:
``.venv/bin/python -X importtime -m offcourse info FILE 2>&1 >/dev/null | sort -t'|' -k2 -n | tail``.
"""

from __future__ import annotations

import argparse
import os
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


def timed(cmd: list[str], cwd: Path, runs: int) -> list[float] | None:
    env = {**os.environ, "PYTHONPATH": str(cwd)}  # that tree's offcourse, not an installed one
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        out.append(time.perf_counter() - t0)
        if p.returncode != 0:  # e.g. a flag the measured tree does not have yet
            return None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--tree", type=Path, default=HERE, help="the checkout to measure (default: this one)")
    args = ap.parse_args()
    tree = args.tree.resolve()
    print(f"tree {tree}, {args.runs} runs each, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(f"{'command':<62} {'min s':>7} {'median s':>9}")
    for name, cmd in commands():
        t = timed(cmd, tree, args.runs)
        if t is None:
            print(f"{name:<62} {'fails in this tree':>17}")
        else:
            print(f"{name:<62} {min(t):7.3f} {statistics.median(t):9.3f}")


if __name__ == "__main__":
    main()

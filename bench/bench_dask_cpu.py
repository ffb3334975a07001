"""Where the CPU goes when the race field runs on a Dask LocalCluster (issue 17's Dask target).

Starts a LocalCluster of 2 worker processes (1 thread each) in this process (its scheduler runs
here), runs ``offcourse batch --scheduler`` on the cached field of :mod:`field` as a child process,
and prints the wall time and the CPU seconds of the scheduler (this process), of each worker and of
the batch client: on a 2-core machine the scheduler and the client share the cores with the workers,
which a process pool's parent does much less.

Run: ``.venv/bin/python bench/bench_dask_cpu.py [--field bench/field/r1000-f20000-s1]``
(generate the field first with ``bench/bench_field.py`` or ``bench/field.py``).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--field", default=str(ROOT / "bench" / "field" / "r1000-f20000-s1"))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    import psutil
    from distributed import LocalCluster

    d = Path(args.field)
    if not (d / "route.gpx").exists():
        sys.exit(f"{d}: no field here (run bench/bench_field.py first)")
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
        me = psutil.Process()
        before = {p.pid: p.cpu_times() for p in me.children(recursive=True)}
        c0 = me.cpu_times()
        t0 = time.perf_counter()
        cmd = [sys.executable, "-m", "offcourse", "batch", str(d / "route.gpx"), str(d / "runs"),
               "--scheduler", cl.scheduler_address, "--no-cache", "--quiet", "--no-table"]  # fmt: skip
        subprocess.run(cmd, cwd=ROOT, capture_output=True, check=False)
        wall = time.perf_counter() - t0
        c1 = me.cpu_times()
        print(f"wall {wall:.1f} s")
        print(f"scheduler (this process)  cpu {c1.user + c1.system - c0.user - c0.system:6.1f} s")
        for p in me.children(recursive=True):
            b = before.get(p.pid)
            ct = p.cpu_times()
            used = ct.user + ct.system - ((b.user + b.system) if b else 0.0)
            if used > 0.5:
                print(f"worker process {p.pid:<8}   cpu {used:6.1f} s")
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"batch client              cpu {ru.ru_utime + ru.ru_stime:6.1f} s")
    print(f"command: .venv/bin/python bench/bench_dask_cpu.py --field {args.field} --workers {args.workers}")


if __name__ == "__main__":
    main()

"""Where the CPU goes when the race field runs on a Dask LocalCluster (issue 17's Dask target).

Starts a LocalCluster of 2 worker processes (1 thread each) in this process (its scheduler runs
here), runs ``offcourse batch --scheduler`` on the cached field of :mod:`field` as a child process,
and prints the wall time and the CPU seconds of the scheduler (this process), of each worker and of
the batch client: on a 2-core machine the scheduler and the client share the cores with the workers,
which a process pool's parent does much less.

With ``--pool`` it also runs ``offcourse batch --jobs N`` (N = ``--workers``) and prints the CPU of its
process tree (the batch process, the fork server, the workers; sampled from ``/proc`` every 0.1 s, so
a process's last 0.1 s may be missed). CPU seconds hold on a machine shared with other work, where
wall times do not: with ``--repeat R`` both run alternately R times, on a fresh cluster each time, and
the medians are printed. The wall time the same work would take on N free cores is about the total
CPU over N.

Run: ``.venv/bin/python bench/bench_dask_cpu.py [--field bench/field/r1000-f20000-s1] [--pool --repeat 3]``
(generate the field first with ``bench/bench_field.py`` or ``bench/field.py``).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _batch_cmd(d: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "offcourse", "batch", str(d / "route.gpx"), str(d / "runs"), *extra,
            "--no-cache", "--quiet", "--no-table"]  # fmt: skip


def _children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_dask(d: Path, workers: int) -> dict[str, Any]:
    """One batch on a fresh LocalCluster: wall, and CPU of the scheduler, each worker, the client."""
    import psutil
    from distributed import LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
        me = psutil.Process()
        kids = me.children(recursive=True)
        before = {p.pid: p.cpu_times() for p in kids}
        c0 = me.cpu_times()
        k0 = _children_cpu_s()
        t0 = time.perf_counter()
        subprocess.run(_batch_cmd(d, "--scheduler", cl.scheduler_address), cwd=ROOT, capture_output=True, check=False)
        wall = time.perf_counter() - t0
        client = _children_cpu_s() - k0
        c1 = me.cpu_times()
        scheduler = c1.user + c1.system - c0.user - c0.system
        worker_s = []
        for p in kids:
            b = before[p.pid]
            ct = p.cpu_times()
            used = ct.user + ct.system - (b.user + b.system)
            if used > 0.5:
                worker_s.append(used)
    return {"wall": wall, "scheduler": scheduler, "workers": worker_s, "client": client}


def run_pool(d: Path, jobs: int) -> dict[str, Any]:
    """One batch on a process pool: wall, and the CPU of its whole process tree (sampled)."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(_batch_cmd(d, "--jobs", str(jobs)), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    seen: dict[int, float] = {}

    def sample() -> None:
        try:
            root = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while proc.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for p in tree:
                try:
                    ct = p.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                seen[p.pid] = max(seen.get(p.pid, 0.0), ct.user + ct.system)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    proc.wait()
    wall = time.perf_counter() - t0
    sampler.join()
    return {"wall": wall, "tree": sum(seen.values()), "processes": len(seen)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--field", default=str(ROOT / "bench" / "field" / "r1000-f20000-s1"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pool", action="store_true", help="also run the process pool of --workers workers")
    ap.add_argument("--repeat", type=int, default=1, metavar="R", help="run R times (alternately with --pool)")
    args = ap.parse_args()

    d = Path(args.field)
    if not (d / "route.gpx").exists():
        sys.exit(f"{d}: no field here (run bench/bench_field.py first)")
    dask_totals, pool_totals, ratios = [], [], []
    for _ in range(max(1, args.repeat)):
        if args.pool:
            p = run_pool(d, args.workers)
            pool_totals.append(p["tree"])
            print(f"pool {args.workers}: wall {p['wall']:.1f} s, cpu {p['tree']:.1f} s ({p['processes']} processes)")
        r = run_dask(d, args.workers)
        total = r["scheduler"] + sum(r["workers"]) + r["client"]
        dask_totals.append(total)
        workers = " + ".join(f"{w:.1f}" for w in r["workers"])
        print(
            f"Dask {args.workers}: wall {r['wall']:.1f} s, cpu {total:.1f} s = scheduler {r['scheduler']:.1f} + "
            f"workers {workers} + batch client {r['client']:.1f}"
        )
        if args.pool:
            ratios.append(total / pool_totals[-1])
    if args.repeat > 1 or args.pool:
        line = f"median cpu: Dask {statistics.median(dask_totals):.1f} s"
        if args.pool:
            each = ", ".join(f"{x:.2f}" for x in ratios)
            line += (
                f", pool {statistics.median(pool_totals):.1f} s; Dask / pool {statistics.median(ratios):.2f}x "
                f"(each run: {each})"
            )
        print(line)
    print(
        f"command: .venv/bin/python bench/bench_dask_cpu.py --field {args.field} --workers {args.workers}"
        + (" --pool" if args.pool else "")
        + (f" --repeat {args.repeat}" if args.repeat > 1 else "")
    )


if __name__ == "__main__":
    main()

"""Batch benchmark: a whole synthetic race field through ``offcourse batch`` with 1 and 2 workers.

Generates (once, cached under ``bench/field/``) a field of ``--runners`` recordings of
``--fixes`` fixes on one route, FIT and GPX mixed, some with a wrong turn and a few broken
(:mod:`field`), then runs ``offcourse batch ROUTE RUNS --jobs N --no-cache --json ...`` as a
subprocess for each ``--jobs`` value and prints wall time, files, total fixes, fixes/s and
peak memory: the largest single process (``getrusage(RUSAGE_CHILDREN).ru_maxrss`` and
``/proc`` sampling) and the whole process tree (batch process + fork server + workers,
sampled from ``/proc`` every 0.2 s). It also checks the rows against the field's manifest
(one row per file, wrong turns found, broken files reported as errors).

With ``--dask N`` the batch also runs on a fresh Dask ``LocalCluster`` of N worker processes (one
thread each; the cluster's start is not timed, the pool's is); ``--repeat R`` runs the pool and
Dask alternately R times, for a ratio measured in the same conditions on a busy machine (each
round's ratio, and the median).

Run: ``.venv/bin/python bench/bench_field.py [--runners 1000] [--fixes 20000] [--jobs 1 2] [--dask 2 --repeat 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
# this checkout's offcourse, not an installed one: the Dask scheduler and workers started here
# unpickle the tasks the batch command (run from this checkout) sends them
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from field import FIELD_DIR, make_field

REPO = Path(__file__).resolve().parents[1]


def _tree_rss_kib(root: int) -> tuple[int, int]:
    """Sum and max of VmRSS (KiB) over ``root`` and all its descendants, from /proc."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            parent[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parent.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    total = biggest = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        kib = int(line.split()[1])
                        total += kib
                        biggest = max(biggest, kib)
                        break
        except OSError:
            continue
    return total, biggest


def run_batch(route: Path, runs: Path, jobs: int, out_json: Path, scheduler: str | None = None) -> dict[str, Any]:
    """Run the batch command once; wall time, peak memory and its JSON output.

    With ``scheduler`` (a Dask address) the files are checked on that cluster; its workers are not
    children of the command, so the memory columns then show the batch process alone."""
    cmd = [sys.executable, "-m", "offcourse", "batch", str(route), str(runs), "--jobs", str(jobs)]
    if scheduler is not None:
        cmd += ["--scheduler", scheduler]
    cmd += ["--no-cache", "--quiet", "--no-table", "--json", str(out_json)]
    peak = {"tree": 0, "one": 0}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def sample() -> None:
        while proc.poll() is None:
            total, biggest = _tree_rss_kib(proc.pid)
            peak["tree"] = max(peak["tree"], total)
            peak["one"] = max(peak["one"], biggest)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    sampler.join()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"batch failed ({proc.returncode}): {err.decode(errors='replace')}")
    doc = json.loads(out_json.read_text())
    return {
        "cmd": cmd,
        "wall_s": wall,
        "doc": doc,
        "peak_tree_mib": peak["tree"] / 1024,
        "peak_one_mib": peak["one"] / 1024,
        "maxrss_children_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def check_rows(doc: dict[str, Any], manifest: dict[str, Any]) -> str:
    """One row per file; wrong turns found; broken files as errors. A one-line verdict."""
    rows = {Path(r["file"]).name: r for r in doc["rows"]}
    files = {Path(f["file"]).name: f for f in manifest["files"]}
    assert len(doc["rows"]) == len(rows) == len(files), "not one row per file"
    assert set(rows) == set(files), "rows and files differ"
    detours = [n for n, f in files.items() if f["kind"] == "detour"]
    found = sum(1 for n in detours if rows[n]["status"] == "ok" and rows[n]["excursions"])
    costly = sum(1 for n in detours if rows[n]["status"] == "ok" and (rows[n]["extra_distance_m"] or 0) > 100)
    clean = [n for n, f in files.items() if f["kind"] == "clean"]
    false = sum(1 for n in clean if rows[n]["status"] != "ok" or rows[n]["excursions"])
    broken = [n for n, f in files.items() if f["kind"] == "broken"]
    broken_err = sum(1 for n in broken if rows[n]["status"] == "error")
    return (
        f"wrong turns reported {found}/{len(detours)} ({costly} with extra distance > 100 m); "
        f"clean runners with an excursion or error {false}/{len(clean)}; "
        f"broken files as error rows {broken_err}/{len(broken)} (a FIT or GPX file cut short may still give a "
        f"partial track)"
    )


def main(argv: list[str] | None = None) -> int:
    """Generate the field if needed, run the batch for each worker count, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runners", type=int, default=1000)
    ap.add_argument("--fixes", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--out", type=Path, default=FIELD_DIR, help="where generated fields are cached")
    ap.add_argument(
        "--dask", type=int, default=0, metavar="N", help="also run on a Dask LocalCluster of N worker processes"
    )
    ap.add_argument("--repeat", type=int, default=1, metavar="R", help="run every configuration R times, alternately")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    d = make_field(args.out, args.runners, args.fixes, args.seed)
    gen = time.perf_counter() - t0
    manifest = json.loads((d / "manifest.json").read_text())
    size = sum(p.stat().st_size for p in (d / "runs").iterdir())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(
        f"field: {d} ({len(manifest['files'])} files, {size / 1e6:.0f} MB, route {manifest['route_m'] / 1000:.1f} km; "
        f"ready in {gen:.1f} s)"
    )
    print()
    print("| workers | wall s | files | ok | errors | fixes | fixes/s | peak RSS, largest process MiB | tree MiB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    verdicts: list[str] = []
    rounds: list[dict[str, float]] = []
    for _ in range(max(1, args.repeat)):
        walls: dict[str, float] = {}
        rounds.append(walls)
        for jobs in args.jobs:
            r = run_batch(d / "route.gpx", d / "runs", jobs, d / f"batch-j{jobs}.json")
            s = r["doc"]["summary"]
            fixes = sum(row["fixes"] or 0 for row in r["doc"]["rows"])
            print(
                f"| {jobs} | {r['wall_s']:.1f} | {s['files']} | {s['ok']} | {s['errors']} | {fixes:,} | "
                f"{fixes / r['wall_s']:,.0f} | {max(r['peak_one_mib'], r['maxrss_children_mib']):.0f} | "
                f"{r['peak_tree_mib']:.0f} |"
            )
            if len(rounds) == 1:
                verdicts.append(f"workers {jobs}: {check_rows(r['doc'], manifest)}")
                verdicts.append(f"  command: {' '.join(r['cmd'])}")
            walls[f"pool {jobs}"] = r["wall_s"]
        if args.dask:
            from distributed import LocalCluster

            with LocalCluster(n_workers=args.dask, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
                r = run_batch(
                    d / "route.gpx", d / "runs", args.dask, d / "batch-dask.json", scheduler=cl.scheduler_address
                )
            s = r["doc"]["summary"]
            fixes = sum(row["fixes"] or 0 for row in r["doc"]["rows"])
            print(
                f"| Dask LocalCluster {args.dask} | {r['wall_s']:.1f} | {s['files']} | {s['ok']} | {s['errors']} | "
                f"{fixes:,} | {fixes / r['wall_s']:,.0f} | (batch process {r['peak_one_mib']:.0f}) | - |"
            )
            if len(rounds) == 1:
                verdicts.append(f"Dask {args.dask}: {check_rows(r['doc'], manifest)}")
            walls[f"dask {args.dask}"] = r["wall_s"]
    walls = rounds[0]
    if "pool 1" in walls and "pool 2" in walls:
        verdicts.append(f"scaling 1 -> 2 workers: {walls['pool 1'] / walls['pool 2']:.2f}x")
    if args.dask and f"pool {args.dask}" in walls:
        ratios = [w[f"dask {args.dask}"] / w[f"pool {args.dask}"] for w in rounds]
        each = ", ".join(f"{x:.2f}" for x in ratios)
        verdicts.append(
            f"Dask LocalCluster of {args.dask} / process pool of {args.dask}: {statistics.median(ratios):.2f}x "
            f"the wall time (median of {len(ratios)} rounds: {each})"
        )
    print()
    print("\n".join(verdicts))
    print(
        f"reproduce: .venv/bin/python bench/bench_field.py --runners {args.runners} --fixes {args.fixes} "
        f"--seed {args.seed} --jobs {' '.join(map(str, args.jobs))}"
        + (f" --dask {args.dask}" if args.dask else "")
        + (f" --repeat {args.repeat}" if args.repeat > 1 else "")
        + (f" --out {args.out}" if args.out != FIELD_DIR else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Whole-process ``offcourse check`` beside the naive detector (issue 17).

The naive detector is what a newcomer writes first: fitparse decodes the FIT recording, the route
is a shapely LineString in metres (pyproj, the same local projection), and each fix's distance to
it is asked one fix at a time, with a 10 s debounce. Both are timed as whole processes (Python
start-up, imports, reading, checking, printing), median of ``--repeat`` runs, on a 100 km route
(GPX) and a 100,000-fix FIT recording with one 400 m detour (bench_engine's ``make``).

Also times ``offcourse --help`` and ``offcourse info`` on a small file. Beside the wall times, the
CPU time (user + system) of each run: on a machine others use, wall times wander with their load,
CPU times much less.

Run: ``.venv/bin/python bench/bench_check.py [--fixes 100000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

NAIVE = r'''
import sys
import fitparse, pyproj, shapely
from shapely.geometry import LineString, Point
import xml.etree.ElementTree as ET
route_path, track_path = sys.argv[1], sys.argv[2]
ns = {"g": "http://www.topografix.com/GPX/1/1"}
pts = [(float(p.get("lon")), float(p.get("lat"))) for p in ET.parse(route_path).getroot().iter("{http://www.topografix.com/GPX/1/1}trkpt")]
lon0, lat0 = pts[0]
tr = pyproj.Transformer.from_crs("EPSG:4326", f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84", always_xy=True)
line = LineString([tr.transform(lo, la) for lo, la in pts])
off_since = None
alerts = 0
for rec in fitparse.FitFile(track_path).get_messages("record"):
    v = rec.get_values()
    if v.get("position_lat") is None:
        continue
    lon = v["position_long"] * 180 / 2**31
    lat = v["position_lat"] * 180 / 2**31
    t = v["timestamp"].timestamp()
    d = line.distance(Point(*tr.transform(lon, lat)))
    if d > 50:
        if off_since is None:
            off_since = t
        elif t - off_since >= 10 and off_since != -1:
            alerts += 1
            print("off course at", t)
            off_since = -1
    else:
        off_since = None
print(alerts, "alerts")
'''


def _time(cmd: list[str], repeat: int) -> tuple[float, float, float]:
    """Median and best wall time, and median CPU time (user + system: what the machine's other load
    changes least), of ``repeat`` runs."""
    runs, cpu = [], []
    for _ in range(repeat):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        runs.append(time.perf_counter() - t0)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return statistics.median(runs), min(runs), statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixes", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--naive-repeat", type=int, default=1, help="runs of the naive detector (slow)")
    args = ap.parse_args()

    from bench_engine import make
    from writers import write_fit_activity, write_gpx_track

    route, track = make(args.fixes)
    exe = str(Path(sys.executable).with_name("offcourse"))
    exe_cmd = [exe] if Path(exe).exists() else [sys.executable, "-m", "offcourse"]
    os.environ["PYTHONPATH"] = str(ROOT)  # this checkout's offcourse
    # as installed: a pip install writes each module's bytecode once, at install time; with
    # PYTHONDONTWRITEBYTECODE set (as on some CI machines), an editable checkout would compile
    # offcourse's 50-odd modules from source on every run (0.2 s here)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "offcourse")], check=True)
    with tempfile.TemporaryDirectory(prefix="offcourse-bench-check-") as tmp:
        d = Path(tmp)
        rp, tp, small = d / "route.gpx", d / "run.fit", d / "small.gpx"
        write_gpx_track(rp, route.lon, route.lat, np.zeros(len(route.lon)), "bench route")
        write_fit_activity(tp, track.epoch_s, track.lon, track.lat, np.zeros(len(track)))
        write_gpx_track(small, route.lon[:200], route.lat[:200], np.zeros(200), "small", 1.7e9 + np.arange(200.0))
        naive_py = d / "naive.py"
        naive_py.write_text(NAIVE)
        rows = []
        for label, cmd, rep in [
            ("offcourse --help", [*exe_cmd, "--help"], args.repeat),
            ("offcourse info small.gpx (200 points)", [*exe_cmd, "info", str(small)], args.repeat),
            ("offcourse check (text)", [*exe_cmd, "check", str(rp), str(tp)], args.repeat),
            ("offcourse check --format json", [*exe_cmd, "check", str(rp), str(tp), "--format", "json"], args.repeat),
            ("naive: fitparse + shapely per fix", [sys.executable, str(naive_py), str(rp), str(tp)], args.naive_repeat),
        ]:
            med, best, cpu = _time(cmd, rep)
            rows.append((label, med, cpu))
            print(f"{label:<40} median {med:8.3f} s   best {best:8.3f} s   cpu {cpu:7.3f} s   ({rep} runs)", flush=True)
    naive, naive_cpu = rows[-1][1], rows[-1][2]
    print()
    for label, med, cpu in rows[2:4]:
        print(
            f"{label:<40} {naive / med:6.1f}x the naive detector (whole process, medians; "
            f"{naive_cpu / cpu:.1f}x in CPU time)"
        )
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(
        f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{args.fixes:,} fixes, route {route.length_m / 1000:.0f} km"
    )
    print(f"command: .venv/bin/python bench/bench_check.py --fixes {args.fixes} --repeat {args.repeat}")


if __name__ == "__main__":
    main()

"""Benchmark reading GPX and TCX: offcourse's fast path, its hardened XML reader, and gpxpy.

Run from the repository root (gpxpy from the ``bench`` extra: ``pip install -e .[bench]``)::

    python bench/bench_read.py [--points N] [--runs R] [--only fast|hardened|gpxpy] [--corpus]

It writes a large recording in memory as a watch does (one ``trkpt`` a second with elevation,
time and a Garmin heart-rate extension; the same as TCX ``Trackpoint`` elements), checks that the
fast path and the hardened reader give the same arrays bit for bit, and prints the points read
per second (best and median of R runs, file already in memory; wall clock and CPU time of this
process; the load average is printed too) by:

* ``fast``: :func:`offcourse.read.gpx.parse` / :func:`offcourse.read.tcx.parse`, what
  ``read_file`` uses (the byte-level fast path of :mod:`offcourse.read._fastxml`);
* ``hardened``: :func:`offcourse.read.gpx.parse_gpx` / :func:`offcourse.read.tcx.parse_tcx`
  (defusedxml's expat, one Python call per element);
* ``gpxpy``: ``gpxpy.parse`` (GPX only; it does not read TCX), which builds an object per point.

``GPX`` rows are a watch recording with a heart-rate extension per point (229 bytes a point);
``GPX-`` rows the same without it (elevation and time only, 116 bytes a point); ``TCX`` rows a
Garmin TCX activity (381 bytes a point).

``--corpus`` also reads every GPX and TCX file of ``../shared/data`` both ways and prints the
totals.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from offcourse.read import gpx, tcx  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
T0 = 1_714_543_200  # 2024-05-01T06:00:00Z


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_gpx(n: int, seed: int = 1, *, heart_rate: bool = True) -> bytes:
    """A GPX recording of ``n`` points, as Garmin Connect writes one (7 decimals, heart rate), or without
    the heart-rate extension (``heart_rate=False``: elevation and time only, as most apps write)."""
    rng = random.Random(seed)
    lat, lon, ele = 45.9, 6.8, 1000.0
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx creator="bench" version="1.1" '
        'xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">\n'
        " <metadata><time>2024-05-01T06:00:00Z</time></metadata>\n <trk>\n  <name>Bench run</name>\n  <trkseg>\n"
    ]
    for i in range(n):
        lat += rng.uniform(-2e-5, 2e-5)
        lon += rng.uniform(-2e-5, 2e-5)
        ele += rng.uniform(-0.4, 0.4)
        hr = rng.randint(100, 170)
        ext = (
            f"    <extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{hr}</gpxtpx:hr>"
            "</gpxtpx:TrackPointExtension></extensions>\n"
            if heart_rate
            else ""
        )
        out.append(
            f'   <trkpt lat="{lat:.7f}" lon="{lon:.7f}">\n    <ele>{ele:.1f}</ele>\n    <time>{_iso(T0 + i)}</time>\n'
            f"{ext}   </trkpt>\n"
        )
    out.append("  </trkseg>\n </trk>\n</gpx>\n")
    return "".join(out).encode()


def make_tcx(n: int, seed: int = 1) -> bytes:
    """A TCX activity of ``n`` trackpoints, as Garmin Connect writes one."""
    rng = random.Random(seed)
    lat, lon, ele, dist = 45.9, 6.8, 1000.0, 0.0
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase '
        'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">\n <Activities>\n'
        '  <Activity Sport="Running">\n   <Id>2024-05-01T06:00:00Z</Id>\n   <Lap StartTime="2024-05-01T06:00:00Z">\n'
        "    <Track>\n"
    ]
    for i in range(n):
        lat += rng.uniform(-2e-5, 2e-5)
        lon += rng.uniform(-2e-5, 2e-5)
        ele += rng.uniform(-0.4, 0.4)
        dist += rng.uniform(2, 3)
        out.append(
            f"     <Trackpoint>\n      <Time>{_iso(T0 + i)}</Time>\n      <Position>\n"
            f"       <LatitudeDegrees>{lat!r}</LatitudeDegrees>\n       <LongitudeDegrees>{lon!r}</LongitudeDegrees>\n"
            f"      </Position>\n      <AltitudeMeters>{ele:.1f}</AltitudeMeters>\n"
            f"      <DistanceMeters>{dist:.1f}</DistanceMeters>\n"
            f"      <HeartRateBpm><Value>{rng.randint(100, 170)}</Value></HeartRateBpm>\n     </Trackpoint>\n"
        )
    out.append("    </Track>\n   </Lap>\n  </Activity>\n </Activities>\n</TrainingCenterDatabase>\n")
    return "".join(out).encode()


def best(fn: Callable[[], int], runs: int) -> tuple[int, float, float, float, float]:
    """Points read, and the best and median wall-clock and CPU time (this process) of ``runs`` calls.

    On a shared machine the CPU time is the steadier figure: the wall clock also counts the time
    other processes held the core (the load average is printed with the table).
    """
    wall, cpu = [], []
    n = 0
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        n = fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return n, min(wall), statistics.median(wall), min(cpu), statistics.median(cpu)


def _gpxpy(data: bytes) -> int:
    import gpxpy

    doc = gpxpy.parse(data.decode("utf-8"))
    return sum(len(s.points) for t in doc.tracks for s in t.segments)


def _same(a: object, b: object) -> bool:
    ta, tb = a.track, b.track  # type: ignore[attr-defined]
    cols = ("lon", "lat", "ele_m", "epoch_s", "hdop", "segment_starts")
    return all(getattr(ta, c).tobytes() == getattr(tb, c).tobytes() for c in cols) and repr(ta.meta) == repr(tb.meta)


def bench(points: int, runs: int, only: str | None = None) -> None:
    rows = []
    for fmt, make, fast, hardened in (
        ("GPX", make_gpx, gpx.parse, gpx.parse_gpx),
        ("GPX-", lambda n: make_gpx(n, heart_rate=False), gpx.parse, gpx.parse_gpx),
        ("TCX", make_tcx, tcx.parse, tcx.parse_tcx),
    ):
        data = make(points)
        a, b = fast(data, None), hardened(io.BytesIO(data), None)
        if not _same(a, b) or len(a.track) != points:
            raise SystemExit(f"{fmt}: the fast path and the hardened reader differ")
        readers: list[tuple[str, Callable[[], int]]] = [
            ("fast", lambda data=data, fast=fast: len(fast(data, None).track)),
            ("hardened", lambda data=data, hardened=hardened: len(hardened(io.BytesIO(data), None).track)),
        ]
        if fmt.startswith("GPX"):
            readers.append(("gpxpy", lambda data=data: _gpxpy(data)))
        for name, fn in readers:
            if only and name != only:
                continue
            rows.append((fmt, name, len(data), *best(fn, runs)))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"best (and median) of {runs} runs; load average {load} (1, 5, 15 min) on {os.cpu_count()} CPUs")
    head = ("format", "reader", "points", "MB", "wall s", "(median)", "points/s", "CPU s", "(median)", "points/CPU s")
    print("{:6} {:9} {:>8} {:>6} {:>7} {:>8} {:>10} {:>7} {:>8} {:>12}".format(*head))
    for fmt, name, size, n, dt, dt_med, cpu, cpu_med in rows:
        print(
            f"{fmt:6} {name:9} {n:8d} {size / 1e6:6.1f} {dt:7.3f} {dt_med:8.3f} {n / dt:10,.0f} "
            f"{cpu:7.3f} {cpu_med:8.3f} {n / cpu:12,.0f}"
        )


def corpus() -> None:
    files = sorted(p for ext in ("gpx", "tcx") for p in DATA.rglob(f"*.{ext}"))
    totals = {"fast": [0, 0.0], "hardened": [0, 0.0]}
    used = 0
    for p in files:
        data = p.read_bytes()
        mod = gpx if p.suffix == ".gpx" else tcx
        slow = mod.parse_gpx if mod is gpx else mod.parse_tcx
        quick = mod.parse_gpx_fast if mod is gpx else mod.parse_tcx_fast
        try:
            t = time.perf_counter()
            n = len(slow(io.BytesIO(data), None).track)
            totals["hardened"][0] += n
            totals["hardened"][1] += time.perf_counter() - t
            t = time.perf_counter()
            n = len(mod.parse(data, None).track)
            totals["fast"][0] += n
            totals["fast"][1] += time.perf_counter() - t
            used += quick(data, None) is not None
        except Exception:  # files that are errors either way are not timed
            continue
    print(f"corpus: {len(files)} GPX/TCX files, {used} through the fast path")
    for name, (n, dt) in totals.items():
        print(f"  {name:9} {n:9d} points {dt:7.3f} s {n / dt:12,.0f} points/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=("fast", "hardened", "gpxpy"), help="time this reader only")
    ap.add_argument("--corpus", action="store_true", help="also read every GPX/TCX file of ../shared/data")
    args = ap.parse_args()
    bench(args.points, args.runs, args.only)
    if args.corpus:
        corpus()


if __name__ == "__main__":
    main()

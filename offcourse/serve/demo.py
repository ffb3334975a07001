"""A race to watch: ``offcourse serve`` with a simulated field sending positions (``make serve-demo``).

Starts ``offcourse serve`` on a route (the bundled Allermuir Hill Race by default) with a field of
``--runners`` simulated trackers, a few of whom take a wrong turn, replayed ``--speed`` times faster
than real time over the OsmAnd protocol, exactly as phones running Traccar Client would send them.
Open the printed address: runners move on the map, alerts appear in the feed as the wrong turns
happen. The server keeps running after the race until Ctrl-C; the field report of what was received
is then one command away (printed).

Run: ``python -m offcourse.serve.demo [--route FILE] [--port 8080] [--runners 40] [--speed 10]``
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..model import Route
from ..read import read_route

__all__ = ["main", "simulate"]

TOKEN = "offcourse-demo-token"
EVERY_S = 5.0
NOISE_M = 4.0
DETOUR_M = 350.0
FIRST_NAMES = ["Ada", "Ben", "Cai", "Dee", "Eli", "Fay", "Gus", "Hal", "Ida", "Jo", "Kit", "Lou", "Max", "Noa", "Oz"]


def simulate(
    route: Route, runners: int, *, seed: int = 1, wrong: int = 3, t0: float | None = None
) -> list[list[tuple[float, float, float]]]:
    """Each runner's fixes ``(epoch_s, lat, lon)``: the route at 2.4-3.8 m/s from a wave start;
    the first ``wrong`` runners leave it once at a right angle for :data:`DETOUR_M` and come back."""
    rng = np.random.default_rng(seed)
    start = time.time() if t0 is None else t0
    out = []
    for k in range(runners):
        v = rng.uniform(2.4, 3.8)
        t = np.arange(rng.uniform(0, 120), (route.length_m + 2 * DETOUR_M) / v + 180, EVERY_S)
        s = v * (t - t[0])
        x, y = route.point_at(s)
        if k < wrong:
            leave = rng.uniform(0.2, 0.7) * route.length_m
            i = min(int(np.searchsorted(route.cum_m, leave)), len(route.x) - 1)
            hx, hy = route.x[i] - route.x[i - 1], route.y[i] - route.y[i - 1]
            n = math.hypot(hx, hy) or 1.0
            side = rng.choice([-1.0, 1.0])
            u = s - leave  # metres run since leaving
            away = np.where((u > 0) & (u < 2 * DETOUR_M), np.minimum(u, 2 * DETOUR_M - u), 0.0)
            frozen = np.where((u > 0) & (u < 2 * DETOUR_M), leave, np.where(u >= 2 * DETOUR_M, s - 2 * DETOUR_M, s))
            x, y = route.point_at(frozen)
            x, y = x - side * hy / n * away, y + side * hx / n * away
        x = x + rng.normal(0, NOISE_M, len(t))
        y = y + rng.normal(0, NOISE_M, len(t))
        lon, lat = route.projection.inverse(x, y)
        out.append([(start + float(a), float(b), float(c)) for a, b, c in zip(t, lat, lon, strict=True)])
    return out


def _send(base: str, device: str, fix: tuple[float, float, float]) -> None:
    t, lat, lon = fix
    url = f"{base}/?id={device}&timestamp={t:.0f}&lat={lat:.6f}&lon={lon:.6f}&accuracy=5"
    for _ in range(20):  # a tracker retries until the server has it
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                answer.read()
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)


def replay(base: str, field: list[list[tuple[float, float, float]]], speed: float, stop: threading.Event) -> None:
    """Send every fix when its (sped-up) time comes."""
    schedule = sorted((f[0], k, f) for k, fixes in enumerate(field) for f in fixes)
    t0, wall0 = schedule[0][0], time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for t, k, fix in schedule:
            if stop.is_set():
                return
            delay = (t - t0) / speed - (time.monotonic() - wall0)
            if delay > 0 and stop.wait(delay):
                return
            pool.submit(_send, base, f"demo-{k + 1:03d}", fix)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="offcourse serve with a simulated field")
    ap.add_argument("--route", default="routes/allermuir-hill-race.gpx")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--runners", type=int, default=40)
    ap.add_argument("--wrong", type=int, default=4, help="runners who take a wrong turn (default 4)")
    ap.add_argument("--speed", type=float, default=10.0, help="x real time (default 10)")
    ap.add_argument("--dir", default=None, help="keep the database and runners list here (default: a temporary folder)")
    args = ap.parse_args(argv)
    folder = Path(args.dir or tempfile.mkdtemp(prefix="offcourse-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    route = read_route(args.route)
    # the race happened "now": its fixes end about now plus the race's length at the chosen speed
    field = simulate(route, args.runners, wrong=args.wrong)
    with (folder / "runners.csv").open("w", encoding="utf-8") as fh:
        fh.write("device,bib,name\n")
        for k in range(args.runners):
            fh.write(f"demo-{k + 1:03d},{k + 1},{FIRST_NAMES[k % len(FIRST_NAMES)]} Runner{k + 1}\n")
    db = folder / "race.sqlite"
    rate = str(max(2.0, args.speed))
    cmd = [sys.executable, "-m", "offcourse", "serve", args.route, "--db", str(db), "--runners",
           str(folder / "runners.csv"), "--port", str(args.port), "--device-rate", rate,
           # replayed faster than real time from now: the fixes run ahead of the clock
           "--max-ahead", str(2 * 86_400)]  # fmt: skip
    server = subprocess.Popen(cmd, env={**os.environ, "OFFCOURSE_TOKEN": TOKEN})
    base = f"http://127.0.0.1:{args.port}"
    for _ in range(200):
        with contextlib.suppress(OSError), urllib.request.urlopen(base + "/healthz", timeout=1):
            break
        if server.poll() is not None:
            return server.returncode or 1
        time.sleep(0.1)
    print(
        f"\n  Race control: {base}/live?token={TOKEN}\n"
        f"  {args.runners} simulated runners ({args.wrong} will go wrong) at {args.speed:g}x real time.\n"
        f"  Ctrl-C stops the server; then the field report:\n"
        f"    offcourse serve-report {args.route} --db {db} --runners {folder / 'runners.csv'} --out {folder}/report\n",
        flush=True,
    )
    stop = threading.Event()

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)  # stopped like Ctrl-C: the server is stopped too
    sender = threading.Thread(target=replay, args=(base, field, args.speed, stop), daemon=True)
    sender.start()
    try:
        sender.join()
        print("offcourse demo: the race is over; the server keeps running (Ctrl-C to stop)", flush=True)
        server.wait()
    except KeyboardInterrupt:
        stop.set()
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)  # the server this demo started, by its id
            server.wait(timeout=60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Write ``samples/allermuir-wrong-turn.gpx``: a synthetic run of the bundled Allermuir route with one wrong turn.

The runner follows ``routes/allermuir-hill-race.gpx`` at a pace that slows uphill, with
time-correlated GPS error (Gauss-Markov, sigma 4 m, 30 s), and at km 3.0 takes a wrong turn:
300 m away from the route on a curving path, then back the same way. Deterministic (seed 7).

Run: ``.venv/bin/python samples/make_wrong_turn.py``
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from offcourse import read_route

HERE = Path(__file__).resolve().parent
EXIT_M = 3000.0
DETOUR_M = 300.0


def main() -> None:
    rng = np.random.default_rng(7)
    route = read_route(HERE.parent / "routes" / "allermuir-hill-race.gpx")
    # path: route up to EXIT_M, detour out and back, rest of the route
    s1 = np.arange(0.0, EXIT_M, 1.0)
    x1, y1 = route.point_at(s1)
    xe, ye = route.point_at([EXIT_M - 1.0, EXIT_M + 1.0])
    tx, ty = (xe[1] - xe[0]) / 2.0, (ye[1] - ye[0]) / 2.0
    nx, ny = -ty, tx  # left of the direction of travel
    u = np.arange(0.0, DETOUR_M, 1.0)
    bend = 40.0 * np.sin(u / DETOUR_M * np.pi)  # a trail that curves
    ox = x1[-1] + nx * u + tx * bend
    oy = y1[-1] + ny * u + ty * bend
    s2 = np.arange(EXIT_M, route.length_m, 1.0)
    x2, y2 = route.point_at(s2)
    x = np.concatenate([x1, ox, ox[::-1], x2])
    y = np.concatenate([y1, oy, oy[::-1], y2])
    ele_route = np.interp(np.concatenate([s1, np.full(2 * len(u), EXIT_M), s2]), route.cum_m, route.ele_m)
    # pace: 3.2 m/s on the flat, slower uphill
    grade = np.gradient(ele_route) if np.isfinite(ele_route).all() else np.zeros(len(x))
    speed = np.clip(3.2 - 12.0 * np.maximum(grade, 0.0), 1.0, 3.5)
    t = np.concatenate([[0.0], np.cumsum(1.0 / speed[1:])])
    keep = np.searchsorted(t, np.arange(0.0, t[-1], 1.0))  # one fix a second
    x, y, ele, t = x[keep], y[keep], ele_route[keep], np.round(t[keep])
    # Gauss-Markov GPS error
    n = len(x)
    ex = np.zeros(n)
    ey = np.zeros(n)
    a = np.exp(-1.0 / 30.0)
    for i in range(1, n):
        ex[i] = a * ex[i - 1] + 4.0 * np.sqrt(1 - a * a) * rng.standard_normal()
        ey[i] = a * ey[i - 1] + 4.0 * np.sqrt(1 - a * a) * rng.standard_normal()
    lon, lat = route.projection.inverse(x + ex, y + ey)
    t0 = datetime(2025, 5, 17, 9, 0, 0, tzinfo=UTC).timestamp()
    pts = "\n".join(
        f'      <trkpt lat="{la:.7f}" lon="{lo:.7f}"><ele>{e:.1f}</ele>'
        f"<time>{datetime.fromtimestamp(t0 + ti, tz=UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}</time></trkpt>"
        for lo, la, e, ti in zip(lon, lat, ele, t, strict=True)
    )
    gpx = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="offcourse samples/make_wrong_turn.py" xmlns="http://www.topografix.com/GPX/1/1">\n'
        "  <trk><name>Allermuir hill race, synthetic run with a wrong turn at km 3.0</name><trkseg>\n"
        f"{pts}\n  </trkseg></trk>\n</gpx>\n"
    )
    (HERE / "allermuir-wrong-turn.gpx").write_text(gpx, encoding="utf-8")


if __name__ == "__main__":
    main()

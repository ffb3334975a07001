"""The demo's simulated field: its wrong turns are wrong turns to the engine, its other runners clean."""

from __future__ import annotations

from pathlib import Path

import offcourse
from offcourse.serve.demo import simulate

ROUTE = Path(__file__).resolve().parents[2] / "routes" / "allermuir-hill-race.gpx"


def test_the_demo_field_has_exactly_its_planted_wrong_turns() -> None:
    route = offcourse.read_route(ROUTE)
    field = simulate(route, 8, wrong=3, t0=1_747_472_400.0)
    index = offcourse.RouteIndex(route)
    alerts = []
    for fixes in field:
        m = offcourse.Monitor(route, index=index)
        kinds = [e.kind for t, lat, lon in fixes for e in m.push(offcourse.Fix(t, lon, lat))]
        alerts.append(kinds.count("off_course"))
        assert kinds[0] == "started" and kinds[-1] == "finished"
    assert alerts == [1, 1, 1, 0, 0, 0, 0, 0]

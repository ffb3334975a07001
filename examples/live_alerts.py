"""Live alerts from a recording: replay a watch recording through the streaming engine.

A companion app gets one position at a time from the watch or the phone's receiver and
pushes it into :class:`offcourse.Monitor`; here the positions come from a recording, in
order, as they would have arrived. Each event is printed as it is raised.

Run from the repository root::

    python examples/live_alerts.py [ROUTE] [RECORDING]

(default: the bundled Allermuir route and its sample with one wrong turn at km 3.0).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import offcourse

route_path = sys.argv[1] if len(sys.argv) > 1 else "routes/allermuir-hill-race.gpx"
track_path = sys.argv[2] if len(sys.argv) > 2 else "samples/allermuir-wrong-turn.gpx"

route = offcourse.read_route(route_path)
track = offcourse.read_track(track_path)
monitor = offcourse.Monitor(route)  # default offcourse.Options()


def say(event: offcourse.Event) -> str:
    """One line for the runner's screen."""
    clock = datetime.fromtimestamp(event.epoch_s, UTC).strftime("%H:%M:%S")
    if isinstance(event, offcourse.Started):
        return f"{clock}  started, km {event.route_m / 1000:.1f}"
    if isinstance(event, offcourse.OffCourse):
        return f"{clock}  OFF COURSE at km {event.exit_route_m / 1000:.1f}, {event.offset_m:.0f} m from the route"
    if isinstance(event, offcourse.BackOnCourse):
        return (
            f"{clock}  back on course at km {event.rejoin_route_m / 1000:.1f}: "
            f"{event.extra_distance_m:+.0f} m, {event.time_lost_s:.0f} s lost"
        )
    if isinstance(event, offcourse.Finished):
        return f"{clock}  finished"
    return f"{clock}  {event.kind}"  # WrongDirection, SkippedSection, NeverRejoined...


for t, lon, lat, ele in zip(
    track.epoch_s.tolist(), track.lon.tolist(), track.lat.tolist(), track.ele_m.tolist(), strict=True
):
    for event in monitor.push(offcourse.Fix(t, lon, lat, ele_m=ele)):
        print(say(event), flush=True)
for event in monitor.close():  # the recording ended
    print(say(event))
print(f"{len(track)} fixes, {monitor.ignored_fixes} ignored, {monitor.distance_m / 1000:.2f} km run")

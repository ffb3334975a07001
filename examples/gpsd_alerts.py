"""Live alerts from a GPS receiver through gpsd (or NMEA, or a recording), without blocking.

An app on a Raspberry Pi, a bike computer or a laptop with a phone forwarding its GPS reads
positions from gpsd and gets the engine's events as they happen. ``offcourse.live.follow`` is
an async iterator: the receiver is read in a thread, the event loop is never blocked. With a
state file, a restart continues where the last run stopped.

Run from the repository root::

    python examples/gpsd_alerts.py [ROUTE] [SOURCE] [STATE]

SOURCE is ``gpsd://HOST:PORT``, ``tcp://HOST:PORT`` (NMEA), ``nmea:///dev/ttyUSB0`` or a
recording replayed as fast as possible (default: the bundled Allermuir sample, so that the
example runs anywhere; ``gpsd://127.0.0.1:2947`` for a real receiver).
"""

from __future__ import annotations

import asyncio
import sys

import offcourse
from offcourse.live import follow

route_path = sys.argv[1] if len(sys.argv) > 1 else "routes/allermuir-hill-race.gpx"
source = sys.argv[2] if len(sys.argv) > 2 else "samples/allermuir-wrong-turn.gpx"
state = sys.argv[3] if len(sys.argv) > 3 else None


async def main() -> None:
    route = offcourse.read_route(route_path)
    async for event in follow(route, source, state_path=state, speed=0.0):
        where = getattr(event, "exit_route_m", getattr(event, "route_m", None))
        km = f" at km {where / 1000:.1f}" if where is not None else ""
        print(f"{event.kind}{km}")


asyncio.run(main())

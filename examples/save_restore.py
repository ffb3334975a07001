"""Save and restore mid-run: an app killed halfway through a race loses nothing.

The app saves :meth:`offcourse.Monitor.state` (a JSON-serialisable dict) after every
event, or every few fixes, and on restart rebuilds the monitor with
:meth:`offcourse.Monitor.restore`. The events after the restart are exactly those an
uninterrupted monitor raises.

Run from the repository root::

    python examples/save_restore.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import offcourse

route = offcourse.read_route("routes/allermuir-hill-race.gpx")
track = offcourse.read_track("samples/allermuir-wrong-turn.gpx")
fixes = [
    offcourse.Fix(t, lon, lat, ele_m=ele)
    for t, lon, lat, ele in zip(
        track.epoch_s.tolist(), track.lon.tolist(), track.lat.tolist(), track.ele_m.tolist(), strict=True
    )
]


def kinds(events: list[offcourse.Event]) -> list[str]:
    return [e.kind for e in events]


# the reference: one monitor, never interrupted
whole = offcourse.Monitor(route)
reference = [e for f in fixes for e in whole.push(f)] + whole.close()
# the app dies one minute after the off-course alert, while the runner is still off the route
alert = next(e for e in reference if isinstance(e, offcourse.OffCourse))
cut = next(i for i, f in enumerate(fixes) if f.epoch_s > alert.epoch_s + 60)

with tempfile.TemporaryDirectory() as tmp:
    saved = Path(tmp) / "monitor-state.json"

    first = offcourse.Monitor(route)
    before = [e for f in fixes[:cut] for e in first.push(f)]
    saved.write_text(json.dumps(first.state()))  # the last thing the app did before it was killed
    print(
        f"saved after {cut} of {len(fixes)} fixes (phase {first.phase!r}, km {first.route_m / 1000:.2f}):",
        kinds(before),
    )

    # ... the app restarts: the route is read again, the state file loaded
    again = offcourse.Monitor.restore(
        offcourse.read_route("routes/allermuir-hill-race.gpx"), json.loads(saved.read_text())
    )
    after = [e for f in fixes[cut:] for e in again.push(f)] + again.close()
    print(f"restored ({saved.stat().st_size:,} bytes of state), then:", kinds(after))

same = [json.dumps(e.to_dict()) for e in before + after] == [json.dumps(e.to_dict()) for e in reference]
print("identical to an uninterrupted run:", same)
raise SystemExit(0 if same else 1)

"""A field report: check every recording of a race field against the route, one row each.

The library behind ``offcourse batch``: :func:`offcourse.batch.run_batch` reads the
route once, checks each recording (in worker processes, or here in this one) and gives
exactly one row per input, ``ok`` with the figures or ``error`` with the reason, so one
broken or unrelated upload never stops the others.

Run from the repository root::

    python examples/field_report.py [ROUTE] [RECORDINGS...]

(default: the bundled Allermuir route against everything in ``samples/``: the Allermuir
sample is checked, the recordings made elsewhere are error rows).
"""

from __future__ import annotations

import json
import sys

from offcourse import batch

route = sys.argv[1] if len(sys.argv) > 1 else "routes/allermuir-hill-race.gpx"
recordings = sys.argv[2:] or ["samples/"]  # files, folders (searched recursively) and globs

inputs = batch.expand_inputs(recordings)
result = batch.run_batch(route, inputs, jobs=1, cache_path=None)  # jobs=None: all cores
rows = batch.sort_rows(result.rows)  # most severe first

print(batch.rows_to_table(rows))
print()
for row in rows:
    if row["status"] == "error":
        print(f"{row['file']}: {row['error']}")
        continue
    for n, exc in enumerate(row["excursion_list"], 1):
        print(
            f"{row['name']} #{n}: {exc['kind']} at km {exc['exit_route_m'] / 1000:.1f}, "
            f"{exc['extra_distance_m']:+.0f} m, {exc['time_lost_s']:.0f} s lost"
        )
print()
print(json.dumps(result.summary()))

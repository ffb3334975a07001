"""Write the seed corpus of the atheris harness: ``fuzz/corpus/seed-*``, small valid files of every format.

The seeds are copies of small files of ``tests/data/`` and ``tests/data/defects/`` (a GPX 1.0
route, GPX 1.1 tracks with extensions, TCX activity and course, GeoJSON, a FIT activity using
compressed timestamps, developer fields and redefinitions, chained FIT files), a LiveTrail route and a
gzip-compressed GPX. Deterministic; run from the repository root::

    .venv/bin/python fuzz/make_seeds.py
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = REPO / "tests" / "data"
CORPUS = HERE / "corpus"

FILES = [
    DATA / "gpx10-route-with-waypoints.gpx",
    DATA / "gpx11-garmin-extensions-two-tracks.gpx",
    DATA / "gpx11-undeclared-strava-prefix-bom.gpx",
    DATA / "gpx-track-and-route.gpx",
    DATA / "tcx-activity-whitespace-before-declaration.tcx",
    DATA / "tcx-course-with-coursepoints.tcx",
    DATA / "geojson-featurecollection-coordtimes-and-points.geojson",
    DATA / "geojson-geometrycollection-no-times.geojson",
    DATA / "defects" / "small-valid-activity.fit",
    DATA / "defects" / "fit-chained-compressed-timestamps.fit",
    DATA / "defects" / "fit-definition-redefined-midfile.fit",
    DATA / "defects" / "base-route.gpx",
    DATA / "kml" / "route-multigeometry.kml",
    DATA / "kml" / "track-gx.kml",
]

LIVETRAIL = {
    "segments": [
        {
            "id": "a",
            "name": "start",
            "segment": [[0, 1035, [6.86, 45.92], [0, 0], -1, "R"], [12, 1036, [6.87, 45.93], [1, 0], 1, "T"]],
        },
        {"id": "b", "name": "end", "segment": [[20, 1040, [6.8693, 45.9235], [0, 5], -2, "T"]]},
    ],
    "pois": [{"name": "Col", "lat": 45.9, "lon": 6.8, "ele": 2000, "type": "summit"}],
    "stats": {"distance": 20},
}


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    seeds = {f"seed-{p.name}": p.read_bytes() for p in FILES}
    seeds["seed-livetrail.json"] = json.dumps(LIVETRAIL).encode()
    seeds["seed-base-route.gpx.gz"] = gzip.compress((DATA / "defects" / "base-route.gpx").read_bytes(), mtime=0)
    for name, data in seeds.items():
        (CORPUS / name).write_bytes(data)
    print(f"wrote {len(seeds)} seeds, {sum(map(len, seeds.values()))} bytes, to {CORPUS}")


if __name__ == "__main__":
    main()

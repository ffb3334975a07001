"""Write the files of ``tests/data/defects/``: one small file per kind of broken or hostile input.

Every file is named after its defect; ``README.md`` beside this script says how each was made and
what offcourse does with it (``tests/test_defects.py`` asserts exactly that). The output is
deterministic: running the script again rewrites identical bytes.

Geometry is synthetic, in metres in the local projection of ``tests/synth.py`` (centred at
7.0 E, 46.0 N): ``base-route.gpx`` is a straight 1.5 km route; ``base-track.gpx`` runs it at
3 m/s with a fix every 5 s and one wrong turn (150 m to the side for 300 m, from 600 m to 900 m
along the route). Most timestamp and position defects are ``base-track.gpx`` with extra bad fixes
inserted, so that the engine must give exactly the events of ``base-track.gpx``.

Run from the repository root: ``.venv/bin/python tests/data/defects/make_defects.py``
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO))

from offcourse.project import LocalProjection  # noqa: E402
from tests.fitbuild import FitBuilder, semicircles  # noqa: E402
from tests.synth import PROJ, walk  # noqa: E402

T0 = datetime(2024, 5, 1, 8, 0, 0, tzinfo=UTC)
ROUTE_XY = [(0.0, 0.0), (1500.0, 0.0)]
RUN_XY = [(0.0, 0.0), (600.0, 0.0), (600.0, 150.0), (900.0, 150.0), (900.0, 0.0), (1500.0, 0.0)]
STEP_S = 5.0
REC = [(253, 4, 0x86), (0, 4, 0x85), (1, 4, 0x85), (2, 2, 0x84)]

# A point of a track: (seconds after T0 or None for no <time>, or a str for a literal <time> text,
# lon, lat as text or float)
Point = tuple[float | str | None, float | str, float | str]


def iso(t: float) -> str:
    return (T0 + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%SZ")


def coord(v: float | str) -> str:
    return v if isinstance(v, str) else f"{v:.7f}"


def gpx_track(points: Sequence[Point], name: str) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<gpx version="1.1" creator="make_defects.py">']
    lines.append(f"<trk><name>{name}</name><trkseg>")
    for t, lon, lat in points:
        time = "" if t is None else f"<time>{t if isinstance(t, str) else iso(t)}</time>"
        lines.append(f'<trkpt lat="{coord(lat)}" lon="{coord(lon)}">{time}</trkpt>')
    lines.append("</trkseg></trk></gpx>")
    return ("\n".join(lines) + "\n").encode()


def tcx_activity(points: Sequence[Point]) -> bytes:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">',
        '<Activities><Activity Sport="Running"><Id>2024-05-01T08:00:00Z</Id><Lap><Track>',
    ]
    for t, lon, lat in points:
        time = "" if t is None else f"<Time>{t if isinstance(t, str) else iso(t)}</Time>"
        lines.append(
            f"<Trackpoint>{time}<Position><LatitudeDegrees>{coord(lat)}</LatitudeDegrees>"
            f"<LongitudeDegrees>{coord(lon)}</LongitudeDegrees></Position></Trackpoint>"
        )
    lines.append("</Track></Lap></Activity></Activities></TrainingCenterDatabase>")
    return ("\n".join(lines) + "\n").encode()


def base_points(proj: LocalProjection = PROJ) -> list[Point]:
    rows = walk(RUN_XY, speed_mps=3.0, step_s=STEP_S)
    lon, lat = proj.inverse(rows[:, 1], rows[:, 2])
    return [(float(t), float(lo), float(la)) for t, lo, la in zip(rows[:, 0], lon, lat, strict=True)]


def inject(points: list[Point], every: int, make: Callable[[Point], Point]) -> list[Point]:
    """``points`` with an extra point after every ``every``-th one (not after the first ``every``)."""
    out: list[Point] = []
    for i, p in enumerate(points):
        out.append(p)
        if i >= every and i % every == 0 and i < len(points) - 1:
            out.append(make(p))
    return out


def route_points() -> list[tuple[float, float]]:
    x = np.linspace(0.0, 1500.0, 16)
    lon, lat = PROJ.inverse(x, np.zeros_like(x))
    return list(zip(lon.tolist(), lat.tolist(), strict=True))


def gpx_route(points: Sequence[tuple[float | str, float | str]]) -> bytes:
    body = "".join(f'<rtept lat="{coord(la)}" lon="{coord(lo)}"/>\n' for lo, la in points)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="make_defects.py">\n'
        f"<rte><name>defects route</name>\n{body}</rte></gpx>\n"
    ).encode()


# -- FIT -------------------------------------------------------------------------------------------


def fit_points(n: int) -> list[tuple[int, int, int, int]]:
    """(timestamp, lat, lon, altitude) raw FIT values of ``n`` fixes on the base track."""
    pts = base_points()[:n]
    t0 = int(T0.timestamp()) - 631065600
    return [(t0 + int(t), semicircles(float(la)), semicircles(float(lo)), 2600) for t, lo, la in pts]  # type: ignore[arg-type]


def fit_activity(n: int = 5) -> FitBuilder:
    b = FitBuilder()
    b.define(0, 20, REC)
    for p in fit_points(n):
        b.message(0, list(p))
    return b


def small_valid_fit() -> bytes:
    """A small valid FIT activity using most of what the fast decoder handles (seed for truncations)."""
    b = FitBuilder()
    b.define(2, 21, [(253, 4, 0x86), (0, 1, 0x00), (1, 1, 0x00)])
    pts = fit_points(12)
    b.message(2, [pts[0][0], 0, 0])  # timer start
    b.define(0, 20, [*REC, (31, 1, 0x02)], dev_fields=[(0, 2, 0)])
    for p in pts[:4]:
        b.message(0, [*p, 5], dev_values=b"\x01\x02")
    b.define(1, 20, [(0, 4, 0x85), (1, 4, 0x85)])  # compressed timestamp records
    for p in pts[4:8]:
        b.message(1, [p[1], p[2]], time_offset=p[0] & 0x1F)
    b.message(2, [pts[7][0], 0, 4])  # timer stop
    b.message(2, [pts[8][0], 0, 0])  # timer start: a new segment
    b.define(0, 20, [(1, 4, 0x85), (253, 4, 0x86), (0, 4, 0x85)], big=True)  # redefinition
    for p in pts[8:]:
        b.message(0, [p[2], p[0], p[1]])
    return b.build()


def fit_bad_header_crc() -> bytes:
    data = bytearray(fit_activity().build())
    data[12] ^= 0x5A
    return bytes(data)


def fit_bad_file_crc() -> bytes:
    data = bytearray(fit_activity().build())
    data[-2] ^= 0xFF
    return bytes(data)


def fit_truncated_mid_record() -> bytes:
    data = fit_activity().build()
    return data[: -2 - 7]  # no CRC, and the last record cut in half


def fit_header_declares_more_data() -> bytes:
    # the header says 1 MB of messages follow; the file holds five records and its CRC
    return fit_activity().build(data_size=1_000_000)


def fit_definition_redefined_midfile() -> bytes:
    b = FitBuilder()
    b.define(0, 20, REC)
    pts = fit_points(10)
    for p in pts[:5]:
        b.message(0, list(p))
    # local type 0 now means a big-endian record with other fields in another order, and a lap
    # message takes local type 1 between the records
    b.define(0, 20, [(1, 4, 0x85), (0, 4, 0x85), (253, 4, 0x86)], big=True)
    b.define(1, 19, [(253, 4, 0x86), (7, 4, 0x86)])
    for p in pts[5:]:
        b.message(0, [p[2], p[1], p[0]])
        b.message(1, [p[0], 1000])
    return b.build()


def fit_compressed_timestamp_header() -> bytes:
    b = FitBuilder()
    b.define(0, 20, REC)
    b.define(1, 20, [(0, 4, 0x85), (1, 4, 0x85)])
    pts = fit_points(6)
    t0 = 1_000_000_000 - (1_000_000_000 % 32) + 28  # low 5 bits 28: the offsets roll over
    b.message(0, [t0, pts[0][1], pts[0][2], 2600])
    for k, p in enumerate(pts[1:], start=1):
        b.message(1, [p[1], p[2]], time_offset=(t0 + 3 * k) & 0x1F)
    return b.build()


def fit_lat_out_of_range() -> bytes:
    b = FitBuilder()
    b.define(0, 20, REC)
    for i, p in enumerate(fit_points(6)):
        lat = 2**30 + 12345 if i in (2, 4) else p[1]  # 90.001 degrees
        b.message(0, [p[0], lat, p[2], p[3]])
    return b.build()


def fit_lon_out_of_range_uint32() -> bytes:
    b = FitBuilder()
    b.define(0, 20, [(253, 4, 0x86), (0, 4, 0x85), (1, 4, 0x86)])  # longitude as uint32: fitdecode decodes it
    for i, p in enumerate(fit_points(4)):
        lon = 3_000_000_000 if i == 1 else p[2] % 2**32  # 251.5 degrees
        b.message(0, [p[0], p[1], lon])
    return b.build()


def fit_empty_track() -> bytes:
    b = FitBuilder()
    b.define(0, 20, [(253, 4, 0x86), (2, 2, 0x84)])  # records without position fields (indoor)
    for i in range(3):
        b.message(0, [1_000_000_000 + i, 2600])
    return b.build()


# -- XML attacks -------------------------------------------------------------------------------------

LAUGHS = "\n".join(
    ['  <!ENTITY lol "lol">']
    + [f'  <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)]
)


def billion_laughs(root: str, body: str) -> bytes:
    return f'<?xml version="1.0"?>\n<!DOCTYPE {root} [\n{LAUGHS}\n]>\n{body}\n'.encode()


GPX_LAUGHS_BODY = (
    '<gpx version="1.1" creator="x"><trk><name>&lol9;</name><trkseg><trkpt lat="1" lon="1"/></trkseg></trk></gpx>'
)
TCX_BODY = (
    '<TrainingCenterDatabase><Activities><Activity Sport="Running"><Lap><Track><Trackpoint>'
    "<Time>2024-05-01T08:00:00Z</Time><Position><LatitudeDegrees>46</LatitudeDegrees>"
    "<LongitudeDegrees>7</LongitudeDegrees></Position><AltitudeMeters>{ele}</AltitudeMeters>"
    "</Trackpoint></Track></Lap></Activity></Activities></TrainingCenterDatabase>"
)


def xxe(root: str, body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE {root} [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n{body}\n'.encode()


def xxe_parameter_entity() -> bytes:
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE gpx [\n  <!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd">\n'
        b"  %remote;\n]>\n"
        b'<gpx version="1.1" creator="x"><trk><trkseg><trkpt lat="46" lon="7"/></trkseg></trk></gpx>\n'
    )


def gzip0(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def main() -> None:
    files: dict[str, bytes] = {}
    base = base_points()
    files["base-route.gpx"] = gpx_route(route_points())
    files["base-track.gpx"] = gpx_track(base, "base track")
    files["small-valid-activity.fit"] = small_valid_fit()

    # XML entity attacks
    files["billion-laughs.gpx"] = billion_laughs("gpx", GPX_LAUGHS_BODY)
    files["billion-laughs.tcx"] = billion_laughs("TrainingCenterDatabase", TCX_BODY.format(ele="&lol9;"))
    files["xxe-external-entity.gpx"] = xxe(
        "gpx",
        '<gpx version="1.1" creator="x"><trk><trkseg>'
        '<trkpt lat="46" lon="7"><ele>&xxe;</ele></trkpt></trkseg></trk></gpx>',
    )
    files["xxe-external-entity.tcx"] = xxe("TrainingCenterDatabase", TCX_BODY.format(ele="&xxe;"))
    files["xxe-parameter-entity.gpx"] = xxe_parameter_entity()
    files["xml-utf7-encoding.gpx"] = (
        b'<?xml version="1.0" encoding="UTF-7"?>\n<gpx version="1.1" creator="x"><trk><trkseg>'
        b'<trkpt lat="46" lon="7"/></trkseg></trk></gpx>\n'
    )

    # gzip
    head = b'<?xml version="1.0"?><gpx version="1.1" creator="x">'
    files["gzip-bomb.gpx.gz"] = gzip0(head + b" " * (8 << 20))
    files["gzip-bomb-nested.gpx.gz.gz"] = gzip0(gzip0(head + b" " * (64 << 20)))

    # FIT
    files["fit-header-declares-more-data.fit"] = fit_header_declares_more_data()
    files["fit-bad-header-crc.fit"] = fit_bad_header_crc()
    files["fit-bad-file-crc.fit"] = fit_bad_file_crc()
    files["fit-truncated-mid-record.fit"] = fit_truncated_mid_record()
    files["fit-definition-redefined-midfile.fit"] = fit_definition_redefined_midfile()
    files["fit-compressed-timestamp-header.fit"] = fit_compressed_timestamp_header()
    files["fit-lat-out-of-range.fit"] = fit_lat_out_of_range()
    # regression (found by fuzzing): a longitude beyond 180 degrees from a position field read by fitdecode
    files["fit-lon-out-of-range-uint32.fit"] = fit_lon_out_of_range_uint32()
    # regression (found by fuzzing): compressed timestamps in only some files of a chain
    files["fit-chained-compressed-timestamps.fit"] = (
        fit_activity(3).build() + fit_compressed_timestamp_header() + fit_activity(2).build()
    )

    # coordinates
    short = base[:6]
    bad = list(short)
    bad[3] = (bad[3][0], bad[3][1], "-90.5")
    files["lat-out-of-range.gpx"] = gpx_track(bad, "latitude out of range")
    bad = list(short)
    bad[2] = (bad[2][0], "181", bad[2][2])
    files["lon-out-of-range.tcx"] = tcx_activity(bad)
    files["lat-out-of-range.geojson"] = json.dumps(
        {"type": "LineString", "coordinates": [[7.0, 46.0], [7.0, 91.5]]}
    ).encode()
    bad = list(short)
    bad[4] = (bad[4][0], bad[4][1], "NaN")
    files["nan-coordinates.gpx"] = gpx_track(bad, "NaN latitude")
    bad = list(short)
    bad[1] = (bad[1][0], "nan", bad[1][2])
    files["nan-coordinates.tcx"] = tcx_activity(bad)
    files["nan-coordinates.geojson"] = b'{"type": "LineString", "coordinates": [[7.0, 46.0], [NaN, 46.001]]}\n'
    files["null-island-fixes.gpx"] = gpx_track(inject(base, 20, lambda p: (float(p[0]) + 1.0, 0.0, 0.0)), "null island")  # type: ignore[arg-type]
    rp = route_points()
    files["null-island-route.gpx"] = gpx_route([(0.0, 0.0), (0.0, 0.0), *rp[:8], (0.0, 0.0), *rp[8:]])

    # timestamps
    def no_time(p: Point) -> Point:
        return (None, float(p[1]) + 1e-5, p[2])

    missing = inject(base, 20, no_time)
    missing.insert(100, ("half past eight", base[99][1], base[99][2]))
    files["timestamps-missing.gpx"] = gpx_track(missing, "some fixes without a time")
    files["timestamps-none.gpx"] = gpx_track([(None, lo, la) for _, lo, la in base], "no times at all")
    files["timestamps-duplicated.gpx"] = gpx_track(
        inject(base, 20, lambda p: (p[0], float(p[1]) + 2e-4, p[2])), "duplicated times"
    )
    files["timestamps-backwards.gpx"] = gpx_track(
        inject(base, 20, lambda p: (float(p[0]) - 60.0, float(p[1]) - 2e-3, p[2])), "times going backwards"
    )
    step_back = [(float(t) - 3600.0 if i >= 100 else t, lo, la) for i, (t, lo, la) in enumerate(base)]  # type: ignore[arg-type]
    files["timestamps-clock-steps-back.gpx"] = gpx_track(step_back, "clock set back one hour at fix 100")
    weeks = 21 * 86400.0
    files["timestamps-jump-weeks.gpx"] = gpx_track(
        [(float(t) + weeks if i >= 40 else t, lo, la) for i, (t, lo, la) in enumerate(base)],  # type: ignore[arg-type]
        "clock jumps three weeks at fix 40",
    )

    # geometry
    files["empty-track.gpx"] = (
        b'<?xml version="1.0"?>\n<gpx version="1.1" creator="x"><trk><name>empty</name><trkseg></trkseg></trk></gpx>\n'
    )
    files["empty-track.tcx"] = (
        b'<?xml version="1.0"?>\n<TrainingCenterDatabase><Activities><Activity Sport="Running"><Lap><Track>'
        b"<Trackpoint><Time>2024-05-01T08:00:00Z</Time><HeartRateBpm><Value>120</Value></HeartRateBpm></Trackpoint>"
        b"</Track></Lap></Activity></Activities></TrainingCenterDatabase>\n"
    )
    files["empty-track.fit"] = fit_empty_track()
    files["one-point-route.gpx"] = gpx_route(rp[:1])
    files["one-point-route-repeated.gpx"] = gpx_route(rp[:1] * 4)
    vermont = LocalProjection(-72.8, 44.5)
    files["other-continent.gpx"] = gpx_track(base_points(vermont)[::10], "the same run in Vermont, a fix every 50 s")

    for name, data in sorted(files.items()):
        (HERE / name).write_bytes(data)
    print(f"wrote {len(files)} files, {sum(map(len, files.values()))} bytes, to {HERE}")


if __name__ == "__main__":
    main()

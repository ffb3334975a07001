"""The fast path's runs of one template, read chunk by chunk, give what the hardened reader gives, bit for bit."""

from __future__ import annotations

import random

import numpy as np
import pytest

from offcourse.read import _fastxml, gpx
from tests.read.test_fastxml import FAST, HARDENED, REGISTRY, damage, outcome


def _pt(i: int, lat: str | None = None, lon: str | None = None, ele: str | None = None, time: str | None = None) -> str:
    lat = lat if lat is not None else f"{45 + i * 1e-5:.7f}"
    lon = lon if lon is not None else f"{-6 - i * 1e-5:.7f}"
    ele = ele if ele is not None else f"{995 + (i % 11):.1f}"  # 995.0 to 1005.0: two lengths
    time = time if time is not None else f"2024-05-01T06:{i // 60 % 60:02d}:{i % 60:02d}Z"
    hr = 90 + i % 20  # two and three digits
    return (
        f'   <trkpt lat="{lat}" lon="{lon}">\n    <ele>{ele}</ele>\n    <time>{time}</time>\n'
        f"    <extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{hr}</gpxtpx:hr></gpxtpx:TrackPointExtension>"
        "</extensions>\n   </trkpt>"
    )


def _doc(points: list[str], segs: int = 1) -> bytes:
    per = -(-len(points) // segs)
    body = "".join(
        "  <trkseg>\n" + "\n".join(points[k : k + per]) + "\n  </trkseg>\n" for k in range(0, len(points), per)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="t" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">\n <trk><name>r</name>\n'
        f"{body} </trk>\n</gpx>\n"
    ).encode()


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fastxml, "_CHUNK", 1500)  # a few points a chunk: many chunk boundaries


@pytest.fixture
def one_template_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs of several templates left to the hardened reader: what the fast path reads, it reads by
    its one-template path."""

    def refuse(*args: object) -> None:
        raise _fastxml.NotFast

    monkeypatch.setattr(_fastxml, "_run_general", refuse)


@pytest.mark.usefixtures("small_chunks", "one_template_only")
@pytest.mark.parametrize("segs", [1, 3])
def test_a_long_run_reads_through_the_one_template_path_as_the_hardened_reader(segs: int) -> None:
    data = _doc([_pt(i) for i in range(300)], segs)
    fast = outcome(FAST["gpx"], data)
    assert fast is not None and fast == outcome(HARDENED["gpx"], data)
    cut = _fastxml.fast_blocks(data, gpx._SHAPES)
    assert cut is not None and len(cut[0]) == segs  # every segment read by the fast path
    t = gpx.parse(data, "x").track
    assert len(t) == 300 and t.lat[299] == 45.00299 and t.ele_m[5] == 1000.0 and t.epoch_s[61] - t.epoch_s[0] == 61.0


@pytest.mark.usefixtures("small_chunks")
def test_random_damage_anywhere_in_a_long_run_never_makes_the_paths_differ() -> None:
    rng = random.Random(3)
    base = _doc([_pt(i) for i in range(120)])
    for _ in range(300):
        mutated = damage(base, rng)
        assert outcome(REGISTRY["gpx"], mutated) == outcome(HARDENED["gpx"], mutated), mutated


@pytest.mark.parametrize(
    "where, text",
    [
        ("tag", '<trkpt lat="45.1" lon="6.1">\n    <e1le>1.0</e1le>'),  # a digit in a tag name
        ("between", '<trkpt lat="45.1" lon="6.1">\n 7   <ele>1.0</ele>'),  # a digit between the tags
        ("attr", '<trkpt lat="45.1" lon="6.1"1>\n    <ele>1.0</ele>'),  # a digit after the attributes
        ("prefix", '<trkpt lat=1"45.1" lon="6.1">\n    <ele>1.0</ele>'),  # before the quote
        ("mid", '<trkpt lat="45.1" lo1n="6.1">\n    <ele>1.0</ele>'),  # in the second name
    ],
)
def test_a_digit_out_of_place_in_one_point_leaves_the_run_to_the_careful_readers(where: str, text: str) -> None:
    pts = [_pt(i) for i in range(40)]
    pts[17] = pts[17].replace(pts[17][3 : pts[17].index("</ele>") + 6], text, 1)
    data = _doc(pts)
    assert outcome(REGISTRY["gpx"], data) == outcome(HARDENED["gpx"], data), where


@pytest.mark.parametrize(
    "lat, lon, ele, time",
    [
        ("90", "180", "-0.0", "2024-05-01T06:00:00.123456Z"),  # edges, negative zero, 6 fraction digits
        ("-90.000000000000", "-180", "-0", "2024-05-01T06:00:00.000001+14:00"),
        ("45.12345678901234", "6.123456789012345", "123456789012345", "2024-02-29T23:59:59.999999-00:30"),  # 15 digits
        ("0.000000000000001", "-0.000000000000000", "999999999999999.", "2200-12-31T23:59:59Z"),
        ("45.1234567890123456", "6.12345678901234567", "1234567890123456.7", "1900-01-01T00:00:00.5Z"),  # 16 to 18
    ],
)
@pytest.mark.usefixtures("one_template_only")
def test_values_at_the_edges_read_bit_for_bit(lat: str, lon: str, ele: str, time: str) -> None:
    pts = [_pt(i) for i in range(30)]
    pts[0] = _pt(0, lat, lon, ele, time)  # the template
    pts[29] = _pt(29, lat, lon, ele, time)  # the last point
    pts[13] = _pt(13, lat, lon, ele, time)
    data = _doc(pts)
    fast = outcome(FAST["gpx"], data)
    assert fast is not None and fast == outcome(HARDENED["gpx"], data)
    t = gpx.parse(data, "x").track
    assert t.lat[13] == float(lat) and t.lon[29] == float(lon)
    assert t.ele_m[0] == float(ele) and np.signbit(t.ele_m[0]) == ele.startswith("-")


def test_a_latitude_past_90_is_the_hardened_readers_error() -> None:
    pts = [_pt(i) for i in range(30)]
    pts[20] = _pt(20, lat="90.0000001")
    data = _doc(pts)
    assert outcome(REGISTRY["gpx"], data) == outcome(HARDENED["gpx"], data)
    assert outcome(HARDENED["gpx"], data)[0] != "tuple"


def test_times_of_one_length_and_two_layouts_read_as_the_hardened_reader() -> None:
    pts = [_pt(i) for i in range(20)]
    pts[7] = _pt(7, time="2024-05-01T06:00:00.1+02:00")  # the length of "2024-05-01T06:00:00.123456Z"
    pts[3] = _pt(3, time="2024-05-01T06:00:00.123456Z")
    data = _doc(pts)
    assert outcome(REGISTRY["gpx"], data) == outcome(HARDENED["gpx"], data)


@pytest.mark.usefixtures("small_chunks", "one_template_only")
def test_tcx_with_garmin_namespaced_extensions_reads_the_same() -> None:
    def tp(i: int) -> str:
        return (
            f"     <Trackpoint>\n      <Time>2024-05-01T06:00:{i % 60:02d}.000Z</Time>\n      <Position>\n"
            f"       <LatitudeDegrees>{45 + i * 1.3e-5!r}</LatitudeDegrees>\n"
            f"       <LongitudeDegrees>{6 + i * 1.7e-5!r}</LongitudeDegrees>\n      </Position>\n"
            f"      <AltitudeMeters>{1000 + i % 7 * 0.2:.1f}</AltitudeMeters>\n"
            f"      <DistanceMeters>{i * 2.5}</DistanceMeters>\n"
            f"      <Extensions><ns3:TPX><ns3:Speed>{i % 5}.0</ns3:Speed></ns3:TPX></Extensions>\n     </Trackpoint>"
        )

    doc = (
        '<?xml version="1.0"?>\n<TrainingCenterDatabase xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2">'
        '<Activities><Activity Sport="Running"><Id>x</Id><Lap><Track>\n'
        + "\n".join(tp(i) for i in range(200))
        + "\n</Track></Lap></Activity></Activities></TrainingCenterDatabase>"
    ).encode()
    fast = outcome(FAST["tcx"], doc)
    assert fast is not None and fast == outcome(HARDENED["tcx"], doc)
    assert len(REGISTRY["tcx"](doc).track) == 200


def test_decimals_of_many_layouts_at_once_read_as_float_reads_them() -> None:
    rng = random.Random(1)
    texts = ["-0", "+0.0", ".5", "7.", "-000.000", "90", "-180.0000000000000"]
    for _ in range(3000):
        nd = rng.randint(1, 18)
        digits = "".join(rng.choice("0123456789") for _ in range(nd))
        cut = rng.randint(0, nd)
        texts.append(rng.choice(["", "-", "+"]) + (digits[:cut] + "." + digits[cut:] if rng.random() < 0.8 else digits))
    buf = b" ".join(t.encode() for t in texts)
    ends = np.cumsum([len(t) + 1 for t in texts]) - 1
    got = _fastxml.decimals(np.frombuffer(buf, dtype=np.uint8), ends - [len(t) for t in texts], ends)
    assert got.tobytes() == np.array([float(t) for t in texts]).tobytes()


@pytest.mark.usefixtures("small_chunks", "one_template_only")
def test_elevations_across_1000_m_and_positions_of_17_digits_read_through_the_one_template_path() -> None:
    rng = random.Random(4)
    lat, lon = 45.9, -0.002  # a longitude crossing 0: both signs
    pts = []
    for i in range(300):
        lat += rng.uniform(-2e-5, 2e-5)
        lon += rng.uniform(0, 3e-5)
        ele = f"{998 + 4 * np.sin(i / 10):.1f}"  # 994.0 to 1002.0: the dot moves
        pts.append(_pt(i, lat=repr(lat), lon=f"{lon:.16f}".rstrip("0"), ele=ele))  # no exponent near 0
    data = _doc(pts)
    fast = outcome(FAST["gpx"], data)
    assert fast is not None and fast == outcome(HARDENED["gpx"], data)
    t = gpx.parse(data, "x").track
    assert t.lat.tolist() == [float(p.split('"')[1]) for p in pts]
    assert (t.ele_m < 1000).any() and (t.ele_m >= 1000).any() and (t.lon < 0).any() and (t.lon > 0).any()


def test_rows_past_the_end_of_the_document_are_padded_with_zeros_in_any_order() -> None:
    from offcourse.read._fastchunk import Rows

    rows = Rows(b"abcdefgh")
    assert rows.rows(np.array([0, 4]), 4).tobytes() == b"abcdefgh"
    assert rows.rows(np.array([0, 6, 2]), 4).tobytes() == b"abcd" + b"gh\0\0" + b"cdef"
    assert rows.rows(np.array([1]), 12).tobytes() == b"bcdefgh" + bytes(5)  # wider than the document
    assert rows.rows(np.array([], dtype=np.int64), 4).shape == (0, 4)

"""A point read in segments (:func:`offcourse.read._fastchunk.chunk_values`): each segment's pieces compared at once,
its values taken from its rows; every byte still checked, the outputs the hardened reader's, bit for bit."""

from __future__ import annotations

import random

import numpy as np
import pytest

from offcourse.read import _fastchunk, _fastvalues, _fastxml, gpx, tcx
from offcourse.read._fastchunk import NotFast, Rows, _all_match, _check_digits, _columns, _segment_pattern
from tests.read.test_fastxml import FAST, HARDENED, REGISTRY, damage, outcome
from tests.read.test_fastxml_chunks import _doc, _pt


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fastxml, "_CHUNK", 1500)  # a few points a chunk: many chunk boundaries


@pytest.fixture
def one_template_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise _fastxml.NotFast

    monkeypatch.setattr(_fastxml, "_run_general", refuse)


def _tp(i: int, time: str | None = None, dist: str | None = None, hr: str | None = None, lat: str | None = None) -> str:
    time = time if time is not None else f"2024-05-01T06:{i // 60 % 60:02d}:{i % 60:02d}Z"
    dist = dist if dist is not None else f"{i * 2.5:.1f}"
    hr = hr if hr is not None else str(100 + i % 50)
    lat = lat if lat is not None else repr(45 + i * 1.3e-5)
    return (
        f"     <Trackpoint>\n      <Time>{time}</Time>\n      <Position>\n"
        f"       <LatitudeDegrees>{lat}</LatitudeDegrees>\n"
        f"       <LongitudeDegrees>{6 + i * 1.7e-5!r}</LongitudeDegrees>\n      </Position>\n"
        f"      <AltitudeMeters>{1000 + i % 7 * 0.2:.1f}</AltitudeMeters>\n"
        f"      <DistanceMeters>{dist}</DistanceMeters>\n"
        f"      <HeartRateBpm><Value>{hr}</Value></HeartRateBpm>\n     </Trackpoint>"
    )


def _tcx(points: list[str]) -> bytes:
    return (
        '<?xml version="1.0"?>\n<TrainingCenterDatabase><Activities><Activity Sport="Running"><Id>x</Id><Lap><Track>\n'
        + "\n".join(points)
        + "\n</Track></Lap></Activity></Activities></TrainingCenterDatabase>"
    ).encode()


def _same_through_the_fast_path(fmt: str, data: bytes) -> None:
    fast = outcome(FAST[fmt], data)
    assert fast is not None and fast == outcome(HARDENED[fmt], data)


# -- the helpers ---------------------------------------------------------------------------------


def test_columns_are_copied_as_contiguous_rows() -> None:
    seg = np.frombuffer(b"abcdefghijklmnopqrstuvwx", dtype=np.uint8).reshape(3, 8)
    got = _columns(seg, 2, 3)
    assert got.flags.c_contiguous and got.tobytes() == b"cdeklmstu"
    assert _columns(seg, 5, 0).shape == (3, 0) and _columns(seg[:0], 1, 2).shape == (0, 2)


def test_a_segment_pattern_holds_its_pieces_around_values_of_one_length() -> None:
    plan = _fastchunk.Plan(3, [b"<a>", b"</a><b>", b"</b>\n"], [("ele", 1, 0), ("", 3, 0)], [8, 8], ("", ""), True)
    pattern, mask = _segment_pattern(plan, 0, (2,), 16)  # piece 0, a value of 2 bytes, piece 1
    assert pattern == b"<a>\0\0</a><b>" + bytes(4)
    assert mask == b"\xff" * 3 + bytes(2) + b"\xff" * 7 + bytes(4)
    assert _segment_pattern(plan, 0, (2,), 16) is _segment_pattern(plan, 0, (2,), 16)  # kept
    pattern, mask = _segment_pattern(plan, 2, (), 8)  # the last piece alone
    assert pattern == b"</b>\n" + bytes(3) and mask == b"\xff" * 5 + bytes(3)


def test_all_match_compares_the_masked_bytes_only() -> None:
    pattern, mask = b"<a>\0\0</a" + bytes(8), b"\xff\xff\xff\0\0\xff\xff\xff" + bytes(8)
    rows = np.frombuffer(b"<a>12</a" + b"junk....", dtype=np.uint8).reshape(1, 16).repeat(3, axis=0)
    assert _all_match(rows.copy(), pattern, mask)
    bad = rows.copy()
    bad[2, 6] = ord("b")  # a byte of a piece, in the last row
    assert not _all_match(bad, pattern, mask)


@pytest.mark.parametrize(
    "texts, ok",
    [
        ([b"12.5", b"-3", b"+.0"], True),
        ([b"12.5", b"1,5", b"0"], False),  # a comma
        ([b"12.5", b"1/2", b"0"], False),  # a slash (between "-." and the digits)
        ([b"12.5", b"1 5", b"0"], False),
        ([b"1\x015", b"12", b"0"], False),  # a control byte
        ([b"", b"", b""], True),  # empty texts
    ],
)
def test_digits_and_signs_only(texts: list[bytes], ok: bool) -> None:
    width = max(len(t) for t in texts)
    rows = np.frombuffer(b"".join(t.ljust(width, b"<") for t in texts), dtype=np.uint8).reshape(len(texts), width)
    length = np.array([len(t) for t in texts], dtype=np.int64)
    if ok:
        _check_digits(rows, length)
    else:
        with pytest.raises(NotFast):
            _check_digits(rows, length)


# -- runs read in segments -------------------------------------------------------------------------


@pytest.mark.usefixtures("small_chunks", "one_template_only")
def test_tcx_points_read_in_segments_as_the_hardened_reader_reads_them() -> None:
    data = _tcx([_tp(i) for i in range(120)])
    _same_through_the_fast_path("tcx", data)
    t = tcx.parse(data, "x").track
    assert len(t) == 120 and t.lat[7] == 45 + 7 * 1.3e-5 and t.ele_m[3] == 1000.6 and t.epoch_s[61] - t.epoch_s[0] == 61


@pytest.mark.usefixtures("one_template_only")
def test_values_all_of_one_length_make_one_segment_a_point() -> None:
    # every value of one length in every point: the whole point is one row, compared at once
    pts = [_tp(i, dist=f"{1000 + i}.5", hr="120", lat=f"45.{i:05d}") for i in range(40)]
    pts = [p.replace(f"{6 + i * 1.7e-5!r}", f"6.{i:05d}") for i, p in enumerate(pts)]
    data = _tcx(pts)
    _same_through_the_fast_path("tcx", data)
    t = tcx.parse(data, "x").track
    assert t.lat.tolist() == [float(f"45.{i:05d}") for i in range(40)] and t.lon[39] == 6.00039


@pytest.mark.usefixtures("small_chunks", "one_template_only")
def test_a_text_the_reader_does_not_keep_may_be_empty_in_a_whole_chunk() -> None:
    pts = [_tp(i, dist="" if 0 < i < 60 else None) for i in range(90)]  # 59 empty ones: whole chunks of them
    _same_through_the_fast_path("tcx", _tcx(pts))


@pytest.mark.parametrize("dist", ["1,5", "1/2", "1 2", "1e3", "\x01"])
@pytest.mark.usefixtures("small_chunks", "one_template_only")
def test_a_text_the_reader_does_not_keep_is_still_checked(dist: str) -> None:
    pts = [_tp(i) for i in range(60)]
    pts[33] = _tp(33, dist=dist)
    data = _tcx(pts)
    assert outcome(REGISTRY["tcx"], data) == outcome(HARDENED["tcx"], data)
    cut = _fastxml.fast_blocks(data, tcx._SHAPES)
    assert cut is None or not any(b.points == 60 for b in cut[0])  # not read by the one-template path


@pytest.mark.parametrize("where", [0, 17, 59])  # in the template, in a chunk, in the run's last point
@pytest.mark.parametrize(
    "piece",
    [
        ("</Time>", "</Tim3>"),  # a digit in a tag, after a value of one length
        ("      <Position>", "     9<Position>"),  # a digit between two tags of a segment
        ("</HeartRateBpm>\n", "</HeartRateBpm> \n"),  # the last piece, a byte longer
        ("<Value>", "<Valve>"),
    ],
)
@pytest.mark.usefixtures("small_chunks", "one_template_only")
def test_a_byte_out_of_place_in_any_piece_of_a_segment_is_caught(where: int, piece: tuple[str, str]) -> None:
    pts = [_tp(i) for i in range(60)]
    pts[where] = pts[where].replace(*piece)
    data = _tcx(pts)
    assert outcome(REGISTRY["tcx"], data) == outcome(HARDENED["tcx"], data)
    cut = _fastxml.fast_blocks(data, tcx._SHAPES)
    assert cut is None or not any(b.points == 60 for b in cut[0])


@pytest.mark.usefixtures("small_chunks", "one_template_only")
def test_a_time_of_another_day_in_a_chunk_reads_as_the_hardened_reader() -> None:
    pts = [_tp(i, time=f"2024-05-{1 + i // 7:02d}T23:59:{i % 60:02d}Z") for i in range(60)]  # days change in chunks
    data = _tcx(pts)
    _same_through_the_fast_path("tcx", data)
    t = tcx.parse(data, "x").track
    assert t.epoch_s[7] - t.epoch_s[6] == 86400 + 1


def test_a_control_byte_in_a_number_or_a_time_is_the_hardened_readers_error() -> None:
    # values of several layouts (read in groups) and times: a \x01 in place of a digit is not a digit
    for i, (ele, time) in enumerate(
        [("10\x0113.5", None), ("1\x01.5", None), (None, "2024-05-01T06:\x0100:13Z"), (None, "2024-05-\x011T06:00:13Z")]
    ):
        pts = [_pt(k, ele=f"{995 + k % 11:.1f}") for k in range(40)]
        pts[13] = _pt(13, ele=ele, time=time)
        data = _doc(pts)
        assert outcome(REGISTRY["gpx"], data) == outcome(HARDENED["gpx"], data), i
        assert outcome(HARDENED["gpx"], data)[0] == "CorruptFileError"
    with pytest.raises(NotFast):
        _fastvalues.decimals(np.frombuffer(b"1\x015 12 13", dtype=np.uint8), np.array([0, 4, 7]), np.array([3, 6, 9]))


def test_the_hardened_readers_outcome_on_gpx_of_many_segments_and_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fastxml, "_CHUNK", 700)
    data = _doc([_pt(i) for i in range(200)], 4)
    _same_through_the_fast_path("gpx", data)
    assert len(gpx.parse(data, "x").track) == 200


def test_rows_of_a_segment_past_the_end_of_the_document() -> None:
    rows = Rows(b"<a>12</a>")
    got = rows.rows(np.array([0, 3]), 16)
    assert got.tobytes() == b"<a>12</a>" + bytes(7) + b"12</a>" + bytes(10)


@pytest.mark.usefixtures("small_chunks")
def test_random_damage_anywhere_in_a_tcx_run_never_makes_the_paths_differ() -> None:
    rng = random.Random(5)
    base = _tcx([_tp(i) for i in range(100)])
    for _ in range(300):
        mutated = damage(base, rng, rng.randint(1, 2))
        assert outcome(REGISTRY["tcx"], mutated) == outcome(HARDENED["tcx"], mutated), mutated


def test_tcx_points_are_found_by_their_slashes() -> None:
    unit = (_tp(0) + "\n").encode()
    unit = unit[unit.index(b"<") :]
    plan = _fastxml._plan(unit, tcx._SHAPES[0])
    assert plan.mark == ord("/") and plan.tags == unit.count(b"/") == 9
    assert plan.after == len(b"/Trackpoint>\n")  # from the end tag's "/" to the next point
    gpx_unit = (_pt(0) + "\n").encode().lstrip()
    assert _fastxml._plan(gpx_unit, gpx._SHAPES[0]).mark == ord("<")  # attributes: the tags' starts


@pytest.mark.usefixtures("one_template_only")
def test_every_chunk_boundary_of_a_tcx_run_reads_as_the_hardened_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    pts = [_tp(i).replace("<HeartRateBpm>", "<x/><y>a/b</y><HeartRateBpm>") for i in range(12)]  # more slashes
    data = _tcx(pts)
    expected = outcome(HARDENED["tcx"], data)
    point = len(pts[3]) + 1
    for size in range(point // 3, 3 * point, 5):  # a boundary at every place of a point, the last one's too
        monkeypatch.setattr(_fastxml, "_CHUNK", size)
        fast = outcome(FAST["tcx"], data)
        assert fast is not None and fast == expected, size
    assert len(tcx.parse(data, "x").track) == 12
    for where in (0, 5, 11):  # one point with a slash more or less: not the template, left to the careful readers
        for odd in (pts[where].replace("<x/>", "<x></x>"), pts[where].replace("<x/>", "<x/><z/>")):
            other = _tcx([*pts[:where], odd, *pts[where + 1 :]])
            assert outcome(FAST["tcx"], other) is None
            assert outcome(REGISTRY["tcx"], other) == outcome(HARDENED["tcx"], other)

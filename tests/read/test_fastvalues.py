"""The fast path's value parsers (:mod:`offcourse.read._fastvalues`) give what the hardened reader's parsers give,
bit for bit: ``float()`` (correctly rounded) for decimals, :func:`offcourse.read._values.parse_time` for times,
or they refuse (:class:`NotFast`) and the hardened reader reads the run."""

from __future__ import annotations

import random
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest

from offcourse.read import _fastvalues
from offcourse.read._fastvalues import NotFast, decimals, times
from offcourse.read._values import parse_time


def _texts(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The texts one after another (a ``<`` after each, as in a document), and where each starts and ends."""
    buf = b"".join(t.encode() + b"<" for t in texts)
    ends = np.cumsum([len(t) + 1 for t in texts]) - 1
    return np.frombuffer(buf, dtype=np.uint8), ends - np.array([len(t) for t in texts]), ends


def read_decimals(texts: list[str]) -> np.ndarray:
    return decimals(*_texts(texts))


def read_times(texts: list[str]) -> np.ndarray:
    return times(*_texts(texts))


def same_bits(got: np.ndarray, want: list[float]) -> bool:
    return bool(got.tobytes() == np.array(want, dtype=np.float64).tobytes())


# -- decimals ------------------------------------------------------------------------------------


def test_a_chunk_of_one_dot_place_and_many_lengths_is_read_as_float_reads_it() -> None:
    # what a program writing repr() gives: 15 to 18 significant digits, the dot in one place
    texts = ["45.899985374569766", "45.89999581306756", "45.8999769469666", "45.9", "45.", "45.0000000000000001"]
    got = read_decimals(texts)
    assert same_bits(got, [float(t) for t in texts])
    assert got[0] == 45.899985374569766 and got[3] == 45.9 and got[5] == 45.0  # 45 + 1e-16 rounds to 45


def test_a_chunk_of_many_dot_places_and_signs_is_read_as_float_reads_it() -> None:
    # an elevation crossing 1000 m, a longitude crossing 0: the dots aligned, the signs apart
    texts = ["999.8", "1000.4", "-5.25", "+12.5", "0.000001", ".5", "5.", "-0.0", "+.25", "-105.17836097627878"]
    got = read_decimals(texts)
    assert same_bits(got, [float(t) for t in texts])
    assert got.tolist()[:8] == [999.8, 1000.4, -5.25, 12.5, 1e-06, 0.5, 5.0, -0.0] and np.signbit(got[7])


def test_decimals_of_every_layout_and_up_to_18_digits_read_bit_for_bit() -> None:
    rng = random.Random(17)
    for _ in range(200):  # chunks of a few layouts, as in a document, and of many
        kinds = rng.randint(1, 4)
        shapes = [(rng.randint(0, 6), rng.randint(0, 16), rng.choice(["", "", "-", "+"])) for _ in range(kinds)]
        texts = []
        for _ in range(rng.randint(1, 60)):
            before, after, sign = rng.choice(shapes)
            after = max(after - rng.randint(0, 3), 0 if before else 1)  # repr drops trailing zeros
            digits = "".join(rng.choice("0123456789") for _ in range(before + after))
            texts.append(sign + digits[:before] + "." + digits[before:])
        assert same_bits(read_decimals(texts), [float(t) for t in texts]), texts


def test_exact_halfway_decimals_of_17_and_18_digits_round_to_even_as_float_does() -> None:
    # 2**53 + 1 lies halfway between 2**53 and 2**53 + 2: float() gives the even one, 2**53
    texts = ["9007199254740993", "9007199254740993.0", "-9007199254740995", "4503599627370497.5"]
    rng = random.Random(5)
    for _ in range(1000):
        j = rng.randint(2**52, 2**53 - 1)  # j and j + 1 are doubles, j + 0.5 halfway between
        texts.append(f"{rng.choice(['', '-'])}{j}.5")
        m = rng.randint(2**52, 2**53 - 1) * 2 + 1  # odd, 54 bits: halfway between two doubles 2 apart
        texts.append(str(m * 2 ** rng.randint(0, 4)))  # and 4, 8, ... apart (up to 18 digits)
    got = read_decimals(texts)
    assert same_bits(got, [float(t) for t in texts])
    assert got[0] == 9007199254740992.0 and got[2] == -9007199254740996.0 and got[3] == 4503599627370498.0


def _rounding_twice_goes_wrong(rng: random.Random) -> list[str]:
    """Decimals of 17 or 18 digits next to a halfway point between two doubles, so near that their quotient in
    extended precision is the halfway point itself: rounded again to a double, it would go to the even
    neighbour, which may be the wrong one. ``float()`` must decide those."""
    found: list[str] = []
    while len(found) < 40:  # about one try in a hundred
        halfway = Fraction(2 * rng.randint(2**52, 2**53 - 1) + 1, 2**53) * Fraction(2) ** rng.randint(-4, 6)
        digits = rng.choice([17, 18])
        with localcontext() as ctx:
            ctx.prec = 60
            text = f"{Decimal(halfway.numerator) / Decimal(halfway.denominator):.{digits - 1}e}"
        text = format(Decimal(text), "f")
        if Fraction(text) == halfway or len(text.replace(".", "").lstrip("0")) > 18:
            continue
        frac = len(text.partition(".")[2])
        q = np.longdouble(int(text.replace(".", ""))) / _fastvalues._POW10_LONG[frac]
        if float(np.float64(q)) != float(text):
            found.append(text)
    return found


def test_decimals_whose_extended_quotient_is_a_halfway_point_read_as_float_reads_them() -> None:
    texts = _rounding_twice_goes_wrong(random.Random(5))
    for text in texts:  # each in a chunk of its own layout
        assert same_bits(read_decimals([text, text, "-" + text]), [float(text), float(text), -float(text)]), text
    texts += ["-" + t for t in texts[:10]] + ["45.5", "1.25"]  # and among numbers of other layouts
    assert same_bits(read_decimals(texts), [float(t) for t in texts])


def test_halfway_points_are_found_from_the_significand_as_from_the_midpoint() -> None:
    rng = random.Random(2)
    mant, frac = [], []
    for _ in range(20000):
        m = rng.randint(53, 59)
        halfway = rng.randint(2**52, 2**53 - 1) * 2 ** (m - 52) + 2 ** (m - 53)
        mant.append(int(str(halfway)[:18]) if rng.random() < 0.5 else rng.randint(10**15, 10**18 - 1))
        frac.append(rng.randint(0, 18))
    q = np.array(mant, dtype=np.int64).astype(np.longdouble) / _fastvalues._POW10_LONG[np.array(frac)]
    value = q.astype(np.float64)
    fast = _fastvalues._ties(q, value)
    old, _fastvalues._X87 = _fastvalues._X87, False
    try:
        slow = _fastvalues._ties(q, value)
    finally:
        _fastvalues._X87 = old
    assert slow.sum() > 100 and (fast == slow).all()


@pytest.mark.parametrize(
    "bad",
    ["-", "+", ".", "-.", "+.", "1.2.3", "1e5", "1E5", " 1", "1 ", "--1", "+-1", "1-", "0x1", "inf", "nan", "1_0"],
)
def test_what_is_not_a_plain_decimal_is_refused_among_good_numbers(bad: str) -> None:
    for texts in ([bad], ["45.5", bad, "46.25"], ["999.8", "1000.4", bad], ["1", "22", bad, "333"]):
        with pytest.raises(NotFast):
            read_decimals(texts)


def test_integers_of_many_lengths_and_more_than_18_digits_read_as_float_reads_them() -> None:
    texts = ["99", "100", "-7", "+1234567", "0", "123456789012345678901", "1.23456789012345678901"]
    assert same_bits(read_decimals(texts), [float(t) for t in texts])


# -- times ---------------------------------------------------------------------------------------


def _iso(rng: random.Random, frac: str, zone: str) -> str:
    return (
        f"{rng.randint(1900, 2200)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
        f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}{frac}{zone}"
    )


def test_a_recording_of_one_day_reads_as_parse_time_reads_it() -> None:
    texts = [f"2024-05-01T{h:02d}:{m:02d}:{s:02d}Z" for h in (0, 6, 23) for m in (0, 30, 59) for s in (0, 1, 59)]
    got = read_times(texts)
    assert same_bits(got, [parse_time(t) for t in texts])
    assert got[0] == 1714521600.0 and got[-1] - got[0] == 86399.0


def test_times_across_days_months_years_and_leap_days_read_as_parse_time_reads_them() -> None:
    texts = [
        "2023-12-31T23:59:59Z",
        "2024-01-01T00:00:00Z",
        "2024-02-29T12:00:00Z",  # a leap day
        "2000-02-29T00:00:00Z",  # divisible by 400: a leap year
        "1900-01-01T00:00:00Z",
        "2200-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z",
    ]
    got = read_times(texts)
    assert same_bits(got, [parse_time(t) for t in texts])
    assert got[1] - got[0] == 1.0 and got[6] == 0.0


@pytest.mark.parametrize("frac", ["", ".5", ".12", ".123", ".1234", ".12345", ".123456", ".000001", ".999999"])
@pytest.mark.parametrize("zone", ["Z", "", "+02:00", "-11:30", "+00:00", "-00:00", "+23:59", "-23:59"])
def test_fractions_and_offsets_read_as_parse_time_reads_them(frac: str, zone: str) -> None:
    rng = random.Random(hash((frac, zone)) & 0xFFFF)
    one_day = [f"2024-05-01T06:{i // 60:02d}:{i % 60:02d}{frac}{zone}" for i in range(50)]
    many = [_iso(rng, frac, zone) for _ in range(50)]
    for texts in (one_day, many):
        assert same_bits(read_times(texts), [parse_time(t) for t in texts]), texts[:3]


def test_times_of_several_layouts_in_one_chunk_read_as_parse_time_reads_them() -> None:
    rng = random.Random(9)
    layouts = [("", "Z"), (".123", "Z"), ("", "+01:00"), (".5", ""), (".123456", "-05:00")]
    texts = [_iso(rng, *rng.choice(layouts)) for _ in range(300)]
    assert same_bits(read_times(texts), [parse_time(t) for t in texts])


@pytest.mark.parametrize(
    "bad",
    [
        "2024-05-01T24:00:00Z",  # hour 24: parse_time gives NaN
        "2024-05-01T23:60:00Z",
        "2024-05-01T23:59:60Z",  # a leap second
        "2023-02-29T00:00:00Z",  # no leap day that year
        "1900-02-29T00:00:00Z",  # divisible by 100, not by 400
        "2024-04-31T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-00-10T00:00:00Z",
        "2024-05-00T00:00:00Z",
        "2024-05-01T06:00:00+24:00",  # an offset of a day
        "2024-05-01T06:00:00+01:60",
        "2024-05-01T06:00:00.1234567Z",  # 7 fraction digits
        "2024-05-01 06:00:00Z",
        "2024-05-01t06:00:00Z",
        "2024-05-01T06:00:00z",
        "2024-05-01T06:00Z",
        "1899-12-31T23:59:59Z",  # outside the years read here
        "2201-01-01T00:00:00Z",
        "2024-05-01T06:00:00+0100",
    ],
)
def test_what_is_not_such_a_time_is_refused_among_good_times(bad: str) -> None:
    good = [f"2024-05-01T06:00:{i:02d}Z" for i in range(10)]
    for texts in ([bad], [*good[:5], bad, *good[5:]], [*good, bad]):
        with pytest.raises(NotFast):
            read_times(texts)


@pytest.mark.parametrize(
    "layout",
    ["12.", "-1.", "+.5", "-.25", "1234", "-0.0", "12.5", "+123.4", "45.89961313409013", "-5.123456789012345"],
)
def test_decimals_of_an_even_width_read_two_columns_at_a_time_as_float_reads_them(layout: str) -> None:
    rng = random.Random(len(layout))
    texts = ["".join(rng.choice("0123456789") if c.isdigit() else c for c in layout) for _ in range(300)]
    got = read_decimals(texts)
    assert same_bits(got, [float(t) for t in texts])
    lay = _fastvalues._fixed_layout(texts[0].encode().translate(_fastvalues._AS_LAYOUT))
    assert lay is not None and (lay.pairs is None) == (len(layout) % 2 == 1 or layout.endswith("."))


def test_decimals_of_an_odd_width_padded_to_an_even_one_read_as_float_reads_them() -> None:
    # lengths 14 to 17 after the dot padded with 0: one column more makes an even width
    rng = random.Random(3)
    texts = [f"45.{rng.randint(0, 10**13):0{rng.randint(11, 14)}d}".rstrip("0") or "45." for _ in range(500)]
    texts = [t if not t.endswith(".") else t + "5" for t in texts]
    width = max(map(len, texts))
    assert width % 2 == 1
    rows = np.frombuffer(b"".join(t.encode().ljust(width + 1, b"<") for t in texts), dtype=np.uint8)
    length = np.array([len(t) for t in texts])
    got = _fastvalues._decimals_of(rows.reshape(len(texts), width + 1), length)  # a column more than the longest
    assert same_bits(got, [float(t) for t in texts])
    assert same_bits(read_decimals(texts), [float(t) for t in texts])  # and without it


def test_decimals_of_one_count_of_digits_after_the_dot_are_read_right_aligned(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise NotFast

    monkeypatch.setattr(_fastvalues, "_decimals_aligned", refuse)  # not by the general alignment on the dots
    monkeypatch.setattr(_fastvalues, "_decimals_of_one_layout", refuse)
    for texts in (
        ["999.8", "1000.4", "99.5", "5.0", "12345.6", "0.1", "1000.0"],  # "%.1f": elevations crossing 1000 m
        ["12", "7", "12345", "0"],  # integers: 0 on the left
    ):
        assert same_bits(read_decimals(texts), [float(t) for t in texts])
    for other in (["999.8", "1000.45"], ["-5.5", "-12.5"]):  # not one count after the dot; signs
        with pytest.raises(NotFast):
            _fastvalues._decimals_right_aligned(*_rows(other))
    monkeypatch.undo()
    for other in (["999.8", "1000.45"], ["-5.5", "-12.5", "+3.25"]):
        assert same_bits(read_decimals(other), [float(t) for t in other])


def _rows(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    width = max(map(len, texts))
    rows = np.frombuffer(b"".join(t.encode().ljust(width, b"0") for t in texts), dtype=np.uint8)
    return rows.reshape(len(texts), width), np.array([len(t) for t in texts])


def test_a_chunk_of_one_date_holding_a_control_byte_is_refused() -> None:
    for text in ["20\x0124-05-01T06:00:00Z", "2024-0\x01-01T06:00:00Z", "2024-05-0\x01T06:00:00Z"]:
        with pytest.raises(NotFast):
            read_times([text, text])  # one date for all: checked with the layout, and digits
    assert read_times(["2024-05-01T06:00:00Z"] * 2).tolist() == [1714543200.0] * 2

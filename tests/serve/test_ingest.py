"""The OsmAnd / Traccar protocol and the JSON batch: every shape parsed to the same fixes, bad ones refused."""

from __future__ import annotations

import json
import math

import pytest

from offcourse.serve.ingest import MAX_BODY_BYTES, MAX_FIXES, IngestError, Position, parse_json, parse_request

NOW = 1_747_480_000.0
T = 1_747_472_400.0  # 2025-05-17T09:00:00Z
ONE = {"id": "dev-1", "lat": "55.9", "lon": "-3.2", "timestamp": "1747472400"}


def parse(method: str, query: dict[str, str], body: bytes = b"", kind: str = "") -> list[Position]:
    return parse_request(method, query, kind, body, now_s=NOW)


def same(a: list[Position], b: list[Position]) -> bool:
    """Equal fixes (NaN fields equal too)."""
    return repr(a) == repr(b)


def test_a_get_query_gives_one_fix_with_its_fields() -> None:
    q = {**ONE, "accuracy": "12.5", "altitude": "310", "speed": "10", "bearing": "90", "batt": "80"}
    [p] = parse("GET", q)
    assert (p.device, p.epoch_s, p.lat, p.lon, p.hacc_m, p.ele_m) == ("dev-1", T, 55.9, -3.2, 12.5, 310.0)
    assert p.speed_mps == pytest.approx(10 * 1852 / 3600)  # knots, as Traccar reads OsmAnd's speed
    assert p.key is None


def test_a_post_with_the_fix_in_the_query_and_no_body_is_one_fix() -> None:
    assert same(parse("POST", ONE), parse("GET", ONE))


def test_a_form_body_is_read_like_the_query() -> None:
    body = b"id=dev-1&lat=55.9&lon=-3.2&timestamp=1747472400"
    assert same(parse("POST", {}, body, "application/x-www-form-urlencoded"), parse("GET", ONE))


def test_a_form_body_of_several_lines_is_a_batch_with_the_query_for_every_line() -> None:
    body = b"lat=55.9&lon=-3.2&timestamp=1747472400\nlat=55.91&lon=-3.21&timestamp=1747472405\n\n"
    ps = parse("POST", {"id": "dev-1", "key": "k"}, body, "application/x-www-form-urlencoded")
    assert [(p.device, p.epoch_s, p.lat, p.key) for p in ps] == [("dev-1", T, 55.9, "k"), ("dev-1", T + 5, 55.91, "k")]


def test_location_hdop_deviceid_and_times_in_other_forms() -> None:
    [p] = parse("GET", {"deviceid": "d", "location": "55.9,-3.2", "timestamp": "1747472400000", "hdop": "2"})
    assert (p.device, p.lat, p.lon, p.epoch_s, p.hacc_m) == ("d", 55.9, -3.2, T, 10.0)
    for stamp in ("2025-05-17T09:00:00Z", "2025-05-17T11:00:00+02:00", "2025-05-17 09:00:00"):
        assert parse("GET", {**ONE, "timestamp": stamp})[0].epoch_s == T


def test_traccar_client_json_one_location_and_a_list() -> None:
    loc = {
        "timestamp": "2025-05-17T09:00:00.000Z",
        "coords": {"latitude": 55.9, "longitude": -3.2, "accuracy": 8, "speed": 3.5, "altitude": 310, "heading": 90},
    }
    [p] = parse("POST", {}, json.dumps({"device_id": "dev-1", "location": loc}).encode(), "application/json")
    assert (p.device, p.epoch_s, p.lat, p.lon, p.hacc_m, p.ele_m, p.speed_mps) == ("dev-1", T, 55.9, -3.2, 8, 310, 3.5)
    later = {**loc, "timestamp": "2025-05-17T09:00:05Z"}
    ps = parse("POST", {}, json.dumps({"device_id": "dev-1", "location": [loc, later]}).encode(), "application/json")
    assert [p.epoch_s for p in ps] == [T, T + 5]


def test_the_json_batch_as_a_list_or_an_object() -> None:
    items = [ONE, {**ONE, "timestamp": T + 5, "lat": 55.91, "key": "k"}]
    as_list = parse_json(json.dumps(items).encode(), now_s=NOW)
    assert same(parse_json(json.dumps({"positions": items}).encode(), now_s=NOW), as_list)
    assert [(p.epoch_s, p.lat, p.key) for p in as_list] == [(T, 55.9, None), (T + 5, 55.91, "k")]
    # the query's id and key apply to items without one
    [p] = parse_json(json.dumps([{"lat": 1, "lon": 2, "timestamp": T}]).encode(), {"id": "q", "key": "qk"}, now_s=NOW)
    assert (p.device, p.key) == ("q", "qk")


def test_missing_optional_fields_are_nan() -> None:
    [p] = parse("GET", ONE)
    assert math.isnan(p.hacc_m) and math.isnan(p.ele_m) and math.isnan(p.speed_mps)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({k: v for k, v in ONE.items() if k != "id"}, "id: missing (the device id)"),
        ({**ONE, "id": "a b"}, "id: 1-64 letters, digits or ._:@- expected"),
        ({**ONE, "id": "x" * 65}, "id: 1-64 letters, digits or ._:@- expected"),
        ({k: v for k, v in ONE.items() if k != "lat"}, "lat: not a number: ''"),
        ({"id": "d", "timestamp": "1747472400"}, "lat, lon: missing"),
        ({**ONE, "lat": "91"}, "lat: 91 is outside -90..90"),
        ({**ONE, "lon": "nan"}, "lon: not a finite number"),
        ({**ONE, "lon": "east"}, "lon: not a number: 'east'"),
        ({k: v for k, v in ONE.items() if k != "timestamp"}, "timestamp: missing"),
        ({**ONE, "timestamp": "yesterday"}, "timestamp: neither Unix seconds nor ISO 8601: 'yesterday'"),
        ({**ONE, "timestamp": "5"}, "timestamp: 5 is before 2000 (a receiver without a clock)"),
        (
            {**ONE, "timestamp": str(int(NOW + 2 * 86400))},
            "timestamp: 172800 s ahead of the server's clock (at most 600 s)",
        ),
        ({**ONE, "accuracy": "-1"}, "accuracy: -1 is outside 0..100000"),
        ({**ONE, "location": "1"}, None),  # lat/lon given: location is not read
        ({"id": "d", "location": "1", "timestamp": "1747472400"}, "location: expected LAT,LON"),
    ],
)
def test_bad_queries_say_why(query: dict[str, str], reason: str | None) -> None:
    if reason is None:
        assert len(parse("GET", query)) == 1
        return
    with pytest.raises(IngestError) as err:
        parse("GET", query)
    assert str(err.value) == reason


@pytest.mark.parametrize(
    ("body", "kind", "reason"),
    [
        (b"{not json", "application/json", "body: not valid JSON"),
        (b'{"positions": 3}', "application/json", 'body: expected a list of positions or {"positions": [...]}'),
        (b"[3]", "application/json", "positions: every item must be an object"),
        (b"[]", "application/json", "no position in the request"),
        (b'{"device_id": "d", "location": 3}', "application/json", "location: expected an object or a list"),
        (b'{"device_id": "d", "location": {"timestamp": 1}}', "", "location: expected an object with coords"),
        (b"\xff\xfe", "application/x-www-form-urlencoded", "body: not UTF-8"),
        (b"lat", "application/x-www-form-urlencoded", "body: a line is not form-encoded (name=value&...)"),
        (b'[{"id": true, "lat": 1, "lon": 2, "timestamp": 1747472400}]', "", "id: expected a value, got bool"),
    ],
)
def test_bad_bodies_say_why(body: bytes, kind: str, reason: str) -> None:
    with pytest.raises(IngestError) as err:
        parse("POST", {}, body, kind)
    assert str(err.value) == reason


def test_sizes_are_bounded() -> None:
    many = "\n".join(f"lat=1&lon=2&timestamp={1747472400 + i}" for i in range(MAX_FIXES + 1)).encode()
    with pytest.raises(IngestError, match=f"{MAX_FIXES + 1} positions in one request, at most {MAX_FIXES}"):
        parse("POST", {"id": "d"}, many, "application/x-www-form-urlencoded")
    assert len(parse("POST", {"id": "d"}, many.rsplit(b"\n", 1)[0], "")) == MAX_FIXES
    with pytest.raises(IngestError, match="body: larger than"):
        parse("POST", {"id": "d"}, b"x" * (MAX_BODY_BYTES + 1))
    with pytest.raises(IngestError, match="longer than 200 characters"):
        parse("GET", {**ONE, "lat": "1" * 201})


def test_a_fix_in_the_query_and_a_json_body_is_refused() -> None:
    with pytest.raises(IngestError, match="send one or the other"):
        parse("POST", ONE, b"[]", "application/json")


def test_a_fix_more_than_ten_minutes_ahead_of_the_server_is_refused() -> None:
    assert [p.epoch_s for p in parse("GET", {**ONE, "timestamp": str(int(NOW + 600))})] == [NOW + 600]
    with pytest.raises(IngestError, match=r"^timestamp: 601 s ahead of the server's clock \(at most 600 s\)$"):
        parse("GET", {**ONE, "timestamp": str(int(NOW + 601))})
    with pytest.raises(IngestError, match="3600 s ahead"):  # an hour ahead: a wrong clock, in every shape
        parse_json(json.dumps([{**ONE, "timestamp": NOW + 3600}]).encode(), now_s=NOW)
    # the margin is the server's setting
    late = {**ONE, "timestamp": str(int(NOW + 3600))}
    assert [p.epoch_s for p in parse_request("GET", late, "", b"", now_s=NOW, ahead_s=7200)] == [NOW + 3600]
    with pytest.raises(IngestError, match="at most 60 s"):
        parse_request("POST", {"id": "dev-1"}, "", b"lat=1&lon=2&timestamp=" + str(NOW + 61).encode(),
                      now_s=NOW, ahead_s=60)  # fmt: skip

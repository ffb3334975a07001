"""NMEA 0183 decoding: sentences, checksums, cycles, dates, and the file source."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import offcourse
from offcourse.errors import NoGeometryError, OffcourseError
from offcourse.live import NmeaDecoder, NmeaFileSource, Session, SourceError, open_source, write_nmea
from offcourse.live.nmea import checksum
from offcourse.live.replay import ReplaySource
from offcourse.report import fixes_of
from tests.hang import time_limit

REPO = Path(__file__).resolve().parents[1]
ROUTE = REPO / "routes" / "allermuir-hill-race.gpx"
WRONG_TURN = REPO / "samples" / "allermuir-wrong-turn.gpx"
DATA = REPO / "tests" / "data" / "live"


def s(body: str) -> str:
    """A sentence with its correct checksum."""
    return f"${body}*{checksum(body)}"


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def decode(lines: list[str]) -> tuple[list[offcourse.Fix], NmeaDecoder]:
    d = NmeaDecoder()
    return list(d.feed_lines(lines)), d


def test_checksum_of_a_known_sentence() -> None:
    # the example of the NMEA 0183 literature (gpsd's documentation uses it too)
    assert checksum("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,") == "47"


def test_rmc_gga_gsa_cycle_gives_one_fix_with_every_field() -> None:
    fixes, d = decode(
        [
            s("GPGGA,123519.00,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"),
            s("GPGSA,A,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1"),
            s("GPRMC,123519.00,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W"),
        ]
    )
    assert len(fixes) == 1
    f = fixes[0]
    assert f.epoch_s == epoch("1994-03-23T12:35:19")
    assert f.lat == pytest.approx(48 + 7.038 / 60, abs=1e-12)
    assert f.lon == pytest.approx(11 + 31.0 / 60, abs=1e-12)
    assert f.ele_m == 545.4
    assert f.hacc_m == pytest.approx(0.9 * 5.0)  # HDOP from GGA x 5 m
    assert d.sentences == 3 and not d.rejected


def test_southern_and_western_hemispheres_are_negative() -> None:
    fixes, _ = decode([s("GNRMC,000000,A,3351.000,S,15112.000,W,,,010125,,,A")])
    assert (fixes[0].lat, fixes[0].lon) == (pytest.approx(-33.85), pytest.approx(-151.2))


def test_bad_checksum_is_counted_and_the_rest_still_decodes() -> None:
    good = s("GPRMC,090000,A,5553.5706,N,00312.2160,W,0.0,0.0,170525,,,A")
    bad = good[:-2] + ("00" if good[-2:] != "00" else "01")
    fixes, d = decode([bad, "no dollar here", good.replace("*", "#"), "", good])
    assert [f.epoch_s for f in fixes] == [epoch("2025-05-17T09:00:00")]
    assert dict(d.rejected) == {"bad_checksum": 1, "not_nmea": 1, "no_checksum": 1}


def test_missing_and_malformed_fields_are_rejected_not_fatal() -> None:
    fixes, d = decode(
        [
            s("GPRMC,090000,A,5553.5706,N"),  # cut short
            s("GPRMC,9,A,5553.5706,N,00312.2160,W,0.0,0.0,170525,,,A"),  # time
            s("GPRMC,090001,A,55x3.5706,N,00312.2160,W,0.0,0.0,170525,,,A"),  # latitude
            s("GPRMC,090002,A,5553.5706,N,00312.2160,Q,0.0,0.0,170525,,,A"),  # hemisphere
            s("GPRMC,090003,A,5553.5706,N,00312.2160,W,0.0,0.0,320525,,,A"),  # 32 May
            s("GPGGA,090004,5553.5706,N,00312.2160,W,1,08,x,,M,,M,,"),  # HDOP
            s("GPRMC,090005,A,5553.5706,N,00312.2160,W,0.0,0.0,170525,,,A"),
        ]
    )
    assert [f.epoch_s for f in fixes] == [epoch("2025-05-17T09:00:05")]
    assert dict(d.rejected) == {
        "missing_fields": 1,
        "bad_time": 1,
        "bad_position": 2,
        "bad_date": 1,
        "bad_number": 1,
    }


def test_receiver_without_a_fix_gives_no_fix() -> None:
    fixes, d = decode(
        [
            s("GPRMC,090000,V,,,,,,,170525,,,N"),  # no position yet
            s("GPRMC,090001,V,5553.5706,N,00312.2160,W,,,170525,,,N"),  # a position flagged invalid
            s("GPGGA,090002,5553.5706,N,00312.2160,W,0,00,,,M,,M,,"),  # quality 0
            s("GPRMC,090003,A,5553.5706,N,00312.2160,W,,,170525,,,A"),
        ]
    )
    assert [f.epoch_s for f in fixes] == [epoch("2025-05-17T09:00:03")]
    assert d.no_fix == 3


def test_gga_before_any_rmc_has_no_date() -> None:
    fixes, d = decode([s("GPGGA,090000,5553.5706,N,00312.2160,W,1,08,1.0,200.0,M,,M,,")])
    assert fixes == [] and d.no_fix == 1


def test_date_rolls_over_at_midnight_for_gga_only_cycles() -> None:
    fixes, _ = decode(
        [
            s("GPRMC,235958,A,5553.5706,N,00312.2160,W,,,311225,,,A"),  # 31 Dec 2025
            s("GPGGA,235959,5553.5706,N,00312.2160,W,1,08,1.0,,M,,M,,"),
            s("GPGGA,000000,5553.5706,N,00312.2160,W,1,08,1.0,,M,,M,,"),  # GGA only: date inferred
            s("GPGGA,000001,5553.5706,N,00312.2160,W,1,08,1.0,,M,,M,,"),
            s("GPRMC,000002,A,5553.5706,N,00312.2160,W,,,010126,,,A"),
        ]
    )
    assert [f.epoch_s - epoch("2026-01-01T00:00:00") for f in fixes] == [-2.0, -1.0, 0.0, 1.0, 2.0]


def test_two_digit_years_and_fractional_seconds() -> None:
    fixes, _ = decode(
        [
            s("GPRMC,120000.50,A,5553.5706,N,00312.2160,W,,,060199,,,A"),
            s("GPRMC,120000.75,A,5553.5706,N,00312.2160,W,,,010179,,,A"),
        ]
    )
    assert fixes[0].epoch_s == epoch("1999-01-06T12:00:00") + 0.5
    assert fixes[1].epoch_s == epoch("2079-01-01T12:00:00") + 0.75


def test_midnight_file_decodes_as_documented() -> None:
    """tests/data/live/midnight.nmea: a receiver log across midnight with one corrupted line."""
    src = NmeaFileSource(DATA / "midnight.nmea", speed=0)
    fixes = list(src)
    times = [datetime.fromtimestamp(f.epoch_s, tz=UTC).isoformat() for f in fixes]
    assert times == [
        "2024-02-29T23:59:58+00:00",
        "2024-02-29T23:59:59+00:00",
        "2024-03-01T00:00:00+00:00",
        "2024-03-01T00:00:01+00:00",
    ]
    assert [f.hacc_m for f in fixes] == [6.0, 6.0, 6.0, 6.0]
    assert src.stats()["rejected"] == {"bad_checksum": 1}


def test_writer_and_decoder_round_trip_the_recording(tmp_path: Path) -> None:
    track = offcourse.read_track(WRONG_TURN)
    path = tmp_path / "run.nmea"
    with path.open("w", newline="") as fh:
        assert write_nmea(fixes_of(track), fh, hdop=1.2) == len(track)
    fixes = list(NmeaFileSource(path, speed=0))
    assert len(fixes) == len(track)
    assert [f.epoch_s for f in fixes] == track.epoch_s.tolist()
    worst = max(max(abs(f.lat - a), abs(f.lon - o)) for f, a, o in zip(fixes, track.lat, track.lon, strict=True))
    assert worst < 1e-7  # five decimals of a minute: under 2 cm
    assert all(f.hacc_m == pytest.approx(6.0) for f in fixes)


def test_nmea_log_gives_the_same_events_as_the_recording(tmp_path: Path) -> None:
    route = offcourse.read_route(ROUTE)
    path = tmp_path / "run.nmea"
    with path.open("w", newline="") as fh:
        write_nmea(fixes_of(offcourse.read_track(WRONG_TURN)), fh)
    from_nmea = [e for _, e in Session(route, open_source(str(path), speed=0))]
    from_gpx = [e for _, e in Session(route, ReplaySource(WRONG_TURN, speed=0))]
    assert [e.kind for e in from_nmea] == ["started", "off_course", "back_on_course", "finished"]
    assert [e.epoch_s for e in from_nmea] == [e.epoch_s for e in from_gpx]
    assert from_nmea[1].exit_route_m == pytest.approx(from_gpx[1].exit_route_m, abs=0.05)  # type: ignore[attr-defined]


def test_file_source_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"nope\.nmea: cannot open: No such file"):
        list(NmeaFileSource(tmp_path / "nope.nmea"))
    junk = tmp_path / "junk.nmea"
    junk.write_text("$hello\n$GPRMC,1*00\n")
    with pytest.raises(NoGeometryError, match=r"junk\.nmea: no usable NMEA sentence \(bad checksum 1, no checksum 1\)"):
        list(NmeaFileSource(junk, speed=0))
    empty = tmp_path / "empty.nmea"
    empty.write_text("")
    with pytest.raises(OffcourseError, match=r"empty\.nmea: no usable NMEA sentence \(empty\)"):
        list(NmeaFileSource(empty, speed=0))


def test_open_source_picks_nmea_by_content_and_scheme(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text(s("GPRMC,090000,A,5553.5706,N,00312.2160,W,,,170525,,,A") + "\r\n")
    assert isinstance(open_source(str(log)), NmeaFileSource)
    assert isinstance(open_source(f"nmea://{log}"), NmeaFileSource)
    assert isinstance(open_source(str(WRONG_TURN)), ReplaySource)
    with pytest.raises(SourceError, match="three slashes"):
        open_source("nmea://host/dev/ttyUSB0")
    with pytest.raises(SourceError, match="baud must be a whole number"):
        open_source("nmea:///dev/ttyUSB0?baud=fast")
    with pytest.raises(SourceError, match=r"tcp://example: no port"):
        open_source("tcp://example")
    assert open_source("tcp://127.0.0.1:10110").name == "tcp://127.0.0.1:10110"


def _fix_lines(n: int) -> bytes:
    out = b""
    for i in range(n):
        hms = f"0900{i:02d}.00"
        out += (s(f"GPRMC,{hms},A,5553.5706,N,00312.2160,W,,,170525,,,A") + "\r\n").encode()
        out += (s(f"GPGGA,{hms},5553.5706,N,00312.2160,W,1,08,1.0,250.0,M,,M,,") + "\r\n").encode()
    return out


@pytest.mark.parametrize("pyserial", [True, False])
def test_serial_device_is_read_line_by_line(pyserial: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pseudo-terminal stands in for the receiver's serial port (a character device)."""
    import importlib
    import os
    import pty
    import threading

    if pyserial:
        pytest.importorskip("serial", reason="pyserial (offcourse[serial]) is not installed")
    else:
        real = importlib.import_module

        def no_serial(name: str, *a: object) -> object:
            if name == "serial":
                raise ImportError(name)
            return real(name, *a)  # type: ignore[arg-type]

        monkeypatch.setattr(importlib, "import_module", no_serial)
    master, slave = pty.openpty()
    try:
        import tty

        tty.setraw(slave)
        device = os.ttyname(slave)
        src = open_source(f"nmea://{device}" + ("?baud=9600" if pyserial else ""))
        assert isinstance(src, NmeaFileSource) and not src.finite
        stop = threading.Event()

        def receiver() -> None:  # a cycle every 20 ms until the test has what it needs
            os.write(master, b"garbage from the line\r\n")
            lines = _fix_lines(50).splitlines(keepends=True)
            for i in range(0, len(lines), 2):
                if stop.wait(0.02):
                    return
                os.write(master, lines[i] + lines[i + 1])

        thread = threading.Thread(target=receiver, daemon=True)
        thread.start()
        got = []
        try:
            with time_limit(20):
                for fix in src:
                    got.append(fix)
                    if len(got) == 2:
                        src.close()
        finally:
            stop.set()
            thread.join(5)
        # the port may open after the first cycles were written: they are lost, as on a real line
        t0 = got[0].epoch_s - epoch("2025-05-17T09:00:00")
        assert t0 in range(50) and got[1].epoch_s - got[0].epoch_s == 1.0
        assert got[0].ele_m == 250.0 and got[0].hacc_m == 5.0
    finally:
        os.close(master)
        os.close(slave)


def test_nmea_over_tcp() -> None:
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            data = _fix_lines(4)
            conn.sendall(data[:50])
            threading.Event().wait(0.05)
            conn.sendall(data[50:])
            threading.Event().wait(5)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        src = open_source(f"tcp://127.0.0.1:{port}")
        got = []
        with time_limit(20):
            for fix in src:
                got.append(fix.epoch_s - epoch("2025-05-17T09:00:00"))
                if len(got) == 4:
                    src.close()
        assert got == [0.0, 1.0, 2.0, 3.0]
        assert src.stats()["sentences"] == 8
    finally:
        server.close()

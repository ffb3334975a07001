"""The check's text in the reader's units and time zone, and each finding placed by its checkpoints.

A 3 km straight route east along y = 0 near (7°E, 46°N), checkpoints at 0, 1000, 2000 and 3000 m;
the runner leaves at 900 m, runs 300 m off the route and comes back at 1500 m (3 m/s, one fix a
second, from 2023-11-14T22:13:20Z).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from offcourse import read_route, read_track
from offcourse.cli import main
from offcourse.present import Style, Units, locate, zone
from offcourse.report import check, report_to_text
from tests.synth import PROJ

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
CHECKPOINTS = [("Start", 0.0), ("Col de la Croix", 1000.0), ("Refuge", 2000.0), ("Finish", 3000.0)]
needs_zones = pytest.mark.skipif(find_spec("timezonefinder") is None, reason="timezonefinder (field extra) missing")


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_files(folder: Path) -> tuple[str, str]:
    """The route (with its checkpoints as GPX waypoints) and the run with its 300 m detour."""
    wpts = []
    for name, x in CHECKPOINTS:
        lon, lat = PROJ.inverse(np.array([x]), np.array([0.0]))
        wpts.append(f'<wpt lat="{lat[0]:.8f}" lon="{lon[0]:.8f}"><name>{name}</name></wpt>')
    rlon, rlat = PROJ.inverse(np.array([0.0, 3000.0]), np.array([0.0, 0.0]))
    rpts = "".join(f'<trkpt lat="{la:.8f}" lon="{lo:.8f}"/>' for lo, la in zip(rlon, rlat, strict=True))
    t = np.arange(0.0, 1000.0)
    x = 3.0 * t
    y = np.where((x > 900) & (x < 1500), 300.0, 0.0)
    lon, lat = PROJ.inverse(x, y)
    tpts = "".join(
        f'<trkpt lat="{la:.8f}" lon="{lo:.8f}"><time>{_iso(T0 + s)}</time></trkpt>'
        for lo, la, s in zip(lon, lat, t, strict=True)
    )
    head = '<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
    route = folder / "route.gpx"
    route.write_text(f"{head}{''.join(wpts)}<trk><name>Line</name><trkseg>{rpts}</trkseg></trk></gpx>")
    run = folder / "run.gpx"
    run.write_text(f"{head}<trk><trkseg>{tpts}</trkseg></trk></gpx>")
    return str(route), str(run)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return write_files(tmp_path_factory.mktemp("line"))


@pytest.fixture
def run_check(files: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> Callable[..., list[str]]:
    def run(*flags: str) -> list[str]:
        assert main(["check", *files, *flags]) == 0
        return capsys.readouterr().out.splitlines()

    return run


def test_check_text_in_kilometres_and_utc(run_check: Callable[..., list[str]]) -> None:
    lines = run_check("--tz", "UTC")
    assert lines[0] == "Route   Line  (3.00 km)"
    assert lines[1].endswith("(1000 fixes, 3.64 km, 2023-11-14T22:13:20+00:00 → 2023-11-14T22:29:59+00:00)")
    assert lines[4] == "Covered 2.40 of 3.00 km (80 %) in order; not covered: km 0.90-1.50"
    assert lines[6:9] == [
        "1. Off course at km 0.90, 2023-11-14T22:18:20+00:00: up to 300 m from the route, "
        "rejoined at km 1.50 (2023-11-14T22:21:41+00:00)",
        "   between Start (km 0.0) and Refuge (km 2.0), across Col de la Croix (km 1.0)",
        "   covered 1.21 km off the route, extra distance 602 m, time lost 0:00:00",
    ]
    assert lines[-1] == "Total   1 finding(s), extra distance 602 m, off course 0:03:21, route bypassed 0 m"


def test_check_text_in_miles_and_feet(run_check: Callable[..., list[str]]) -> None:
    lines = run_check("--units", "mi", "--tz", "utc")
    assert lines[0] == "Route   Line  (1.86 mi)"
    assert lines[1].endswith("(1000 fixes, 2.26 mi, 2023-11-14T22:13:20+00:00 → 2023-11-14T22:29:59+00:00)")
    assert lines[4] == "Covered 1.49 of 1.86 mi (80 %) in order; not covered: mile 0.56-0.93"
    assert lines[6:9] == [
        "1. Off course at mile 0.56, 2023-11-14T22:18:20+00:00: up to 0.19 mi from the route, "
        "rejoined at mile 0.93 (2023-11-14T22:21:41+00:00)",
        "   between Start (mile 0.0) and Refuge (mile 1.2), across Col de la Croix (mile 0.6)",
        "   covered 0.75 mi off the route, extra distance 0.37 mi, time lost 0:00:00",
    ]
    assert lines[-1] == "Total   1 finding(s), extra distance 0.37 mi, off course 0:03:21, route bypassed 0 ft"


def test_tz_names_any_zone(run_check: Callable[..., list[str]]) -> None:
    lines = run_check("--tz", "America/Denver")
    assert any(line.startswith("1. Off course at km 0.90, 2023-11-14T15:18:20-07:00:") for line in lines)


@needs_zones
def test_the_default_zone_is_the_routes_local_time(run_check: Callable[..., list[str]]) -> None:
    # 7°E 46°N is in the Valais, Switzerland: UTC+1 in November
    lines = run_check()
    assert any(line.startswith("1. Off course at km 0.90, 2023-11-14T23:18:20+01:00:") for line in lines)


def test_an_unknown_zone_is_refused_before_reading(files: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["check", *files, "--tz", "Mars/Olympus"])
    assert stop.value.code == 2
    assert "unknown time zone 'Mars/Olympus'" in capsys.readouterr().err


def test_json_is_si_and_utc_whatever_the_flags(files: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *files, "--format", "json"]) == 0
    plain = capsys.readouterr().out
    assert main(["check", *files, "--format", "json", "--units", "mi", "--tz", "Asia/Tokyo"]) == 0
    assert capsys.readouterr().out == plain
    e = json.loads(plain)["excursions"][0]
    assert e["start_time"] == "2023-11-14T22:18:20+00:00" and e["exit_route_m"] == pytest.approx(900, abs=5)


def test_report_to_text_defaults_to_kilometres_and_utc(files: tuple[str, str]) -> None:
    r = check(read_route(files[0]), read_track(files[1]))
    text = report_to_text(r)
    assert report_to_text(r, Style()) == text
    assert (
        "2023-11-14T22:18:20+00:00" in text
        and "between Start (km 0.0) and Refuge (km 2.0), across Col de la Croix (km 1.0)" in text
    )
    paris = report_to_text(r, Style(units=Units.MI, tz=zone("Europe/Paris")))
    assert "2023-11-14T23:18:20+01:00" in paris and "mile 0.56" in paris and "km 0.90" not in paris


def test_info_and_check_give_the_same_time_in_the_same_format(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["info", "--format", "json", files[1]]) == 0
    info = json.loads(capsys.readouterr().out)[0]
    assert main(["check", *files, "--format", "json"]) == 0
    checked = json.loads(capsys.readouterr().out)["track"]
    assert info["start_time"] == checked["start_time"] == "2023-11-14T22:13:20+00:00"
    assert info["end_time"] == checked["end_time"] == "2023-11-14T22:29:59+00:00"
    for tz, start in (("UTC", "2023-11-14T22:13:20+00:00"), ("Asia/Tokyo", "2023-11-15T07:13:20+09:00")):
        assert main(["info", "--tz", tz, files[1]]) == 0
        time_line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("  time "))
        assert time_line.split()[1] == start and time_line.endswith("(0:16:39)")
        assert main(["check", *files, "--tz", tz]) == 0
        assert f"(1000 fixes, 3.64 km, {start} →" in capsys.readouterr().out


def test_info_text_in_miles(files: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--units", "mi", files[0]]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "  length       1.86 mi" in out
    assert "    mile    0.62  Col de la Croix" in out and "    mile    1.86  Finish" in out


# -- placing a finding among the checkpoints -------------------------------------------------------
CPS = [SimpleNamespace(name=n, route_m=m) for n, m in (("Lac Combal", 64_200.0), ("Arête du Mont-Favre", 68_000.0))]


@pytest.mark.parametrize(
    ("lo", "hi", "units", "expected"),
    [
        (64_700.0, 65_300.0, Units.KM, "between Lac Combal (km 64.2) and Arête du Mont-Favre (km 68.0)"),
        (64_700.0, 65_300.0, Units.MI, "between Lac Combal (mile 39.9) and Arête du Mont-Favre (mile 42.3)"),
        (64_700.0, None, Units.KM, "between Lac Combal (km 64.2) and Arête du Mont-Favre (km 68.0)"),
        (10_000.0, 12_000.0, Units.KM, "before Lac Combal (km 64.2)"),
        (70_000.0, None, Units.KM, "after Arête du Mont-Favre (km 68.0)"),
        (68_000.0, None, Units.KM, "at Arête du Mont-Favre (km 68.0)"),
        (63_000.0, 66_000.0, Units.KM, "before Arête du Mont-Favre (km 68.0), across Lac Combal (km 64.2)"),
        (60_000.0, 70_000.0, Units.KM, "across Lac Combal (km 64.2) and Arête du Mont-Favre (km 68.0)"),
        (66_000.0, 64_500.0, Units.KM, "between Lac Combal (km 64.2) and Arête du Mont-Favre (km 68.0)"),  # wrong way
    ],
)
def test_a_finding_is_placed_by_the_checkpoints_around_it(
    lo: float, hi: float | None, units: Units, expected: str
) -> None:
    assert locate(CPS, lo, hi, Style(units=units)) == expected
    assert Style(units=units).where(list(reversed(CPS)), lo, hi) == expected  # order of the list does not matter


def test_the_checkpoints_a_finding_spans_are_named_three_at_most() -> None:
    cps = [SimpleNamespace(name=f"CP{i}", route_m=1000.0 * i) for i in range(8)]
    assert locate(cps, 1500.0, 3500.0) == "between CP1 (km 1.0) and CP4 (km 4.0), across CP2 (km 2.0) and CP3 (km 3.0)"
    assert locate(cps, 500.0, 6500.0) == (
        "between CP0 (km 0.0) and CP7 (km 7.0), across CP1 (km 1.0), CP2 (km 2.0), CP3 (km 3.0) and 3 more"
    )


def test_no_checkpoints_no_place() -> None:
    assert locate([], 1000.0, 2000.0) is None
    assert locate(CPS, float("nan")) is None

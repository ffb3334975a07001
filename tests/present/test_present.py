"""present.py: units, zones and the one time format (more examples in its doctests)."""

from __future__ import annotations

import subprocess
import sys
from importlib.util import find_spec

import pytest

from offcourse.present import Style, Units, iso_time, zone
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("units", "expected"),
    [
        (Units.KM, ("km 100.00", "965 m", "+1.20 km", "1,234 m", "5:00 /km")),
        (Units.MI, ("mile 62.14", "0.60 mi", "+0.75 mi", "4,049 ft", "8:03 /mi")),
    ],
)
def test_one_style_per_unit_system(units: Units, expected: tuple[str, ...]) -> None:
    s = Style(units=units)
    assert (s.route_position(100_000.0), s.distance(965.0), s.signed_distance(1200.0), s.height(1234.0),
            s.pace(0.3)) == expected  # fmt: skip


def test_times_are_whole_seconds_with_the_zones_offset() -> None:
    assert iso_time(1_747_472_400.6) == "2025-05-17T09:00:01+00:00"
    assert Style(tz=zone("America/Denver")).time(1_747_472_400.0) == "2025-05-17T03:00:00-06:00"
    assert Style().time(None) == "-" and iso_time(float("inf")) is None
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        zone("Mars/Olympus")


@pytest.mark.skipif(find_spec("timezonefinder") is None, reason="timezonefinder (field extra) missing")
def test_the_route_zone_is_found_offline_and_numba_is_left_as_it_was() -> None:
    code = (
        "import sys\n"
        "had = 'numba' in sys.modules\n"
        "from offcourse.present import route_zone\n"
        "names = [route_zone(-3.2, 55.9).key, route_zone(6.87, 45.92).key, route_zone(-120.2, 39.2).key]\n"
        "assert ('numba' in sys.modules) == had and sys.modules.get('numba', 1) is not None\n"
        "print(' '.join(names))\n"
    )
    for prelude in ("", "import numba\n"):
        done = subprocess.run([sys.executable, "-c", prelude + code], cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["Europe/London", "Europe/Paris", "America/Los_Angeles"]

"""``serve-report``'s export: one file per device, whatever its id, named after its runner."""

from __future__ import annotations

import json
from pathlib import Path

import offcourse
from offcourse.detect.state import route_fingerprint
from offcourse.serve.auth import Runner
from offcourse.serve.report import export_recordings, field_report
from offcourse.serve.store import Store
from tests.synth import route as synth_route

REPO = Path(__file__).resolve().parents[2]
ALLERMUIR = REPO / "routes" / "allermuir-hill-race.gpx"
WRONG_TURN = REPO / "samples" / "allermuir-wrong-turn.gpx"

ROUTE = synth_route([(0.0, 0.0), (3000.0, 0.0)])
T0 = 1_747_472_400.0


def _store(path: Path, devices: dict[str, float]) -> None:
    """A database with two fixes per device, at latitude ``devices[device]``."""
    store = Store(path, route_fingerprint(ROUTE))
    with store.transaction():
        for device, lat in devices.items():
            for i in range(2):
                store.add_position(device, T0 + i, lat, 0.001 * i, float("nan"), 10.0, float("nan"), T0)
    store.close()


def test_devices_whose_ids_differ_only_in_unsafe_characters_get_a_file_each(tmp_path: Path) -> None:
    _store(tmp_path / "race.sqlite", {"w:2": 1.0, "w@2": 2.0, "w_2": 3.0})
    store = Store(tmp_path / "race.sqlite", route_fingerprint(ROUTE))
    try:
        paths = export_recordings(store, tmp_path / "rec")
    finally:
        store.close()
    assert len(paths) == 3
    assert len({p.name for p in paths}) == 3
    assert sorted(p.name for p in (tmp_path / "rec").iterdir()) == sorted(p.name for p in paths)
    lats = sorted(p.read_text().split('lat="', 2)[1].split('"')[0] for p in paths)
    assert lats == ["1.0", "2.0", "3.0"]  # each device's own fixes, none overwritten


def test_the_report_rows_carry_each_runners_name_and_bib(tmp_path: Path) -> None:
    route = offcourse.read_route(ALLERMUIR)
    track = offcourse.read_track(WRONG_TURN)
    store = Store(tmp_path / "race.sqlite", route_fingerprint(route))
    rows = list(zip(track.epoch_s.tolist(), track.lat.tolist(), track.lon.tolist(), strict=True))
    with store.transaction():
        for device in ("w:2", "w@2", "stray-9"):  # two ids one file name apart, one not in the list
            for t, lat, lon in rows:
                store.add_position(device, t, lat, lon, float("nan"), float("nan"), float("nan"), t)
    store.close()
    runners = {"w:2": Runner("w:2", bib="102", name="Ida Nilsson"), "w@2": Runner("w@2", bib="", name="Jim <b>W</b>")}
    done = field_report(ALLERMUIR, route, tmp_path / "race.sqlite", tmp_path / "out", runners=runners, jobs=1)
    assert done["files"] == 3
    report = json.loads((tmp_path / "out" / "report.json").read_text())["rows"]
    assert sorted((r["name"], r["bib"], r["status"], r["fixes"]) for r in report) == [
        ("Ida Nilsson", "102", "ok", len(rows)),
        ("Jim <b>W</b>", None, "ok", len(rows)),
        ("stray-9", None, "ok", len(rows)),
    ]

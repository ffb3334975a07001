"""``serve-report``'s export: one file per device, whatever its id, named after its runner."""

from __future__ import annotations

import json
from pathlib import Path

from offcourse.detect.state import route_fingerprint
from offcourse.serve.auth import Runner
from offcourse.serve.report import export_recordings
from offcourse.serve.store import Store
from tests.synth import route as synth_route

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

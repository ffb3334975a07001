"""Pictures of a report (``offcourse check --plot``): valid files, one label per excursion, errors as one line."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from offcourse import read_route, read_track
from offcourse.cli import main
from offcourse.detect import Options
from offcourse.errors import OffcourseError
from offcourse.model import Track
from offcourse.plot import NEEDS_MATPLOTLIB, excursion_label, plot_report, progress_trace
from offcourse.report import Report, check
from tests.synth import PROJ, route, walk

REPO = Path(__file__).resolve().parents[2]
ROUTE = REPO / "routes" / "allermuir-hill-race.gpx"
WRONG_TURN = REPO / "samples" / "allermuir-wrong-turn.gpx"
needs_matplotlib = pytest.mark.skipif(find_spec("matplotlib") is None, reason="matplotlib is not installed")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"


def track_of(rows: np.ndarray, t0: float = 1_700_000_000.0) -> Track:
    """A recording from ``walk`` rows (t, x, y in metres in PROJ)."""
    lon, lat = PROJ.inverse(rows[:, 1], rows[:, 2])
    return Track.from_arrays(lon=lon, lat=lat, epoch_s=t0 + rows[:, 0])


def two_turns_report() -> Report:
    """A 3 km straight route; the runner takes two 300 m detours, at 0.6 km and at 1.8 km."""
    r = route([(0, 0), (3000, 0)])
    legs = [(0, 0), (600, 0), (650, 300), (700, 0), (1800, 0), (1850, -300), (1900, 0), (3000, 0)]
    return check(r, track_of(walk(legs)))


@pytest.fixture(scope="module")
def wrong_turn() -> Report:
    return check(read_route(ROUTE), read_track(WRONG_TURN))


@pytest.fixture(scope="module")
def two_turns() -> Report:
    report = two_turns_report()
    assert [e.kind for e in report.excursions] == ["off_course", "off_course"]
    return report


def svg_texts(path: Path) -> list[str]:
    """The text of every ``<text>`` element of an SVG file (it must parse)."""
    root = ET.parse(path).getroot()
    assert root.tag == SVG + "svg"
    return ["".join(t.itertext()) for t in root.iter(SVG + "text")]


def labelled_groups(path: Path) -> dict[str, str]:
    """The excursion labels by their element id (``excursion-label-N``)."""
    root = ET.parse(path).getroot()
    return {
        g.get("id", ""): "".join(t.itertext())
        for g in root.iter(SVG + "g")
        if g.get("id", "").startswith("excursion-label-")
        for t in g.iter(SVG + "text")
    }


@needs_matplotlib
def test_png_is_a_png_of_a_sane_size(tmp_path: Path, wrong_turn: Report) -> None:
    out = tmp_path / "wrong-turn.png"
    labels = plot_report(wrong_turn, out)
    data = out.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert 1000 <= width <= 3000 and 1000 <= height <= 4000, (width, height)
    assert 20_000 < len(data) < 5_000_000
    assert labels == [excursion_label(1, wrong_turn.excursions[0])]


@needs_matplotlib
def test_svg_has_one_label_text_per_excursion(tmp_path: Path, wrong_turn: Report) -> None:
    out = tmp_path / "wrong-turn.svg"
    labels = plot_report(wrong_turn, out)
    assert len(wrong_turn.excursions) == 1
    (label,) = labels
    e = wrong_turn.excursions[0]
    assert re.fullmatch(r"1 · km \d+\.\d\d · [+-]\d+ m · \d+:\d\d:\d\d", label), label
    assert f"km {e.exit_route_m / 1000:.2f}" in label and 2.9 < e.exit_route_m / 1000 < 3.1
    texts = svg_texts(out)
    assert texts.count(label) == 1
    assert labelled_groups(out) == {"excursion-label-1": label}


@needs_matplotlib
def test_two_excursions_give_two_labels(tmp_path: Path, two_turns: Report) -> None:
    out = tmp_path / "two.svg"
    labels = plot_report(two_turns, out)
    assert len(labels) == 2
    assert labels[0].startswith("1 · km 0.6") and labels[1].startswith("2 · km 1.8")
    for label, e in zip(labels, two_turns.excursions, strict=True):
        assert f"{e.extra_distance_m:+.0f} m" in label
    texts = svg_texts(out)
    assert [texts.count(lb) for lb in labels] == [1, 1]
    assert labelled_groups(out) == {"excursion-label-1": labels[0], "excursion-label-2": labels[1]}
    # the zoomed panels are titled, the thresholds and the scale bar are written out
    assert any(t.startswith("1: off course at km 0.6") for t in texts)
    assert any(t.startswith("2: off course at km 1.8") for t in texts)
    assert "off threshold 50 m" in texts and "back-on threshold 25 m" in texts
    assert any(t.endswith(" m") and t.split()[0].isdigit() and len(t.split()) == 2 for t in texts)  # scale bar


@needs_matplotlib
def test_no_excursion_draws_no_label(tmp_path: Path) -> None:
    r = route([(0, 0), (2000, 0)])
    report = check(r, track_of(walk([(0, 0), (2000, 0)])))
    assert report.excursions == ()
    out = tmp_path / "clean.svg"
    assert plot_report(report, out) == []
    assert "No wrong turn: the runner stayed on the route." in svg_texts(out)
    assert labelled_groups(out) == {}


@needs_matplotlib
def test_wrong_way_and_skipped_sections_are_labelled(tmp_path: Path) -> None:
    r = route([(0, 0), (4000, 0), (4000, 2000), (0, 2000)])
    back = check(r, track_of(walk([(0, 0), (1500, 0), (900, 0), (4000, 0), (4000, 2000), (0, 2000)])))
    u = route([(0, 0), (3000, 0), (3000, 40), (0, 40), (0, 3000)])
    skip = check(u, track_of(walk([(0, 0), (1000, 0), (1000, 40), (0, 40), (0, 3000)])))
    kinds = {e.kind for e in back.excursions} | {e.kind for e in skip.excursions}
    assert {"wrong_direction", "skipped_section"} <= kinds
    for name, report in (("back.svg", back), ("skip.png", skip)):
        labels = plot_report(report, tmp_path / name)
        assert len(labels) == len(report.excursions)
    texts = svg_texts(tmp_path / "back.svg")
    assert any("wrong way" in t for t in texts)


@needs_matplotlib
def test_many_excursions_are_zoomed_up_to_six(tmp_path: Path) -> None:
    r = route([(0, 0), (12_000, 0)])
    legs: list[tuple[float, float]] = [(0, 0)]
    for k in range(8):
        x = 1000.0 + 1300.0 * k
        legs += [(x, 0), (x + 50, 300), (x + 100, 0)]
    legs.append((12_000, 0))
    report = check(r, track_of(walk(legs)))
    assert len(report.excursions) == 8
    out = tmp_path / "many.svg"
    labels = plot_report(report, out)
    assert len(labels) == 8
    texts = svg_texts(out)
    zoom_titles = [t for t in texts if t.split(":")[0].isdigit() and ": off course at km" in t]
    assert len(zoom_titles) == 6
    assert any(t.startswith("+2 more not zoomed") for t in texts)


def test_unknown_extension_is_one_line_error(tmp_path: Path, two_turns: Report) -> None:
    out = tmp_path / "picture.jpg"
    with pytest.raises(OffcourseError) as info:
        plot_report(two_turns, out)
    message = str(info.value)
    assert "\n" not in message and str(out) in message and ".png" in message
    assert not out.exists()


@needs_matplotlib
def test_unwritable_path_is_one_line_error(tmp_path: Path, two_turns: Report) -> None:
    out = tmp_path / "no-such-dir" / "p.png"
    with pytest.raises(OffcourseError, match="cannot write"):
        plot_report(two_turns, out)


def test_missing_matplotlib_says_how_to_install(
    tmp_path: Path, two_turns: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(OffcourseError) as info:
        plot_report(two_turns, tmp_path / "p.png")
    assert str(info.value) == NEEDS_MATPLOTLIB


def test_progress_trace_follows_the_engine(two_turns: Report) -> None:
    options = Options()
    s, d = progress_trace(two_turns.route, two_turns.track, options)
    assert s.shape == d.shape == (len(two_turns.track),)
    ok = np.isfinite(s)
    assert ok.mean() > 0.95
    # the two spikes are the two detours, as far off as the report says, at their km
    for e in two_turns.excursions:
        during = (two_turns.track.epoch_s >= e.start_epoch_s) & (two_turns.track.epoch_s <= (e.end_epoch_s or np.inf))
        assert np.nanmax(d[during]) == pytest.approx(e.max_offset_m, abs=1.0)
        assert np.nanmedian(s[during]) == pytest.approx(e.exit_route_m, abs=60.0)
    calm = d[ok & (s > 100) & (s < 500)]
    assert calm.max() < options.back_on_threshold_m


def test_import_offcourse_does_not_import_matplotlib() -> None:
    code = (
        "import sys, offcourse, offcourse.plot, offcourse.html, offcourse.cli, offcourse.cli.check;"
        "offcourse.cli._parser();"
        "sys.exit('matplotlib' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr or "offcourse imported matplotlib"


@needs_matplotlib
def test_cli_check_plot_writes_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.svg"
    status = main(["check", os.fsdecode(ROUTE), os.fsdecode(WRONG_TURN), "--plot", os.fsdecode(out)])
    assert status == 0
    printed = capsys.readouterr().out
    assert "Off course at km" in printed
    labels = [t for t in svg_texts(out) if t.startswith("1 · km ")]
    assert len(labels) == 1


@needs_matplotlib
def test_cli_check_plot_png_with_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.png"
    status = main(["check", str(ROUTE), str(WRONG_TURN), "--format", "json", "--plot", str(out)])
    assert status == 0
    assert capsys.readouterr().out.lstrip().startswith("{")
    assert out.read_bytes()[:8] == PNG_SIGNATURE


def test_cli_bad_extension_fails_before_checking(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.gif"
    status = main(["check", str(ROUTE), str(WRONG_TURN), "--plot", str(out)])
    assert status == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no report: the extension is refused first
    err = captured.err.strip()
    assert err.startswith("offcourse: error: ") and "cli.gif" in err and "\n" not in err
    assert not out.exists()


def test_check_carries_the_per_fix_trace_and_its_options(two_turns: Report) -> None:
    trace = two_turns.trace
    assert trace is not None and trace.options == Options()
    s, d = trace.route_m, trace.offset_m
    assert s.shape == d.shape == (len(two_turns.track),)
    for e in two_turns.excursions:
        during = (two_turns.track.epoch_s >= e.start_epoch_s) & (two_turns.track.epoch_s <= (e.end_epoch_s or np.inf))
        assert np.nanmax(d[during]) == pytest.approx(e.max_offset_m, abs=1.0)  # the spike is the detour
        assert np.nanmedian(s[during]) == pytest.approx(e.exit_route_m, abs=60.0)  # held at its exit
    ok = np.isfinite(s)
    assert ok.mean() > 0.95 and np.all(np.diff(s[ok]) >= -1.0)  # progress, never far back


@needs_matplotlib
def test_check_plot_runs_the_engine_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from offcourse.detect import Monitor

    made: list[int] = []
    real_init = Monitor.__init__

    def counting_init(self: Monitor, *args: object, **kwargs: object) -> None:
        made.append(1)
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Monitor, "__init__", counting_init)
    out = tmp_path / "once.svg"
    assert main(["check", str(ROUTE), str(WRONG_TURN), "--tz", "UTC", "--plot", str(out)]) == 0
    assert made == [1]  # the check's own engine; the picture draws from report.trace
    assert out.stat().st_size > 10_000


@needs_matplotlib
def test_the_plot_draws_the_thresholds_the_check_applied(tmp_path: Path) -> None:
    out = tmp_path / "thresholds.svg"
    assert main(["check", str(ROUTE), str(WRONG_TURN), "--off-threshold-m", "70", "--plot", str(out)]) == 0
    texts = svg_texts(out)
    assert "off threshold 70 m" in texts and "back-on threshold 25 m" in texts
    miles = tmp_path / "miles.svg"
    assert main(["check", str(ROUTE), str(WRONG_TURN), "--units", "mi", "--tz", "UTC", "--plot", str(miles)]) == 0
    texts = svg_texts(miles)
    assert "off threshold 164 ft" in texts and "along the route (mi)" in texts and "off the route (ft)" in texts
    assert any(t.startswith("1 · mile 1.86 · +0.38 mi · 0:03:0") for t in texts)
    assert any(t.startswith("2025-05-17 09:00 UTC · 4.61 mi · 2302 fixes") for t in texts)
    assert any(re.fullmatch(r"\d+ (ft|mi)", t) for t in texts)  # the scale bars
    assert not any(re.fullmatch(r"\d+ k?m", t) for t in texts)


@needs_matplotlib
def test_a_report_without_a_trace_is_still_drawn(tmp_path: Path, two_turns: Report) -> None:
    from dataclasses import replace

    bare = replace(two_turns, trace=None)  # built by hand, or by an older version
    assert plot_report(bare, tmp_path / "bare.svg") == plot_report(two_turns, tmp_path / "full.svg")

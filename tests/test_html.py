"""The field page (``offcourse batch --html``): self-contained, escaped, one row per runner, sortable in Chromium."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from offcourse import read_route, read_track
from offcourse.batch.rows import checkpoints_around, worst_excursion
from offcourse.html import MAX_PICTURES, excursion_svg, field_page
from offcourse.model import Route, Track
from offcourse.plot import excursion_mask
from offcourse.present import KIND_WORDS, Style, Units, zone
from offcourse.report import Report, check, report_to_dict
from tests.synth import PROJ
from tests.synth import route as synth_route

REPO = Path(__file__).resolve().parents[1]
ROUTE = REPO / "routes" / "allermuir-hill-race.gpx"
WRONG_TURN = REPO / "samples" / "allermuir-wrong-turn.gpx"
HOSTILE = "<script>alert(1)</script>"
T0 = 1_747_472_400.0  # 2025-05-17T09:00:00Z


# -- rows as the batch writes them ---------------------------------------------------------------
def row_from_report(report: Report, *, file: str, name: str) -> dict[str, Any]:
    """A batch row for a report: the summary, and each excursion with the fixes between its start and end."""
    d = report_to_dict(report)
    track = report.track
    excursions = []
    for e, ed in zip(report.excursions, d["excursions"], strict=True):
        m = excursion_mask(track, e)
        lon, lat = track.lon[m].tolist(), track.lat[m].tolist()
        coords = [[round(a, 7), round(b, 7)] for a, b in zip(lon, lat, strict=True)]
        where = checkpoints_around(report.route, e.exit_route_m, e.rejoin_route_m)
        excursions.append({**ed, "between": where, "coordinates": coords})
    t = track.epoch_s
    return {
        "file": file,
        "name": name,
        "status": "ok",
        "verdict": d["summary"]["verdict"],
        "verdict_reason": d["summary"]["verdict_reason"],
        "error": None,
        "sha256": hashlib.sha256(file.encode()).hexdigest(),
        "fixes": len(track),
        "start_time": d["track"]["start_time"],
        "duration_s": float(t[-1] - t[0]) if len(t) else None,
        "distance_m": d["track"]["distance_m"],
        "excursions": len(report.excursions),
        "extra_distance_m": d["summary"]["extra_distance_m"],
        "time_off_course_s": d["summary"]["time_off_course_s"],
        "skipped_m": d["summary"]["skipped_m"],
        "wrong_way_m": d["summary"]["wrong_way_m"],
        "completed": report.completed,
        "coverage": d["summary"]["coverage"]["fraction"],
        "worst": worst_excursion(excursions),
        "flags": [],
        "excursion_list": excursions,
    }


def error_row(file: str, error: str) -> dict[str, Any]:
    keys = ("sha256", "fixes", "start_time", "duration_s", "distance_m", "excursions", "extra_distance_m")
    keys += ("time_off_course_s", "skipped_m", "wrong_way_m", "completed")
    return {"file": file, "name": Path(file).stem, "status": "error", "error": error, "error_kind": "unreadable",
            **dict.fromkeys(keys), "flags": [], "excursion_list": []}  # fmt: skip


def run_along(route: Route, detours: list[tuple[float, float]], *, speed_mps: float = 3.0, seed: int = 0) -> Track:
    """A run of the whole route at ``speed_mps`` with out-and-back detours ``(at_m, depth_m)`` to the left."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    pos = 0.0
    for at, depth in detours:
        x, y = route.point_at(np.arange(pos, at, speed_mps))
        xs.append(x)
        ys.append(y)
        ex, ey = route.point_at([at - 1.0, at + 1.0])
        tx, ty = (ex[1] - ex[0]) / 2, (ey[1] - ey[0]) / 2
        u = np.arange(0.0, depth, speed_mps)
        xs += [ex[0] - ty * u, (ex[0] - ty * u)[::-1]]
        ys += [ey[0] + tx * u, (ey[0] + tx * u)[::-1]]
        pos = at
    x, y = route.point_at(np.arange(pos, route.length_m + speed_mps, speed_mps))
    x = np.concatenate([*xs, x]) + rng.normal(0.0, 2.0, sum(map(len, xs)) + len(x))
    y = np.concatenate([*ys, y]) + rng.normal(0.0, 2.0, len(x))
    lon, lat = route.projection.inverse(x, y)
    return Track.from_arrays(lon=lon, lat=lat, epoch_s=T0 + np.arange(len(x), dtype=float))


@pytest.fixture(scope="module")
def allermuir() -> Route:
    return read_route(ROUTE)


@pytest.fixture(scope="module")
def field(allermuir: Route) -> list[dict[str, Any]]:
    """Six runners: the bundled wrong turn, a clean run, two detours, a hostile name, a broken file, eight detours."""
    sample = check(allermuir, read_track(WRONG_TURN))
    clean = check(allermuir, run_along(allermuir, []))
    two = check(allermuir, run_along(allermuir, [(1500.0, 250.0), (5000.0, 300.0)], seed=1))
    eight = check(allermuir, run_along(allermuir, [(600.0 + 700.0 * k, 200.0) for k in range(8)], seed=2))
    assert len(sample.excursions) == 1 and not clean.excursions
    assert len(two.excursions) == 2 and len(eight.excursions) == 8
    return [
        row_from_report(sample, file="samples/allermuir-wrong-turn.gpx", name="Allermuir Wrong-Turn"),
        row_from_report(two, file="runners/bea.gpx", name="Béa Two-Turns"),
        row_from_report(eight, file="runners/lost.fit", name="Eight Turns"),
        row_from_report(clean, file='runners/"><img src=x onerror=alert(2)>.gpx', name="Clean Runner"),
        row_from_report(clean, file="runners/hostile.gpx", name=HOSTILE),
        error_row("runners/broken.fit", "runners/broken.fit: bad CRC <b>(at byte 1234)</b>"),
    ]


@pytest.fixture(scope="module")
def page(field: list[dict[str, Any]], allermuir: Route) -> str:
    return field_page(field, allermuir, title="Allermuir & friends")


# -- parsing -------------------------------------------------------------------------------------
class PageParser(HTMLParser):
    """What the page's markup holds: body rows, cells, scripts, links and SVG pictures."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.body_rows: list[list[str]] = []
        self.row_classes: list[str] = []
        self.scripts: list[str] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in ("meta", "link", "img", "input", "br", "hr", "source"):
            return  # void elements
        self.stack.append(tag)
        if tag == "tr" and "tbody" in self.stack:
            self.body_rows.append([])
            self.row_classes.append(a.get("class") or "")
        if tag == "td" and "tbody" in self.stack:
            self.cell = []
        if tag == "script":
            self.scripts.append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.cell is not None and "tbody" in self.stack:
            self.body_rows[-1].append("".join(self.cell))
            self.cell = None
        while self.stack:
            if self.stack.pop() == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)
        if self.stack and self.stack[-1] == "script":
            self.scripts[-1] += data


def parse(page: str) -> PageParser:
    p = PageParser()
    p.feed(page)
    p.close()
    return p


# -- markup --------------------------------------------------------------------------------------
def test_one_body_row_per_runner(page: str, field: list[dict[str, Any]]) -> None:
    p = parse(page)
    assert len(p.body_rows) == len(field)
    names = [cells[1] for cells in p.body_rows]
    assert names == [r["name"] for r in field]
    assert p.row_classes == ["flagged", "flagged", "flagged", "clean", "clean", "error"]
    assert len({len(cells) for cells in p.body_rows}) == 1  # every row has every column


def test_no_network_no_external_resource(page: str) -> None:
    p = parse(page)
    for tag, attrs in p.tags:
        assert tag not in ("link", "img", "iframe", "object", "embed", "base"), tag
        for key in ("src", "href", "xlink:href", "action", "srcset"):
            value = (attrs.get(key) or "").strip().lower()
            assert not re.match(r"^(https?:)?//", value), (tag, key, value)
            assert not value.startswith(("http", "//")), (tag, key, value)
    assert "http://" not in page and "https://" not in page
    assert "@import" not in page and "url(" not in page
    csp = [a.get("content") or "" for t, a in p.tags if a.get("http-equiv") == "Content-Security-Policy"]
    assert len(csp) == 1 and "default-src 'none'" in csp[0]


def test_untrusted_text_is_escaped(page: str) -> None:
    p = parse(page)
    assert len(p.scripts) == 1  # only the page's own sorting script
    assert HOSTILE not in page and "<img src=x" not in page and "<b>(at byte" not in page
    cells = [c for row in p.body_rows for c in row]
    assert HOSTILE in cells  # shown as text
    assert any('"><img src=x onerror=alert(2)>.gpx' in c for c in cells)
    assert any(c == "runners/broken.fit: bad CRC <b>(at byte 1234)</b>" for c in cells)
    assert not any(t == "img" for t, _ in p.tags)
    assert not any(k.startswith("on") for _, a in p.tags for k in a)


def test_title_is_escaped(field: list[dict[str, Any]], allermuir: Route) -> None:
    page = field_page(field[:1], allermuir, title="</title><script>x()</script>")
    assert "<script>x()" not in page and "&lt;/title&gt;&lt;script&gt;" in page


def test_pictures_of_each_flagged_runner(page: str, field: list[dict[str, Any]]) -> None:
    p = parse(page)
    figures = re.findall(r'<figure class="pic">(.*?)</figure>', page, flags=re.S)
    expected = sum(min(len(r["excursion_list"]), MAX_PICTURES) for r in field if r["status"] == "ok")
    assert len(figures) == expected == 1 + 2 + MAX_PICTURES
    assert "+2 more" in p.body_rows[2][-1]
    labels = []
    for r in field:
        for i, e in enumerate(r["excursion_list"][:MAX_PICTURES], 1):
            labels.append(f"{i} · {KIND_WORDS[e['kind']]} · km {e['exit_route_m'] / 1000:.2f}")
    captions = [unescape(c) for c in re.findall(r"<figcaption>([^<]*)</figcaption>", "".join(figures))]
    assert captions == labels
    for fig in figures:
        route_d = re.search(r'<path class="route" d="([^"]*)"', fig)
        path_d = re.search(r'<path class="path off" d="([^"]*)"', fig)
        assert route_d and route_d.group(1).startswith("M"), fig[:200]
        assert path_d and path_d.group(1).count("L") >= 5
        nums = [float(v) for v in re.findall(r"-?\d+\.?\d*", path_d.group(1))]
        assert min(nums) >= 0.0 and max(nums) <= 120.0  # the runner's path is inside the picture
        assert fig.count('class="exit"') == 1 and fig.count('class="rejoin"') == 1


def test_error_rows_show_the_error_and_no_picture(page: str) -> None:
    row = parse(page).body_rows[-1]
    assert row[2] == "ERROR" and row[-3] == "runners/broken.fit: bad CRC <b>(at byte 1234)</b>"
    assert row[3] == "" and row[4] == "—" and row[-1] == ""  # no place, no figures, no picture


def test_sort_keys_are_numbers(page: str, field: list[dict[str, Any]]) -> None:
    p = parse(page)
    cells = [a for t, a in p.tags if t == "td" and "data-v" in a]
    values = [a["data-v"] for a in cells]
    assert values and all(v == "" or np.isfinite(float(v)) for v in values if v is not None)
    extra = [a["data-v"] for t, a in p.tags if t == "td" and a.get("class") == "num"]
    assert str(float(field[0]["extra_distance_m"])) in extra


def test_picture_is_north_up(allermuir: Route) -> None:
    """A detour to the north is drawn above the route (SVG y grows downwards)."""
    r = synth_route([(0, 0), (2000, 0)])
    x = np.array([900.0, 900.0, 950.0, 1000.0, 1000.0])
    y = np.array([0.0, 200.0, 300.0, 200.0, 0.0])
    lon, lat = PROJ.inverse(x, y)
    e = {"kind": "off_course", "exit_route_m": 900.0, "rejoin_route_m": 1000.0, "extra_distance_m": 520.0,
         "time_lost_s": 190.0, "distance_m": 620.0, "exit": [lon[0], lat[0]], "rejoin": [lon[-1], lat[-1]],
         "coordinates": [[a, b] for a, b in zip(lon.tolist(), lat.tolist(), strict=True)]}  # fmt: skip
    svg = excursion_svg(r, e, 1)
    path = re.search(r'<path class="path off" d="([^"]*)"', svg)
    exit_ = re.search(r'<circle class="exit" cx="([\d.]+)" cy="([\d.]+)"', svg)
    assert path and exit_
    pys = [float(v) for v in re.findall(r"[ML][\d.]+ ([\d.]+)", path.group(1))]
    assert min(pys) < float(exit_.group(2)) - 50  # the far end is well above the exit
    assert "<title>1 · km 0.90 · +520 m · 0:03:10</title>" in svg


def test_rows_missing_keys_and_bad_values_do_not_break_the_page(allermuir: Route) -> None:
    rows: list[dict[str, Any]] = [
        {"file": "a.gpx", "status": "ok"},
        {"file": "b.gpx", "name": None, "status": "ok", "excursions": 1, "extra_distance_m": float("nan"),
         "excursion_list": [{"kind": "off_course", "exit_route_m": 100.0, "coordinates": [[999, 999], "x"]}]},
        {"status": "error"},
    ]  # fmt: skip
    p = parse(field_page(rows, allermuir))
    assert len(p.body_rows) == 3
    assert p.body_rows[1][1] == "b.gpx"  # no name: the file's name


# -- in a real browser ---------------------------------------------------------------------------
REQUIRE_CHROMIUM = os.environ.get("OFFCOURSE_REQUIRE_CHROMIUM") == "1"


def chromium_path() -> str:
    """Debian's chromium; skips (or fails, with OFFCOURSE_REQUIRE_CHROMIUM=1) when it is absent."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    message = "chromium is not installed (apt-get install -y chromium)"
    if REQUIRE_CHROMIUM:
        pytest.fail(message + " and OFFCOURSE_REQUIRE_CHROMIUM=1 requires it")
    pytest.skip(message + "; set OFFCOURSE_REQUIRE_CHROMIUM=1 to make this a failure")


class DevTools:
    """Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``).

    Chromium reads NUL-terminated JSON commands on fd 3 and writes replies and events on fd 4;
    standard library only (no websocket client needed).
    """

    def __init__(self, exe: str) -> None:
        self.profile = tempfile.TemporaryDirectory(prefix="offcourse-chromium-")
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        cmd_r, self.cmd_w = os.pipe()
        self.ev_r, ev_w = os.pipe()
        # chromium's ends get numbers above 9, so the redirections to fds 3 and 4 below cannot collide
        cmd_r, ev_w = (self._high(fd) for fd in (cmd_r, ev_w))
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                f"--user-data-dir={self.profile.name}", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--disable-sync", "about:blank"]  # fmt: skip
        self.proc = subprocess.Popen(
            [shutil.which("bash") or "/bin/bash", "-c", 'exec "$@" 3<&"$CDP_IN" 4>&"$CDP_OUT"', "bash", *args],
            env={**os.environ, "CDP_IN": str(cmd_r), "CDP_OUT": str(ev_w)},
            pass_fds=(cmd_r, ev_w),
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,  # its own process group: closed as one below
        )
        os.close(cmd_r)
        os.close(ev_w)
        self.buf = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    @staticmethod
    def _high(fd: int) -> int:
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(fd)
        return high

    def _recv(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from chromium")
            ready, _, _ = select.select([self.ev_r], [], [], left)
            if ready:
                chunk = os.read(self.ev_r, 1 << 16)
                if not chunk:
                    self.log.seek(0)
                    raise EOFError("chromium exited: " + self.log.read()[-2000:].decode(errors="replace"))
                self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None) -> Any:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + 60
        while True:
            m = self._recv(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_for(self, method: str, timeout: float = 60) -> dict[str, Any]:
        for i, m in enumerate(self.events):
            if m.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            m = self._recv(deadline)
            if m.get("method") == method:
                return m
            self.events.append(m)

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError, TimeoutError, RuntimeError):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group this test started, by its id
            self.proc.wait()
        os.close(self.cmd_w)
        os.close(self.ev_r)
        self.log.close()
        self.profile.cleanup()


@pytest.fixture(scope="module")
def browser() -> Iterator[DevTools]:
    tools = DevTools(chromium_path())
    try:
        yield tools
    finally:
        tools.close()


def open_url(tools: DevTools, url: str) -> str:
    """Open ``url`` in a new tab with the domains the tests watch; the tab's session id."""
    target = tools.send("Target.createTarget", {"url": "about:blank"})
    session: str = tools.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Page", "Network"):
        tools.send(f"{domain}.enable", session=session)
    tools.send("Page.navigate", {"url": url}, session=session)
    tools.wait_for("Page.loadEventFired")
    return session


def open_page(tools: DevTools, path: Path) -> str:
    return open_url(tools, path.resolve().as_uri())


def evaluate(tools: DevTools, session: str, expression: str) -> Any:
    result = tools.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
    if "exceptionDetails" in result:
        raise AssertionError(f"{expression}: {result['exceptionDetails']}")
    return result["result"].get("value")


def problems(tools: DevTools) -> list[str]:
    """Console errors, uncaught exceptions, error log entries (CSP violations...) and network requests."""
    out = []
    for m in tools.events:
        method, params = m.get("method"), m.get("params", {})
        if method == "Runtime.exceptionThrown":
            out.append("uncaught: " + json.dumps(params["exceptionDetails"])[:300])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
            out.append(f"console.{params['type']}: " + json.dumps(params.get("args"))[:300])
        elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
            out.append("log: " + params["entry"].get("text", "")[:300])
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith(("file:", "data:", "about:")):
                out.append("network: " + url)
    return out


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def names_in_dom(tools: DevTools, session: str) -> list[str]:
    names: list[str] = evaluate(
        tools, session, "Array.from(document.querySelectorAll('#field tbody tr td.name'), td => td.textContent)"
    )
    return names


def test_page_in_headless_chromium(browser: DevTools, page: str, field: list[dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / "field.html"
    path.write_text(page, encoding="utf-8")
    session = open_page(browser, path)
    evaluate(browser, session, "new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)))")
    assert problems(browser) == []
    assert evaluate(browser, session, "document.querySelectorAll('#field tbody tr').length") == len(field)
    assert evaluate(browser, session, "document.scripts.length") == 1
    assert names_in_dom(browser, session) == [r["name"] for r in field]
    assert evaluate(browser, session, "document.querySelectorAll('#field tbody svg').length") == 1 + 2 + MAX_PICTURES
    # each runner's findings are folded: the pictures show when the row is opened
    shown = "Array.from(document.querySelectorAll('#field tbody svg'), s => s.checkVisibility())"
    assert set(evaluate(browser, session, shown)) == {False}
    evaluate(browser, session, "document.querySelectorAll('#field tbody details summary').forEach(s => s.click())")
    assert set(evaluate(browser, session, shown)) == {True}
    # the pictures are drawn: their paths have a size
    widths = evaluate(
        browser, session, "Array.from(document.querySelectorAll('#field tbody svg path.path'), p => p.getBBox().height)"
    )
    assert widths and min(widths) > 5

    def click(key: str) -> list[str]:
        evaluate(browser, session, f"document.querySelector('th[data-key=\"{key}\"] button').click()")
        return names_in_dom(browser, session)

    extra = {r["name"]: r["extra_distance_m"] for r in field}
    dist = {r["name"]: r["distance_m"] for r in field}
    n_ok = sum(r["status"] == "ok" for r in field)
    errors = [r["name"] for r in field if r["status"] != "ok"]

    down = [extra[n] for n in click("extra_distance_m")]
    assert down[:n_ok] == sorted(down[:n_ok], reverse=True) and down[n_ok:] == [None] * len(errors)  # worst first
    assert max(down[:n_ok]) > 500  # numerically: "+606" is not below "+95"
    order = click("extra_distance_m")
    up = [extra[n] for n in order]
    assert up[:n_ok] == sorted(up[:n_ok]) and order[n_ok:] == errors  # reversed, blanks still last
    sort_state = "document.querySelector('th[data-key=\"extra_distance_m\"]').getAttribute('aria-sort')"
    assert evaluate(browser, session, sort_state) == "ascending"
    # text sorts the way people read it (localeCompare): Béa before broken
    assert click("name") == sorted((r["name"] for r in field), key=lambda n: strip_accents(n).lower())
    most = [dist[n] for n in click("distance_m")][:n_ok]
    assert most == sorted(most, reverse=True) and len(set(most)) > 2
    assert problems(browser) == []


def test_page_fits_a_1400_px_window_and_error_text_wraps(browser: DevTools, allermuir: Route, tmp_path: Path) -> None:
    sample = check(allermuir, read_track(WRONG_TURN))
    long_error = "the recording never comes within 50 km of the route: is it the right route? " * 3
    rows = [
        row_from_report(sample, file="/home/director/uploads/2025/allermuir-wrong-turn.gpx", name="Ann Long-Name " * 3),
        {**error_row("/home/director/uploads/2025/elsewhere.fit", long_error.strip()), "error_kind": "elsewhere"},
        {**error_row("/home/director/uploads/2025/notes.txt", "not a GPS file"), "error_kind": "not_gps"},
    ]
    page = field_page(rows, allermuir, title="Allermuir 2025: the field", style=Style(tz=zone("Europe/London")))
    assert "/home/director" not in page  # file names relative to the uploads folder
    path = tmp_path / "wide.html"
    path.write_text(page, encoding="utf-8")
    session = open_page(browser, path)
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )
    evaluate(browser, session, "document.querySelectorAll('#field tbody details summary').forEach(s => s.click())")
    evaluate(browser, session, "new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)))")
    assert evaluate(browser, session, "document.documentElement.scrollWidth") <= 1400
    err = "document.querySelector('#field tbody td.err')"
    height = evaluate(browser, session, f"{err}.getBoundingClientRect().height")
    line = evaluate(browser, session, f"parseFloat(getComputedStyle({err}).lineHeight)")
    assert height > 2 * line  # the long reason wraps onto several lines instead of being cut
    assert evaluate(browser, session, f"{err}.scrollWidth <= {err}.clientWidth")
    assert evaluate(browser, session, "document.title") == "Allermuir 2025: the field"
    assert problems(browser) == []


def test_title_counts_and_relative_file_names(allermuir: Route, field: list[dict[str, Any]]) -> None:
    rows = [
        {**field[0], "file": "/srv/up/a/x.gpx"},
        {**error_row("/srv/up/b/notes.txt", "not a GPS file"), "error_kind": "not_gps"},
        {**error_row("/srv/up/b/route.kml", "KML is a route format, not a recording"), "error_kind": "not_a_recording"},
        {**error_row("/srv/up/broken.fit", "file CRC does not match"), "error_kind": "unreadable"},
    ]
    page = field_page(rows, allermuir, title="My race")
    p = parse(page)
    assert "<title>My race</title>" in page and "/srv/up" not in page
    assert [cells[-2] for cells in p.body_rows] == ["a/x.gpx", "b/notes.txt", "b/route.kml", "broken.fit"]
    stats = dict(re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", page))
    assert stats == {"Runners": "2", "Checked": "1", "Errors": "1", "Not recordings": "2", "Duplicates": "0",
                     "Flagged": "1", "Excursions": "1"}  # fmt: skip
    assert p.row_classes == ["flagged", "junk", "junk", "error"]
    assert [cells[2] for cells in p.body_rows] == ["LOST", "NOT A RECORDING", "NOT A RECORDING", "ERROR"]


def test_units_miles_and_local_time_on_the_page(allermuir: Route, field: list[dict[str, Any]]) -> None:
    row = field[0]
    page = field_page([row], allermuir, style=Style(units=Units.MI, tz=zone("Europe/London")))
    cells = parse(page).body_rows[0]
    e = row["excursion_list"][0]
    assert cells[3].startswith(f"mile {e['exit_route_m'] / 1609.344:.2f}")  # where, in miles
    assert cells[5] == f"+{row['extra_distance_m'] / 1609.344:.2f} mi"
    assert "times in Europe/London" in page and cells[11] == "2025-05-17 10:00"
    assert "between" in cells[3] or "after" in cells[3]  # the checkpoints around it


def test_excursion_picture_across_the_antimeridian_is_one_piece() -> None:
    """A detour crossing ±180° (Taveuni, Fiji) is drawn as one short path, not cut or stretched across the world."""
    lon = np.array([179.98, 179.99, 179.995, -179.995, -179.99, -179.98])
    route = Route.from_arrays(lon=lon, lat=np.full(6, -16.8), name="Taveuni")
    coords = [[179.999, -16.8], [179.9995, -16.799], [-179.9995, -16.798], [-179.999, -16.8]]
    e = {"kind": "off_course", "exit_route_m": 2000.0, "rejoin_route_m": 2230.0, "coordinates": coords,
         "exit": coords[0], "rejoin": coords[-1], "extra_distance_m": 100.0, "distance_m": 330.0,
         "time_lost_s": 60.0}  # fmt: skip
    svg = excursion_svg(route, e, 1)
    path = re.search(r'<path class="path off" d="([^"]*)"', svg)
    assert path and path.group(1).count("M") == 1  # one piece
    xs = [float(v) for v in re.findall(r"[ML](-?[\d.]+) ", path.group(1))]
    assert len(xs) == 4 and all(0 <= x <= 120 for x in xs) and max(np.diff(xs)) < 60
    route_d = re.search(r'<path class="route" d="([^"]*)"', svg)
    assert route_d and route_d.group(1).count("M") == 1

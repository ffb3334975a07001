"""The live page in headless Chromium: a wrong turn ingested shows up in the alert feed by itself."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests import test_html
from tests.serve.helpers import CLEAN_LEGS, TOKEN, WRONG_TURN_LEGS, fixes, send_all, serving
from tests.test_html import DevTools, evaluate, open_url

browser = test_html.browser  # the field page tests' chromium fixture, one per module


def wait_until(tools: DevTools, session: str, expression: str, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = evaluate(tools, session, expression)
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def problems(tools: DevTools, origin: str) -> list[str]:
    """Console errors, uncaught exceptions, CSP violations, and requests to anywhere but the server."""
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
            if not url.startswith((origin + "/", "about:", "data:")):
                out.append("network: " + url)
    return out


def test_an_alert_appears_on_the_live_page_after_a_wrong_turn(browser: DevTools, tmp_path: Path) -> None:
    with serving(tmp_path / "race.sqlite") as (c, _):
        origin = str(c.base_url).rstrip("/")
        session = open_url(browser, f"{origin}/live?token={TOKEN}")
        assert wait_until(browser, session, "document.querySelector('#status').textContent.startsWith('live')")
        assert evaluate(browser, session, "location.search") == ""  # the token left the address bar
        assert evaluate(browser, session, "document.querySelectorAll('#map polyline.route').length") == 1
        assert evaluate(browser, session, "document.querySelectorAll('#alerts tbody tr').length") == 0
        send_all(c, "dev-3", fixes(CLEAN_LEGS)[:100])
        send_all(c, "dev-1", fixes(WRONG_TURN_LEGS)[:90])  # off course, not back yet
        row = "document.querySelector('#alerts tbody tr[data-kind=\"off_course\"]')"
        assert wait_until(browser, session, f"{row} !== null"), problems(browser, origin)
        cells = evaluate(browser, session, f"Array.from({row}.cells, td => td.textContent)")
        assert cells[1:4] == ["#101 Ida <b>Nilsson</b>", "off course", "km 1.0"]  # the name is text, not markup
        assert cells[6] == "open" and cells[7] == "Ack"
        assert evaluate(browser, session, "document.querySelectorAll('#alerts b').length") == 0
        # the runners are drawn where they are, coloured by phase
        assert wait_until(browser, session, "document.querySelector('#r-dev-1.off') !== null")
        assert evaluate(browser, session, "document.querySelector('#r-dev-3').getAttribute('class')") == "runner on"
        # acknowledged from the page; then the runner comes back: the row says so
        evaluate(browser, session, f"{row}.querySelector('button').click()")
        assert wait_until(browser, session, f"{row}.cells[7].textContent.startsWith('acked')")
        send_all(c, "dev-1", fixes(WRONG_TURN_LEGS)[90:])
        assert wait_until(browser, session, f"{row}.cells[6].textContent.startsWith('back')")
        assert problems(browser, origin) == []

        session = open_url(browser, f"{origin}/runner/dev-1")  # the cookie is enough now
        assert wait_until(browser, session, "document.querySelector('#status').textContent.includes('excursion')")
        assert evaluate(browser, session, "document.querySelector('#status').textContent").endswith("1 excursions")
        assert evaluate(browser, session, "document.querySelectorAll('#map polyline.excursion').length") == 1
        kinds = evaluate(
            browser, session, "Array.from(document.querySelectorAll('#events tbody tr'), r => r.dataset.kind)"
        )
        assert kinds == ["started", "off_course", "back_on_course", "finished"]
        assert problems(browser, origin) == []

"""The server over HTTP: statuses and reasons, who may do what, duplicates and disorder."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest

from tests.serve.helpers import (
    CLEAN_LEGS,
    TOKEN,
    WRONG_TURN_LEGS,
    auth,
    client,
    events,
    fixes,
    query,
    send_all,
    stored_positions,
)


def kinds_and_times(evs: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(e["kind"], e["epoch_s"]) for e in evs]


def test_one_fix_by_get_and_by_post_form_and_json(tmp_path: Path) -> None:
    f = fixes(CLEAN_LEGS)
    with client(tmp_path / "race.sqlite") as c:
        r = c.get("/", params=query("dev-1", f[0]))
        assert (r.status_code, r.json()) == (200, {"accepted": 1, "duplicates": 0, "ignored": 0})
        r = c.post("/", data=query("dev-1", f[1]))
        assert (r.status_code, r.json()["accepted"]) == (200, 1)
        lines = "\n".join("&".join(f"{k}={v}" for k, v in query("dev-1", x).items()) for x in f[2:5])
        r = c.post("/", content=lines, headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert (r.status_code, r.json()["accepted"]) == (200, 3)
        batch = [{"id": "dev-1", "timestamp": t, "lat": la, "lon": lo} for t, la, lo in f[5:9]]
        r = c.post("/api/positions", json={"positions": batch})
        assert (r.status_code, r.json()["accepted"]) == (200, 4)
        loc = {"timestamp": f[9][0] * 1000, "coords": {"latitude": f[9][1], "longitude": f[9][2]}}
        r = c.post("/", json={"device_id": "dev-1", "location": [loc]})
        assert (r.status_code, r.json()["accepted"]) == (200, 1)
    assert stored_positions(tmp_path / "race.sqlite") == [("dev-1", t) for t, _, _ in f[:10]]


def test_bad_requests_are_400_with_the_reason_and_nothing_is_stored(tmp_path: Path) -> None:
    f = fixes(CLEAN_LEGS)
    with client(tmp_path / "race.sqlite") as c:
        r = c.get("/", params={**query("dev-1", f[0]), "lat": "91"})
        assert (r.status_code, r.text) == (400, "lat: 91 is outside -90..90\n")
        r = c.post("/api/positions", content=b"{oops", headers={"Content-Type": "application/json"})
        assert (r.status_code, r.text) == (400, "body: not valid JSON\n")
        # one bad fix in a batch refuses the whole batch
        batch = [{"id": "dev-1", "timestamp": f[0][0], "lat": f[0][1], "lon": f[0][2]}, {"id": "dev-1"}]
        r = c.post("/api/positions", json=batch)
        assert (r.status_code, r.text) == (400, "lat, lon: missing\n")
        r = c.post("/", content=b"x" * (1 << 20 + 1))
        assert r.status_code == 413
        assert c.get("/", follow_redirects=False).headers["location"] == "/live"  # no fix: the page
    assert stored_positions(tmp_path / "race.sqlite") == []


def test_devices_unknown_keyless_or_with_a_wrong_key_are_refused(tmp_path: Path) -> None:
    f = fixes(CLEAN_LEGS)
    with client(tmp_path / "race.sqlite") as c:
        r = c.get("/", params=query("stranger", f[0]))
        assert (r.status_code, r.text) == (403, "unknown device stranger: not in the runners list\n")
        assert c.get("/", params=query("dev-2", f[0])).status_code == 401  # dev-2 has a key
        assert c.get("/", params=query("dev-2", f[0], key="nope")).status_code == 403
        assert c.get("/", params=query("dev-2", f[0], key="jim-key")).status_code == 200
        # a batch with one unknown device is refused whole
        batch = [
            {"id": "dev-1", "timestamp": f[1][0], "lat": f[1][1], "lon": f[1][2]},
            {"id": "stranger", "timestamp": f[1][0], "lat": f[1][1], "lon": f[1][2]},
        ]
        assert c.post("/api/positions", json=batch).status_code == 403
        # the race-control token lets a bridge post for keyed devices without their keys
        batch = [{"id": "dev-2", "timestamp": f[2][0], "lat": f[2][1], "lon": f[2][2]}]
        assert c.post("/api/positions", json=batch).status_code == 401
        assert (
            c.post("/api/positions", json=batch, headers={"Authorization": "Bearer wrong-token-xx"}).status_code == 403
        )
        assert c.post("/api/positions", json=batch, headers=auth()).status_code == 200
    assert stored_positions(tmp_path / "race.sqlite") == [("dev-2", f[0][0]), ("dev-2", f[2][0])]


def test_race_control_needs_the_token(tmp_path: Path) -> None:
    with client(tmp_path / "race.sqlite") as c:
        for path in ("/live", "/api/runners", "/api/alerts", "/api/route", "/api/stream", "/runner/dev-1"):
            assert c.get(path).status_code == 401, path
            assert c.get(path, headers={"Authorization": "Bearer not-the-token"}).status_code == 403, path
        assert c.post("/api/alerts/1/ack").status_code == 401
        # who is registered is not told without the token either
        assert c.get("/runner/nobody").status_code == c.get("/api/runners/nobody").status_code == 401
        assert c.get("/runner/nobody", headers=auth()).status_code == 404
        assert c.get("/api/runners", headers=auth()).json() == []
        assert c.get("/healthz").text == "ok\n"


def test_the_page_takes_the_token_once_then_a_cookie(tmp_path: Path) -> None:
    with client(tmp_path / "race.sqlite") as c:
        r = c.get("/live", params={"token": "wrong-token-123"}, follow_redirects=False)
        assert r.status_code == 403 and "offcourse_session" not in r.headers.get("set-cookie", "")
        r = c.get("/live", params={"token": TOKEN}, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/live")  # the token leaves the address bar
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN not in cookie
        page = c.get("/live")
        assert page.status_code == 200 and "default-src 'none'" in page.headers["content-security-policy"]
        assert c.get("/api/runners").status_code == 200
        # acknowledging from a cookie needs the page's header (a cross-site form cannot send it)
        assert c.post("/api/alerts/1/ack").status_code == 403
        assert c.post("/api/alerts/1/ack", headers={"X-Offcourse": "1"}).status_code == 404  # no such alert


def test_alerts_are_listed_and_acknowledged(tmp_path: Path) -> None:
    with client(tmp_path / "race.sqlite") as c:
        send_all(c, "dev-1", fixes(WRONG_TURN_LEGS))
        send_all(c, "dev-3", fixes(CLEAN_LEGS))
        alerts = c.get("/api/alerts", headers=auth()).json()
        assert [(a["device"], a["name"], a["kind"], a["acked_s"] is None) for a in alerts] == [
            ("dev-1", "Ida <b>Nilsson</b>", "off_course", True)
        ]
        assert alerts[0]["resolved_s"] is not None  # the runner came back
        assert 70 < alerts[0]["data"]["offset_m"] < 100
        r = c.post(f"/api/alerts/{alerts[0]['id']}/ack", headers=auth())
        assert r.status_code == 200
        assert c.get("/api/alerts", headers=auth()).json()[0]["acked_s"] == r.json()["acked_s"]
        runners = {r["device"]: r for r in c.get("/api/runners", headers=auth()).json()}
        assert {d: r["phase"] for d, r in runners.items()} == {"dev-1": "finished", "dev-3": "finished"}
        assert runners["dev-3"]["x"] == pytest.approx(3000, abs=1)


def test_a_device_over_its_rate_gets_429(tmp_path: Path) -> None:
    f = fixes(CLEAN_LEGS)
    with client(tmp_path / "race.sqlite", rate_per_s=0.001, burst_fixes=30) as c:
        statuses = [c.get("/", params=query("dev-1", x)).status_code for x in f[:35]]
        assert statuses == [200] * 30 + [429] * 5  # the burst, then refused
        assert c.get("/", params=query("dev-3", f[0])).status_code == 200  # the others are not held up


def test_duplicates_are_stored_once_and_change_nothing(tmp_path: Path) -> None:
    f = fixes(WRONG_TURN_LEGS)
    with client(tmp_path / "once.sqlite") as c:
        send_all(c, "dev-1", f)
        once = events(c, "dev-1")
    with client(tmp_path / "twice.sqlite") as c:
        for x in f:
            assert c.get("/", params=query("dev-1", x)).json()["accepted"] == 1
            assert c.get("/", params=query("dev-1", x)).json() == {"accepted": 0, "duplicates": 1, "ignored": 0}
        twice = events(c, "dev-1")
    assert kinds_and_times(twice) == kinds_and_times(once)
    assert stored_positions(tmp_path / "twice.sqlite") == stored_positions(tmp_path / "once.sqlite")


def test_a_shuffled_batch_gives_the_events_of_the_ordered_fixes(tmp_path: Path) -> None:
    f = fixes(WRONG_TURN_LEGS)
    with client(tmp_path / "ordered.sqlite") as c:
        send_all(c, "dev-1", f)
        ordered = events(c, "dev-1")
    shuffled = f[::2] + f[1::2]
    batch = [{"id": "dev-1", "timestamp": t, "lat": la, "lon": lo} for t, la, lo in shuffled]
    with client(tmp_path / "batch.sqlite") as c:
        r = c.post("/api/positions", json=batch)
        assert r.json() == {"accepted": len(f), "duplicates": 0, "ignored": 0}
        assert kinds_and_times(events(c, "dev-1")) == kinds_and_times(ordered)


def test_a_late_fix_is_stored_but_the_engine_ignores_it(tmp_path: Path) -> None:
    f = fixes(CLEAN_LEGS)
    with client(tmp_path / "race.sqlite") as c:
        send_all(c, "dev-1", f[:10])
        r = c.get("/", params=query("dev-1", (f[9][0] - 2.5, f[9][1], f[9][2])))
        assert r.json() == {"accepted": 1, "duplicates": 0, "ignored": 1}
        [runner] = c.get("/api/runners", headers=auth()).json()
        assert (runner["fixes"], runner["ignored"], runner["epoch_s"]) == (11, 1, f[9][0])  # still the latest
    assert len(stored_positions(tmp_path / "race.sqlite")) == 11


def test_a_database_of_another_route_is_refused(tmp_path: Path) -> None:
    from offcourse.serve.store import Store, StoreError

    Store(tmp_path / "race.sqlite", "fingerprint-of-another-route").close()
    with pytest.raises(StoreError, match=r"race\.sqlite: this database was made for another route"):
        Store(tmp_path / "race.sqlite", "mine")
    (tmp_path / "text.sqlite").write_text("not a database at all, just some text " * 100)
    with pytest.raises(StoreError, match="not a usable SQLite database"):
        Store(tmp_path / "text.sqlite", "mine")


def test_no_secret_in_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    f = fixes(CLEAN_LEGS)
    caplog.set_level(logging.DEBUG)
    with client(tmp_path / "race.sqlite") as c:
        c.get("/", params=query("dev-2", f[0], key="wrong-key-value"))
        c.get("/", params=query("dev-2", f[0], key="jim-key"))
        c.get("/live", params={"token": TOKEN})
        c.get("/api/runners", params={"token": "bad-token-value"})
    # the server's own log lines (the test's client logs its requests, secrets included, in its own)
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("offcourse", "uvicorn")))
    assert "wrong key for device dev-2" in text
    for secret in ("jim-key", "wrong-key-value", TOKEN, "bad-token-value"):
        assert secret not in text
    with sqlite3.connect(tmp_path / "race.sqlite") as con:
        dump = json.dumps(list(con.iterdump()))
    assert "jim-key" not in dump and TOKEN not in dump


def test_the_session_cookie_is_secure_when_the_page_came_over_https(tmp_path: Path) -> None:
    with client(tmp_path / "race.sqlite") as c:
        plain = c.get("/live", params={"token": TOKEN}, follow_redirects=False).headers["set-cookie"]
        # a TLS proxy on this machine (a trusted address) says the browser used https
        tls = c.get("/live", params={"token": TOKEN}, headers={"X-Forwarded-Proto": "https"}, follow_redirects=False)
    assert "secure" not in plain.lower()
    assert "; secure" in tls.headers["set-cookie"].lower() and "httponly" in tls.headers["set-cookie"].lower()

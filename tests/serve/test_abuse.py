"""Refused requests cost the server little and are limited per client address; rates count fixes."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

import offcourse.serve.app as app_module
from tests.serve.helpers import CLEAN_LEGS, auth, client, fixes, query, stored_positions


def test_an_unknown_device_is_refused_before_its_body_is_parsed(tmp_path: Path) -> None:
    f = fixes(CLEAN_LEGS)
    with client(tmp_path / "race.sqlite") as c:
        # the query's id is checked first: the (malformed) body is never parsed
        r = c.post("/", params={"id": "stranger"}, content=b'[{"id": "stranger", "lat": ')
        assert (r.status_code, r.text) == (403, "unknown device stranger: not in the runners list\n")
        # no id in the query: the body's first id is read before the whole body is parsed
        r = c.post("/api/positions", content=b'{"positions": [{"id": "stranger", "lat": 1.0}, nonsense')
        assert r.status_code == 403
        r = c.post("/", content=b"id=w%3A9&lat=1&lon=2\nnot a form line at all")
        assert (r.status_code, r.text) == (403, "unknown device w:9: not in the runners list\n")
        # a registered first id goes on to the full parse (and its answer)
        r = c.post("/api/positions", content=b'{"positions": [{"id": "dev-1", "lat": 1.0}, nonsense')
        assert r.status_code == 400
        assert c.get("/", params=query("dev-1", f[0])).status_code == 200


def test_refused_requests_are_limited_per_address_and_stop_key_guessing(tmp_path: Path) -> None:
    f = fixes(CLEAN_LEGS)
    with client(tmp_path / "race.sqlite", refusals_per_s=1e-6, refusal_burst=3) as c:
        statuses = [c.get("/", params=query("stranger", f[0])).status_code for _ in range(3)]
        assert statuses == [403, 403, 403]
        assert c.get("/", params=query("stranger", f[0])).status_code == 429
        # no more key comparisons from this address: even the right key is not tried
        assert c.get("/", params=query("dev-2", f[1], key="jim-key")).status_code == 429
        assert c.get("/api/runners", headers=auth()).status_code == 429  # nor the token
        # a registered device without a key is not held up by its neighbours' refusals
        assert c.get("/", params=query("dev-1", f[1])).status_code == 200
    assert stored_positions(tmp_path / "race.sqlite") == [("dev-1", f[1][0])]


def test_a_large_body_is_parsed_off_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real = app_module.parse_json

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(app_module, "parse_json", spy)
    f = fixes(CLEAN_LEGS, step_s=1.0)[:400]
    small = [{"id": "dev-1", "timestamp": t, "lat": la, "lon": lo} for t, la, lo in f[:2]]
    large = [{"id": "dev-3", "timestamp": t, "lat": la, "lon": lo} for t, la, lo in f]
    assert len(json.dumps(large)) > app_module.INLINE_PARSE_BYTES > len(json.dumps(small))
    with client(tmp_path / "race.sqlite") as c:
        assert c.post("/api/positions", json=small).status_code == 200
        assert c.post("/api/positions", json=large).status_code == 200
    assert [name.startswith("offcourse-parse") for name in seen] == [False, True]


def test_the_device_rate_counts_fixes_not_requests(tmp_path: Path) -> None:
    f = fixes(CLEAN_LEGS)
    batch = [{"id": "dev-1", "timestamp": t, "lat": la, "lon": lo} for t, la, lo in f[:60]]
    with client(tmp_path / "race.sqlite", rate_per_s=1e-6, burst_fixes=30) as c:
        assert c.post("/api/positions", json=batch[:20]).status_code == 200  # 20 of 30
        r = c.post("/api/positions", json=batch[20:40])  # 20 more: only 10 left
        assert r.status_code == 429 and "too many fixes" in r.text
        assert [c.get("/", params=query("dev-1", x)).status_code for x in f[40:51]] == [200] * 10 + [429]
        # a bridge with the token is not limited; another device has its own bucket
        assert c.post("/api/positions", json=batch[51:60], headers=auth()).status_code == 200
        assert c.get("/", params=query("dev-3", f[0])).status_code == 200
    assert len(stored_positions(tmp_path / "race.sqlite")) == 20 + 10 + 9 + 1


def test_a_backlog_larger_than_the_burst_passes_from_a_full_bucket(tmp_path: Path) -> None:
    f = fixes(CLEAN_LEGS)
    batch = [{"id": "dev-1", "timestamp": t, "lat": la, "lon": lo} for t, la, lo in f[:50]]
    with client(tmp_path / "race.sqlite", rate_per_s=1e-6, burst_fixes=30) as c:
        assert c.post("/api/positions", json=batch[:40]).status_code == 200  # full bucket: into debt
        assert c.get("/", params=query("dev-1", f[45])).status_code == 429  # then nothing until repaid


def test_a_fix_from_the_future_gets_400_with_the_reason(tmp_path: Path) -> None:
    import time

    f = fixes(CLEAN_LEGS)
    ahead = (time.time() + 3600, f[0][1], f[0][2])
    with client(tmp_path / "race.sqlite") as c:
        r = c.get("/", params=query("dev-1", ahead))
        assert r.status_code == 400 and "s ahead of the server's clock (at most 600 s)" in r.text
    with client(tmp_path / "race.sqlite", max_ahead_s=7200) as c:
        assert c.get("/", params=query("dev-1", ahead)).status_code == 200

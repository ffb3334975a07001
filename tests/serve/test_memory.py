"""Memory held by the server stays at its bounds however long the race: structure sizes, not RSS.

(The benchmark, ``bench/bench_serve.py``, measures the server's RSS over a run.)
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from offcourse.detect.options import RING_SIZE
from offcourse.detect.state import route_fingerprint
from offcourse.serve import auth, events
from offcourse.serve import store as store_module
from offcourse.serve.auth import RateLimiter
from offcourse.serve.events import MAX_QUEUE_BYTES, Broadcaster, sse
from offcourse.serve.field import IDLE_S, Field
from offcourse.serve.ingest import Position
from offcourse.serve.store import Store
from tests.serve.helpers import CLEAN_LEGS, ROUTE, RUNNERS, WRONG_TURN_LEGS, fixes


def _sizes(field: Field) -> dict[str, object]:
    """What the field holds in memory, runner by runner (the engine's own structures included)."""
    return {
        "monitors": sorted(field._live),
        "ring": [len(live.monitor._st.ring) for live in field._live.values()],
        "covered": [len(live.monitor._st.covered) for live in field._live.values()],
        "ignored_reasons": [len(live.monitor._st.ignored_by_reason) for live in field._live.values()],
    }


def test_a_field_holds_the_same_however_many_fixes_past_its_bounds(tmp_path: Path) -> None:
    field = Field(ROUTE, Store(tmp_path / "race.sqlite", route_fingerprint(ROUTE)), RUNNERS)
    track = fixes(CLEAN_LEGS, step_s=1.0)[: 3 * RING_SIZE]  # 720 fixes along 2.2 km of the 3 km route
    at_bound = None
    for k, (t, lat, lon) in enumerate(track, start=1):
        out = field.ingest([Position(device, t, lat, lon, 5.0) for device in RUNNERS], t)
        assert out.accepted == len(RUNNERS)
        if k == RING_SIZE:
            at_bound = _sizes(field)
    # the engine keeps RING_SIZE recent fixes a runner; nothing else grows with the fixes
    assert at_bound == {
        "monitors": sorted(RUNNERS), "ring": [RING_SIZE] * 3, "covered": [0] * 3, "ignored_reasons": [6] * 3
    }  # fmt: skip
    assert _sizes(field) == at_bound
    assert field.store.count_positions() == 3 * len(track)


def _events(field: Field) -> list[tuple[object, ...]]:
    return [(e["device"], e["seq"], e["kind"], e["epoch_s"], e["data"]) for e in field.store.events(limit=10_000)]


def test_idle_runners_leave_memory_and_come_back_with_the_same_events(tmp_path: Path) -> None:
    track = fixes(WRONG_TURN_LEGS)  # 253 fixes, 5 s apart; off course from about the 75th
    fields = [Field(ROUTE, Store(tmp_path / f"{name}.sqlite", route_fingerprint(ROUTE)), RUNNERS) for name in "ab"]
    forgotten = []
    for k, (t, lat, lon) in enumerate(track):
        for field in fields:
            # dev-1 sends every fix; dev-3 until the 40th and again from the 100th
            sending = ["dev-1"] if 40 <= k < 100 else ["dev-1", "dev-3"]
            out = field.ingest([Position(device, t, lat, lon, 5.0) for device in sending], t)
            assert out.accepted == (1 if 40 <= k < 100 else 2)
        if k in (60, 80):  # dev-3 silent for 106 s, then 206 s
            forgotten.append((fields[1].forget_idle(t + 1, idle_s=120.0), fields[1].live_runners))
        if k == 85:  # dev-1 too, mid-excursion (off course since about the 75th fix)
            forgotten.append((fields[1].forget_idle(t, idle_s=0.0), fields[1].live_runners))
    assert forgotten == [(0, 2), (1, 1), (1, 0)]  # dev-3 left at the 80th fix, dev-1 at the 85th
    assert fields[1].forget_idle(track[-1][0] + IDLE_S) == 2  # the default: half an hour
    assert fields[1].live_runners == 0
    assert fields[1].replayed == 0  # its state was saved when it left: nothing to push again
    kinds = [e[2] for e in _events(fields[0])]
    assert kinds.count("off_course") == 2 and kinds.count("back_on_course") == 2
    assert _events(fields[1]) == _events(fields[0])
    assert fields[1].store.runners() == fields[0].store.runners()


def test_a_stream_that_does_not_read_is_dropped_at_its_byte_bound_and_its_queue_freed() -> None:
    async def run() -> tuple[list[int], int, int, list[bytes]]:
        async def no_views(devices: list[str]) -> bytes:
            return b""

        b = Broadcaster(no_views)
        asleep = b.stream()  # a laptop asleep: never read
        awake = b.stream()
        await awake.__anext__()  # the first message (retry: and hello)
        message = sse("runners", [{"device": f"r{k:05d}", "x": 1234567.8, "y": 7654321.0} for k in range(7000)])
        got, held = [], []
        for _ in range(3 * MAX_QUEUE_BYTES // len(message)):
            b.publish_bytes(message)
            got.append(await awake.__anext__())
            held.append(b.queued[1])  # the sleeper's queue (the reader's is empty again)
        subscribers = b.subscribers
        assert (await asleep.__anext__()).startswith(b"retry:")
        async for _ in asleep:  # the dropped stream ends at once: its queue holds nothing more
            pytest.fail("a dropped stream got a message")
        return held, subscribers, b.queued[1], got

    held, subscribers, after, got = asyncio.run(run())
    assert 300_000 < len(got[0]) < MAX_QUEUE_BYTES // 10
    assert max(held) <= MAX_QUEUE_BYTES
    assert max(held) > MAX_QUEUE_BYTES - len(got[0])  # it filled up to the bound
    assert held[-1] == 0  # then the sleeper was dropped
    assert subscribers == 1
    assert after == 0
    assert len(got) == 3 * MAX_QUEUE_BYTES // len(got[0])  # the reader got every message


def test_a_stream_is_dropped_at_its_message_bound_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "MAX_QUEUE", 5)

    async def run() -> list[tuple[int, int]]:
        async def no_views(devices: list[str]) -> bytes:
            return b""

        b = Broadcaster(no_views)
        b.stream()
        seen = []
        for k in range(8):
            b.publish("ack", {"id": k})
            seen.append((b.subscribers, b.queued[0]))
        return seen

    seen = asyncio.run(run())
    assert seen == [(1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (0, 0), (0, 0), (0, 0)]


def test_rate_limit_buckets_stay_at_their_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "MAX_BUCKETS", 50)
    r = RateLimiter(rate_per_s=1.0, burst=2.0)
    sizes = []
    for k in range(300):
        assert r.allow(f"10.0.{k // 256}.{k % 256}", now_s=k * 0.001)
        sizes.append(len(r._buckets))
    assert max(sizes) == 50
    assert sizes[:50] == list(range(1, 51))


def test_the_write_ahead_log_starts_again_and_is_cut_back_once_checkpointed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "WAL_RESET_BYTES", 64 << 10)
    store = Store(tmp_path / "race.sqlite", route_fingerprint(ROUTE))

    def write(n: int, start: int) -> None:
        for k in range(start, start + n):
            with store.transaction():
                store.add_position("dev-1", 1e9 + k, 46.0, 7.0, 5.0, 0.0, 3.0, 1e9 + k)

    write(300, 0)
    grown = store.wal_bytes()
    assert grown > 4 * (64 << 10)  # no checkpoint yet: every commit appended to the log
    store.checkpoint()  # with no write meanwhile: all of it copied
    write(1, 300)  # this commit starts the log again, and cuts the file back
    assert 0 < store.wal_bytes() <= 64 << 10
    write(300, 301)
    assert store.wal_bytes() > 4 * (64 << 10)  # the log grows again until the next checkpoint
    assert store.count_positions() == 601

"""The field: one :class:`~offcourse.detect.Monitor` per runner, kept in step with the store.

Every request is one transaction (:meth:`Field.ingest`): its fixes are stored, pushed to their
runners' monitors in the order stored, and the events they raise stored with them. Every
:data:`SNAPSHOT_EVERY` fixes a runner's engine state is saved in the same transaction.

After a restart nothing is loaded up front: a runner's monitor is rebuilt the first time it is
needed, from its last snapshot and the fixes stored after it, pushed again in the same order. A
runner who sent nothing for :data:`IDLE_S` (finished, dropped out, tracker off) has its state saved
and its monitor dropped from memory (:meth:`Field.forget_idle`), rebuilt the same way if it sends
again: memory holds the runners still sending, not every runner seen.
The engine is deterministic, so the rebuilt monitor is the one that was lost, and the events the
replayed fixes raise are already stored (they are recognised by the fix that raised them and not
stored or sent twice).

Duplicates and disorder:

- a fix with the time of one already stored for that device (a tracker retrying a request whose
  answer it lost) is not stored again and not pushed;
- the fixes of one request are taken in time order, runner by runner;
- a fix older than the runner's last one (a tracker sending its backlog after a dead zone while
  newer fixes got through) is stored, and the engine ignores it (it counts it as ``out_of_order``):
  live alerts follow the fixes as they came; the field report at the end
  (:mod:`offcourse.serve.report`) reads every stored fix in time order.

Not thread-safe: one thread (the server's worker) calls it.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..detect import BackOnCourse, Event, Fix, Monitor, Options, WrongDirectionEnd
from ..detect.state import route_fingerprint
from ..match import RouteIndex
from ..model import Route
from .auth import Runner
from .ingest import Position
from .store import Store

__all__ = ["ALERT_KINDS", "IDLE_S", "SNAPSHOT_EVERY", "Field", "Outcome"]

ALERT_KINDS = frozenset({"off_course", "wrong_direction", "skipped_section", "never_rejoined"})
"""The events race control must see (the others are shown on the runner's page)."""
SNAPSHOT_EVERY = 120
"""Fixes between two saved engine states of a runner (10 min at one fix every 5 s): a restart
replays at most that many fixes per runner, and saving (a few milliseconds) stays rare."""
IDLE_S = 1800.0
"""Seconds without a fix (by the server's clock) after which a runner's monitor leaves memory (its
state saved first): each holds up to ~70 kB (the engine's last 240 fixes, ``RING_SIZE``)."""
ROUTE_POINTS_SHOWN = 4000
"""Most route vertices sent to the page (the route is thinned evenly beyond)."""
_RESOLVES = {BackOnCourse: "off_course", WrongDirectionEnd: "wrong_direction"}


@dataclass
class Outcome:
    """What one request did: counts, and what the pages must be told."""

    accepted: int = 0
    duplicates: int = 0
    ignored: int = 0
    """Stored, but ignored by the engine (older than the runner's last fix, a spike...)."""
    events: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    runners: list[str] = field(default_factory=list)
    """The devices whose figures changed."""

    def counts(self) -> dict[str, int]:
        """The answer to the tracker."""
        return {"accepted": self.accepted, "duplicates": self.duplicates, "ignored": self.ignored}


@dataclass
class _Live:
    monitor: Monitor
    fixes: int
    last_seq: int
    since_snapshot: int
    snapshot_after: int
    """Fixes before the next snapshot: staggered by device for the first one (runners who start
    together do not all save their state on the same fix: 2-3 ms each), then SNAPSHOT_EVERY."""
    last: tuple[float, float, float] = (math.nan, math.nan, math.nan)  # epoch_s, lat, lon of the latest fix
    received_s: float = math.nan
    """When the server last received a fix of the runner (its clock)."""


def _round(x: float | None, digits: int = 1) -> float | None:
    return round(x, digits) if x is not None and math.isfinite(x) else None


class Field:
    """Every runner's engine over one store.

    Parameters
    ----------
    route : Route
    store : Store
    runners : mapping of device id to Runner
        The registered devices (for names and bibs).
    options : Options, optional
        For runners seen for the first time (a restored runner keeps the options it was saved with).
    """

    def __init__(self, route: Route, store: Store, runners: Mapping[str, Runner], options: Options | None = None):
        self.route = route
        self.store = store
        self.runners = dict(runners)
        self.options = options or Options()
        self.index = RouteIndex(route)
        self.fingerprint = route_fingerprint(route)
        self._live: dict[str, _Live] = {}
        self.replayed = 0
        """Fixes pushed again to rebuild monitors after a restart."""

    # -- the engines --------------------------------------------------------------------------------
    def _monitor(self, device: str) -> _Live:
        live = self._live.get(device)
        if live is not None:
            return live
        state, state_seq = self.store.snapshot(device)
        if state is None:
            monitor = Monitor(self.route, self.options, index=self.index)
        else:
            monitor = Monitor.restore(self.route, state, index=self.index)
        live = _Live(
            monitor, 0, state_seq, 0, SNAPSHOT_EVERY // 2 + zlib.crc32(device.encode()) % (SNAPSHOT_EVERY // 2 + 1)
        )
        for seq, t, lat, lon, hacc, ele in self.store.positions_after(device, state_seq):
            self._push(live, device, seq, Fix(t, lon, lat, ele_m=ele, hacc_m=hacc), None)
            self.replayed += 1
        row = self.store.runner(device) if state is not None else None
        if row is not None:
            live.fixes = int(row["fixes"])
            live.last = (row["epoch_s"] or math.nan, row["lat"] or math.nan, row["lon"] or math.nan)
        return live

    def _push(self, live: _Live, device: str, seq: int, fix: Fix, out: Outcome | None) -> None:
        """One stored fix into its monitor; its events stored (a replay stores nothing new)."""
        before = live.monitor.ignored_fixes
        events = live.monitor.push(fix)
        live.last_seq = seq
        live.since_snapshot += 1
        live.fixes += 1
        t = float(fix.epoch_s)  # type: ignore[arg-type]
        if not t <= live.last[0]:
            live.last = (t, fix.lat, fix.lon)
        if out is not None and live.monitor.ignored_fixes > before:
            out.ignored += 1
        for n, event in enumerate(events):
            row = self._store_event(device, seq, n, event)
            if row is not None and out is not None:
                out.events.append(row)
            kind = _RESOLVES.get(type(event))
            if kind is not None:
                self.store.resolve(device, kind, event.epoch_s)
                if out is not None:
                    out.resolved.append({"device": device, "kind": kind, "resolved_s": event.epoch_s})

    def _store_event(self, device: str, seq: int, n: int, event: Event) -> dict[str, Any] | None:
        data = {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in event.to_dict().items()}
        text = json.dumps(data, allow_nan=False)
        alert = event.kind.value in ALERT_KINDS
        event_id = self.store.add_event(device, seq, n, event.kind.value, event.epoch_s, text, alert)
        if event_id is None:
            return None
        return {
            "id": event_id, "device": device, "seq": seq, "kind": event.kind.value, "epoch_s": event.epoch_s,
            "data": data, "alert": alert, "acked_s": None, "resolved_s": None, **self.who(device),
        }  # fmt: skip

    def ingest(self, positions: list[Position], received_s: float) -> Outcome:
        """Store and push one request's fixes, in one transaction; what it did."""
        return self.ingest_many([positions], received_s)[0]

    def ingest_many(self, requests: list[list[Position]], received_s: float) -> list[Outcome]:
        """:meth:`ingest` for several requests in one transaction (a group commit); what each did.

        Each request's fixes are taken in time order, runner by runner, and the requests in the
        order given. On any error the transaction is rolled back and the runners it touched are
        rebuilt from the store when next needed: memory never runs ahead of the database.
        """
        outcomes = [Outcome() for _ in requests]
        touched: dict[str, _Live] = {}
        try:
            with self.store.transaction():
                for out, positions in zip(outcomes, requests, strict=True):
                    self._ingest_one(positions, received_s, out, touched)
                for device, live in touched.items():
                    self._save(device, live)
        except BaseException:
            for device in touched:
                self._live.pop(device, None)
            raise
        self._live.update(touched)
        return outcomes

    def _ingest_one(
        self, positions: list[Position], received_s: float, out: Outcome, touched: dict[str, _Live]
    ) -> None:
        for p in sorted(positions, key=lambda p: (p.device, p.epoch_s)):
            live = touched.get(p.device) or self._monitor(p.device)  # rebuilt before this fix is stored
            touched[p.device] = live
            live.received_s = received_s
            seq = self.store.add_position(p.device, p.epoch_s, p.lat, p.lon, p.hacc_m, p.ele_m, p.speed_mps, received_s)
            if seq is None:
                out.duplicates += 1
                continue
            out.accepted += 1
            self._push(live, p.device, seq, Fix(p.epoch_s, p.lon, p.lat, ele_m=p.ele_m, hacc_m=p.hacc_m), out)
        out.runners = sorted({p.device for p in positions})

    def _save(self, device: str, live: _Live, *, snapshot: bool = False) -> None:
        state = None
        if snapshot or live.since_snapshot >= live.snapshot_after:
            state = live.monitor.state()
            live.since_snapshot = 0
            live.snapshot_after = SNAPSHOT_EVERY
        self.store.save_runner(self._figures(device, live), state, live.last_seq if state is not None else 0)

    def _figures(self, device: str, live: _Live) -> dict[str, Any]:
        m = live.monitor
        t, lat, lon = live.last
        return {
            "device": device, "fixes": live.fixes, "last_seq": live.last_seq, "epoch_s": t, "lat": lat, "lon": lon,
            "phase": m.phase, "route_m": m.route_m, "offset_m": m.offset_m, "ignored": m.ignored_fixes,
        }  # fmt: skip

    def save_all(self) -> None:
        """Save every live runner's engine state (on a clean shutdown: a fast restart)."""
        with self.store.transaction():
            for device, live in self._live.items():
                if live.since_snapshot:
                    self._save(device, live, snapshot=True)

    def forget_idle(self, now_s: float, idle_s: float = IDLE_S) -> int:
        """Drop from memory the monitors of the runners who sent nothing for ``idle_s`` seconds.

        Their states are saved first (one transaction); a runner who sends again is rebuilt from
        it with nothing to replay, and raises the events it would have raised. Returns how many
        monitors were dropped.
        """
        idle = [d for d, live in self._live.items() if not now_s - live.received_s < idle_s]
        if not idle:
            return 0
        with self.store.transaction():
            for device in idle:
                live = self._live[device]
                if live.since_snapshot:
                    self._save(device, live, snapshot=True)
        for device in idle:
            del self._live[device]
        return len(idle)

    @property
    def live_runners(self) -> int:
        """How many monitors are in memory."""
        return len(self._live)

    # -- what the pages see ------------------------------------------------------------------------
    def who(self, device: str) -> dict[str, str]:
        """Device, bib and name of a device (blank bib and name when not registered)."""
        runner = self.runners.get(device)
        return runner.public() if runner is not None else {"device": device, "bib": "", "name": ""}

    def _rows_to_views(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Runner rows as the pages show them, page coordinates projected all at once."""
        lat = np.array([np.nan if r["lat"] is None else r["lat"] for r in rows], dtype=float)
        lon = np.array([np.nan if r["lon"] is None else r["lon"] for r in rows], dtype=float)
        ok = np.isfinite(lat) & np.isfinite(lon)
        x = np.full(len(rows), np.nan)
        y = np.full(len(rows), np.nan)
        if ok.any():
            x[ok], y[ok] = self.route.projection.forward(lon[ok], lat[ok])
        out = []
        for i, row in enumerate(rows):
            view = {**self.who(row["device"]), **{k: row[k] for k in ("fixes", "phase", "ignored")}}
            for k in ("epoch_s", "lat", "lon", "route_m", "offset_m"):
                v = row[k]
                view[k] = _round(v, 6 if k in ("lat", "lon") else 1) if isinstance(v, float) else None
            view["x"], view["y"] = _round(float(x[i])), _round(float(y[i]))
            out.append(view)
        return out

    def views(self, devices: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Runners as the pages show them: who, where, engine figures, page coordinates.

        Every runner seen, or those of ``devices``; live figures where the monitor is in memory,
        else the stored ones.
        """
        if devices is None:
            rows = [self._figures(r["device"], self._live[r["device"]]) if r["device"] in self._live else r
                    for r in self.store.runners()]  # fmt: skip
        else:
            rows = []
            for device in devices:
                row = self._figures(device, self._live[device]) if device in self._live else self.store.runner(device)
                if row is not None:
                    rows.append(row)
        return self._rows_to_views(rows)

    def track(self, device: str, limit: int = 20_000) -> dict[str, Any]:
        """A runner's fixes (time order, the latest ``limit``) with page coordinates, and their events."""
        rows = self.store.track(device, limit)
        if rows:
            a = np.array(rows, dtype=float)
            x, y = self.route.projection.forward(a[:, 2], a[:, 1])
            xy = np.round(np.column_stack([x, y]), 1).tolist()
        else:
            xy = []
        return {
            **self.who(device),
            "epoch_s": [r[0] for r in rows],
            "xy": xy,
            "events": self.store.events(device=device, limit=1000),
        }

    def route_view(self) -> dict[str, Any]:
        """The route for the page: thinned vertices in metres, checkpoints, length, bounds."""
        r = self.route
        step = max(1, math.ceil(len(r.x) / ROUTE_POINTS_SHOWN))
        keep = np.unique(np.append(np.arange(0, len(r.x), step), len(r.x) - 1))
        return {
            "name": r.name,
            "length_m": round(r.length_m, 1),
            "xy": np.round(np.column_stack([r.x[keep], r.y[keep]]), 1).tolist(),
            "checkpoints": [
                {"name": c.name, "route_m": round(c.route_m, 1), "xy": [_round(float(v[0])) for v in xy]}
                for c in r.checkpoints
                for xy in [r.projection.forward(np.array([c.lon]), np.array([c.lat]))]
            ],
        }

"""The race in one SQLite file (WAL): positions, engine snapshots, events and their acknowledgements.

Tables:

``positions``
    Every fix received, once: ``seq`` (the order of arrival, which is also the order the engine saw
    them), ``device``, ``epoch_s``, ``lat``, ``lon``, ``hacc_m``, ``ele_m``, ``speed_mps``,
    ``received_s``. A second fix of a device with the same time is a duplicate and is not stored.
``runners``
    One row per device seen: its last position and engine figures (for the pages), and a snapshot of
    its :meth:`~offcourse.detect.Monitor.state` with ``state_seq``, the last position it includes.
``events``
    Every engine event with ``(device, seq, n)``: the fix that raised it and its rank among that
    fix's events, so that replaying a fix never stores its events twice. ``alert`` marks the events
    race control must see; ``acked_s``, ``resolved_s`` (the runner came back) and ``hook_s`` (the
    webhook took it) record what happened to them.
``meta``
    The route's fingerprint: a database is used with its own route only.

The caller makes one transaction of each request (:meth:`Store.transaction`): the positions, the
events they raise and the snapshots are committed together or not at all, so that an acknowledged
position is never lost and the engine state always matches the positions stored.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import OffcourseError

__all__ = ["SCHEMA_VERSION", "WAL_RESET_BYTES", "Store", "StoreError"]

SCHEMA_VERSION = "1"
BUSY_TIMEOUT_S = 10.0
WAL_RESET_BYTES = 64 << 20
"""The write-ahead log's file is cut back to this size when the log starts again from its beginning
(SQLite's ``journal_size_limit``), and the server makes it start again once it is larger (see
:meth:`offcourse.serve.app.Server._checkpoints`): at 400 fixes a second it grows by ~3 MB a second."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
    seq INTEGER PRIMARY KEY, device TEXT NOT NULL, epoch_s REAL NOT NULL,
    lat REAL NOT NULL, lon REAL NOT NULL, hacc_m REAL, ele_m REAL, speed_mps REAL,
    received_s REAL NOT NULL, UNIQUE (device, epoch_s));
CREATE TABLE IF NOT EXISTS runners (
    device TEXT PRIMARY KEY, fixes INTEGER NOT NULL, last_seq INTEGER NOT NULL,
    epoch_s REAL, lat REAL, lon REAL, phase TEXT, route_m REAL, offset_m REAL, ignored INTEGER,
    state TEXT, state_seq INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, device TEXT NOT NULL, seq INTEGER NOT NULL, n INTEGER NOT NULL,
    kind TEXT NOT NULL, epoch_s REAL NOT NULL, data TEXT NOT NULL, alert INTEGER NOT NULL,
    acked_s REAL, resolved_s REAL, hook_s REAL, UNIQUE (device, seq, n));
CREATE INDEX IF NOT EXISTS alerts_by_time ON events (alert, id);
"""

RUNNER_COLUMNS = ("device", "fixes", "last_seq", "epoch_s", "lat", "lon", "phase", "route_m", "offset_m", "ignored")
_UPSERT = (
    f"INSERT INTO runners ({', '.join(RUNNER_COLUMNS)}{{cols}}) VALUES ({', '.join('?' * len(RUNNER_COLUMNS))}{{qs}}) "
    f"ON CONFLICT (device) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in RUNNER_COLUMNS[1:])}{{sets}}"
)
_SAVE_FIGURES = _UPSERT.format(cols="", qs="", sets="")
_SAVE_STATE = _UPSERT.format(
    cols=", state, state_seq", qs=", ?, ?", sets=", state = excluded.state, state_seq = excluded.state_seq"
)
EVENT_COLUMNS = ("id", "device", "seq", "kind", "epoch_s", "data", "acked_s", "resolved_s")


class StoreError(OffcourseError):
    """The database cannot be used (not SQLite, another route, a newer schema)."""


def _nan_to_none(x: float | None) -> float | None:
    return None if x is None or x != x else x


class Store:
    """An open race database.

    Parameters
    ----------
    path : path
        The SQLite file (created when missing).
    fingerprint : str
        The route's fingerprint; a database made for another route is refused.
    """

    def __init__(self, path: str | os.PathLike[str], fingerprint: str, *, readonly: bool = False) -> None:
        self.path = os.fsdecode(path)
        if readonly:
            self._open_readonly(fingerprint)
            return
        try:
            # one connection, used by one thread at a time (the field's worker)
            self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives the process being killed (the OS has it); only a
            # power cut may lose the last transactions
            self.db.execute("PRAGMA synchronous=NORMAL")
            # no checkpoint on the request path: :meth:`checkpoint` runs them beside it
            self.db.execute("PRAGMA wal_autocheckpoint=0")
            self.db.execute(f"PRAGMA journal_size_limit={int(WAL_RESET_BYTES)}")
            self.db.executescript(_SCHEMA)
            self._check_meta(fingerprint)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"not a usable SQLite database: {exc}", path=self.path) from None

    def _open_readonly(self, fingerprint: str) -> None:
        """Open an existing database without writing to it (nothing created for a mistyped name)."""
        if not os.path.isfile(self.path):
            raise StoreError("no such database (a path to the server's --db expected)", path=self.path)
        try:
            uri = Path(self.path).resolve().as_uri() + "?mode=ro"
            self.db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
            self._check_meta(fingerprint, create=False)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"not a usable SQLite database: {exc}", path=self.path) from None

    def _check_meta(self, fingerprint: str, *, create: bool = True) -> None:
        meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        if not meta and not create:
            raise StoreError("not a database of offcourse serve (no meta)", path=self.path)
        if not meta:
            with self.transaction():
                self.db.executemany(
                    "INSERT INTO meta VALUES (?, ?)", [("schema", SCHEMA_VERSION), ("route_fingerprint", fingerprint)]
                )
            return
        if meta.get("schema") != SCHEMA_VERSION:
            raise StoreError(
                f"schema version {meta.get('schema')!r}, this offcourse reads {SCHEMA_VERSION}", path=self.path
            )
        if meta.get("route_fingerprint") != fingerprint:
            raise StoreError("this database was made for another route", path=self.path)

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed into the file)."""
        self.db.close()

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file, beside the writer (its own connection:
        call it from any thread). Writers are never blocked; the log's file is reused afterwards."""
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        try:
            con.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            con.close()

    def wal_bytes(self) -> int:
        """The size of the write-ahead log's file (0 when there is none)."""
        try:
            return os.path.getsize(self.path + "-wal")
        except OSError:
            return 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- writes (inside a transaction) ------------------------------------------------------------
    def add_position(
        self,
        device: str,
        epoch_s: float,
        lat: float,
        lon: float,
        hacc_m: float,
        ele_m: float,
        speed_mps: float,
        received_s: float,
    ) -> int | None:
        """Store one fix; its ``seq``, or None when the device already sent a fix with this time."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO positions (device, epoch_s, lat, lon, hacc_m, ele_m, speed_mps, received_s) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (device, epoch_s, lat, lon, _nan_to_none(hacc_m), _nan_to_none(ele_m), _nan_to_none(speed_mps), received_s),
        )
        return cur.lastrowid if cur.rowcount == 1 else None

    def add_event(self, device: str, seq: int, n: int, kind: str, epoch_s: float, data: str, alert: bool) -> int | None:
        """Store one event; its id, or None when it was already stored (a replayed fix)."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO events (device, seq, n, kind, epoch_s, data, alert) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (device, seq, n, kind, epoch_s, data, int(alert)),
        )
        return cur.lastrowid if cur.rowcount == 1 else None

    def resolve(self, device: str, kind: str, epoch_s: float) -> None:
        """Mark the device's open alerts of ``kind`` resolved (the runner is back)."""
        self.db.execute(
            "UPDATE events SET resolved_s = ? WHERE device = ? AND kind = ? AND alert = 1 AND resolved_s IS NULL",
            (epoch_s, device, kind),
        )

    def save_runner(self, row: dict[str, Any], state: dict[str, Any] | None, state_seq: int) -> None:
        """Upsert a device's figures; with ``state``, its engine snapshot too."""
        values = [_nan_to_none(row[c]) if isinstance(row[c], float) else row[c] for c in RUNNER_COLUMNS]
        if state is None:
            self.db.execute(_SAVE_FIGURES, values)
        else:
            self.db.execute(_SAVE_STATE, [*values, json.dumps(state, allow_nan=False), state_seq])

    # -- reads ------------------------------------------------------------------------------------
    def snapshot(self, device: str) -> tuple[dict[str, Any] | None, int]:
        """A device's saved engine state and the ``seq`` it includes (None, 0 when none)."""
        row = self.db.execute("SELECT state, state_seq FROM runners WHERE device = ?", (device,)).fetchone()
        if row is None or row[0] is None:
            return None, 0
        state: dict[str, Any] = json.loads(row[0])
        return state, int(row[1])

    def positions_after(self, device: str, seq: int) -> list[tuple[int, float, float, float, float, float]]:
        """``(seq, epoch_s, lat, lon, hacc_m, ele_m)`` of the device's fixes after ``seq``, in arrival order.

        (Read through the ``(device, epoch_s)`` index: one index less to write for every fix.)
        """
        rows = self.db.execute(
            "SELECT seq, epoch_s, lat, lon, hacc_m, ele_m FROM positions WHERE device = ? AND seq > ? ORDER BY seq",
            (device, seq),
        ).fetchall()
        nan = float("nan")
        return [(s, t, la, lo, nan if h is None else h, nan if e is None else e) for s, t, la, lo, h, e in rows]

    def track(self, device: str, limit: int) -> list[tuple[float, float, float]]:
        """The device's last ``limit`` fixes in time order: ``(epoch_s, lat, lon)``."""
        rows = self.db.execute(
            "SELECT epoch_s, lat, lon FROM positions WHERE device = ? ORDER BY epoch_s DESC LIMIT ?", (device, limit)
        ).fetchall()
        return [(t, la, lo) for t, la, lo in reversed(rows)]

    def runner(self, device: str) -> dict[str, Any] | None:
        """One device's last figures (None when never seen)."""
        r = self.db.execute(f"SELECT {', '.join(RUNNER_COLUMNS)} FROM runners WHERE device = ?", (device,)).fetchone()
        return None if r is None else dict(zip(RUNNER_COLUMNS, r, strict=True))

    def runners(self) -> list[dict[str, Any]]:
        """Every device seen, with its last figures."""
        cur = self.db.execute(f"SELECT {', '.join(RUNNER_COLUMNS)} FROM runners ORDER BY device")
        return [dict(zip(RUNNER_COLUMNS, r, strict=True)) for r in cur.fetchall()]

    def events(self, *, device: str | None = None, alerts_only: bool = False, limit: int = 500) -> list[dict[str, Any]]:
        """The latest events (newest first), of one device or all, alerts only or all."""
        where, args = [], []
        if alerts_only:
            where.append("alert = 1")
        if device is not None:
            where.append("device = ?")
            args.append(device)
        sql = " WHERE " + " AND ".join(where) if where else ""
        return self._event_rows(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))

    def _event_rows(self, tail: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
        cur = self.db.execute(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events" + tail, args)
        out = []
        for r in cur.fetchall():
            row = dict(zip(EVENT_COLUMNS, r, strict=True))
            row["data"] = json.loads(row["data"])
            out.append(row)
        return out

    def ack(self, event_id: int, now_s: float) -> bool:
        """Acknowledge an alert; False when there is no such alert."""
        with self.transaction():
            cur = self.db.execute(
                "UPDATE events SET acked_s = COALESCE(acked_s, ?) WHERE id = ? AND alert = 1", (now_s, event_id)
            )
        return cur.rowcount == 1

    def hook_done(self, event_id: int, now_s: float) -> None:
        """Record that the webhook took this alert."""
        with self.transaction():
            self.db.execute("UPDATE events SET hook_s = ? WHERE id = ?", (now_s, event_id))

    def hooks_pending(self) -> list[dict[str, Any]]:
        """Alerts the webhook has not taken yet (oldest first), to send again after a restart."""
        return self._event_rows(" WHERE alert = 1 AND hook_s IS NULL ORDER BY id", ())

    def devices(self) -> list[str]:
        """Every device with at least one stored position."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT device FROM positions ORDER BY device")]

    def all_positions(self, device: str) -> list[tuple[float, float, float, float | None]]:
        """Every fix of a device in time order: ``(epoch_s, lat, lon, ele_m)`` (for the report)."""
        return self.db.execute(
            "SELECT epoch_s, lat, lon, ele_m FROM positions WHERE device = ? ORDER BY epoch_s", (device,)
        ).fetchall()

    def count_positions(self) -> int:
        """How many fixes are stored."""
        n: int = self.db.execute("SELECT COUNT(*) FROM positions").fetchone()[0]
        return n

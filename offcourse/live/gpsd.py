"""gpsd, the Linux GPS daemon, through its JSON protocol over TCP (default port 2947).

The source sends ``?WATCH={"enable":true,"json":true}`` and reads one JSON object per line; only
``TPV`` (time-position-velocity) reports become fixes, and only those with ``mode`` ≥ 2 (a 2D or
3D fix), a ``time`` and finite ``lat``/``lon``. Altitude is ``altMSL`` (else ``alt``, else
``altHAE``, 3D fixes only); the horizontal accuracy is ``eph`` (else the larger of ``epx`` and
``epy``), gpsd's 95 % estimates in metres. A report repeating the time of the previous fix (gpsd
may report a cycle more than once while it learns the receiver's cycle) is dropped. Lines that are
not JSON objects are counted, never fatal.

>>> tpv = parse_tpv({"class": "TPV", "mode": 3, "time": "2025-05-17T09:00:00.000Z",
...                  "lat": 55.89284, "lon": -3.2036, "altMSL": 250.5, "eph": 7.5})
>>> tpv
Fix(epoch_s=1747472400.0, lon=-3.2036, lat=55.89284, ele_m=250.5, hacc_m=7.5)
>>> parse_tpv({"class": "TPV", "mode": 1, "time": "2025-05-17T09:00:00.000Z"}) is None
True
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from ..detect import Fix
from .sources import Source, Warn, seconds, tcp_lines

__all__ = ["WATCH", "GpsdSource", "parse_tpv"]

WATCH = b'?WATCH={"enable":true,"json":true}\n'
"""The command that asks gpsd to stream JSON reports."""


def _num(obj: dict[str, Any], *keys: str) -> float:
    for k in keys:
        v = obj.get(k)
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            return float(v)
    return math.nan


def _epoch(text: Any) -> float:
    if not isinstance(text, str):
        return math.nan
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return math.nan
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def parse_tpv(obj: Any) -> Fix | None:
    """The fix a gpsd report gives, or None (another class, no fix, no time, no position)."""
    if not isinstance(obj, dict) or obj.get("class") != "TPV":
        return None
    mode = obj.get("mode")
    if not isinstance(mode, int) or mode < 2:
        return None
    t = _epoch(obj.get("time"))
    lat, lon = _num(obj, "lat"), _num(obj, "lon")
    if not (math.isfinite(t) and math.isfinite(lat) and math.isfinite(lon)):
        return None
    ele = _num(obj, "altMSL", "alt", "altHAE") if mode >= 3 else math.nan
    hacc = _num(obj, "eph")
    if math.isnan(hacc):
        ex, ey = _num(obj, "epx"), _num(obj, "epy")
        hacc = max(ex, ey) if math.isfinite(ex) and math.isfinite(ey) else math.nan
    return Fix(t, lon, lat, ele, hacc)


class GpsdSource(Source):
    """Fixes from a gpsd daemon; reconnects when the connection drops.

    Parameters
    ----------
    host, port :
        Where gpsd listens (``gpsd -G`` listens beyond loopback).
    give_up_s : float or None
        Seconds without a connection after a loss before :class:`SourceError` (None: never).
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 2947, *, give_up_s: float | None = 60.0, warn: Warn | None = None
    ) -> None:
        super().__init__(warn=warn)
        self.host, self.port = host, port
        self.name = f"gpsd://{host}:{port}"
        self.give_up_s = give_up_s
        self.counters: dict[str, int] = {}

    def __iter__(self) -> Iterator[Fix]:
        last = math.nan
        lines = tcp_lines(
            self.host,
            self.port,
            name=self.name,
            stop=self._stop,
            hello=WATCH,
            warn=self.warn,
            give_up_s=self.give_up_s,
            counters=self.counters,
        )
        for line in lines:
            try:
                obj = json.loads(line)
            except ValueError:
                self._count("bad_json")
                continue
            if not isinstance(obj, dict):
                self._count("bad_json")
                continue
            if obj.get("class") == "ERROR":
                self.warn(f"gpsd says: {obj.get('message', '?')}")
                continue
            fix = parse_tpv(obj)
            if fix is None:
                continue
            if seconds(fix) == last:
                self._count("repeated")
                continue
            last = seconds(fix)
            if seconds(fix) <= self.after_s:
                continue
            self._count("fixes")
            yield fix

    def _count(self, key: str) -> None:
        self.counters[key] = self.counters.get(key, 0) + 1

    def stats(self) -> dict[str, Any]:
        return dict(self.counters)

"""Positions in: the OsmAnd / Traccar Client HTTP protocol and a JSON batch, parsed and bounded.

Three shapes reach the server, one fix or many per request:

- **OsmAnd query** (what Traccar's ``osmand`` port takes, and what OsmAnd's online tracking, the
  old Traccar Client and many devices send): ``GET`` or ``POST /?id=…&lat=…&lon=…&timestamp=…``
  with optional ``accuracy`` (metres), ``hdop``, ``speed`` (knots, as Traccar reads it),
  ``altitude``, ``bearing``, ``batt``; ``location=LAT,LON`` instead of ``lat``/``lon``. A ``POST``
  may carry the same fields form-encoded in its body; a body of several lines is a batch, one fix
  per line, the query's fields (``id``, ``key``) applying to every line.
- **Traccar Client JSON** (Traccar Client 9 and later): ``{"device_id": …, "location": {…}}`` with
  ``location.timestamp`` and ``location.coords.{latitude, longitude, accuracy, speed, altitude}``;
  ``location`` may be a list (a batch).
- **The JSON batch** (``POST /api/positions``): ``{"positions": [{"id", "lat", "lon",
  "timestamp", …}, …]}`` or the bare list, the same field names as the query.

``timestamp`` is Unix seconds (milliseconds when above 10¹², as Traccar Client sends) or an ISO 8601
time with a zone (``2025-05-17T09:00:00Z``); ``"2025-05-17 09:00:00"`` is read as UTC. Everything
is checked and bounded (:data:`MAX_BODY_BYTES`, :data:`MAX_FIXES`, :data:`DEVICE_ID`); anything
wrong is an :class:`IngestError` whose message the server returns with status 400.

>>> [p.device for p in parse_query({"id": "42", "lat": "55.9", "lon": "-3.2", "timestamp": "1747472400"})]
['42']
>>> parse_query({"id": "42", "lat": "95", "lon": "-3.2", "timestamp": "1747472400"})
Traceback (most recent call last):
...
offcourse.serve.ingest.IngestError: lat: 95 is outside -90..90
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from ..errors import OffcourseError

__all__ = [
    "DEVICE_ID",
    "MAX_BODY_BYTES",
    "MAX_FIXES",
    "IngestError",
    "Position",
    "parse_json",
    "parse_query",
    "parse_request",
]

MAX_BODY_BYTES = 1 << 20
"""Largest request body accepted (1 MiB: about 10,000 OsmAnd lines)."""
MAX_FIXES = 2000
"""Most fixes in one request (a tracker back in coverage after hours offline sends its backlog)."""
DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}")
"""What a device id may be: 1-64 characters, letters, digits and ``._:@-`` (Traccar's unique ids)."""
HDOP_TO_M = 5.0
"""Metres of horizontal accuracy per unit of HDOP, when a device sends HDOP and no accuracy."""
KNOT_MPS = 1852.0 / 3600.0
EARLIEST_EPOCH_S = 946_684_800.0  # 2000-01-01T00:00:00Z: older is a receiver without a clock
FUTURE_SLACK_S = 600.0
"""A fix stamped more than this after the server's clock is refused with 400 (a wrong clock, not a
position: stored, it would sit in the runner's track ahead of every true fix). ``offcourse serve
--max-ahead S`` changes it."""
MS_ABOVE = 1e12
"""A timestamp above this is milliseconds (Traccar Client's JSON and some devices)."""
_FIELD_CHARS = 200  # longest value read from any field


Clock = tuple[float, float]
"""``(now_s, ahead_s)``: the server's clock and how far ahead of it a fix may be stamped."""


class IngestError(OffcourseError):
    """A request the server refuses with 400: the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class Position:
    """One fix as a tracker sent it, checked; ``key`` is the device key it came with (or None)."""

    device: str
    epoch_s: float
    lat: float
    lon: float
    hacc_m: float = math.nan
    ele_m: float = math.nan
    speed_mps: float = math.nan
    key: str | None = None


def _text(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise IngestError(f"{name}: expected a value, got {type(value).__name__}")
    text = str(value).strip()
    if len(text) > _FIELD_CHARS:
        raise IngestError(f"{name}: longer than {_FIELD_CHARS} characters")
    return text


def _number(name: str, value: Any, lo: float = -math.inf, hi: float = math.inf) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        x = float(value)
    else:
        text = _text(name, value)
        try:
            x = float(text)
        except ValueError:
            raise IngestError(f"{name}: not a number: {text[:40]!r}") from None
    if not math.isfinite(x):
        raise IngestError(f"{name}: not a finite number")
    if not lo <= x <= hi:
        raise IngestError(f"{name}: {x:g} is outside {lo:g}..{hi:g}")
    return x


def _optional(fields: Mapping[str, Any], names: tuple[str, ...], lo: float, hi: float) -> float:
    for name in names:
        value = fields.get(name)
        if value is not None and value != "":
            return _number(name, value, lo, hi)
    return math.nan


def _epoch_s(value: Any, clock: Clock) -> float:
    if value is None or value == "":
        raise IngestError("timestamp: missing")
    try:
        t = _number("timestamp", value)
    except IngestError:
        text = _text("timestamp", value)
        try:
            when = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
        except ValueError:
            raise IngestError(f"timestamp: neither Unix seconds nor ISO 8601: {text[:40]!r}") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        t = when.timestamp()
    else:
        if t > MS_ABOVE:
            t /= 1000.0
    if t < EARLIEST_EPOCH_S:
        raise IngestError(f"timestamp: {t:.0f} is before 2000 (a receiver without a clock)")
    now_s, ahead_s = clock
    if t > now_s + ahead_s:
        raise IngestError(f"timestamp: {t - now_s:.0f} s ahead of the server's clock (at most {ahead_s:g} s)")
    return t


def _device(value: Any) -> str:
    if value is None or value == "":
        raise IngestError("id: missing (the device id)")
    text = _text("id", value)
    if not DEVICE_ID.fullmatch(text):
        raise IngestError("id: 1-64 letters, digits or ._:@- expected")
    return text


def _key(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return _text("key", value)


def _position(fields: Mapping[str, Any], clock: Clock) -> Position:
    """One fix from flat fields (query, form line or JSON object with the query's names)."""
    device = _device(fields.get("id", fields.get("deviceid", fields.get("device_id"))))
    if "lat" in fields or "lon" in fields:
        lat = _number("lat", fields.get("lat", ""), -90.0, 90.0)
        lon = _number("lon", fields.get("lon", ""), -180.0, 180.0)
    elif "location" in fields:
        parts = _text("location", fields["location"]).split(",")
        if len(parts) != 2:
            raise IngestError("location: expected LAT,LON")
        lat = _number("lat", parts[0], -90.0, 90.0)
        lon = _number("lon", parts[1], -180.0, 180.0)
    else:
        raise IngestError("lat, lon: missing")
    hacc = _optional(fields, ("accuracy", "acc"), 0.0, 1e5)
    if math.isnan(hacc):
        hacc = _optional(fields, ("hdop",), 0.0, 1e3) * HDOP_TO_M
    speed = _optional(fields, ("speed",), -1.0, 1e4) * KNOT_MPS
    return Position(
        device=device,
        epoch_s=_epoch_s(fields.get("timestamp"), clock),
        lat=lat,
        lon=lon,
        hacc_m=hacc,
        ele_m=_optional(fields, ("altitude", "alt"), -1e4, 1e5),
        speed_mps=speed if speed >= 0 else math.nan,
        key=_key(fields.get("key")),
    )


def _bounded(count: int) -> None:
    if count == 0:
        raise IngestError("no position in the request")
    if count > MAX_FIXES:
        raise IngestError(f"{count} positions in one request, at most {MAX_FIXES}")


def _clock(now_s: float | None, ahead_s: float | None) -> Clock:
    return (time.time() if now_s is None else now_s, FUTURE_SLACK_S if ahead_s is None else ahead_s)


def parse_query(
    fields: Mapping[str, str], *, now_s: float | None = None, ahead_s: float | None = None
) -> list[Position]:
    """One fix from an OsmAnd query string (or form body) already split into fields.

    ``now_s`` is the server's clock (default: now); a fix stamped more than ``ahead_s`` (default
    :data:`FUTURE_SLACK_S`) after it is refused.
    """
    return [_position(fields, _clock(now_s, ahead_s))]


def _traccar_json(doc: Mapping[str, Any], defaults: Mapping[str, str], clock: Clock) -> list[Position]:
    """Traccar Client 9's body: ``{"device_id", "location": {...} or [...]}``."""
    locations = doc["location"]
    if isinstance(locations, Mapping):
        locations = [locations]
    if not isinstance(locations, list):
        raise IngestError("location: expected an object or a list")
    _bounded(len(locations))
    out = []
    for loc in locations:
        if not isinstance(loc, Mapping) or not isinstance(loc.get("coords"), Mapping):
            raise IngestError("location: expected an object with coords")
        c = loc["coords"]
        fields = {
            "id": doc.get("device_id", defaults.get("id", defaults.get("deviceid"))),
            "key": doc.get("key", defaults.get("key")),
            "lat": c.get("latitude", ""),
            "lon": c.get("longitude", ""),
            "accuracy": c.get("accuracy"),
            "altitude": c.get("altitude"),
            "timestamp": loc.get("timestamp"),
        }
        p = _position(fields, clock)
        speed = _optional(c, ("speed",), -1.0, 1e4)  # m/s in this format
        out.append(Position(**{**_as_dict(p), "speed_mps": speed if speed >= 0 else math.nan}))
    return out


def _as_dict(p: Position) -> dict[str, Any]:
    return {name: getattr(p, name) for name in Position.__slots__}


def parse_json(
    body: bytes,
    defaults: Mapping[str, str] | None = None,
    *,
    now_s: float | None = None,
    ahead_s: float | None = None,
) -> list[Position]:
    """Fixes from a JSON body: the JSON batch (a list, or ``{"positions": [...]}``) or Traccar Client's."""
    now = _clock(now_s, ahead_s)
    defaults = defaults or {}
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise IngestError("body: not valid JSON") from None
    if isinstance(doc, Mapping) and "location" in doc:
        return _traccar_json(doc, defaults, now)
    items = doc.get("positions") if isinstance(doc, Mapping) else doc
    if not isinstance(items, list):
        raise IngestError('body: expected a list of positions or {"positions": [...]}')
    _bounded(len(items))
    out = []
    for item in items:
        if not isinstance(item, Mapping):
            raise IngestError("positions: every item must be an object")
        out.append(_position({**defaults, **item}, now))
    return out


def _form_lines(body: bytes, defaults: Mapping[str, str], clock: Clock) -> list[Position]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise IngestError("body: not UTF-8") from None
    lines = [line for line in text.splitlines() if line.strip()]
    _bounded(len(lines))
    out = []
    for line in lines:
        try:
            fields = dict(parse_qsl(line.strip(), keep_blank_values=True, strict_parsing=True, max_num_fields=50))
        except ValueError:
            raise IngestError("body: a line is not form-encoded (name=value&...)") from None
        out.append(_position({**defaults, **fields}, clock))
    return out


def parse_request(
    method: str,
    query: Mapping[str, str],
    content_type: str,
    body: bytes,
    *,
    now_s: float | None = None,
    ahead_s: float | None = None,
) -> list[Position]:
    """Every fix of one OsmAnd-protocol request (``GET`` or ``POST``; query, form or JSON body).

    Raises
    ------
    IngestError
        Anything missing, malformed, out of range or too large.
    """
    now_s, ahead_s = now = _clock(now_s, ahead_s)
    if len(body) > MAX_BODY_BYTES:
        raise IngestError(f"body: larger than {MAX_BODY_BYTES} bytes")
    kind = content_type.split(";", 1)[0].strip().lower()
    has_fix = any(k in query for k in ("lat", "lon", "location"))
    if method == "GET" or not body.strip():
        return parse_query(query, now_s=now_s, ahead_s=ahead_s)
    if kind == "application/json" or body.lstrip()[:1] in (b"{", b"["):
        if has_fix:
            raise IngestError("a fix in the query and a JSON body: send one or the other")
        return parse_json(body, query, now_s=now_s, ahead_s=ahead_s)
    positions = _form_lines(body, query, now)
    if has_fix:
        positions = parse_query(query, now_s=now_s, ahead_s=ahead_s) + positions
        _bounded(len(positions))
    return positions

"""Who may do what: the race-control token, the registered devices, their keys, rate limits.

- Race control (the pages, the JSON API, acknowledging alerts) shows a token set at start: an
  ``Authorization: Bearer TOKEN`` header, or ``?token=TOKEN`` once in a browser (the server then
  sets an HttpOnly cookie and sends the browser on to the same page without the token in its
  address). No token: 401; a wrong one: 403.
- Position ingest accepts only the devices of the runners CSV; a device with a ``key`` there must
  send it (``key=…``). An unknown device or a wrong key: 403; a missing key: 401.
- Each device may send :data:`DEVICE_FIXES_PER_S` fixes a second on average (2: a tracker sends one
  every 1-10 s), in bursts of up to :data:`DEVICE_BURST_FIXES` (an hour's backlog at one a second);
  429 beyond. The bucket counts fixes, not requests: a device cannot fill the disk with full batches
  (at most ~170,000 fixes, about 20 MB, a day), nor starve the others. A request larger than the
  burst is taken from a full bucket, which then refills before the next.
- Refused requests (unknown device, wrong or missing key, wrong token, bad input) count against
  the client's address, :data:`REFUSALS_PER_S` a second in bursts of :data:`REFUSAL_BURST`; beyond,
  the address gets 429 before any key or token is compared (no online guessing) and before an
  unknown device's body is parsed. Registered devices without a key are never held up by it.

Secrets are compared in constant time and never written to a log.

The runners CSV has a header row with ``device`` (or ``id``), and optionally ``bib``, ``name`` and
``key``; other columns are ignored::

    device,bib,name,key
    356938035643809,101,Jim Walmsley,
    traccar-7,102,Ida Nilsson,s3cret
"""

from __future__ import annotations

import csv
import hmac
import io
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import OffcourseError
from .ingest import DEVICE_ID

__all__ = [
    "DEVICE_BURST_FIXES",
    "DEVICE_FIXES_PER_S",
    "MAX_RUNNERS",
    "REFUSALS_PER_S",
    "REFUSAL_BURST",
    "RateLimiter",
    "Runner",
    "RunnersError",
    "load_runners",
    "same_secret",
]

DEVICE_FIXES_PER_S = 2.0
"""Average fixes a second a device may send (a tracker sends one every 1-10 s)."""
DEVICE_BURST_FIXES = 3600.0
"""Fixes a device may send at once (a tracker flushing an hour's queue after a dead zone)."""
REFUSALS_PER_S = 1.0
"""Average refused ingest requests (unknown device, wrong key, wrong token, bad input) a second one
client address may cause; beyond, its requests that would be checked against a key or parsed at
length get 429 first (no online key guessing, no parsing work for a flood)."""
REFUSAL_BURST = 30.0
"""Refused requests one client address may cause at once."""
MAX_BUCKETS = 200_000
"""Rate-limit buckets kept (client addresses, devices); full ones are forgotten first."""
MAX_RUNNERS = 100_000
MAX_CSV_BYTES = 20 << 20
MAX_NAME_CHARS = 120


class RunnersError(OffcourseError):
    """The runners CSV cannot be used."""


@dataclass(frozen=True, slots=True)
class Runner:
    """A registered device: the runner wearing it, and its key (None: no key needed)."""

    device: str
    bib: str = ""
    name: str = ""
    key: str | None = None

    def public(self) -> dict[str, str]:
        """What the pages and the API show (never the key)."""
        return {"device": self.device, "bib": self.bib, "name": self.name}


def _clean(text: str | None, limit: int = MAX_NAME_CHARS) -> str:
    """Printable, one line, bounded."""
    out = "".join(c if c.isprintable() else " " for c in (text or "")).strip()
    return " ".join(out.split())[:limit]


def load_runners(path: str | os.PathLike[str]) -> dict[str, Runner]:
    """The runners CSV as ``{device: Runner}``.

    Raises
    ------
    RunnersError
        The file is missing, unreadable, too large, not UTF-8, without a ``device`` column, or has a
        bad or repeated device id.
    """
    shown = os.fsdecode(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CSV_BYTES + 1)
    except OSError as exc:
        raise RunnersError(exc.strerror or str(exc), path=shown) from None
    if len(raw) > MAX_CSV_BYTES:
        raise RunnersError(f"larger than {MAX_CSV_BYTES >> 20} MiB", path=shown)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RunnersError("not UTF-8 text", path=shown) from None
    rows = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (rows.fieldnames or [])]
    rows.fieldnames = header
    column = "device" if "device" in header else "id" if "id" in header else None
    if column is None:
        raise RunnersError("no 'device' column in the header row", path=shown)
    return _runners(rows, column, shown)


def _runners(rows: Iterable[dict[str, str | None]], column: str, shown: str) -> dict[str, Runner]:
    out: dict[str, Runner] = {}
    for line, row in enumerate(rows, start=2):
        device = (row.get(column) or "").strip()
        if not device and not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # a blank line
        if not DEVICE_ID.fullmatch(device):
            raise RunnersError(f"line {line}: device id: 1-64 letters, digits or ._:@- expected", path=shown)
        if device in out:
            raise RunnersError(f"line {line}: device {device} is listed twice", path=shown)
        key = (row.get("key") or "").strip() or None
        out[device] = Runner(device, _clean(row.get("bib"), 20), _clean(row.get("name")), key)
        if len(out) > MAX_RUNNERS:
            raise RunnersError(f"more than {MAX_RUNNERS} runners", path=shown)
    return out


def same_secret(given: str | None, expected: str) -> bool:
    """``given == expected`` in constant time (False for None)."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))


class RateLimiter:
    """A token bucket per key: :meth:`allow` says whether ``cost`` more (fixes, requests) fit now.

    >>> r = RateLimiter(rate_per_s=1.0, burst=2.0)
    >>> [r.allow("a", now_s=0.0) for _ in range(3)], r.allow("a", now_s=1.0), r.allow("b", now_s=0.0)
    ([True, True, False], True, True)
    """

    def __init__(self, rate_per_s: float = DEVICE_FIXES_PER_S, burst: float = DEVICE_BURST_FIXES) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}

    def _level(self, key: str, now: float) -> float:
        level, since = self._buckets.get(key, (self.burst, now))
        return min(self.burst, level + (now - since) * self.rate_per_s)

    def allow(self, key: str, cost: float = 1.0, *, now_s: float | None = None) -> bool:
        """Take ``cost`` from ``key``'s bucket; False (nothing taken) when it holds less.

        A cost above the burst is taken from a full bucket (which goes into debt): a request larger
        than the burst is not refused for ever.
        """
        now = time.monotonic() if now_s is None else now_s
        if len(self._buckets) >= MAX_BUCKETS:
            self._forget_full(now)
        level = self._level(key, now)
        if level < min(cost, self.burst):
            self._buckets[key] = (level, now)
            return False
        self._buckets[key] = (level - cost, now)
        return True

    def empty(self, key: str, *, now_s: float | None = None) -> bool:
        """Whether ``key``'s bucket holds less than one (nothing taken)."""
        return self._level(key, time.monotonic() if now_s is None else now_s) < 1.0

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that are full again (they are the same as absent): bounded memory."""
        self._buckets = {k: v for k, v in self._buckets.items() if self._level(k, now) < self.burst}
        while len(self._buckets) >= MAX_BUCKETS:  # still too many: the oldest go
            self._buckets.pop(next(iter(self._buckets)))

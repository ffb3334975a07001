"""The monitor's saved state: strict JSON, versioned, tied to its route, validated field by field.

:meth:`Monitor.state <offcourse.detect.Monitor.state>` returns a dict that :func:`json.dumps`
writes as strict JSON (no ``NaN``, no ``Infinity``: any JSON library of any platform reads it) and
:meth:`Monitor.restore <offcourse.detect.Monitor.restore>` reads it back into a monitor that
continues exactly where the saved one stopped: same events, same state, bit for bit.

Format, version 3
-----------------
Top level (an object):

``version``
    ``3``. Version 2 (without the error model's ``step_ms``, ``interval_s``, the ``cusum`` and the
    smoothed position ``kx`` ... ``p11``) is still read: those start afresh (the filter at the next
    fix). Version 1 (offcourse 0.1: ``NaN`` for unknown numbers, no fingerprint) is still read: its
    numbers are validated the same way; it cannot be checked against the route's shape, only its
    vertex count and length.
``route_vertices``, ``route_length_m``
    The route's vertex count and length in metres.
``route_fingerprint``
    SHA-256 (hex) of the route's vertices, longitude and latitude rounded to 1e-8 degree (about
    1 mm), in order: the state of the same course reversed, shifted or rotated is refused.
``options``
    Every field of :class:`~offcourse.detect.Options` by name.
``state``
    The engine's variables, below. Numbers are JSON numbers; an unknown number (``NaN`` in the
    engine) is ``null``; an infinite one is the string ``"Infinity"`` or ``"-Infinity"``.

``state`` fields (times are UTC seconds, within 1e11 s of 1970; distances metres, >= 0 and possibly
``"Infinity"``; positions metres in the route's projection, within 1e9 m; "route m" means a distance along the
route, within [0, route length]; "or null" means unknown so far):

- ``phase``: ``waiting``, ``on``, ``suspect``, ``off`` or ``finished``.
- ``n_fixes``, ``ignored``: fixes accepted, fixes ignored (integers >= 0).
- ``ignored_by_reason``: object, reason → count, for each of :data:`IGNORE_REASONS`; adds up to
  ``ignored`` (a version 1 state restores with zero counts).
- ``t``, ``x``, ``y``: the last accepted fix (time, projected position), or null.
- ``spike_t``, ``spike_x``, ``spike_y``: a jump waiting for the next fix to confirm it, or null.
- ``pending``: ``[t, x, y, ele_m, hacc_m]`` of a fix late by more than
  :data:`~offcourse.detect.options.TIME_JUMP_S`, held until the next fix says whether its time is
  right; or null.
- ``odo_m``, ``anchor_x``, ``anchor_y``: the jitter-filtered distance and its anchor point;
  ``kx``, ``ky`` (or null before the first fix), ``kvx``, ``kvy``, ``p00``, ``p01``, ``p11``: the
  smoothed position the distance follows, its velocity and their covariance
  (:func:`~offcourse.detect.steps.smooth`).
- ``climb_m``, ``climb_anchor``: the climb and its anchor elevation.
- ``s``, ``d``: progress (route m) and offset of the last fix; ``s_peak``, ``t_peak``: the farthest
  progress and when it was reached.
- ``speed_mps`` (> 0), ``speed_t``, ``speed_s``: the running speed and its measuring window.
- ``noise_ms``: mean squared offset on the route (m², at most 1e10);
  ``step_ms``: mean squared change of the offset from one fix on the route to the next (m²);
  ``interval_s``: mean fix interval on the route (0 before the first); together the receiver's
  error model (:func:`~offcourse.detect.steps.learn_noise`).
- ``wrong_way``, ``ww_detour`` (booleans), ``ww_start_t``, ``ww_from`` (route m), ``ww_odo``: an open
  wrong-way section.
- ``off_since_t``, ``off_count``: the fixes off since the runner was suspected of leaving;
  ``cusum``: the evidence that they left (:func:`~offcourse.detect.steps.evidence`, >= 0).
- ``exit_t``, ``exit_s``, ``exit_x``, ``exit_y``, ``exit_odo``, ``exit_d``, ``exit_climb``: where the
  runner left the route; ``alert_t``: when the alert was raised; ``max_off_m``: the farthest offset.
- ``back_count``, ``back_since_t``, ``back_s``, ``back_x``, ``back_y``, ``back_odo``, ``back_d``,
  ``back_climb``: fixes back near the route, and the first of them.
- ``alt_active`` (boolean), ``alt_s``, ``alt_start_s``, ``alt_start_t``, ``alt_start_odo``,
  ``alt_back_m``: another part of the route the runner may be on.
- ``covered``: sorted, disjoint ``[from, to]`` pairs of route m covered; ``cur_lo``, ``cur_hi``: the
  stretch being covered now, or null.
- ``ring``: at most :data:`~offcourse.detect.options.RING_SIZE` recent fixes, each
  ``[t, x, y, route_m, offset_m, odo_m, climb_m]``.
- ``near_t``, ``near_m``: when the last :class:`~offcourse.detect.NotOnRoute` event was raised and
  the distance it gave, or null.

Every key is required, no other key is allowed, and every value is checked (type, range, phase in
the enum); anything else raises :class:`~offcourse.errors.InvalidStateError`.
"""

from __future__ import annotations

import hashlib
import json
import math
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..errors import InvalidStateError
from .events import Phase
from .options import INITIAL_SPEED_MPS, MAX_COORD_M, MAX_TIME_S, RING_SIZE, Options

if TYPE_CHECKING:
    from ..model import Route

__all__ = ["IGNORE_REASONS", "STATE_VERSION", "MonitorState", "Ring", "decode", "encode", "route_fingerprint"]

STATE_VERSION = 3
"""The version :meth:`Monitor.state <offcourse.detect.Monitor.state>` writes."""

IGNORE_REASONS = ("out_of_order", "duplicate_time", "no_time", "no_position", "spike", "time_outlier")
"""Why a fix was ignored (the keys of ``ignored_by_reason``)."""

_NAN = float("nan")
_MAX_COUNT = 2**53
_ROUTE_SLACK_M = 1000.0
MAX_NOISE_MS = 1e10
"""The largest mean squared offset a state may hold (m²): offsets of 100 km."""

RingRecord = tuple[float, float, float, float, float, float, float]
"""One recent fix: (t, x, y, route_m, offset_m, odo_m, climb_m)."""

_RING_WIDTH = 7


class Ring:
    """The last ``maxlen`` fixes as :data:`RingRecord` s, oldest first, in one preallocated array of
    doubles (the interface of a ``deque`` with ``maxlen``: append, extend, iterate, reverse, index).

    A ``deque`` of tuples held ~270 bytes per fix as Python objects and grew fix by fix up to its
    bound (65 kB per runner at 240 fixes, reached after 20 minutes of race time at a fix every 5 s);
    this holds 56 bytes per fix and takes them all at once, so a server's memory is flat from a
    runner's first fix.

    >>> r = Ring(2)
    >>> r.append((1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0)); r.append((8.0,) * 7); r.append((9.0,) * 7)
    >>> len(r), r[0][0], [rec[0] for rec in reversed(r)]
    (2, 8.0, [9.0, 8.0])
    """

    __slots__ = ("_a", "_n", "_start", "maxlen")

    def __init__(self, maxlen: int = RING_SIZE) -> None:
        self.maxlen = maxlen
        self._a = array("d", bytes(8 * _RING_WIDTH * maxlen))
        self._start = 0
        self._n = 0

    def append(self, rec: RingRecord) -> None:
        if self._n < self.maxlen:
            k = (self._start + self._n) % self.maxlen * _RING_WIDTH
            self._n += 1
        else:
            k = self._start * _RING_WIDTH
            self._start = (self._start + 1) % self.maxlen
        a = self._a
        a[k], a[k + 1], a[k + 2], a[k + 3], a[k + 4], a[k + 5], a[k + 6] = rec

    def extend(self, recs: Iterable[RingRecord]) -> None:
        for rec in recs:
            self.append(rec)

    def extend_rows(self, rows: npt.NDArray[np.float64]) -> None:
        """:meth:`extend` with the records as the rows of an ``(m, 7)`` array, written in one go.

        >>> r = Ring(3)
        >>> r.extend_rows(np.arange(35.0).reshape(5, 7))
        >>> [rec[0] for rec in r]
        [14.0, 21.0, 28.0]
        """
        m = len(rows)
        if m == 0:
            return
        view = np.frombuffer(self._a, dtype=np.float64).reshape(self.maxlen, _RING_WIDTH)
        if m >= self.maxlen:
            view[:] = rows[m - self.maxlen :]
            self._start, self._n = 0, self.maxlen
            return
        view[(self._start + self._n + np.arange(m)) % self.maxlen] = rows
        total = self._n + m
        if total > self.maxlen:
            self._start = (self._start + total - self.maxlen) % self.maxlen
            total = self.maxlen
        self._n = total

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> RingRecord:
        if not -self._n <= i < self._n:
            raise IndexError("ring index out of range")
        k = (self._start + i % self._n) % self.maxlen * _RING_WIDTH
        a = self._a
        return (a[k], a[k + 1], a[k + 2], a[k + 3], a[k + 4], a[k + 5], a[k + 6])

    def __iter__(self) -> Iterator[RingRecord]:
        return (self[i] for i in range(self._n))

    def __reversed__(self) -> Iterator[RingRecord]:
        return (self[i] for i in range(self._n - 1, -1, -1))

    def __eq__(self, other: object) -> bool:
        # NaN (an unknown elevation's climb) equals NaN here, as it does in a deque holding the same float
        return (
            isinstance(other, Ring)
            and self.maxlen == other.maxlen
            and len(self) == len(other)
            and all(
                a == b or (a != a and b != b)
                for r, q in zip(self, other, strict=True)
                for a, b in zip(r, q, strict=True)
            )
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Ring({list(self)!r}, maxlen={self.maxlen})"


def _ring() -> Ring:
    return Ring(RING_SIZE)


def _reasons() -> dict[str, int]:
    return dict.fromkeys(IGNORE_REASONS, 0)


@dataclass
class MonitorState:
    """The engine's variables (see the module's documentation for each)."""

    phase: Phase = Phase.WAITING
    n_fixes: int = 0
    ignored: int = 0
    ignored_by_reason: dict[str, int] = field(default_factory=_reasons)
    # last accepted fix
    t: float = _NAN
    x: float = _NAN
    y: float = _NAN
    spike_t: float = _NAN
    spike_x: float = _NAN
    spike_y: float = _NAN
    pending: tuple[float, float, float, float, float] | None = None
    # odometer (jitter-filtered) and climb
    odo_m: float = 0.0
    anchor_x: float = _NAN
    anchor_y: float = _NAN
    # the smoothed position the odometer follows: a Kalman filter's state and covariance
    kx: float = _NAN
    ky: float = _NAN
    kvx: float = 0.0
    kvy: float = 0.0
    p00: float = 0.0
    p01: float = 0.0
    p11: float = 0.0
    climb_m: float = 0.0
    climb_anchor: float = _NAN
    # progress along the route
    s: float = 0.0
    d: float = 0.0
    s_peak: float = 0.0
    t_peak: float = _NAN
    speed_mps: float = INITIAL_SPEED_MPS  # recent on-route progress speed, for time lost
    noise_ms: float = 0.0  # running mean of the squared offset while on the route (m^2)
    step_ms: float = 0.0  # ... of the squared change of the offset from one fix to the next (m^2)
    interval_s: float = 0.0  # ... of the fix interval (s; 0: none yet)
    speed_t: float = _NAN
    speed_s: float = 0.0
    wrong_way: bool = False
    ww_start_t: float = _NAN
    ww_from: float = 0.0
    ww_odo: float = 0.0
    ww_detour: bool = False  # the wrong-way section began as the runner left the expected pass
    # off-course bookkeeping
    off_since_t: float = _NAN
    off_count: int = 0
    cusum: float = 0.0
    exit_t: float = _NAN
    exit_s: float = 0.0
    exit_x: float = _NAN
    exit_y: float = _NAN
    exit_odo: float = 0.0
    exit_d: float = 0.0
    exit_climb: float = 0.0
    alert_t: float = _NAN
    max_off_m: float = 0.0
    back_count: int = 0
    back_since_t: float = _NAN
    back_s: float = 0.0
    back_x: float = _NAN
    back_y: float = _NAN
    back_odo: float = 0.0
    back_d: float = 0.0
    back_climb: float = 0.0
    # another part of the route the runner may be on
    alt_active: bool = False
    alt_s: float = 0.0
    alt_start_s: float = 0.0
    alt_start_t: float = _NAN
    alt_start_odo: float = 0.0
    alt_back_m: float = 0.0
    # route covered so far: sorted, disjoint [lo, hi] intervals
    covered: list[list[float]] = field(default_factory=list)
    cur_lo: float = _NAN
    cur_hi: float = _NAN
    ring: Ring = field(default_factory=_ring)
    # the last NotOnRoute event
    near_t: float = _NAN
    near_m: float = _NAN


# What each scalar field may hold: (kind, may be null). Kinds: time (|t| <= MAX_TIME_S), coord
# (|v| <= MAX_COORD_M), route (within the route), dist (>= 0, may be infinite), signed (any finite
# number: a climb difference), count (integer >= 0), bool.
_SPEC: dict[str, tuple[str, bool]] = {
    "n_fixes": ("count", False),
    "ignored": ("count", False),
    "t": ("time", True),
    "x": ("coord", True),
    "y": ("coord", True),
    "spike_t": ("time", True),
    "spike_x": ("coord", True),
    "spike_y": ("coord", True),
    "odo_m": ("dist", False),
    "anchor_x": ("coord", True),
    "anchor_y": ("coord", True),
    "kx": ("coord", True),
    "ky": ("coord", True),
    "kvx": ("signed", False),
    "kvy": ("signed", False),
    "p00": ("dist", False),
    "p01": ("signed", False),
    "p11": ("dist", False),
    "climb_m": ("dist", False),
    "climb_anchor": ("signed", True),
    "s": ("route", False),
    "d": ("dist", False),
    "s_peak": ("route", False),
    "t_peak": ("time", True),
    "speed_mps": ("speed", False),
    "noise_ms": ("noise", False),
    "step_ms": ("noise", False),
    "interval_s": ("dist", False),
    "speed_t": ("time", True),
    "speed_s": ("route", False),
    "wrong_way": ("bool", False),
    "ww_start_t": ("time", True),
    "ww_from": ("route", False),
    "ww_odo": ("dist", False),
    "ww_detour": ("bool", False),
    "off_since_t": ("time", True),
    "off_count": ("count", False),
    "cusum": ("dist", False),
    "exit_t": ("time", True),
    "exit_s": ("route", False),
    "exit_x": ("coord", True),
    "exit_y": ("coord", True),
    "exit_odo": ("dist", False),
    "exit_d": ("dist", False),
    "exit_climb": ("dist", False),
    "alert_t": ("time", True),
    "max_off_m": ("dist", False),
    "back_count": ("count", False),
    "back_since_t": ("time", True),
    "back_s": ("route", False),
    "back_x": ("coord", True),
    "back_y": ("coord", True),
    "back_odo": ("dist", False),
    "back_d": ("dist", False),
    "back_climb": ("dist", False),
    "alt_active": ("bool", False),
    "alt_s": ("route", False),
    "alt_start_s": ("route", False),
    "alt_start_t": ("time", True),
    "alt_start_odo": ("dist", False),
    "alt_back_m": ("dist", False),
    "cur_lo": ("route", True),
    "cur_hi": ("route", True),
    "near_t": ("time", True),
    "near_m": ("dist", True),
}
_RING_KINDS = ("time", "coord", "coord", "route", "dist", "dist", "dist")
_PENDING_KINDS = (("time", False), ("coord", False), ("coord", False), ("signed", True), ("dist", True))
_V2_ONLY = ("ignored_by_reason", "pending", "near_t", "near_m")
_V3_ONLY = ("step_ms", "interval_s", "cusum", "kx", "ky", "kvx", "kvy", "p00", "p01", "p11")


def route_fingerprint(route: Route) -> str:
    """SHA-256 (hex) of the route's vertices rounded to 1e-8 degree, in order."""
    ll = np.round(np.column_stack([route.lon, route.lat]).astype(np.float64), 8) + 0.0  # no -0.0
    return hashlib.sha256(np.ascontiguousarray(ll).tobytes()).hexdigest()


# -- writing ------------------------------------------------------------------------------------


def _out(v: float) -> float | str | None:
    if math.isnan(v):
        return None
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def encode(st: MonitorState, route: Route, length_m: float, options: Options) -> dict[str, Any]:
    """The state as strict-JSON-ready data (see the module's documentation)."""
    data: dict[str, Any] = {}
    for f in fields(st):
        v = getattr(st, f.name)
        if f.name == "phase":
            data["phase"] = str(v)
        elif f.name == "ignored_by_reason":
            data[f.name] = dict(v)
        elif f.name == "covered":
            data[f.name] = [[_out(a), _out(b)] for a, b in v]
        elif f.name == "ring":
            data[f.name] = [[_out(a) for a in r] for r in v]
        elif f.name == "pending":
            data[f.name] = None if v is None else [_out(a) for a in v]
        elif isinstance(v, bool | int):
            data[f.name] = v
        else:
            data[f.name] = _out(v)
    return {
        "version": STATE_VERSION,
        "route_vertices": len(route),
        "route_length_m": length_m,
        "route_fingerprint": route_fingerprint(route),
        "options": asdict(options),
        "state": data,
    }


# -- reading ------------------------------------------------------------------------------------


def _bad(what: str) -> InvalidStateError:
    return InvalidStateError(f"saved monitor state: {what}")


def _number(name: str, v: Any, kind: str, nullable: bool, length_m: float, options: Options) -> float:
    """One value of the kind given, as the engine holds it; InvalidStateError when it cannot be."""
    if v is None or (isinstance(v, float) and math.isnan(v)):  # null (v2), NaN (v1)
        if nullable:
            return _NAN
        raise _bad(f"{name} is unknown (null) but must be a number")
    if isinstance(v, str) and v in ("Infinity", "-Infinity"):
        x = math.inf if v == "Infinity" else -math.inf
    elif isinstance(v, bool) or not isinstance(v, int | float):
        raise _bad(f"{name} must be a number, not {type(v).__name__}")
    else:
        try:
            x = float(v)
        except OverflowError:
            raise _bad(f"{name} is out of range") from None
    if kind == "dist":
        ok = x >= 0 and not math.isnan(x)
    elif not math.isfinite(x):
        ok = False
    elif kind == "time":
        ok = abs(x) <= MAX_TIME_S
    elif kind == "coord":
        ok = abs(x) <= MAX_COORD_M
    elif kind == "route":  # a join estimated before the route's start, a rejoin past its end
        ok = -length_m - _ROUTE_SLACK_M <= x <= 2 * length_m + _ROUTE_SLACK_M
    elif kind == "speed":
        ok = 0 < x <= 1e4
    elif kind == "noise":
        ok = 0 <= x <= MAX_NOISE_MS
    else:  # signed
        ok = True
    if not ok:
        raise _bad(f"{name} = {v!r} is out of range")
    return x


def _count(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < _MAX_COUNT:
        raise _bad(f"{name} must be an integer >= 0, not {v!r}")
    return int(v)


def _list(name: str, v: Any, max_len: int | None = None) -> list[Any]:
    if not isinstance(v, list) or (max_len is not None and len(v) > max_len):
        raise _bad(f"{name} must be a list" + ("" if max_len is None else f" of at most {max_len} items"))
    return v


def decode_options(data: Any) -> Options:
    """The saved options; InvalidStateError when they are not every field of Options, valid."""
    names = {f.name for f in fields(Options)}
    if not isinstance(data, dict) or set(data) != names:
        raise _bad("options must name every field of Options, and nothing else")
    for k, v in data.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise _bad(f"option {k} must be a number, not {v!r}")
    try:
        return Options(**data)
    except (TypeError, ValueError, OverflowError) as e:
        raise _bad(f"options: {e}") from None


def decode(data: Any, route: Route, length_m: float) -> tuple[Options, MonitorState]:
    """Options and state from saved data, checked against ``route`` field by field.

    Raises
    ------
    InvalidStateError
        Anything wrong: another version, another route, a missing or unknown key, a value of the
        wrong type or out of range.
    """
    if not isinstance(data, dict):
        raise _bad(f"must be a JSON object, not {type(data).__name__}")
    version = data.get("version")
    if version not in (1, 2, STATE_VERSION) or isinstance(version, bool):
        raise _bad(f"version {version!r} cannot be read (this offcourse reads versions 1 to {STATE_VERSION})")
    top = {"version", "route_vertices", "route_length_m", "options", "state"}
    if version >= 2:
        top.add("route_fingerprint")
    if set(data) != top:
        raise _bad(f"version {version} needs exactly the keys {sorted(top)}")
    if data["route_vertices"] != len(route) or not (
        isinstance(data["route_length_m"], int | float) and abs(float(data["route_length_m"]) - length_m) <= 1e-6
    ):
        raise _bad("it belongs to another route (vertex count or length differ)")
    if version >= 2 and data["route_fingerprint"] != route_fingerprint(route):
        raise _bad("it belongs to another route (same length, other shape or place)")
    options = decode_options(data["options"])
    raw = data["state"]
    if not isinstance(raw, dict):
        raise _bad("state must be a JSON object")
    names = {f.name for f in fields(MonitorState)}
    expected = names - set(_V3_ONLY) if version < 3 else names
    if version < 2:
        expected -= set(_V2_ONLY)
    if set(raw) != expected:
        missing, extra = sorted(expected - set(raw)), sorted(set(raw) - expected)
        raise _bad(f"state keys differ (missing {missing}, unknown {extra})")
    st = MonitorState()
    try:
        st.phase = Phase(raw["phase"])
    except (ValueError, TypeError):
        raise _bad(f"phase {raw['phase']!r} is none of {[p.value for p in Phase]}") from None
    for name, (kind, nullable) in _SPEC.items():
        if name not in raw:
            continue  # a field newer than the state's version: its default
        v = raw[name]
        if kind == "count":
            setattr(st, name, _count(name, v))
        elif kind == "bool":
            if not isinstance(v, bool):
                raise _bad(f"{name} must be true or false, not {v!r}")
            setattr(st, name, v)
        else:
            setattr(st, name, _number(name, v, kind, nullable, length_m, options))
    if math.isnan(st.cur_lo) != math.isnan(st.cur_hi) or st.cur_lo > st.cur_hi:
        raise _bad("cur_lo and cur_hi must both be null or a stretch from <= to")
    covered: list[list[float]] = []
    for iv in _list("covered", raw["covered"]):
        pair = _list("covered item", iv)
        if len(pair) != 2:
            raise _bad("covered items must be [from, to] pairs")
        lo, hi = (_number("covered", v, "route", False, length_m, options) for v in pair)
        if lo > hi or (covered and lo <= covered[-1][1]):
            raise _bad("covered must be sorted, disjoint [from, to] pairs")
        covered.append([lo, hi])
    st.covered = covered
    for rec in _list("ring", raw["ring"], RING_SIZE):
        if not isinstance(rec, list) or len(rec) != len(_RING_KINDS):
            raise _bad("ring items must be [t, x, y, route_m, offset_m, odo_m, climb_m]")
        vals = [_number("ring", v, k, False, length_m, options) for v, k in zip(rec, _RING_KINDS, strict=True)]
        st.ring.append((vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6]))
    if version >= 2:
        st.ignored_by_reason = _reasons_from(raw["ignored_by_reason"], st.ignored)
        p = raw["pending"]
        if p is not None:
            if not isinstance(p, list) or len(p) != len(_PENDING_KINDS):
                raise _bad("pending must be null or [t, x, y, ele_m, hacc_m]")
            a, b, c, e, h = (
                _number("pending", v, k, n, length_m, options) for v, (k, n) in zip(p, _PENDING_KINDS, strict=True)
            )
            st.pending = (a, b, c, e, h)
    else:
        st.ignored_by_reason = _reasons()
    return options, st


def _reasons_from(v: Any, total: int) -> dict[str, int]:
    if not isinstance(v, dict) or set(v) != set(IGNORE_REASONS):
        raise _bad(f"ignored_by_reason must count exactly {list(IGNORE_REASONS)}")
    out = {k: _count(f"ignored_by_reason.{k}", v[k]) for k in IGNORE_REASONS}
    if sum(out.values()) != total:
        raise _bad("ignored_by_reason does not add up to ignored")
    return out


def dumps(data: dict[str, Any]) -> str:
    """The saved state as strict JSON text (``allow_nan=False``: it has no NaN to write)."""
    return json.dumps(data, allow_nan=False, separators=(",", ":"))

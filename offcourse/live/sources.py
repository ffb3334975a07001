"""Live sources: where fixes come from, and :func:`open_source` to pick one from a string.

Every source is an iterable of :class:`~offcourse.Fix` (blocking: iterating reads the device, the
socket or the file) with a :meth:`Source.close` that another thread may call to stop it, and a
``name`` that error messages and warnings start with. Nothing is opened before iteration begins.

========================  =====================================================================
``gpsd://host:port``      gpsd's JSON protocol (:class:`~offcourse.live.gpsd.GpsdSource`),
                          port 2947 when omitted
``tcp://host:port``       NMEA 0183 over TCP (:class:`~offcourse.live.nmea_sources.NmeaTcpSource`)
``nmea:///path``          NMEA 0183 from a file or a serial device
                          (:class:`~offcourse.live.nmea_sources.NmeaFileSource`); ``?baud=9600``
                          for a serial port
any other path            a recording (FIT, GPX, TCX...) replayed
                          (:class:`~offcourse.live.replay.ReplaySource`)
========================  =====================================================================
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..detect import Fix
from ..detect.inputs import epoch_seconds
from ..errors import SourceError

__all__ = [
    "SourceError",
    "Source",
    "open_source",
    "tcp_lines",
]

Warn = Callable[[str], None]


def _ignore(message: str) -> None:
    pass


def seconds(fix: Fix) -> float:
    """A fix's time as UTC seconds (the live sources make fixes with numbers)."""
    return epoch_seconds(fix.epoch_s, None)


class Source:
    """Base class of the live sources: an iterable of fixes that can be closed from another thread.

    Attributes
    ----------
    name : str
        How the source is named in messages (its address or path).
    finite : bool
        True for a file (iteration ends at its end); False for a device or a network stream.
    warn : callable
        Called with one-line warnings (reconnections, rejected input).
    """

    name: str = "source"
    finite: bool = False

    def __init__(self, *, warn: Warn | None = None) -> None:
        self._stop = threading.Event()
        self.warn: Warn = warn or _ignore
        self.after_s = -math.inf
        """Fixes at or before this time (UTC seconds) are skipped: set by a resumed run."""

    def __iter__(self) -> Iterator[Fix]:
        raise NotImplementedError

    def close(self) -> None:
        """Stop iterating (thread-safe): a blocked read returns within a fraction of a second."""
        self._stop.set()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._stop.is_set()

    def stats(self) -> dict[str, Any]:
        """Counters of what the source rejected or reconnected (for a summary at the end)."""
        return {}


def _sleep_unless_closed(stop: threading.Event, seconds: float) -> bool:
    """Sleep; returns True when the source was closed meanwhile."""
    return stop.wait(max(0.0, seconds))


def tcp_lines(
    host: str,
    port: int,
    *,
    name: str,
    stop: threading.Event,
    hello: bytes = b"",
    warn: Warn = _ignore,
    connect_timeout_s: float = 5.0,
    give_up_s: float | None = 60.0,
    max_line: int = 1 << 16,
    counters: dict[str, int] | None = None,
) -> Iterator[bytes]:
    """Lines from a TCP stream (without their line end), reconnecting after the connection drops.

    The first connection must succeed (else :class:`SourceError`). After a loss the source retries
    every 1, 2, 4... up to 5 seconds; ``give_up_s`` seconds without a connection (None: never)
    raise :class:`SourceError`. A partial line cut by the loss is dropped; a line longer than
    ``max_line`` bytes is dropped whole. ``hello`` is sent after every (re)connection.
    """
    counters = counters if counters is not None else {}
    connected_once = False
    lost_at = math.nan
    delay = 1.0
    while not stop.is_set():
        try:
            sock = socket.create_connection((host, port), timeout=connect_timeout_s)
        except OSError as exc:
            if not connected_once:
                raise SourceError(f"cannot connect: {exc.strerror or exc}", path=name) from None
            if give_up_s is not None and time.monotonic() - lost_at > give_up_s:
                raise SourceError(f"connection lost; no reconnection within {give_up_s:g} s", path=name) from None
            if _sleep_unless_closed(stop, delay):
                return
            delay = min(5.0, delay * 2)
            continue
        if connected_once:
            counters["reconnects"] = counters.get("reconnects", 0) + 1
            warn(f"reconnected after {time.monotonic() - lost_at:.1f} s")
        connected_once, delay = True, 1.0
        buf = b""
        try:
            sock.settimeout(0.25)  # wake up now and then to notice close()
            if hello:
                sock.sendall(hello)
            skipping = False  # inside an over-long line
            while not stop.is_set():
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if skipping:
                        skipping = False
                        continue
                    if len(line) > max_line:
                        counters["long_lines"] = counters.get("long_lines", 0) + 1
                        continue
                    yield line.rstrip(b"\r")
                if len(buf) > max_line:
                    counters["long_lines"] = counters.get("long_lines", 0) + 1
                    buf, skipping = b"", True
        except OSError as exc:
            if stop.is_set():
                return
            warn(f"connection lost: {exc.strerror or exc}")
        finally:
            sock.close()
        if stop.is_set():
            return
        if buf:
            counters["partial_lines"] = counters.get("partial_lines", 0) + 1
        warn("connection closed by the server; reconnecting")
        lost_at = time.monotonic()


def _host_port(spec: str, default_port: int | None) -> tuple[str, int]:
    parts = urlsplit(spec)
    try:
        port = parts.port
    except ValueError:
        raise SourceError("bad port", path=spec) from None
    host = parts.hostname
    if not host:
        raise SourceError("no host in the address", path=spec)
    if port is None:
        if default_port is None:
            raise SourceError("no port in the address (host:port)", path=spec)
        port = default_port
    return host, port


def open_source(spec: str, *, speed: float = 1.0, warn: Warn | None = None) -> Source:
    """The source a string names (see the module table). Nothing is opened yet.

    Parameters
    ----------
    spec : str
        ``gpsd://host:port``, ``tcp://host:port``, ``nmea:///path`` or the path of a recording.
    speed : float
        For files (a recording, an NMEA log): times real time; 0 replays without waiting.
    warn : callable, optional
        Called with one-line warnings (reconnections, rejected input).

    Raises
    ------
    SourceError
        An address that names no source.

    >>> open_source("gpsd://localhost").name
    'gpsd://localhost:2947'
    >>> open_source("ftp://x/y")
    Traceback (most recent call last):
    ...
    offcourse.errors.SourceError: ftp://x/y: unknown kind of source (use gpsd://, tcp://, nmea:// or a file)
    """
    if not (isinstance(speed, int | float) and math.isfinite(speed) and speed >= 0):
        raise SourceError(f"speed must be a number >= 0, not {speed!r}", path=spec)
    scheme = spec.split("://", 1)[0].lower() if "://" in spec else ""
    if scheme == "gpsd":
        from .gpsd import GpsdSource

        host, port = _host_port(spec, 2947)
        return GpsdSource(host, port, warn=warn)
    if scheme == "tcp":
        from .nmea_sources import NmeaTcpSource

        host, port = _host_port(spec, None)
        return NmeaTcpSource(host, port, warn=warn)
    if scheme == "nmea":
        from .nmea_sources import NmeaFileSource

        parts = urlsplit(spec)
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise SourceError("expected nmea:///absolute/path (three slashes)", path=spec)
        query = parse_qs(parts.query)
        baud: int | None = None
        if "baud" in query:
            try:
                baud = int(query["baud"][0])
            except ValueError:
                raise SourceError("baud must be a whole number", path=spec) from None
        return NmeaFileSource(parts.path, baud=baud, speed=speed, warn=warn)
    if scheme:
        raise SourceError("unknown kind of source (use gpsd://, tcp://, nmea:// or a file)", path=spec)
    from .nmea_sources import NmeaFileSource, looks_like_nmea
    from .replay import ReplaySource

    if looks_like_nmea(spec):
        return NmeaFileSource(spec, speed=speed, warn=warn)
    return ReplaySource(spec, speed=speed, warn=warn)

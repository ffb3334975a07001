"""NMEA 0183 sources: a log file, a serial device, a TCP stream (decoding in :mod:`.nmea`)."""

from __future__ import annotations

import importlib
import os
import stat
from collections.abc import Iterable, Iterator
from typing import Any

from ..detect import Fix
from ..errors import NoGeometryError
from .nmea import NmeaDecoder
from .replay import paced
from .sources import Source, SourceError, Warn, seconds, tcp_lines

__all__ = ["NmeaFileSource", "NmeaTcpSource", "looks_like_nmea"]

DEFAULT_BAUD = 4800
"""The NMEA 0183 standard rate; most modern receivers use 9600 or more (``?baud=9600``)."""


def looks_like_nmea(path: str | os.PathLike[str]) -> bool:
    """Whether a file starts (after blanks) with an NMEA sentence; False when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096).lstrip()
    except OSError:
        return False
    return head[:1] in (b"$", b"!")


class _NmeaSource(Source):
    def __init__(self, *, warn: Warn | None = None) -> None:
        super().__init__(warn=warn)
        self.decoder = NmeaDecoder()
        self._fixes = 0

    def _decode(self, lines: Iterable[bytes]) -> Iterator[Fix]:
        d = self.decoder
        warned: set[str] = set()
        for number, line in enumerate(lines, 1):
            fixes = d.feed(line)
            for reason in sorted(set(d.rejected) - warned):  # the first of each kind, then only counted
                warned.add(reason)
                self.warn(f"NMEA line {number} rejected ({reason.replace('_', ' ')}); further ones are counted")
            for fix in fixes:
                self._fixes += 1
                yield fix
        for fix in d.finish():
            self._fixes += 1
            yield fix

    def stats(self) -> dict[str, Any]:
        return {
            "fixes": self._fixes,
            "sentences": self.decoder.sentences,
            "rejected": dict(self.decoder.rejected),
            "cycles_without_fix": self.decoder.no_fix,
        }


class NmeaFileSource(_NmeaSource):
    """NMEA 0183 read from a log file (paced at ``speed`` times real time) or a serial device.

    A character device is opened with pyserial when it is installed (``pip install
    offcourse[serial]``; ``baud`` default :data:`DEFAULT_BAUD`), else as a plain file with the
    port's current settings (set them with ``stty -F DEVICE 9600 raw``).

    Raises (when iterated)
    ----------------------
    SourceError
        The file or device cannot be opened, or ``baud`` is given without pyserial.
    NoGeometryError
        A log file holds no usable NMEA sentence at all.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        baud: int | None = None,
        speed: float = 1.0,
        warn: Warn | None = None,
    ) -> None:
        super().__init__(warn=warn)
        self.path = path
        self.name = os.fsdecode(path)
        self.baud = baud
        self.speed = speed
        try:
            self.finite = not stat.S_ISCHR(os.stat(path).st_mode)
        except OSError:
            self.finite = True

    def __iter__(self) -> Iterator[Fix]:
        if not self.finite:
            yield from self._device()
            return
        try:
            fh = open(self.path, "rb")  # noqa: SIM115 - closed below, also when the consumer stops early
        except OSError as exc:
            raise SourceError(f"cannot open: {exc.strerror or exc}", path=self.name) from None
        try:
            yield from paced(self._decode(fh), speed=self.speed, after_s=self.after_s, wait=self._stop.wait)
        finally:
            fh.close()
        d = self.decoder
        if d.sentences == 0 and not self.closed:
            reasons = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(d.rejected.items()))
            raise NoGeometryError(
                "no usable NMEA sentence" + (f" ({reasons})" if reasons else " (empty)"), path=self.name
            )

    def _device(self) -> Iterator[Fix]:
        try:
            serial: Any = importlib.import_module("serial")
        except ImportError:
            serial = None
        if serial is None:
            if self.baud is not None:
                raise SourceError("a baud rate needs pyserial (pip install offcourse[serial])", path=self.name)
            try:
                fh = open(self.path, "rb", buffering=0)  # noqa: SIM115
            except OSError as exc:
                raise SourceError(f"cannot open: {exc.strerror or exc}", path=self.name) from None
            with fh:
                yield from self._decode(self._until_closed(iter(fh.readline, b"")))
            return
        try:
            port = serial.Serial(os.fsdecode(self.path), self.baud or DEFAULT_BAUD, timeout=0.25)
        except (OSError, ValueError) as exc:
            raise SourceError(f"cannot open the serial port: {exc}", path=self.name) from None
        with port:

            def lines() -> Iterator[bytes]:
                buf = b""
                while not self.closed:
                    buf += port.read(port.in_waiting or 1)
                    *done, buf = buf.split(b"\n")
                    yield from done
                    if len(buf) > 4096:
                        buf = b""

            yield from self._decode(lines())

    def _until_closed(self, lines: Iterator[bytes]) -> Iterator[bytes]:
        for line in lines:
            if self.closed:
                return
            yield line


class NmeaTcpSource(_NmeaSource):
    """NMEA 0183 over TCP (a phone's GPS-forwarding app, ``gpsd -N`` relays, ser2net, ...).

    Reconnects after the connection drops (see :func:`~offcourse.live.sources.tcp_lines`).
    """

    def __init__(self, host: str, port: int, *, give_up_s: float | None = 60.0, warn: Warn | None = None) -> None:
        super().__init__(warn=warn)
        self.host, self.port = host, port
        self.name = f"tcp://{host}:{port}"
        self.give_up_s = give_up_s
        self.counters: dict[str, int] = {}

    def __iter__(self) -> Iterator[Fix]:
        lines = tcp_lines(
            self.host,
            self.port,
            name=self.name,
            stop=self._stop,
            warn=self.warn,
            give_up_s=self.give_up_s,
            counters=self.counters,
        )
        for fix in self._decode(lines):
            if seconds(fix) > self.after_s:
                yield fix

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), **self.counters}

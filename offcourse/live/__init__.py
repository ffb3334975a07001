"""Live positions in, alerts out: sources of fixes and the loop that follows a runner.

- :func:`open_source` turns ``gpsd://host:port``, ``tcp://host:port`` (NMEA over TCP),
  ``nmea:///path`` (an NMEA log or a serial device) or a recording's path into a
  :class:`Source`, an iterable of :class:`~offcourse.Fix`;
- :class:`Session` runs the engine over a source, saving its state after every event and resuming
  from it (``offcourse follow`` is built on it);
- :func:`follow` is the asynchronous form (``async for event in follow(route, source)``) and
  :func:`run` the callback form.

Importing this package opens nothing and reads nothing.
"""

from .follow import Session, event_from_dict, event_json, follow, run
from .gpsd import GpsdSource, parse_tpv
from .nmea import NmeaDecoder, fix_sentences, write_nmea
from .nmea_sources import NmeaFileSource, NmeaTcpSource
from .replay import ReplaySource, paced
from .sources import Source, SourceError, open_source

__all__ = [
    "GpsdSource",
    "NmeaDecoder",
    "NmeaFileSource",
    "NmeaTcpSource",
    "ReplaySource",
    "Session",
    "Source",
    "SourceError",
    "event_from_dict",
    "event_json",
    "fix_sentences",
    "follow",
    "open_source",
    "paced",
    "parse_tpv",
    "run",
    "write_nmea",
]

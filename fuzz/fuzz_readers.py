"""Coverage-guided fuzzing of every reader with atheris (libFuzzer for Python).

Each input goes through :func:`offcourse.read.parse_bytes` (format detection, gzip with a bound,
dispatch), through the reader of every format of the registry (:data:`offcourse.read.formats.FORMATS`:
a new format is fuzzed without a line here) and through the direct entries (FIT strict, GeoJSON,
LiveTrail). Only :class:`~offcourse.errors.OffcourseError` may escape a reader; anything else is a
crash, and a result must satisfy the promises of :class:`~offcourse.model.Track` (finite positions
in range, columns of one length, sorted segment starts). Hangs and memory blow-ups are caught by
libFuzzer's ``-timeout`` and ``-rss_limit_mb``.

Run (``make fuzz`` does this; new inputs go to ``fuzz/corpus/``, crashes to ``fuzz/crashes/``)::

    .venv/bin/python fuzz/fuzz_readers.py -max_total_time=3600 -timeout=20 -rss_limit_mb=2048 \\
        -max_len=65536 -artifact_prefix=fuzz/crashes/ fuzz/corpus

The seed files ``fuzz/corpus/seed-*`` (small valid files of every format) are written by
``fuzz/make_seeds.py``. To replay one input without fuzzing: ``python fuzz/fuzz_readers.py FILE``.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Callable

import atheris

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

with atheris.instrument_imports(include=["offcourse"]):
    import numpy as np

    from offcourse.errors import OffcourseError
    from offcourse.model import ParsedFile
    from offcourse.read import parse_bytes
    from offcourse.read.fit import parse_fit
    from offcourse.read.formats import FORMATS, Format
    from offcourse.read.geojson import parse_geojson
    from offcourse.read.livetrail import parse_livetrail

MAX_BYTES = 16 << 20  # bound on decompressed gzip content here, so that bombs stop early


def _check(pf: ParsedFile) -> None:
    t = pf.track
    n = len(t)
    for name in ("epoch_s", "lon", "lat", "ele_m", "hacc_m", "hdop"):
        if getattr(t, name).shape != (n,):
            raise AssertionError(f"column {name} has the wrong length")
    if not (np.isfinite(t.lon).all() and np.isfinite(t.lat).all()):
        raise AssertionError("a position is not finite")
    if (np.abs(t.lat) > 90).any() or (np.abs(t.lon) > 180).any():
        raise AssertionError("a position is out of range")
    starts = t.segment_starts.tolist()
    if n and (starts[0] != 0 or starts != sorted(set(starts)) or starts[-1] >= n):
        raise AssertionError(f"bad segment starts {starts[:10]}")
    if not n and starts:
        raise AssertionError("segment starts in an empty track")
    for w in pf.waypoints:
        if not (math.isfinite(w.lon) and math.isfinite(w.lat) and abs(w.lat) <= 90 and abs(w.lon) <= 180):
            raise AssertionError("a waypoint position is not valid")


def _registry_reader(fmt: Format) -> Callable[[bytes], ParsedFile]:
    return lambda d: fmt.parse(d, f"fuzz{fmt.suffixes[0]}")


READERS = (
    lambda d: parse_bytes(d, "fuzz", max_bytes=MAX_BYTES),
    *(_registry_reader(f) for f in FORMATS),
    lambda d: parse_fit(d, "fuzz.fit", strict=True),
    lambda d: parse_geojson(d, "fuzz.geojson"),
    lambda d: parse_livetrail(d, "fuzz.json"),
)


def TestOneInput(data: bytes) -> None:  # the name atheris expects
    for reader in READERS:
        try:
            result = reader(data)
        except OffcourseError as exc:
            if "\n" in str(exc):
                raise AssertionError("an error message of more than one line") from None
            if exc.path is None:
                raise AssertionError(f"an error that does not name the file: {exc}") from None
            continue
        _check(result)


def main() -> None:
    warnings.simplefilter("ignore")
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

"""Benchmark FIT decoding: offcourse's fast path against fitdecode, fitparse and garmin-fit-sdk.

Run from the repository root::

    python bench/bench_fit.py [--runs N]

For each large real FIT file in ``../shared/data`` it prints the number of positioned records and
the positioned records decoded per second (best of N runs, file already in memory) by each decoder.
The other decoders do full decoding of every message, which is what they are for; the figure is
what it costs to get the positions out of a file with each of them.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data"
FILES = [
    "dtcooper+python-fitparse/tests__files__activity-large-fenxi2-multisport.fit",
    "sports-alliance+sports-lib/src__specs__fixtures__triathlons__fit__4623204522.fit",
    "dtcooper+python-fitparse/tests__files__nick.fit",
    "dtcooper+python-fitparse/tests__files__2019-02-17-062644-ELEMNT-297E-195-0.fit",
    "dtcooper+python-fitparse/tests__files__garmin-edge-500-activity.fit",
]
MORE = [  # with --all
    "sports-alliance+sports-lib/src__specs__fixtures__runs__fit__6916728382.fit",
    "muktihari+fit/testdata__big_activity.fit",
]


def run_offcourse(data: bytes) -> int:
    from offcourse.read.fit import parse_fit

    return len(parse_fit(data).track)


def run_fitdecode(data: bytes) -> int:
    import fitdecode

    n = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with fitdecode.FitReader(data) as reader:
                for frame in reader:
                    if (
                        isinstance(frame, fitdecode.FitDataMessage)
                        and frame.global_mesg_num == 20
                        and frame.get_value("position_lat", fallback=None) is not None
                    ):
                        n += 1
        except fitdecode.FitEOFError:
            pass  # nick.fit ends without its final CRC
    return n


def run_fitparse(data: bytes) -> int:
    import fitparse
    import fitparse.utils

    n = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ff = fitparse.FitFile(io.BytesIO(data), check_crc=False)
        try:
            for m in ff.get_messages("record"):
                if m.get_value("position_lat") is not None:
                    n += 1
        except fitparse.utils.FitEOFError:
            pass
    return n


def run_garmin(data: bytes) -> int:
    from garmin_fit_sdk import Decoder, Stream

    decoder = Decoder(Stream.from_byte_array(bytearray(data)))
    messages, _errors = decoder.read()
    return sum(1 for r in messages.get("record_mesgs", []) if r.get("position_lat") is not None)


DECODERS: list[tuple[str, Callable[[bytes], int], int]] = [
    ("offcourse", run_offcourse, 1),  # relative number of runs: the slow ones get fewer
    ("fitdecode", run_fitdecode, 0),
    ("fitparse", run_fitparse, 0),
    ("garmin-fit-sdk", run_garmin, 0),
]


def best_of(fn: Callable[[bytes], int], data: bytes, runs: int) -> tuple[float, int]:
    best = float("inf")
    n = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        n = fn(data)
        best = min(best, time.perf_counter() - t0)
    return best, n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of offcourse per file (best is kept)")
    parser.add_argument("--slow-runs", type=int, default=1, help="runs of the other decoders per file")
    parser.add_argument("--all", action="store_true", help="also the Coros run and the 100,000-record file")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"real-data corpus not found at {DATA}", file=sys.stderr)
        return 1
    names = [d[0] for d in DECODERS]
    print(f"{'file':52s} {'points':>7s} " + " ".join(f"{n + ' rec/s':>20s}" for n in names) + "  speed-up")
    for rel in FILES + (MORE if args.all else []):
        path = DATA / rel
        if not path.exists():
            continue
        data = path.read_bytes()
        rates = []
        points = 0
        for _name, fn, fast in DECODERS:
            runs = args.runs if fast else args.slow_runs
            fn(data) if fast else None  # warm-up (imports, tables)
            secs, n = best_of(fn, data, runs)
            points = points or n
            rates.append(n / secs if secs > 0 else float("inf"))
        cells = " ".join(f"{r:20,.0f}" for r in rates)
        print(f"{path.name[-52:]:52s} {points:7d} {cells}  x{rates[0] / max(rates[1:]):.0f}")
    extra = " --all" if args.all else ""
    print(f"\nreproduce: python bench/bench_fit.py --runs {args.runs} --slow-runs {args.slow_runs}{extra}")
    print(f"python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

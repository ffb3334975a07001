"""Dump every check's report and hindsight to JSON, to prove a speed-up of hindsight changes no result.

Cases: every pair of ``bench/real_pairs.json`` (files under ``../shared/data``), every test of
``tests/test_verdicts.py`` (each ``check`` it makes), family A scenarios (``bench/scenarios.py``,
seeds 1..N, generated once into a cache folder) and ``bench_engine.make`` recordings (on course and
half off course). Per check: ``report_to_dict`` and the whole :class:`Hindsight` (arrays in full),
written with ``repr`` floats, so that comparing two dumps byte for byte compares every bit.

Run before a change: ``python bench/dump_hindsight.py /tmp/before.json``, after it:
``python bench/dump_hindsight.py /tmp/after.json --compare /tmp/before.json`` (exit 1 on any difference);
``--compiled-from 1`` runs every check's Viterbi search compiled, ``--compiled-from 1000000000`` none;
``--loops-from 1`` every check's walks over the fixes (:mod:`offcourse._hindsight_loops`) compiled,
``--loops-from 1000000000`` none.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import offcourse  # noqa: E402
import offcourse.report as report_mod  # noqa: E402
from offcourse.contract import report_to_dict  # noqa: E402

_LAST: list[Any] = []
_orig_hindsight = report_mod.hindsight


def _spy(*a: Any, **k: Any) -> Any:
    h = _orig_hindsight(*a, **k)
    _LAST.append(h)
    return h


report_mod.hindsight = _spy  # type: ignore[assignment]


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return [repr(float(e)) for e in v.tolist()]
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: _plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, (tuple, list)):
        return [_plain(e) for e in v]
    if isinstance(v, float):
        return repr(v)
    return v


def _record(out: dict[str, Any], name: str, rep: Any) -> None:
    h = _LAST[-1] if _LAST else None
    _LAST.clear()
    out[name] = {"report": report_to_dict(rep), "hindsight": _plain(h)}


def real_pairs(out: dict[str, Any]) -> None:
    pairs = json.loads((REPO / "bench" / "real_pairs.json").read_text(encoding="utf-8"))
    for p in pairs:
        try:
            route = offcourse.read_route(REPO / p["route"], track=0)
            track = offcourse.read_track(REPO / p["track"])
            rep = offcourse.check(route, track)
        except Exception as exc:  # an unreadable pair: its error is the result
            _LAST.clear()
            out["real:" + p["name"]] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        _record(out, "real:" + p["name"], rep)


def verdict_tests(out: dict[str, Any]) -> None:
    import tests.test_verdicts as tv

    calls: list[Any] = []
    orig = tv.check

    def wrapped(*a: Any, **k: Any) -> Any:
        r = orig(*a, **k)
        calls.append((r, _LAST[-1] if _LAST else None))
        _LAST.clear()
        return r

    tv.check = wrapped  # type: ignore[assignment]
    for name, fn in sorted(vars(tv).items()):
        if not name.startswith("test_") or not callable(fn):
            continue
        params = [p for p in inspect.signature(fn).parameters]
        argsets: list[dict[str, Any]] = [{}]
        for mark in getattr(fn, "pytestmark", []):
            if mark.name == "parametrize":
                argname, values = mark.args[0], mark.args[1]
                argsets = [{**a, argname: v} for a in argsets for v in values]
        for a in argsets:
            if set(params) - set(a):
                continue  # needs a fixture (tmp_path): skipped
            calls.clear()
            try:
                fn(**a)
            except Exception as exc:  # a failing test is recorded as such
                calls.append((None, f"{type(exc).__name__}"))
            for k, (r, h) in enumerate(calls):
                key = f"verdicts:{name}{a}:{k}"
                out[key] = {"report": None if r is None else report_to_dict(r), "hindsight": _plain(h)}
    tv.check = orig  # type: ignore[assignment]


def family_a(out: dict[str, Any], n: int, cache: Path) -> None:
    from scenarios import generate

    for seed in range(1, n + 1):
        done = list(cache.glob(f"s{seed:05d}-*/truth.json"))
        if done:
            folder = done[0].parent
            truth = json.loads(done[0].read_text(encoding="utf-8"))
        else:
            truth = generate(seed, cache)
            folder = cache / truth["id"]
        route = offcourse.read_route(folder / truth["route_file"])
        track = offcourse.read_track(folder / truth["track_file"])
        _record(out, f"A:{truth['id']}", offcourse.check(route, track))


def engine(out: dict[str, Any]) -> None:
    from bench_engine import make

    for n, off in ((20_000, 0.0), (20_000, 0.5)):
        route, track = make(n, off_share=off)
        _record(out, f"engine:{n}:{off}", offcourse.check(route, track))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--compare", type=Path, help="a dump to compare with, byte for byte")
    ap.add_argument("--family-a", type=int, default=40, help="family A seeds 1..N")
    ap.add_argument(
        "--compiled-from", type=int, help="run hindsight's Viterbi compiled from this many fixes (1: always)"
    )
    ap.add_argument(
        "--loops-from",
        type=int,
        help="run hindsight's compiled walks (moving fixes, pauses) from this many fixes (1: always; loads numba)",
    )
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "offcourse-dump-scenarios")
    args = ap.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.compiled_from is not None:
        import offcourse.rematch

        offcourse.rematch.COMPILED_MIN_FIXES = args.compiled_from
        offcourse.rematch.COMPILED_LOADED_MIN_FIXES = args.compiled_from
    if args.loops_from is not None:
        import offcourse._hindsight_loops as loops

        loops.COMPILED_MIN_FIXES = loops.COMPILED_LOADED_MIN_FIXES = args.loops_from
        if args.loops_from <= 1 and loops.compiled() is None:
            print("numba is not installed: the compiled walks cannot run", file=sys.stderr)
            return 2
    out: dict[str, Any] = {}
    real_pairs(out)
    verdict_tests(out)
    family_a(out, args.family_a, args.cache)
    engine(out)
    text = json.dumps(out, indent=0, sort_keys=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"{len(out)} checks dumped to {args.out}")
    if args.compare:
        old = json.loads(args.compare.read_text(encoding="utf-8"))
        same = text == args.compare.read_text(encoding="utf-8")
        diff = sorted(k for k in set(old) | set(out) if old.get(k) != out.get(k))
        print(f"compared {len(out)} checks with {args.compare}: {'all identical' if same else f'{len(diff)} differ'}")
        for k in diff[:20]:
            print("  differs:", k)
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How a row reads to people: where a finding is, its flags, counts, file names to publish.

Part of :mod:`offcourse.batch`, used by the table, the CSV sheets and the HTML page, always
through a :class:`~offcourse.present.Style` (units and time zone). JSON never goes through here.

Examples
--------
>>> from offcourse.present import Style, Units
>>> exc = {"kind": "off_course", "exit_route_m": 64500.0, "rejoin_route_m": 65100.0,
...        "between": {"before": {"name": "Lac Combal", "route_m": 64200.0},
...                    "after": {"name": "Arête du Mont-Favre", "route_m": 68000.0}}}
>>> where_text(exc, Style())
'km 64.50, between Lac Combal (km 64.2) and Arête du Mont-Favre (km 68.0)'
>>> where_text({"exit_route_m": 100_000.0}, Style(units=Units.MI))
'mile 62.14'
>>> plural(1, "error"), plural(2, "error"), plural(0, "excursion")
('1 error', '2 errors', '0 excursions')
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from ..present import KIND_WORDS, Style, locate
from ..verdict import facts_from_json, render_facts

__all__ = [
    "finding_text",
    "flags_text",
    "plural",
    "publish_names",
    "publish_rows",
    "reason_text",
    "where_text",
    "worst_of",
]


def plural(n: int, word: str) -> str:
    """``1 error``, ``2 errors``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v) if v == v and abs(v) != float("inf") else None


def _checkpoint(cp: Any) -> SimpleNamespace | None:
    if not isinstance(cp, Mapping) or not isinstance(cp.get("name"), str):
        return None
    m = _num(cp.get("route_m"))
    return None if m is None else SimpleNamespace(name=cp["name"], route_m=m)


def between_text(exc: Mapping[str, Any], style: Style) -> str:
    """``between A (km 64.2) and B (km 68.0)``, ``after A (...)``, ``before B (...)``, or ``""``: the
    checkpoints a row stores around a finding (``between``), in words by :func:`offcourse.present.locate`."""
    between = exc.get("between")
    lo = _num(exc.get("exit_route_m"))
    if not isinstance(between, Mapping) or lo is None:
        return ""
    around = [c for c in (_checkpoint(between.get("before")), _checkpoint(between.get("after"))) if c is not None]
    return locate(around, lo, _num(exc.get("rejoin_route_m")), style) or ""


def where_text(exc: Mapping[str, Any], style: Style) -> str:
    """Where a finding is: its place along the route, and the checkpoints around it when the route has them."""
    place = style.route_position(_num(exc.get("exit_route_m")))
    around = between_text(exc, style)
    return f"{place}, {around}" if around else place


def worst_of(row: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The row's worst excursion (its ``worst`` number), or None."""
    items = row.get("excursion_list")
    k = row.get("worst")
    if not isinstance(items, Sequence) or not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= len(items):
        return None
    e = items[k - 1]
    return e if isinstance(e, Mapping) else None


def finding_text(exc: Mapping[str, Any], style: Style) -> str:
    """One finding in a line: ``off course +412 m at km 64.50, between ...``."""
    kind = str(exc.get("kind") or "")
    words = KIND_WORDS.get(kind, kind.replace("_", " "))
    if kind in ("skipped_section", "shortcut"):
        size = _num(exc.get("route_bypassed_m"))
        amount = f" {style.distance(size)} of route" if size else ""
    elif kind == "wrong_direction":
        size = _num(exc.get("distance_m"))
        amount = f" {style.distance(size)}" if size else ""
    else:
        size = _num(exc.get("extra_distance_m"))
        amount = f" {style.signed_distance(size)}" if size is not None else ""
    return f"{words}{amount} at {where_text(exc, style)}"


def reason_text(row: Mapping[str, Any], style: Style | None = None) -> str:
    """The row's verdict reason in the style's units (from ``verdict_facts``; else ``verdict_reason``).

    >>> from offcourse.present import Units
    >>> row = {"verdict_reason": "x", "verdict_facts": ["1 wrong turn(s), the first at ", ["at", 2990.0]]}
    >>> reason_text(row, Style(units=Units.MI))
    '1 wrong turn(s), the first at mile 1.9'
    """
    facts = facts_from_json(row.get("verdict_facts"))
    if facts:
        return render_facts(facts, style)
    v = row.get("verdict_reason")
    return v if isinstance(v, str) else ""


def flags_text(row: Mapping[str, Any], style: Style | None = None) -> str:
    """The row's flags, ``; ``-joined (a ``not_this_route`` flag's reason in the style's units)."""
    flags = row.get("flags")
    if not isinstance(flags, Sequence):
        return ""
    out = []
    for f in flags:
        if not isinstance(f, Mapping) or not f.get("text"):
            continue
        if f.get("kind") == "not_this_route" and style is not None and facts_from_json(row.get("verdict_facts")):
            out.append(f"not this route: {reason_text(row, style)}")
        else:
            out.append(str(f.get("text")))
    return "; ".join(out)


def _outer_file(name: str) -> str:
    """The file on disk a row's name is: the archive of ``up/pack.zip/runs/a.gpx`` (``up/pack.zip``)."""
    parts = name.split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower().endswith(".zip"):
            return "/".join(parts[: i + 1])
    return name


def publish_names(files: Sequence[str]) -> list[str]:
    """File names to publish: an absolute name made relative to the folder holding all the absolute
    ones (the folder given), never an absolute path; a relative name is kept as given.

    A member of a ZIP upload keeps its archive's name and its own, as they are (``..`` included).

    >>> publish_names(["/home/ann/uploads/a.gpx", "/home/ann/uploads/late/b.fit", "mine/c.gpx"])
    ['a.gpx', 'late/b.fit', 'mine/c.gpx']
    >>> publish_names(["/home/ann/one.gpx"]), publish_names(["/up/pack.zip/a.gpx", "/up/pack.zip/../evil.gpx"])
    (['one.gpx'], ['pack.zip/a.gpx', 'pack.zip/../evil.gpx'])
    """
    folders = [os.path.dirname(_outer_file(f)) for f in files if os.path.isabs(f)]
    try:
        base = os.path.commonpath(folders) if folders else ""
    except ValueError:  # different drives
        base = ""
    head = base.rstrip("/" + os.sep) + os.sep
    out = []
    for f in files:
        if not os.path.isabs(f):
            out.append(f)
        elif base and f.startswith(head):
            out.append(f[len(head) :])
        else:
            out.append(os.path.basename(_outer_file(f)) + f[len(_outer_file(f)) :])
    return out


def publish_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows as published: every ``file`` by :func:`publish_names`, and the same names in the
    texts that quote another upload (``duplicate of ...``) or the file itself (an error). New rows.

    >>> dup = {"kind": "duplicate", "text": "duplicate of /tmp/up/a.gpx"}
    >>> r = publish_rows([{"file": "/tmp/up/a.gpx", "flags": []}, {"file": "/tmp/up/b.gpx", "flags": [dup]}])
    >>> [x["file"] for x in r], r[1]["flags"][0]["text"]
    (['a.gpx', 'b.gpx'], 'duplicate of a.gpx')
    """
    given = [str(r.get("file") or "") for r in rows]
    published = dict(zip(given, publish_names(given), strict=True))
    swaps = sorted(((g, p) for g, p in published.items() if g and g != p), key=lambda gp: len(gp[0]), reverse=True)

    def text(v: Any) -> Any:
        if not isinstance(v, str):
            return v
        for g, p in swaps:
            v = v.replace(g, p)
        return v

    out = []
    for r, g in zip(rows, given, strict=True):
        row = dict(r)
        row["file"] = published[g] if r.get("file") is not None else None
        if "error" in row:
            row["error"] = text(row["error"])
        flags = row.get("flags")
        if isinstance(flags, Sequence) and not isinstance(flags, str):
            row["flags"] = [{**f, "text": text(f.get("text"))} if isinstance(f, Mapping) else f for f in flags]
        out.append(row)
    return out

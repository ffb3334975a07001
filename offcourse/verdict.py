"""One verdict per run, from the evidence: coverage of the route and the findings.

A verdict is a claim someone acts on (a disqualification, a podium), so it is derived from
what the runner *covered* (:class:`~offcourse.coverage.Coverage`), never from the absence of
alerts, and it always comes with a one-line reason.

The rules, first that applies wins (:func:`decide`):

============== =================================================================================
kind           when
============== =================================================================================
unjudged       fewer than two fixes with a usable position
not_this_route no fix within :data:`NEAR_ROUTE_M` of the route, or the fixes came near less than
               :data:`MIN_NEAR_SHARE` of it and covered less than that share
cut            route not covered while the runner went on past it: a skipped section, a
               shortcut, a gap of at least ``gap_tolerance_m`` between covered parts that no
               off-course excursion explains, or (for a finisher) the part before a mid-route join
wrong_way      a section of at least ``wrong_way_min_m`` run in the wrong direction
lost           an off-course excursion (left the route and came back, or never came back)
did_not_finish started at the start, stopped before the finish
partial        joined the route away from its start and did not reach the finish (also when it ran
               "the wrong way" only where the route runs both ways: which way cannot be told there)
on_course      started at the start, reached the finish, every gap under ``gap_tolerance_m``
unjudged       (also) reached the finish with a stretch of at least ``gap_tolerance_m`` crossed
               without any fix (a dropout, or a watch paused): whether it was run cannot be told
============== =================================================================================

>>> v = Verdict("cut", "skipped km 2.0-3.1 (1,100 m of route)")
>>> v.kind, v.severity < Verdict("lost", "").severity < Verdict("on_course", "").severity
('cut', True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from .coverage import Coverage
from .present import Style, Units

__all__ = [
    "NEAR_ROUTE_M",
    "MIN_NEAR_SHARE",
    "Evidence",
    "Fact",
    "Verdict",
    "VerdictKind",
    "decide",
    "facts_from_json",
    "facts_to_json",
    "render_facts",
]

NEAR_ROUTE_M = 50.0
"""A recording none of whose fixes came this near the route (the default off threshold) is of
another route, or ran beside it all the way."""
MIN_NEAR_SHARE = 0.05
"""A recording that came near less than this share of the route (and covered less) is of another route."""
START_TOLERANCE_M = 200.0
"""Coverage beginning this near the start of the route is a start at the start."""


class VerdictKind(StrEnum):
    """The kinds of verdict, most serious first (their order is the batch severity order)."""

    CUT = "cut"
    WRONG_WAY = "wrong_way"
    LOST = "lost"
    DID_NOT_FINISH = "did_not_finish"
    PARTIAL = "partial"
    ON_COURSE = "on_course"
    NOT_THIS_ROUTE = "not_this_route"
    UNJUDGED = "unjudged"


_ORDER = {k.value: i for i, k in enumerate(VerdictKind)}


Fact = str | tuple[str, float]
"""A piece of a reason: words, or a figure in metres tagged ``at`` (a place along the route,
``km 3.0``), ``to`` (the far end of a span, ``3.1``), ``dist`` (a distance, ``596 m`` or ``1.1 km``) or ``m``
(a distance in whole metres, ``50 m``)."""


def _render_fact(fact: Fact, style: Style | None) -> str:
    if isinstance(fact, str):
        return fact
    tag, m = fact
    si = style is None or style.units == Units.KM
    if tag == "at":
        return f"km {_km(m)}" if si or style is None else style.route_position(m, 1)
    if tag == "to":
        return _km(m) if si or style is None else f"{style.long(m):.1f}"
    if tag == "m":
        return f"{m:.0f} m" if si or style is None else style.distance(m)
    return _dist(m) if si or style is None else style.distance(m)


def render_facts(facts: tuple[Fact, ...], style: Style | None = None) -> str:
    """The words of a reason in a style's units (None: SI words, as in JSON).

    >>> f = ("the first at ", ("at", 2990.0), ", ", ("dist", 596.0), " extra")
    >>> render_facts(f), render_facts(f, Style(units=Units.MI))
    ('the first at km 3.0, 596 m extra', 'the first at mile 1.9, 0.37 mi extra')
    """
    return "".join(_render_fact(f, style) for f in facts)


def facts_to_json(facts: tuple[Fact, ...]) -> list[str | list[str | float]]:
    """A reason's facts as JSON: words, or ``[tag, metres]``."""
    return [f if isinstance(f, str) else [f[0], round(f[1], 1)] for f in facts]


def facts_from_json(v: object) -> tuple[Fact, ...] | None:
    """:func:`facts_to_json` read back; None if ``v`` is not such a list."""
    if not isinstance(v, list):
        return None
    out: list[Fact] = []
    for f in v:
        if isinstance(f, str):
            out.append(f)
        elif (
            isinstance(f, list)
            and len(f) == 2
            and f[0] in ("at", "to", "dist", "m")
            and isinstance(f[1], int | float)
            and not isinstance(f[1], bool)
            and math.isfinite(f[1])
        ):
            out.append((f[0], float(f[1])))
        else:
            return None
    return tuple(out)


@dataclass(frozen=True)
class Verdict:
    """What the run amounts to, with the one-line reason for people.

    ``reason`` is in SI words (km, m: the JSON's ``verdict_reason``); ``facts`` keep its figures
    in metres so that :meth:`reason_text` can say it in miles.
    """

    kind: str
    reason: str
    details: tuple[str, ...] = field(default=(), compare=False)
    """Further findings beside the one that decided (a cut who also got lost)."""
    facts: tuple[Fact, ...] = field(default=(), compare=False)
    """The reason as words and figures (empty: the reason is words only)."""
    detail_facts: tuple[tuple[Fact, ...], ...] = field(default=(), compare=False)
    """The details as words and figures (empty: the details are words only)."""

    @classmethod
    def of(cls, kind: str, facts: tuple[Fact, ...], details: tuple[tuple[Fact, ...], ...] = ()) -> Verdict:
        """A verdict whose reason and details are ``facts`` and ``details`` in SI words."""
        return cls(kind, render_facts(facts), tuple(render_facts(d) for d in details), facts, details)

    def reason_text(self, style: Style | None = None) -> str:
        """The reason in a style's units (the SI ``reason`` when None or kilometres)."""
        return render_facts(self.facts, style) if self.facts else self.reason

    def details_text(self, style: Style | None = None) -> tuple[str, ...]:
        """The details in a style's units."""
        if len(self.detail_facts) != len(self.details):
            return self.details
        return tuple(render_facts(d, style) for d in self.detail_facts)

    @property
    def severity(self) -> int:
        """Sort key: smaller is more serious (cut first, then wrong way, lost, ...)."""
        return _ORDER.get(self.kind, len(_ORDER))


@dataclass(frozen=True)
class Evidence:
    """What :func:`decide` weighs; built by :func:`offcourse.report.check`."""

    usable_fixes: int
    nearest_m: float
    """Smallest distance of any fix to the route, metres (inf without fixes)."""
    coverage: Coverage
    cut_sections: tuple[tuple[float, float, str], ...]
    """(from_m, to_m, what) of each stretch of route bypassed: skips, shortcuts, unexplained gaps."""
    distance_saved_m: float
    wrong_way: tuple[tuple[float, float], ...]
    """(from_m, to_m) of each section run the wrong way (from the higher distance to the lower)."""
    lost: tuple[tuple[float, float | None, float | None], ...]
    """(exit_m, rejoin_m or None, extra_distance_m or None) of each off-course excursion."""
    finished: bool
    two_way: tuple[tuple[float, float], ...] = ()
    """Route metres run (either way) beside another pass of the route that runs the other way
    (:func:`offcourse.passes.two_way`): which way the runner ran them cannot be told; found only for a
    run that joined mid-route and did not reach the finish."""


TWO_WAY_SHARE = 0.9
"""A wrong-way section with this share of it on two-way route, in a run that joined mid-route and did
not finish, is withdrawn (:func:`offcourse.review.judge_directions`); a run with this share of what it
ran on two-way route, and no wrong way left, says in its details that its direction is not judged."""


def _km(m: float) -> str:
    return f"{m / 1000:.1f}"


def _dist(m: float) -> str:
    return f"{m / 1000:.1f} km" if abs(m) >= 1000 else f"{m:.0f} m"


def _at(m: float) -> Fact:
    return ("at", m)


def _d(m: float) -> Fact:
    return ("dist", m)


def _span(a: float, b: float) -> tuple[Fact, ...]:
    return (_at(a), "-", ("to", b))


def _join(items: list[tuple[Fact, ...]]) -> tuple[Fact, ...]:
    out: list[Fact] = []
    for i, item in enumerate(items):
        if i:
            out.append(", ")
        out.extend(item)
    return tuple(out)


def decide(ev: Evidence) -> Verdict:
    """The verdict for a run; see the module docstring for the rules."""
    cov = ev.coverage
    L = cov.length_m
    pct = f"{100 * cov.fraction:.0f} %"
    if ev.usable_fixes < 2:
        return Verdict.of(VerdictKind.UNJUDGED, ("fewer than two fixes with a usable position: nothing to judge",))
    if ev.nearest_m > NEAR_ROUTE_M:
        return Verdict.of(
            VerdictKind.NOT_THIS_ROUTE,
            (
                "never within ",
                ("m", NEAR_ROUTE_M),
                " of the route (nearest ",
                _d(ev.nearest_m),
                "): another route, or beside it all the way",
            ),
        )
    near_share = cov.near_m / L if L > 0 else 0.0
    if near_share < MIN_NEAR_SHARE and cov.fraction < MIN_NEAR_SHARE:
        return Verdict.of(
            VerdictKind.NOT_THIS_ROUTE,
            (f"came near only {100 * near_share:.0f} % of the route and covered {pct} of it",),
        )
    first = cov.first_route_m
    started = first is not None and first <= START_TOLERANCE_M
    details: list[tuple[Fact, ...]] = []
    # a run that joined mid-route and stopped short, (nearly) all of it where the route runs both ways:
    # one way on one pass or the other way on the other, the fixes cannot tell; "joined and did not
    # finish" holds either way (the wrong-way sections there are withdrawn: review.judge_directions)
    ran = cov.ran
    ran_m = sum(b - a for a, b in ran)
    two_way_m = sum(b - a for a, b in ev.two_way)
    two_way = not ev.finished and not started and ran_m > 0 and two_way_m >= TWO_WAY_SHARE * ran_m
    if ev.cut_sections:
        bypassed = sum(b - a for a, b, _ in ev.cut_sections)
        where = _join([(*_span(a, b), f" ({what})") for a, b, what in ev.cut_sections[:3]])
        more = f" and {len(ev.cut_sections) - 3} more" if len(ev.cut_sections) > 3 else ""
        saved: tuple[Fact, ...] = (", about ", _d(ev.distance_saved_m), " saved") if ev.distance_saved_m > 0 else ()
        details.append(("cut: ", _d(bypassed), " of route not run: ", *where, more, *saved))
    if ev.wrong_way:
        run = sum(abs(a - b) for a, b in ev.wrong_way)
        where = _join([(_at(a), " back to ", _at(b)) for a, b in ev.wrong_way[:3]])
        details.append(("ran ", _d(run), " of the route the wrong way (", *where, ")"))
    if ev.lost:
        extra = sum(x for _, _, x in ev.lost if x is not None)
        never = sum(1 for _, r, _ in ev.lost if r is None)
        first_exit = ev.lost[0][0]
        text: tuple[Fact, ...] = (f"{len(ev.lost)} wrong turn(s), the first at ", _at(first_exit))
        if extra > 0:
            text += (", ", _d(extra), " extra")
        if never:
            text += (", never came back to the route",)
        details.append(text)
    if not ev.finished:
        last = cov.left_m if cov.left_m is not None else (cov.last_route_m or 0.0)
        if started:
            details.append(("stopped at ", _at(last), " of ", ("to", L), f" ({pct} of the route covered)"))
        else:
            joined = cov.joined_m if cov.joined_m is not None else (first or 0.0)
            if ran and not any(a - cov.gap_tolerance_m <= joined <= b + cov.gap_tolerance_m for a, b in ran):
                # a first fix matched alone on another pass (the match went on elsewhere): the nearest part run
                near = min(ran, key=lambda ab: min(abs(ab[0] - joined), abs(ab[1] - joined)))
                joined = near[0] if abs(near[0] - joined) <= abs(near[1] - joined) else near[1]
            details.append(("joined the route at ", _at(joined), ", last on it at ", _at(last), f" ({pct} covered)"))
        if two_way and not ev.wrong_way:
            where = _join([_span(a, b) for a, b in ev.two_way[:3]])
            details.append(
                (
                    "direction not judged: the route runs both ways where the runner was (",
                    *where,
                    "), so running it one way cannot be told from running its other pass the other way",
                )
            )
    if ev.cut_sections:
        kind = VerdictKind.CUT
    elif ev.wrong_way:
        kind = VerdictKind.WRONG_WAY
    elif ev.lost:
        kind = VerdictKind.LOST
    elif not ev.finished:
        kind = VerdictKind.DID_NOT_FINISH if started else VerdictKind.PARTIAL
    else:
        unverified = [(a, b) for a, b in cov.unverified if b - a >= cov.gap_tolerance_m]
        if unverified:
            where = _join([_span(a, b) for a, b in unverified[:3]])
            total = sum(b - a for a, b in unverified)
            return Verdict.of(
                VerdictKind.UNJUDGED,
                (
                    "reached the finish, but ",
                    _d(total),
                    " of the route (",
                    *where,
                    ") has no fix: the watch recorded nothing there, so whether it was run cannot be told",
                ),
            )
        return Verdict.of(
            VerdictKind.ON_COURSE,
            (f"covered the route from start to finish ({pct}, every gap under ", ("m", cov.gap_tolerance_m), ")"),
        )
    return Verdict.of(kind, details[0], tuple(details[1:]))

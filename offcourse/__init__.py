"""offcourse: find wrong turns in GPS watch data.

Pipeline, one module each: :mod:`offcourse.read` → :mod:`offcourse.project` →
:mod:`offcourse.model` (route with distance along it) → match → detect → report.

>>> import offcourse
>>> route = offcourse.Route.from_arrays(lon=[7.0, 7.01], lat=[46.0, 46.0])
>>> round(route.length_m)
775
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names, for type checkers and IDEs; at run time they load on first use
    from .coverage import (
        Coverage,
    )
    from .detect import (
        BackOnCourse,
        Event,
        EventKind,
        Finished,
        Fix,
        Monitor,
        NeverRejoined,
        NotOnRoute,
        OffCourse,
        Options,
        SkippedSection,
        Started,
        WrongDirection,
        WrongDirectionEnd,
    )
    from .errors import (
        CorruptFileError,
        FileTooLargeError,
        InvalidFixError,
        InvalidRouteError,
        InvalidStateError,
        InvalidTrackError,
        NoGeometryError,
        OffcourseError,
        ProjectionError,
        ReadError,
        SourceError,
        TruncatedFileError,
        UnknownFormatError,
    )
    from .match import (
        RouteIndex,
    )
    from .model import (
        Checkpoint,
        Metadata,
        ParsedFile,
        Route,
        Track,
        Waypoint,
    )
    from .project import (
        LocalProjection,
    )
    from .read import (
        detect_format,
        read_file,
        read_route,
        read_track,
    )
    from .report import (
        Excursion,
        Pause,
        Report,
        check,
    )
    from .verdict import (
        Verdict,
        VerdictKind,
    )

# Where each public name lives. Nothing is imported with the package: ``import offcourse`` costs
# nothing, and ``offcourse --help`` does not load numpy, pyproj or shapely (PEP 562 below).
_WHERE: dict[str, str] = {
    "Coverage": ".coverage",
    "BackOnCourse": ".detect",
    "Event": ".detect",
    "EventKind": ".detect",
    "Finished": ".detect",
    "Fix": ".detect",
    "Monitor": ".detect",
    "NeverRejoined": ".detect",
    "NotOnRoute": ".detect",
    "OffCourse": ".detect",
    "Options": ".detect",
    "SkippedSection": ".detect",
    "Started": ".detect",
    "WrongDirection": ".detect",
    "WrongDirectionEnd": ".detect",
    "CorruptFileError": ".errors",
    "FileTooLargeError": ".errors",
    "InvalidFixError": ".errors",
    "InvalidRouteError": ".errors",
    "InvalidStateError": ".errors",
    "InvalidTrackError": ".errors",
    "NoGeometryError": ".errors",
    "OffcourseError": ".errors",
    "ProjectionError": ".errors",
    "ReadError": ".errors",
    "SourceError": ".errors",
    "TruncatedFileError": ".errors",
    "UnknownFormatError": ".errors",
    "RouteIndex": ".match",
    "Checkpoint": ".model",
    "Metadata": ".model",
    "ParsedFile": ".model",
    "Route": ".model",
    "Track": ".model",
    "Waypoint": ".model",
    "LocalProjection": ".project",
    "detect_format": ".read",
    "read_file": ".read",
    "read_route": ".read",
    "read_track": ".read",
    "Excursion": ".report",
    "Pause": ".report",
    "Report": ".report",
    "check": ".report",
    "Verdict": ".verdict",
    "VerdictKind": ".verdict",
}


def __getattr__(name: str) -> Any:
    """Load a public name on first use (``offcourse.check``, ``from offcourse import Route``)."""
    if name == "__version__":
        from importlib import metadata

        try:  # one source for the version: pyproject.toml, as installed
            version = metadata.version("offcourse")
        except metadata.PackageNotFoundError:  # imported from a source tree that was never installed
            version = "0+unknown"
        globals()["__version__"] = version
        return version
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'offcourse' has no attribute {name!r}")
    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "RouteIndex",
    "SourceError",
    "InvalidStateError",
    "InvalidFixError",
    "NotOnRoute",
    "EventKind",
    "BackOnCourse",
    "Checkpoint",
    "Coverage",
    "Event",
    "Excursion",
    "Finished",
    "Fix",
    "Monitor",
    "NeverRejoined",
    "OffCourse",
    "Pause",
    "Options",
    "Report",
    "SkippedSection",
    "Started",
    "WrongDirection",
    "WrongDirectionEnd",
    "check",
    "CorruptFileError",
    "FileTooLargeError",
    "InvalidRouteError",
    "InvalidTrackError",
    "LocalProjection",
    "Metadata",
    "NoGeometryError",
    "OffcourseError",
    "ParsedFile",
    "ProjectionError",
    "ReadError",
    "Route",
    "Track",
    "TruncatedFileError",
    "UnknownFormatError",
    "Verdict",
    "VerdictKind",
    "Waypoint",
    "__version__",
    "detect_format",
    "read_file",
    "read_route",
    "read_track",
]

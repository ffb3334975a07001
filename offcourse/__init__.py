"""offcourse: find wrong turns in GPS watch data.

Pipeline, one module each: :mod:`offcourse.read` → :mod:`offcourse.project` →
:mod:`offcourse.model` (route with distance along it) → match → detect → report.

>>> import offcourse
>>> route = offcourse.Route.from_arrays(lon=[7.0, 7.01], lat=[46.0, 46.0])
>>> round(route.length_m)
775
"""

from importlib import metadata as _metadata

from .coverage import Coverage
from .detect import (
    AlertWithdrawn,
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
from .match import RouteIndex
from .model import Checkpoint, Metadata, ParsedFile, Route, Track, Waypoint
from .project import LocalProjection
from .read import detect_format, read_file, read_route, read_track
from .report import Excursion, Pause, Report, check
from .verdict import Verdict, VerdictKind

try:  # one source for the version: pyproject.toml, as installed
    __version__: str = _metadata.version("offcourse")
except _metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "RouteIndex",
    "SourceError",
    "InvalidStateError",
    "InvalidFixError",
    "NotOnRoute",
    "EventKind",
    "AlertWithdrawn",
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

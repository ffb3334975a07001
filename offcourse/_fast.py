"""Moved to :mod:`offcourse.detect._kernel`; this name stays for the scripts that import it."""

from .detect._kernel import OPTION_FIELDS, STATE_FIELDS, available, follow_run

__all__ = ["OPTION_FIELDS", "STATE_FIELDS", "available", "follow_run"]

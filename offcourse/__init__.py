"""offcourse: find wrong turns in GPS watch data."""
__version__ = "0.1.0"

"""Start-up work (issue 17): a command loads only what it uses. Timings are in bench/bench_startup.py."""

from __future__ import annotations

import subprocess
import sys

import pytest

import offcourse
from offcourse.cli import COMMANDS, _parser
from tests.conftest import REPO

HEAVY = ("numpy", "pyproj", "shapely", "numba", "matplotlib", "timezonefinder", "importlib.metadata")


def loaded_after(argv: list[str]) -> set[str]:
    """The modules a fresh interpreter holds after ``offcourse ARGV`` (run in-process there)."""
    code = (
        "import sys\n"
        "from offcourse.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stdout = sys.__stderr__\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.__stdout__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    return set(done.stdout.split())


def test_help_loads_neither_numpy_nor_the_engine() -> None:
    mods = loaded_after(["--help"])
    assert "offcourse.cli" in mods
    assert not mods & {*HEAVY, "offcourse.detect", "offcourse.report", "offcourse.read"}


def test_version_reads_the_metadata_only_when_asked() -> None:
    assert "importlib.metadata" in loaded_after(["--version"])
    assert "numpy" not in loaded_after(["--version"])


def test_info_loads_the_reader_but_not_the_engine() -> None:
    mods = loaded_after(["info", "--tz", "UTC", "samples/allermuir-wrong-turn.gpx"])
    assert "offcourse.read" in mods and "numpy" in mods
    assert not mods & {"shapely", "numba", "matplotlib", "timezonefinder", "offcourse.detect", "offcourse.report"}


def test_the_command_table_says_what_each_module_registers() -> None:
    full = _parser()  # every command registered by its own module
    sub = next(a for a in full._actions if a.dest == "command")
    registered = {a.dest: a.help for a in sub._choices_actions}
    assert registered == {name: help_text for name, (_, help_text) in COMMANDS.items()}
    for name in COMMANDS:  # and running one registers it in full, the others as one line of --help
        lazy = _parser([name, "--help"])
        lazy_sub = next(a for a in lazy._actions if a.dest == "command")
        assert [a.dest for a in lazy_sub._choices_actions] == list(COMMANDS)
        assert lazy_sub.choices[name].format_help() == sub.choices[name].format_help()


def test_the_public_names_load_on_first_use() -> None:
    assert sorted(dir(offcourse)) == sorted(set(dir(offcourse)))
    for name in offcourse.__all__:
        assert getattr(offcourse, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = offcourse.nope  # type: ignore[attr-defined]

"""Packaging facts that can drift: one version, the licence, the supported Pythons, the changelog."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib

import pytest

import offcourse
from offcourse.cli import main
from tests.conftest import REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_one_version_from_pyproject_through_the_installed_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    installed = importlib.metadata.version("offcourse")
    assert installed == PROJECT["version"], "reinstall offcourse (pip install -e .): its metadata is stale"
    assert offcourse.__version__ == installed
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"offcourse {installed}\n"


def test_the_licence_is_mit_in_spdx_form_and_ships_as_a_file() -> None:
    assert PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"]
    assert (REPO / "LICENSE").read_text(encoding="utf-8").startswith("MIT License\n")
    assert not any(c.startswith("License ::") for c in PROJECT["classifiers"])  # SPDX replaces them


def test_the_classifiers_name_every_supported_python_from_requires_python() -> None:
    lowest = re.fullmatch(r">=3\.(\d+)", PROJECT["requires-python"])
    assert lowest is not None
    minors = sorted(
        int(m[1])
        for c in PROJECT["classifiers"]
        if (m := re.fullmatch(r"Programming Language :: Python :: 3\.(\d+)", c))
    )
    assert minors[0] == int(lowest[1])
    assert minors == list(range(minors[0], minors[-1] + 1))  # no gap


def test_the_changelog_has_the_current_version_and_an_unreleased_section() -> None:
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in text
    assert re.search(rf"^## \[{re.escape(PROJECT['version'])}\] - \d{{4}}-\d{{2}}-\d{{2}}$", text, re.M)

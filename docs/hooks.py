"""MkDocs hook: tables generated from the code, so the pages follow the engine.

``<!-- options-table -->`` in a page becomes a table of every field of
:class:`offcourse.Options`: its command-line flag, its default (read from the dataclass)
and what it changes (read from the class docstring's ``Attributes`` section). A field
without a description there fails the build.

The docstrings use Sphinx roles (``:class:`~offcourse.Monitor```); the rendered pages show
them as plain code (``Monitor``).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
from pathlib import Path
from typing import Any

MARKER = "<!-- options-table -->"
ROLE = re.compile(r":(?:func|class|meth|attr|mod|data|exc|obj):(<code>)(~)?([^<]*)</code>")
ROOT = Path(__file__).resolve().parents[1]


def _offcourse() -> Any:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # this checkout's offcourse, not another installed one
    import offcourse

    return offcourse


def attribute_descriptions(cls: type) -> dict[str, str]:
    """``{name: description}`` from a numpy-style ``Attributes`` section (``a, b : type`` share one)."""
    doc = inspect.getdoc(cls) or ""
    section = re.search(r"^Attributes\n-+\n(.*?)(?:\n\S[^\n]*\n-+\n|\Z)", doc, re.S | re.M)
    if section is None:
        return {}
    found: dict[str, str] = {}
    names: list[str] = []
    text: list[str] = []

    def flush() -> None:
        for name in names:
            found[name] = " ".join(text).strip()

    for line in section.group(1).splitlines():
        if line and not line[0].isspace():
            flush()
            names = [n.strip() for n in line.split(":", 1)[0].split(",") if n.strip()]
            text = []
        elif line.strip():
            text.append(line.strip())
    flush()
    return found


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def options_table() -> str:
    offcourse = _offcourse()
    described = attribute_descriptions(offcourse.Options)
    rows = ["| option | flag | default | what it changes |", "|---|---|---|---|"]
    for f in dataclasses.fields(offcourse.Options):
        if f.name not in described:
            raise ValueError(f"offcourse.Options.{f.name} has no description in the class docstring")
        flag = "--" + f.name.replace("_", "-")
        rows.append(f"| `{f.name}` | `{flag}` | `{f.default!r}` | {_md(described[f.name])} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, options_table())
    return markdown


def _role(m: re.Match[str]) -> str:
    name = m[3].rsplit(".", 1)[-1] if m[2] else m[3]
    return f"<code>{name}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    return ROLE.sub(_role, html)

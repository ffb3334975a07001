"""The code in ``README.md`` and ``docs/*.md`` runs, and prints what the page says it prints.

Rules (also stated in ``docs/contributing.md``):

- every fenced ``python`` block of a page runs, in page order, in one namespace per page, with
  the current folder a temporary one where ``routes/``, ``samples/``, ``examples/`` and
  ``tests/`` point into the repository (so files a block writes never land in the checkout);
- a block whose info string holds ``no-run`` (```` ```python title="no-run: why" ````) is
  skipped, and must say why;
- in a ``sh`` block, each line that starts with ``offcourse `` and has no placeholder in capitals
  (``ROUTE``, ``TRACK``...) runs in-process through :func:`offcourse.cli.main` and must exit 0,
  or with the status a trailing ``# exit status N`` comment gives;
- a ``text`` block titled ``Output`` right after a block is what that block prints (doctest
  rules: ``...`` matches anything, runs of whitespace are equal).
"""

from __future__ import annotations

import contextlib
import doctest
import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from offcourse.cli import main
from tests.conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINKED = ("routes", "samples", "examples", "tests")
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z_]{2,}\b")  # ROUTE, TRACK, FILE, TRACKS...
CHECKER = doctest.OutputChecker()
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    info: str
    code: str
    output: str | None = None  # the ``text title="Output"`` block that follows, if any

    @property
    def where(self) -> str:
        page = self.page.relative_to(REPO) if self.page.is_relative_to(REPO) else self.page
        return f"{page}:{self.line}"


def blocks_of(page: Path) -> list[Block]:
    """The fenced blocks of a Markdown page, each with the Output block that follows it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i, previous_end = 0, -1
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = len(m["indent"]), m["fence"], m["info"].strip()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not re.match(rf"^ {{0,{indent + 3}}}{fence[0]}{{{len(fence)},}}\s*$", lines[j]):
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        lang = info.split()[0].lower() if info else ""
        block = Block(page, i + 1, lang, info, "\n".join(body) + "\n")
        previous = found[-1] if found else None
        between = lines[previous_end + 1 : i]
        if (
            previous is not None
            and lang == "text"
            and 'title="Output"' in info
            and all(not line.strip() for line in between)
        ):
            previous.output = block.code
        else:
            found.append(block)
        previous_end = j
        i = j + 1
    return found


def runnable(page: Path) -> list[Block]:
    return [b for b in blocks_of(page) if b.lang in ("python", "py", "sh", "bash", "console", "shell")]


def check_output(block: Block, got: str) -> None:
    if block.output is None:
        return
    if not CHECKER.check_output(block.output, got, FLAGS):
        diff = CHECKER.output_difference(doctest.Example("", block.output), got, FLAGS)
        pytest.fail(f"{block.where}: the output differs from the page's Output block\n{diff}")


def run_python(block: Block, namespace: dict[str, object]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block.code, block.where, "exec"), namespace)
    return out.getvalue()


def cli_lines(block: Block) -> list[tuple[list[str], int]]:
    """The ``offcourse`` command lines of a sh block that can run as written, with their exit status."""
    commands = []
    for raw in block.code.splitlines():
        line = raw.strip()
        if not line.startswith("offcourse "):
            continue
        words = shlex.split(line, comments=True)
        if any(PLACEHOLDER.search(w) for w in words):  # a synopsis, not a command
            continue
        status = re.search(r"#\s*exit status (\d+)", line)
        commands.append((words[1:], int(status[1]) if status else 0))
    return commands


def run_sh(block: Block, capsys: pytest.CaptureFixture[str]) -> str:
    got = []
    for argv, expected in cli_lines(block):
        capsys.readouterr()
        status = main(argv)
        out, err = capsys.readouterr()
        assert status == expected, f"{block.where}: offcourse {shlex.join(argv)} exited {status}: {err}"
        got.append(out)
    return "".join(got)


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in LINKED:
        (tmp_path / name).symlink_to(REPO / name, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # a block that starts a process gets this offcourse
    return tmp_path


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_page_code_runs_and_prints_what_the_page_says(
    page: Path, sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for block in runnable(page):
        if "no-run" in block.info:
            reason = block.info.split("no-run", 1)[1].strip(" :\"'")
            assert reason, f"{block.where}: a no-run block must say why it is not run"
            continue
        got = run_python(block, namespace) if block.lang in ("python", "py") else run_sh(block, capsys)
        check_output(block, got)


# -- the rules themselves ---------------------------------------------------------------------------------------


def test_the_pages_have_code_that_runs() -> None:
    """The collector finds the blocks: README's library example, and output checked on several pages."""
    readme = runnable(REPO / "README.md")
    assert any(b.lang == "python" and "offcourse.Monitor(route)" in b.code for b in readme)
    docs = [b for page in PAGES[1:] for b in runnable(page)]
    assert sum(b.output is not None for b in docs) >= 5
    assert any(cli_lines(b) for b in docs)


def test_collector_pairs_output_blocks_and_skips_synopses(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        '# t\n\n```python\nprint(1)\n```\n\n```text title="Output"\n1\n```\n\n'
        "```sh\noffcourse check ROUTE TRACK   # synopsis\noffcourse info routes/a.gpx  # runs\nmake demo\n"
        "offcourse batch routes/a.gpx b/  # exit status 1: some rows are errors\n```\n\n"
        "```text\nnot an output\n```\n\n"
        '- a list\n\n    ```python title="no-run: needs a receiver"\n    for fix in receiver(): ...\n    ```\n',
        encoding="utf-8",
    )
    found = blocks_of(page)
    assert [(b.lang, b.line) for b in found] == [("python", 3), ("sh", 11), ("text", 18), ("python", 24)]
    assert found[0].output == "1\n" and found[1].output is None
    assert cli_lines(found[1]) == [(["info", "routes/a.gpx"], 0), (["batch", "routes/a.gpx", "b/"], 1)]
    assert found[3].code == "for fix in receiver(): ...\n" and "no-run" in found[3].info


def test_a_wrong_output_block_fails(tmp_path: Path) -> None:
    block = Block(tmp_path / "p.md", 1, "python", "python", "print(2)\n", output="1\n")
    with pytest.raises(pytest.fail.Exception, match="differs"):
        check_output(block, run_python(block, {}))
    check_output(Block(block.page, 1, "python", "python", "", output="a ...\n"), "a b c\n")  # ellipsis matches

"""Helpers for the live tests: run ``offcourse follow`` in a subprocess and read its lines with timeouts."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ROUTE = REPO / "routes" / "allermuir-hill-race.gpx"
WRONG_TURN = REPO / "samples" / "allermuir-wrong-turn.gpx"


class Follow:
    """``offcourse follow`` in a subprocess; its stdout lines are read by a thread into a queue."""

    def __init__(self, *args: str | os.PathLike[str], cwd: Path | None = None) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "offcourse", "follow", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=cwd,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.stderr = ""
        self._err: list[str] = []
        self._out = threading.Thread(target=self._read, daemon=True)
        self._out.start()
        self._err_thread = threading.Thread(target=self._read_err, daemon=True)
        self._err_thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self._err.append(self.proc.stderr.read())

    def next_line(self, timeout_s: float) -> str | None:
        """The next stdout line; None at the end of the output. Raises TimeoutError."""
        try:
            line = self.lines.get(timeout=timeout_s)
        except queue.Empty:
            raise TimeoutError(f"no output from offcourse follow within {timeout_s} s") from None
        if line is not None:
            self.seen.append(line)
        return line

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.seen]

    def wait_for(self, kind: str, timeout_s: float) -> dict[str, Any]:
        """Read lines until an event of ``kind`` (JSON lines output)."""
        deadline = time.monotonic() + timeout_s
        while True:
            line = self.next_line(max(0.01, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"follow ended before a {kind} event; stderr: {self.finish(5)[1]}")
            event: dict[str, Any] = json.loads(line)
            if event["kind"] == kind:
                return event

    def finish(self, timeout_s: float) -> tuple[int, str]:
        """Wait for the exit (killing it after the timeout); the exit status and stderr."""
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self._err_thread.join(10)
            raise AssertionError(
                f"offcourse follow did not exit within {timeout_s} s; stderr: {''.join(self._err)}"
            ) from None
        self._out.join(10)
        self._err_thread.join(10)
        err = "".join(self._err)
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.seen.append(line)
        self.stderr = err
        return self.proc.returncode, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self._out.join(10)
        self._err_thread.join(10)
        while True:  # lines printed before the kill
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.seen.append(line)


def wait_until(predicate: Any, timeout_s: float, what: str) -> None:
    """Poll ``predicate()`` every 20 ms until it is true; AssertionError after the timeout."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


def delivered(state_path: Path) -> int:
    """Events the state file says were delivered (0 when it does not exist yet)."""
    try:
        return int(json.loads(state_path.read_text())["delivered"])
    except (OSError, ValueError, KeyError):
        return 0

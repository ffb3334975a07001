"""Shared test fixtures: where the real-file corpus lives."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
NO_CORPUS = "../shared/data (the real-file corpus) is not present next to the repository"


def manifest_rows() -> list[dict[str, str]]:
    """Rows of ../shared/data/MANIFEST.tsv, or [] when the corpus is absent."""
    path = SHARED_DATA / "MANIFEST.tsv"
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def corpus_file(rel: str) -> Path:
    """A file of the corpus; skips the test when the corpus is absent."""
    path = SHARED_DATA / rel
    if not path.exists():
        pytest.skip(NO_CORPUS)
    return path

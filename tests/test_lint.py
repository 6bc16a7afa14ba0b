"""The lint rules of pyproject.toml hold on the whole tree (ruff, a second or so). TC004 matters
most: polars is imported lazily in warehouse/, and code using `pl.` where it is only imported for
type hints would fail only when it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).parent / "ruff"
    out = subprocess.run([str(ruff), "check", "--no-cache", "--quiet", "."], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr

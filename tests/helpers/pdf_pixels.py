"""A printout's first page as pixels (pdftoppm, poppler-utils), to check it is not blank.

Without pdftoppm the test is skipped on a developer's machine and fails in CI (``CI`` set), as the
PostgreSQL tests do: CI must never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def _dark_share(pgm: bytes) -> float:
    """The share of pixels darker than near-white in a binary PGM (P5) image."""
    parts = pgm.split(maxsplit=4)
    assert parts[0] == b"P5"
    width, height = int(parts[1]), int(parts[2])
    pixels = parts[4][: width * height]
    return sum(1 for value in pixels if value < 200) / (width * height)


def first_page_ink(pdf: Path, tmp_path: Path) -> float:
    """The share of inked pixels on page 1 of ``pdf``, rendered in grey at 40 dpi."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        message = "pdftoppm (poppler-utils) is needed to render the PDF"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI is set, so this fails instead of skipping)", pytrace=False)
        pytest.skip(message)
    prefix = tmp_path / pdf.stem
    command = [pdftoppm, "-gray", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(prefix)]
    subprocess.run(command, check=True)
    (image,) = tmp_path.glob(f"{pdf.stem}*.pgm")
    return _dark_share(image.read_bytes())

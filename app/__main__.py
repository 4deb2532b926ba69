"""``python -m app`` — the same as the ``hotline`` command (also the PyInstaller entry point)."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())

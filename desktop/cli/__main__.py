"""``python -m desktop.cli``: the same entry point as ``linewatch`` and ``python -m desktop``."""

import sys

from desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())

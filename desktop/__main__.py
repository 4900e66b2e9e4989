"""``python -m desktop`` runs the same entry point as the ``linewatch`` command."""

import multiprocessing
import sys

from desktop.cli import main

if __name__ == "__main__":
    # In the PyInstaller bundle a worker process (`predict DIR` starts a local Dask cluster,
    # spawned) re-runs this executable; freeze_support() makes it a worker, not a new CLI.
    multiprocessing.freeze_support()
    sys.exit(main())

"""Evaluate a model on colour photos: `python evaluate.py FOLDER` (the same as the
installed `colorization-evaluate` command; the code is in `colorization.cli.evaluate`)."""

import sys

from colorization.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())

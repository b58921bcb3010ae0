"""Train a colorization model: `python train.py --help` (the same as the installed
`colorization-train` command; the code is in `colorization.cli.train`)."""

import sys

from colorization.cli.train import main

if __name__ == "__main__":
    sys.exit(main())

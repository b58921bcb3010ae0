"""Colorize photos: `python infer.py samples/` (the same as the installed `colorize`
command; the code is in `colorization.cli.infer`)."""

import sys

from colorization.cli.infer import main

if __name__ == "__main__":
    sys.exit(main())

"""`python -m colorization.app`: the web app's command, `colorization.cli.app`."""

import sys

from colorization.cli.app import main

if __name__ == "__main__":
    sys.exit(main())

"""Export a model (SavedModel, ONNX, TFLite): `python export.py --help` (the same as the
installed `colorization-export` command; the code is in `colorization.cli.export`)."""

import sys

from colorization.cli.export import main

if __name__ == "__main__":
    sys.exit(main())

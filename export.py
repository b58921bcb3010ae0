"""Export a colorization model as a TensorFlow SavedModel (needs only TensorFlow to run).

    python export.py exported/                        # the shipped default model
    python export.py --model runs/unet/model.keras exported/ --size 256

See colorization/export.py for the signatures.
"""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", help="folder to create for the SavedModel")
    parser.add_argument("--model", help="a .keras model (default: the shipped model)")
    parser.add_argument(
        "--size", type=int, help="longer side the network sees (default: training size)"
    )
    args = parser.parse_args(argv)

    from colorization.export import export_saved_model
    from colorization.inference import Colorizer

    try:
        path = export_saved_model(
            Colorizer.load(args.model, size=args.size), args.out_dir
        )
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote SavedModel to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Export a colorization model: a TensorFlow SavedModel, ONNX or TFLite.

    colorization-export exported/                        # SavedModel of the shipped model
    colorization-export --model runs/unet/model.keras exported/ --size 256
    colorization-export --format onnx colorizer.onnx     # onnxruntime; pip install .[onnx]
    colorization-export --format tflite colorizer.tflite --tflite-dtype float16

(`python export.py ...` is the same command.) Every format takes uint8 RGB photos of any
size and returns the colorized uint8 RGB of the same size; ONNX and TFLite files get a
JSON beside them (colorizer.onnx.json) that says what their graph does. The SavedModel
of a hinted model also has a `hinted` signature taking colour hints (ONNX and TFLite
colorize it without hints). See colorization/export/saved_model.py and colorization/export/portable.py.
"""

import sys

from colorization import cli

PROG = "export.py"  # the name of `main(argv)` called from Python


def parser(prog=PROG):
    """The command-line parser."""
    p = cli.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument(
        "out", help="folder to create (SavedModel) or the .onnx / .tflite file"
    )
    p.add_argument("--model", help="a .keras model (default: the shipped model)")
    p.add_argument(
        "--size", type=int, help="longer side the network sees (default: the model's)"
    )
    p.add_argument(
        "--format", default="savedmodel", help="savedmodel (default), onnx or tflite"
    )
    p.add_argument(
        "--tflite-dtype",
        default="float32",
        help="TFLite weights: float32 (default) or float16 (half the file)",
    )
    cli.add_verbose_flag(p)
    return p


def main(argv=None):
    """Exports; returns the exit status (2: a bad request, nothing written)."""
    prog = cli.program(PROG, argv)
    try:
        args = parser(prog).parse_args(argv)
    except cli.FlagError as error:
        return cli.fail(prog, error)
    from colorization.export.saved_model import check_request, export_model

    try:
        check_request(args.out, args.format, args.tflite_dtype)  # before TensorFlow
        cli.quiet_tensorflow(args.verbose)
        path = export_model(
            args.out, args.model, args.size, args.format, args.tflite_dtype
        )
    except (OSError, ValueError, ImportError) as error:
        return cli.fail(prog, error)
    print(f"wrote {args.format} to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

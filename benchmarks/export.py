"""Size and CPU latency of every export format at 640 x 480, and how far each is from
Colorizer.

    python benchmarks/export.py                        # the shipped default model
    python benchmarks/export.py --model runs/unet/model.keras --formats onnx tflite

Each format is exported to a temporary folder and run by its own runtime: the SavedModel
by TensorFlow; ONNX by onnxruntime with its default options, and again with
"session.intra_op.allow_spinning" = "0" (on a busy machine, spinning threads cost more
than they save); TFLite by LiteRT (or TensorFlow's deprecated interpreter) with one
thread per core. The latency of one photo (uint8 RGB in, uint8 RGB out) is the median
and the best of --repeats runs after a warm-up; "max_level_difference" is the largest
difference to `Colorizer` in 8-bit levels. Colorizer itself is timed too, for
reference. The formats take turns, run by run, so that a change of load on the machine
hits all alike. The last line is one JSON object with every figure.
"""

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FORMATS = ("savedmodel", "onnx", "tflite", "tflite-fp16")


def _size_mb(path):
    if os.path.isfile(path):
        return os.path.getsize(path) / 1e6
    return (
        sum(
            os.path.getsize(os.path.join(root, name))
            for root, _, names in os.walk(path)
            for name in names
        )
        / 1e6
    )


def _runner(fmt, path):
    """A function uint8 (1, H, W, 3) -> uint8 (1, H, W, 3) running the export."""
    if fmt == "savedmodel":
        import tensorflow as tf

        model = tf.saved_model.load(path)
        return lambda images: model.serving_default(images)["rgb"].numpy()
    if fmt in ("onnx", "onnx-nospin"):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if fmt == "onnx-nospin":  # idle threads sleep instead of spinning
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(path, options)
        return lambda images: session.run(["rgb"], {"images": images})[0]
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        from tensorflow.lite import Interpreter
    signature = Interpreter(
        model_path=path, num_threads=os.cpu_count()
    ).get_signature_runner("serving_default")
    return lambda images: signature(images=images)["rgb"]


def _time_ms(run, images):
    start = time.perf_counter()
    run(images)
    return 1000 * (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a .keras model (default: the shipped model)")
    parser.add_argument("--size", type=int, help="longer side the network sees")
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=FORMATS)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    import numpy as np
    from PIL import Image
    from skimage import data

    from colorization.export.saved_model import export
    from colorization.inference.colorizer import Colorizer

    colorizer = Colorizer.load(args.model, size=args.size)
    photo = Image.fromarray(data.astronaut()).resize(
        (args.width, args.height), Image.BICUBIC
    )
    images = np.asarray(photo)[None]
    expected = colorizer.colorize_array(images)
    figures = {
        "model": args.model or "default",
        "size": colorizer.size,
        "image": f"{args.width}x{args.height}",
        "cpu_count": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 1),
    }
    runners = {"colorizer": colorizer.colorize_array}
    with tempfile.TemporaryDirectory() as folder:
        for fmt in args.formats:
            name, _, half = fmt.partition("-")
            path = os.path.join(folder, fmt + {"savedmodel": ""}.get(name, "." + name))
            start = time.perf_counter()
            export(colorizer, path, name, "float16" if half else "float32")
            runners[fmt] = _runner(name, path)
            difference = np.abs(runners[fmt](images).astype(int) - expected).max()
            figures[fmt] = {
                "size_mb": round(_size_mb(path), 2),
                "max_level_difference": int(difference),
                "export_s": round(time.perf_counter() - start, 1),
            }
            if fmt == "onnx":
                runners["onnx-nospin"] = _runner("onnx-nospin", path)
                runners["onnx-nospin"](images)  # warm-up
        # Round robin, so that a change of load on the machine hits every format.
        times = {fmt: [] for fmt in runners}
        for _ in range(args.repeats):
            for fmt, run in runners.items():
                times[fmt].append(_time_ms(run, images))
    for fmt, values in times.items():
        row = figures.setdefault(fmt, {})
        row["ms"] = round(float(np.median(values)), 1)
        row["best_ms"] = round(float(np.min(values)), 1)
        extra = (
            f", {row['size_mb']:6.1f} MB, max difference "
            f"{row['max_level_difference']} levels (export {row['export_s']:.0f} s)"
            if "size_mb" in row
            else {
                "colorizer": " (in-process Keras, for reference)",
                "onnx-nospin": " (the same, allow_spinning = 0)",
            }[fmt]
        )
        print(f"{fmt:>12}: {row['ms']:7.1f} ms (best {row['best_ms']:.1f}){extra}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())

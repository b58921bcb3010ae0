"""Export a colorizer: a TensorFlow SavedModel, or ONNX and TFLite (colorization.export.portable).

SavedModel signatures (all resizing, Lab maths, ab upsampling and recombination are in
the graph):
    serving_default(images): uint8 [N, H, W, C], C = 1 (grey), 3 (RGB) or 4 (RGBA),
        any H and W -> {"rgb": uint8 [N, H, W, 3]}, the same size as the input.
    colorize_encoded(contents): one encoded JPEG/PNG/BMP/GIF/WebP file (scalar string)
        -> {"rgb": uint8 [H, W, 3], "png": the result encoded as PNG}.
    hinted(images, points, colors), hinted models only: images as serving_default's,
        points int32 [K, 2], the (x, y) pixels (x the column, y the row) of K colour
        hints, colors uint8 [K, 3] their sRGB colours (only the chroma is used), the
        same hints for every image of the batch (K may be 0: automatic) ->
        {"rgb": uint8 [N, H, W, 3]}. A point outside the images fails the call.
    guided(images, prior, strength), models with a bins head only: images as
        serving_default's, prior float32 [BANDS, Q] = [10, 262] a reference's or a
        palette's prior over the ab bins per band of L
        (`colorization.inference.guidance.reference_prior` / `palette_prior`, or
        any rows of non-negative weights), strength float32 in [0, 1] (0: automatic)
        -> {"rgb": uint8 [N, H, W, 3]}.

    import tensorflow as tf
    model = tf.saved_model.load("exported/")
    rgb = model.serving_default(images)["rgb"]
    rgb = model.hinted(images, points=[[120, 80]], colors=[[208, 64, 32]])["rgb"]
    prior = guidance.palette_prior([(122, 47, 28), (47, 79, 122)])
    rgb = model.guided(images, prior=prior, strength=0.8)["rgb"]

TensorFlow is imported when a model is exported, so that a bad request fails at once.
"""

import os

from data_pipeline import files

# Format -> the extension its single file must have (None: a SavedModel folder).
FORMATS = {"savedmodel": None, "onnx": ".onnx", "tflite": ".tflite"}


def _to_rgb(images):
    """uint8 [N, H, W, C] with C in {1, 3, 4} -> uint8 RGB [N, H, W, 3]."""
    import tensorflow as tf

    rgb = tf.cond(
        tf.shape(images)[-1] < 3,
        lambda: tf.repeat(images[..., :1], 3, axis=-1),
        lambda: images[..., :3],
    )
    rgb.set_shape([None, None, None, 3])
    return rgb


def _hinted_endpoint(models, size, stride):
    """The `hinted` signature: images, hint points and colours -> {"rgb"}."""
    import tensorflow as tf

    from colorization.inference.graph import colorize_batch

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, None, None], tf.uint8, name="images"),
            tf.TensorSpec([None, 2], tf.int32, name="points"),
            tf.TensorSpec([None, 3], tf.uint8, name="colors"),
        ]
    )
    def hinted(images, points, colors):
        shape = tf.shape(images)
        inside = tf.reduce_all(
            (points >= 0) & (points < tf.stack([shape[2], shape[1]]))
        )
        check = tf.debugging.Assert(
            inside, ["hint points must be (x, y) pixels of the images"]
        )
        with tf.control_dependencies([check]):
            hints = (tf.cast(points, tf.float32), colors)
        return {"rgb": colorize_batch(models, _to_rgb(images), size, stride, hints)}

    return hinted


def _guided_endpoint(models, size, stride):
    """The `guided` signature: images, a prior over the bins and its strength ->
    {"rgb"} (`colorization.inference.guidance`)."""
    import tensorflow as tf

    from colorization.inference import guidance
    from colorization.inference.graph import colorize_batch

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, None, None], tf.uint8, name="images"),
            tf.TensorSpec(guidance.PRIOR_SHAPE, tf.float32, name="prior"),
            tf.TensorSpec([], tf.float32, name="strength"),
        ]
    )
    def guided(images, prior, strength):
        check = tf.debugging.Assert(
            (strength >= 0.0) & (strength <= 1.0), ["strength must be in [0, 1]"]
        )
        with tf.control_dependencies([check]):
            prior = tf.maximum(prior, 0.0)
            prior = tf.math.divide_no_nan(
                prior, tf.reduce_sum(prior, -1, keepdims=True)
            )
            prior = (
                1 - guidance.FLOOR
            ) * prior + guidance.FLOOR / guidance.PRIOR_SHAPE[1]
        guide = (prior, strength)
        rgb = colorize_batch(models, _to_rgb(images), size, stride, guide=guide)
        return {"rgb": rgb}

    return guided


def export_saved_model(colorizer, out_dir):
    """Writes `colorizer` (a `Colorizer`) as a SavedModel in `out_dir`.

    The SavedModel is written to a temporary folder beside `out_dir` and renamed when
    complete. An existing `out_dir` is never overwritten.

    Raises:
        FileExistsError: `out_dir` exists.
    """
    import keras
    import tensorflow as tf

    from colorization.inference.graph import colorize_batch
    from data_pipeline import decode

    out_dir = os.path.abspath(out_dir)
    if os.path.exists(out_dir):
        raise FileExistsError(f"{out_dir!r} exists; remove it or choose another folder")
    models, size, stride = colorizer.models, colorizer.size, colorizer.stride

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, None, None], tf.uint8, name="images")
        ]
    )
    def serving_default(images):
        return {"rgb": colorize_batch(models, _to_rgb(images), size, stride)}

    @tf.function(input_signature=[tf.TensorSpec([], tf.string, name="contents")])
    def colorize_encoded(contents):
        rgb = colorize_batch(models, decode.decode_rgb(contents)[None], size, stride)[0]
        return {"rgb": rgb, "png": tf.io.encode_png(rgb)}

    archive = keras.export.ExportArchive()
    for model in models:
        archive.track(model)
    archive.add_endpoint("serving_default", serving_default)
    archive.add_endpoint("colorize_encoded", colorize_encoded)
    if colorizer.hinted:
        archive.add_endpoint("hinted", _hinted_endpoint(models, size, stride))
    if colorizer.temperature is not None:  # a bins head: guidance applies
        archive.add_endpoint("guided", _guided_endpoint(models, size, stride))
    with files.atomic_path(out_dir) as temporary:
        archive.write_out(temporary, verbose=False)
    return out_dir


def _check_output(path, fmt):
    """One-line errors for an output path `fmt` cannot be written to, before any work."""
    extension = FORMATS[fmt]
    if extension and not path.lower().endswith(extension):
        raise ValueError(
            f"--format {fmt} writes one file: give a path ending in {extension}, "
            f"not {path!r}"
        )
    for taken in [path] + ([path + ".json"] if extension else []):
        if os.path.lexists(taken):
            raise FileExistsError(f"{taken!r} exists; remove it or choose another path")
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):  # the nearest that exists gets the new folders
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise NotADirectoryError(f"{folder!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write to {folder!r}")


def check_request(path, fmt, tflite_dtype):
    """One-line errors (ValueError, OSError) for a request that cannot be carried out:
    an unknown format or dtype, or an output that exists or cannot be written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    if tflite_dtype not in ("float32", "float16"):
        raise ValueError(f"--tflite-dtype is float32 or float16, not {tflite_dtype!r}")
    if tflite_dtype != "float32" and fmt != "tflite":
        raise ValueError(f"--tflite-dtype {tflite_dtype} applies to --format tflite")
    _check_output(os.fspath(path), fmt)


def export(colorizer, path, fmt="savedmodel", tflite_dtype="float32", source=None):
    """Writes `colorizer` in format `fmt` to `path`.

    Args:
        colorizer: a `Colorizer`.
        path: a folder to create (SavedModel), or the .onnx / .tflite file to write
            (a JSON describing it is written to `path + ".json"`).
        fmt: one of `FORMATS`.
        tflite_dtype: "float32" or "float16" weights, for "tflite" only.
        source: the model file, recorded in the JSON.

    Returns:
        The path written.

    Raises:
        ValueError: an unknown format, a path without the format's extension, or
            float16 for another format than TFLite.
        FileExistsError: the output (or its JSON) exists; nothing is overwritten.
        PermissionError: the output's folder cannot be written to.
        ImportError: ONNX export without tf2onnx installed.
    """
    check_request(path, fmt, tflite_dtype)
    path = os.fspath(path)
    if fmt == "savedmodel":
        return export_saved_model(colorizer, path)
    from colorization.export import portable

    if fmt == "onnx":
        return portable.export_onnx(colorizer, path, source=source)
    return portable.export_tflite(colorizer, path, tflite_dtype, source=source)


def export_model(path, model=None, size=None, fmt="savedmodel", tflite_dtype="float32"):
    """What export.py does: checks the output, loads `model` (a .keras file, default
    the shipped model) into a `Colorizer` of network size `size`, and `export`s it.

    Raises what `export` and `Colorizer.load` raise; a bad output fails before the
    model is loaded.
    """
    check_request(path, fmt, tflite_dtype)
    from colorization.inference.colorizer import Colorizer

    colorizer = Colorizer.load(model, size=size)
    return export(colorizer, path, fmt, tflite_dtype, source=model or "default")

"""Export a colorizer as a TensorFlow SavedModel that needs nothing but TensorFlow.

Signatures (all resizing, Lab maths, ab upsampling and recombination are in the graph):
    serving_default(images): uint8 [N, H, W, C], C = 1 (grey), 3 (RGB) or 4 (RGBA),
        any H and W -> {"rgb": uint8 [N, H, W, 3]}, the same size as the input.
    colorize_encoded(contents): one encoded JPEG/PNG/BMP/GIF/WebP file (scalar string)
        -> {"rgb": uint8 [H, W, 3], "png": the result encoded as PNG}.

    import tensorflow as tf
    model = tf.saved_model.load("exported/")
    rgb = model.serving_default(images)["rgb"]
"""

import os
import shutil

import tensorflow as tf

from colorization.inference import colorize_batch
from data_pipeline import decode


def _to_rgb(images):
    """uint8 [N, H, W, C] with C in {1, 3, 4} -> uint8 RGB [N, H, W, 3]."""
    rgb = tf.cond(
        tf.shape(images)[-1] < 3,
        lambda: tf.repeat(images[..., :1], 3, axis=-1),
        lambda: images[..., :3],
    )
    rgb.set_shape([None, None, None, 3])
    return rgb


def export_saved_model(colorizer, out_dir):
    """Writes `colorizer` (a `Colorizer`) as a SavedModel in `out_dir`.

    The SavedModel is written to a temporary folder beside `out_dir` and renamed when
    complete. An existing `out_dir` is never overwritten.

    Raises:
        FileExistsError: `out_dir` exists.
    """
    import keras

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
    temporary = out_dir + ".partial"
    shutil.rmtree(temporary, ignore_errors=True)
    try:
        archive.write_out(temporary, verbose=False)
        os.replace(temporary, out_dir)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return out_dir

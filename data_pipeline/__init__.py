"""Input pipeline for colorization: images -> CIE Lab tensors scaled to [-1, 1].

Modules:
    config: DataConfig and HintConfig, what to read and how (no TensorFlow).
    files: which files are images, the folder walker, atomic writes (no TensorFlow).
    constants: colour constants and the Lab <-> model scaling (no TensorFlow).
    lab: sRGB <-> CIE Lab in TensorFlow ops.
    decode: image bytes -> uint8 RGB in graph ops (format, header size, EXIF).
    image_ops: resize keeping aspect, pad with a mask, crops and flips.
    degrade: old-scan degradations of L (grain, blur, JPEG, fading, exposure).
    hints: colour hints: simulated from the truth, or from a user's points.
    sources: folders, TFRecord shards and TensorFlow Datasets.
    dataset: make_dataset and dataset_fn for tf.distribute.
    stats: counts of skipped files.
    tfrecords: folder -> TFRecord shards (the `colorization-tfrecords` command).
    generator: the Studienarbeit's multiprocessing generator, in OpenCV.

This package never imports `colorization`. Importing it does no work; the submodules
import TensorFlow when they are imported.
"""

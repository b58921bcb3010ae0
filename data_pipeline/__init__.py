"""Input pipeline for colorization: images -> CIE Lab tensors scaled to [-1, 1].

Modules:
    constants: colour constants and the Lab <-> model scaling (no TensorFlow).
    lab: sRGB <-> CIE Lab in TensorFlow ops.
    decode: image bytes -> uint8 RGB in graph ops (format, header size, EXIF).
    image_ops: resize keeping aspect, pad with a mask, crops and flips.
    sources: folders, TFRecord shards and TensorFlow Datasets.
    dataset: DataConfig, make_dataset and dataset_fn for tf.distribute.
    stats: counts of skipped files.
    tfrecords: folder -> TFRecord shards (`python -m data_pipeline.tfrecords`).
    generator: the Studienarbeit's multiprocessing generator, in OpenCV.

This package never imports `colorization`. Importing it does no work; the submodules
import TensorFlow when they are imported.
"""

"""Converts a folder of images into sharded TFRecords, so large collections (ImageNet)
can live in a bucket and be read by many input pipelines at once.

    colorization-tfrecords photos/train shards/train --shards 16   # the command

Each record holds the original encoded bytes (`image/encoded`, no re-encoding, so no
quality loss) and the relative path (`image/filename`). TIFF files, which TensorFlow
cannot decode, are re-encoded as PNG. Files OpenCV cannot decode are skipped and
counted. Shards are written under temporary names and renamed when complete, so an
interrupted run never leaves a shard that looks finished. Read the shards with
`DataConfig(source="tfrecord", data_dir="shards/train")`.
"""

import os

import numpy as np

from data_pipeline import files, sources


def _check_image(data, path):
    """The bytes to store for one file, or None if OpenCV cannot decode it."""
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        return None
    if path.lower().endswith(files.TIFF_EXTENSIONS):
        ok, encoded = cv2.imencode(".png", image)
        return encoded.tobytes() if ok else None
    return data


def _example(data, name):
    import tensorflow as tf

    def feature(value):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    features = {
        sources.TFRECORD_IMAGE_KEY: feature(data),
        sources.TFRECORD_NAME_KEY: feature(name.encode("utf-8")),
    }
    return tf.train.Example(
        features=tf.train.Features(feature=features)
    ).SerializeToString()


def write_shards(source_dir, output_dir, num_shards=8, prefix="images"):
    """Writes every image under `source_dir` into `num_shards` TFRecord files.

    Returns:
        dict with the shard paths, the number of images written and of files skipped.
    """
    import tensorflow as tf

    if num_shards < 1:
        raise ValueError(f"--shards must be at least 1, got {num_shards}")
    paths = sources.list_image_files(source_dir)
    os.makedirs(output_dir, exist_ok=True)
    shards = [
        os.path.join(output_dir, f"{prefix}-{i:05d}-of-{num_shards:05d}.tfrecord")
        for i in range(num_shards)
    ]
    written, skipped = 0, []
    for index, shard in enumerate(shards):
        with files.atomic_path(shard) as temporary:
            with tf.io.TFRecordWriter(temporary) as writer:
                for path in paths[index::num_shards]:
                    with open(path, "rb") as f:
                        data = _check_image(f.read(), path)
                    if data is None:
                        skipped.append(path)
                        continue
                    writer.write(_example(data, os.path.relpath(path, source_dir)))
                    written += 1
    return {"shards": shards, "written": written, "skipped": skipped}

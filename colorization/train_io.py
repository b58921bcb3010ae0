"""What a training run writes to its workdir, and where.

    workdir/config.json            the resolved ExperimentConfig
    workdir/checkpoints/last/      saved every epoch and every `save_every_steps` steps
    workdir/checkpoints/best/      lowest validation masked L1
    workdir/metrics.csv            one row per epoch
    workdir/logs/                  TensorBoard scalars and the gray|prediction|truth grid
    workdir/samples/epoch_NNN.png  the same grid as a PNG
    workdir/model.keras            the final generator

Under MultiWorkerMirroredStrategy every worker takes part in each checkpoint save, as
TensorFlow requires, but only the chief writes into the workdir: the others save into a
temporary directory and delete it at once.
"""

import csv
import json
import os
import shutil
import tempfile

import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from data_pipeline import lab


def paths(workdir):
    """The output paths of a workdir, by name."""
    return {
        "config": os.path.join(workdir, "config.json"),
        "last": os.path.join(workdir, "checkpoints", "last"),
        "best": os.path.join(workdir, "checkpoints", "best"),
        "metrics": os.path.join(workdir, "metrics.csv"),
        "logs": os.path.join(workdir, "logs"),
        "samples": os.path.join(workdir, "samples"),
        "model": os.path.join(workdir, "model.keras"),
        "prior": os.path.join(workdir, "ab_prior.json"),
    }


def write_json(path, value):
    """Writes `value` as JSON to `path` through a temporary file and a rename."""
    temporary = path + ".partial"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=1)
    os.replace(temporary, path)


def save_checkpoint(checkpoint, directory, number, chief):
    """Saves `checkpoint` as `directory/ckpt-number` (keeping only it) on the chief;
    a non-chief worker saves into a temporary directory and deletes it.

    Returns:
        The checkpoint prefix written (a deleted one on non-chief workers).
    """
    target = directory if chief else tempfile.mkdtemp(prefix="colorization-ckpt-")
    manager = tf.train.CheckpointManager(checkpoint, target, max_to_keep=1)
    try:
        return manager.save(checkpoint_number=number)
    finally:
        if not chief:
            shutil.rmtree(target, ignore_errors=True)


def latest_checkpoint(directory):
    """The newest checkpoint prefix in `directory`, or None."""
    return tf.train.latest_checkpoint(directory) if os.path.isdir(directory) else None


def append_metrics(path, row):
    """Appends a row (a dict) to the CSV at `path`, writing the header first."""
    new = not os.path.exists(path)
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def read_metrics(path):
    """The rows of a metrics CSV as dicts of floats (empty cells are dropped)."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return [
            {k: float(v) for k, v in row.items() if v != ""}
            for row in csv.DictReader(f)
        ]


def truncate_metrics(path, epochs):
    """Drops rows of epochs after `epochs` (a resumed run writes them again)."""
    rows = read_metrics(path)
    if not rows or len(rows) <= epochs:
        return
    with open(path) as f:
        header = f.readline().strip().split(",")
    os.remove(path)
    for row in rows[:epochs]:
        append_metrics(path, {k: row.get(k, "") for k in header})


def image_grid(l_norm, ab_true, ab_pred):
    """Rows of gray | prediction | truth as one uint8 RGB image [H*n, W*3, 3]."""
    l_norm = tf.cast(l_norm, tf.float32)
    gray = lab.model_to_rgb(l_norm, tf.zeros_like(ab_true))
    pred = lab.model_to_rgb(l_norm, ab_pred)
    truth = lab.model_to_rgb(l_norm, ab_true)
    rows = tf.concat([gray, pred, truth], axis=2)  # (n, H, 3W, 3)
    grid = tf.reshape(rows, [-1, tf.shape(rows)[2], 3])  # (n*H, 3W, 3)
    return lab.to_uint8(grid)


def write_sample(path, grid):
    """Writes a uint8 image to `path` as PNG."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tf.io.write_file(path, tf.io.encode_png(grid))


def _metadata(plugin, data_class):
    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = plugin
    metadata.data_class = data_class
    return metadata


def summary_scalar(name, value, step):
    """Writes a TensorBoard scalar to the default writer (the format of
    `tensorboard.summary.scalar`, without needing the tensorboard package)."""
    tf.summary.write(
        name,
        tf.constant(value, tf.float32),
        step=step,
        metadata=_metadata("scalars", summary_pb2.DATA_CLASS_SCALAR),
    )


def summary_image(name, image, step):
    """Writes one uint8 [H, W, 3] image as a TensorBoard image summary."""
    shape = tf.shape(image)
    tensor = tf.stack(
        [tf.as_string(shape[1]), tf.as_string(shape[0]), tf.io.encode_png(image)]
    )
    tf.summary.write(
        name,
        tensor,
        step=step,
        metadata=_metadata("images", summary_pb2.DATA_CLASS_BLOB_SEQUENCE),
    )

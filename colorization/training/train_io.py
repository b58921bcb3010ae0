"""What a training run writes to its workdir, and where.

    workdir/config.json            the resolved ExperimentConfig
    workdir/checkpoints/last/      saved every epoch and every `save_every_steps` steps
    workdir/checkpoints/best/      lowest validation masked L1
    workdir/metrics.csv            one row per epoch (means of the step values, validation
                                   scores, training files skipped by reason)
    workdir/logs/                  TensorBoard scalars and the gray|prediction|truth grid
    workdir/samples/epoch_NNN.png  the same grid as a PNG
    workdir/model.keras            the final generator

Under MultiWorkerMirroredStrategy every worker takes part in each checkpoint save, as
TensorFlow requires, but only the chief writes into the workdir: the others save into a
temporary directory and delete it at once. Files are written under a temporary name
and renamed (`data_pipeline.files.atomic_path`), so a killed run leaves no half-written
file.
"""

import csv
import os
import shutil
import tempfile

import tensorflow as tf

from data_pipeline import files, lab


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


def _read_csv(path):
    """(header, rows as dicts of str) of the CSV at `path`; ([], []) if missing."""
    if not os.path.exists(path):
        return [], []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _write_csv(path, header, rows):
    with files.atomic_path(path) as temporary:
        with open(temporary, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=header, restval="")
            writer.writeheader()
            writer.writerows(rows)


def append_metrics(path, row):
    """Appends a row (a dict) to the CSV at `path`; columns the file lacks are added
    (empty in the earlier rows)."""
    header, rows = _read_csv(path)
    header += [k for k in row if k not in header]
    _write_csv(path, header, rows + [row])


def read_metrics(path):
    """The rows of a metrics CSV as dicts of floats (empty cells are dropped)."""
    return [
        {k: float(v) for k, v in row.items() if k and v not in ("", None)}
        for row in _read_csv(path)[1]
    ]


def truncate_metrics(path, epochs):
    """Drops rows of epochs after `epochs` (a resumed run writes them again)."""
    header, rows = _read_csv(path)
    if len(rows) > epochs:
        _write_csv(path, header, rows[:epochs])


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
    with files.atomic_path(path) as temporary:
        tf.io.write_file(temporary, tf.io.encode_png(grid))

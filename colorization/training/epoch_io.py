"""What a training run reads besides its training batches, and what it writes at the
end of each epoch: the validation batches and scores, the rebalancing prior of the
"bins" loss, and the epoch's log line, TensorBoard scalars and image grid, metrics.csv
row and sample PNG (`colorization.training.loop` calls these; the checkpoints and the
final model are written there)."""

import json
import os
import sys

import tensorflow as tf

from colorization.evaluation import scoring
from colorization.models import ab_bins
from colorization.training import train_io
from data_pipeline import dataset as data
from data_pipeline import files

PRIOR_BATCHES = 100  # training batches whose ab histogram gives the "bins" prior
# What the steps of `train_steps.make_steps` return.
PLAIN_VALUES = ("loss", "recon", "l1")
GAN_VALUES = PLAIN_VALUES + ("g_adv", "d_loss", "d_acc_real", "d_acc_fake")


def validate(predict, val_ds):
    """The validation scores (`val_` + `scoring.BATCH_SCORES`), or {} without
    validation data (`val_ds` None). `val_hue_error` is NaN (nan in metrics.csv)
    while no validation image has a pixel coloured in both prediction and truth."""
    if val_ds is None:
        return {}
    scores = scoring.score_batches(predict, val_ds)
    return {f"val_{k}": v for k, v in scores.items()}


def write_epoch(run, epoch, metrics, skips):
    """Writes the end of epoch `epoch` (0-based) of `run` (a `loop._Run`): its line
    (and one on the training files skipped, if any) on stderr, TensorBoard scalars
    and image grid, metrics.csv row and sample PNG (the files by the chief only)."""
    print(f"epoch {epoch + 1}: {_summary(metrics)}", file=sys.stderr)
    if run.chief and any(skips.values()):
        print(f"epoch {epoch + 1}: skipped {_skip_summary(skips)}", file=sys.stderr)
    l_norm, ab, _ = run.grid_batch
    grid = train_io.image_grid(l_norm, ab, run.predict(l_norm))
    with run.writer.as_default(step=epoch + 1):
        for k, v in metrics.items():
            tf.summary.scalar(k, v)
        tf.summary.image("gray|prediction|truth", grid[tf.newaxis])
    if run.chief:
        row = _csv_row(metrics, run.gan_step is not None, run.val_ds)
        row |= {f"skipped_{k}": n for k, n in skips.items()}
        train_io.append_metrics(run.out["metrics"], row)
        sample = os.path.join(run.out["samples"], f"epoch_{epoch + 1:03d}.png")
        train_io.write_sample(sample, grid)


def validation_batches(config, stats):
    """(val_dataset or None, a fixed batch of up to `image_grid_size` examples for
    the image grid: the first validation batch, or training images without
    augmentation when there is no validation data)."""
    t = config.train
    if config.val_data is None:
        dataset = data.make_dataset(config.data, t.image_grid_size, stats=stats)
        return None, next(iter(dataset), None)
    dataset = data.make_dataset(config.val_data, t.batch_size, stats=stats)
    if t.val_steps:
        dataset = dataset.take(t.val_steps)
    # Decoded once, here: the same batches every epoch, large photos are not decoded
    # again (404 photos at 224 px hold 320 MB), and `stats` count each file once.
    dataset = dataset.cache()
    batches = iter(dataset)
    first = next(batches, None)
    if first is None:
        raise ValueError("the validation data yielded no image")
    for _ in batches:  # fills the cache
        pass
    return dataset, tuple(x[: t.image_grid_size] for x in first)


def class_weights(config, path, chief, batches=PRIOR_BATCHES):
    """The rebalancing weights of the "bins" loss, from the ab histogram of the first
    `batches` training batches; the counts are kept in the workdir for a resume."""
    centres = ab_bins.gamut_centres()
    if os.path.exists(path):
        with open(path) as f:
            counts = json.load(f)["counts"]
    else:
        dataset = data.make_dataset(config.data, config.train.batch_size, True)
        counts = ab_bins.histogram(dataset, centres, batches).tolist()
        if chief:
            files.write_json(path, {"batches": batches, "counts": counts})
    if len(counts) != len(centres):
        raise ValueError(f"{path} has {len(counts)} bins, the model {len(centres)}")
    return ab_bins.rebalancing_weights(counts, centres)


def _summary(metrics):
    return " ".join(
        f"{k}={v:.4g}" for k, v in metrics.items() if k not in ("epoch", "steps")
    )


def _skip_summary(skips):
    """ "2 grayscale, 1 unreadable training files" from {reason: count}."""
    parts = [f"{n} {reason}" for reason, n in skips.items() if n]
    return ", ".join(parts) + " training files"


def _csv_row(metrics, has_gan, val_ds):
    names = ["epoch", "steps", "global_step", "wall_hours", "cpu_hours"]
    names += list(GAN_VALUES if has_gan else PLAIN_VALUES)
    if val_ds is not None:
        names += [f"val_{k}" for k in scoring.BATCH_SCORES]
    return {k: metrics.get(k, "") for k in names}

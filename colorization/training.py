"""The training loop: one custom loop for every strategy (one device, mirrored,
multi-worker, TPU).

Keras 3.15 `fit` fails under MultiWorkerMirroredStrategy (keras-team/keras#20585),
so the loop distributes the input with `distribute_datasets_from_function` and runs
`colorization.train_steps` with `strategy.run`.

    config = resolve_config("tiny", {"dataset": "folder", "data_dir": "photos"})
    metrics = train(config, "runs/tiny")

Resuming: whenever `workdir/checkpoints/last` holds a checkpoint the run continues from
its epoch and step (re-running a killed command just continues); `resume=True`
additionally insists that such a checkpoint exists. A workdir whose config.json differs
from the config is refused rather than mixed.
"""

import dataclasses
import json
import math
import os
import sys
import time

import keras
import tensorflow as tf
from tqdm import tqdm

from colorization import ab_bins, evaluation, train_io, train_steps
from colorization.config import ExperimentConfig
from colorization.distribute import (
    POLICIES,
    choose_jit,
    choose_precision,
    is_chief,
    make_strategy,
)
from colorization.losses import CLASSIFICATION_KINDS
from colorization.models import build_discriminator, build_generator
from data_pipeline import dataset as data
from data_pipeline.stats import PipelineStats

PRIOR_BATCHES = 100  # training batches whose ab histogram gives the "bins" prior


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message is one line for the user."""


@dataclasses.dataclass
class TrainResult:
    """What `fit` returns: the final metrics and the trained models."""

    metrics: dict
    generator: keras.Model
    discriminator: keras.Model | None


def train(config: ExperimentConfig, workdir: str, resume: bool = False) -> dict:
    """Trains as `config` says, writing into `workdir` (see `colorization.train_io`).

    Args:
        config: The resolved experiment.
        workdir: Output directory; a checkpoint in it is resumed from.
        resume: Fail unless there is a checkpoint to resume from.

    Returns:
        The metrics of the last epoch (train means, `val_l1`, ...).

    Raises:
        TrainingDiverged: On a NaN or infinite loss (the last and best checkpoints
            are kept as they were).
        ValueError: On a workdir that holds a different run, or no data.
    """
    return fit(config, workdir, resume).metrics


def _check_workdir(config, out, resume):
    has_checkpoint = train_io.latest_checkpoint(out["last"]) is not None
    if resume and not has_checkpoint:
        raise ValueError(f"--resume: no checkpoint in {out['last']}")
    if has_checkpoint and os.path.exists(out["config"]):
        with open(out["config"]) as f:
            if ExperimentConfig.from_json(f.read()) != config:
                raise ValueError(
                    f"{out['config']} holds a different run; use another --workdir"
                )


def _validation_batches(config, stats):
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
    # Decoded once: the same batches every epoch, and large photos are not decoded
    # again (404 photos at 224 px hold 320 MB).
    dataset = dataset.cache()
    first = next(iter(dataset), None)
    if first is None:
        raise ValueError("the validation data yielded no image")
    return dataset, tuple(x[: t.image_grid_size] for x in first)


def epoch_data(data_config, epoch):
    """The DataConfig of training epoch `epoch` (0-based): its seed is a function of
    the run's seed and the epoch, so every epoch draws its own order, crops, scales
    and degradations, and a resumed epoch replays exactly the batches it had. The
    first epoch keeps the run's seed (its batches are those of earlier versions)."""
    if epoch == 0:
        return data_config
    seed = (data_config.seed * 1_000_003 + epoch) % 2**31
    return dataclasses.replace(data_config, seed=seed)


def _build(config, strategy, precision):
    t = config.train
    keras.utils.set_random_seed(t.seed)
    fp16 = precision == "fp16"
    with strategy.scope():
        generator = build_generator(config.generator)
        train_steps.synchronize_batch_norm(generator, strategy)
        g_opt = train_steps.make_optimizer(t, t.lr, fp16)
        g_opt.build(generator.trainable_variables)
        discriminator = d_opt = None
        if config.loss.gan is not None:
            discriminator = build_discriminator(config.discriminator)
            train_steps.synchronize_batch_norm(discriminator, strategy)
            d_opt = train_steps.make_optimizer(t, t.d_lr or t.lr, fp16)
            d_opt.build(discriminator.trainable_variables)
        state = {
            "epoch": tf.Variable(0, dtype=tf.int64, trainable=False),
            "step_in_epoch": tf.Variable(0, dtype=tf.int64, trainable=False),
            "global_step": tf.Variable(0, dtype=tf.int64, trainable=False),
            "best": tf.Variable(math.inf, dtype=tf.float64, trainable=False),
            # Time spent training, over every process that resumed the run.
            "wall_seconds": tf.Variable(0.0, dtype=tf.float64, trainable=False),
            "cpu_seconds": tf.Variable(0.0, dtype=tf.float64, trainable=False),
        }
    trackables = {"generator": generator, "g_opt": g_opt, **state}
    if discriminator is not None:
        trackables |= {"discriminator": discriminator, "d_opt": d_opt}
    return generator, discriminator, g_opt, d_opt, state, trackables


def _class_weights(config, path, chief, batches=PRIOR_BATCHES):
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
            train_io.write_json(path, {"batches": batches, "counts": counts})
    if len(counts) != len(centres):
        raise ValueError(f"{path} has {len(counts)} bins, the model {len(centres)}")
    return ab_bins.rebalancing_weights(counts, centres)


TIMERS = ("wall_seconds", "cpu_seconds")


def _restore(checkpoint, trackables, path):
    """Restores `path`; a checkpoint written before the time counters existed
    resumes too (the counters then start at 0), anything else missing fails."""
    status = checkpoint.restore(path)
    try:
        status.assert_existing_objects_matched()
    except AssertionError:
        untimed = {k: v for k, v in trackables.items() if k not in TIMERS}
        tf.train.Checkpoint(**untimed).restore(path).assert_existing_objects_matched()


def _init_from(generator, path):
    from colorization.inference import load_model
    from colorization.warm_start import copy_weights

    report = copy_weights(generator, load_model(path))
    print(f"initialised from {path}: {report.summary()}", file=sys.stderr)


def _train_dataset(config, strategy, stats, epoch):
    make = data.dataset_fn(
        epoch_data(config.data, epoch), config.train.batch_size, True, stats
    )
    if config.train.steps_per_epoch:
        return strategy.distribute_datasets_from_function(
            lambda context: make(context).repeat()
        )
    return strategy.distribute_datasets_from_function(make)


def _next(iterator):
    optional = iterator.get_next_as_optional()
    return optional.get_value() if optional.has_value() else None


def fit(config: ExperimentConfig, workdir: str, resume: bool = False) -> TrainResult:
    """`train`, returning the trained models too (for tests and notebooks).

    The global Keras dtype policy is set for the run and restored afterwards.
    """
    previous = keras.mixed_precision.global_policy()
    try:
        return _fit(config, workdir, resume)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _fit(config, workdir, resume):
    t = config.train
    strategy = make_strategy(t.strategy)
    precision = choose_precision(t.mixed_precision, strategy)
    keras.mixed_precision.set_global_policy(POLICIES[precision])
    chief = is_chief(strategy)
    out = train_io.paths(workdir)
    _check_workdir(config, out, resume)
    if chief:
        os.makedirs(workdir, exist_ok=True)
        with open(out["config"], "w") as f:
            f.write(config.to_json())
    generator, discriminator, g_opt, d_opt, state, trackables = _build(
        config, strategy, precision
    )
    checkpoint = tf.train.Checkpoint(**trackables)
    last = train_io.latest_checkpoint(out["last"])
    if last:
        _restore(checkpoint, trackables, last)
    elif t.init_from:
        _init_from(generator, t.init_from)
    epoch0, step0 = int(state["epoch"].numpy()), int(state["step_in_epoch"].numpy())
    global_step = int(state["global_step"].numpy())
    if chief:
        train_io.truncate_metrics(out["metrics"], epoch0)
        if last:
            print(
                f"resuming from {last} (epoch {epoch0 + 1}, step {step0}, "
                f"global step {global_step})",
                file=sys.stderr,
            )

    stats = PipelineStats()
    val_ds, grid_batch = _validation_batches(config, stats)
    if grid_batch is None:
        raise ValueError("the training data yielded no image")
    class_weights = None
    if config.loss.recon in CLASSIFICATION_KINDS:
        class_weights = _class_weights(config, out["prior"], chief)
    plain_step, gan_step = train_steps.make_steps(
        strategy,
        generator,
        discriminator,
        g_opt,
        d_opt,
        config.loss,
        t.batch_size,
        choose_jit(t.jit, strategy),
        class_weights,
    )
    predict = train_steps.make_predict(generator)
    writer = (
        tf.summary.create_file_writer(out["logs"])
        if chief
        else tf.summary.create_noop_writer()
    )

    clock = [time.monotonic(), time.process_time()]

    def save(kind, epoch, step):
        now = [time.monotonic(), time.process_time()]
        state["wall_seconds"].assign_add(now[0] - clock[0])
        state["cpu_seconds"].assign_add(now[1] - clock[1])
        clock[:] = now
        state["epoch"].assign(epoch)
        state["step_in_epoch"].assign(step)
        state["global_step"].assign(global_step)
        train_io.save_checkpoint(checkpoint, out[kind], global_step, chief)

    metrics = (train_io.read_metrics(out["metrics"]) or [{}])[-1] if chief else {}
    for epoch in range(epoch0, t.epochs):
        gan = gan_step is not None and epoch >= config.loss.pretrain_epochs
        step_fn = gan_step if gan else plain_step
        iterator = iter(_train_dataset(config, strategy, stats, epoch))
        for _ in range(step0):  # a resumed epoch skips the batches it has seen
            _next(iterator)
        sums, step = {}, step0
        bar = tqdm(
            total=t.steps_per_epoch,
            initial=step0,
            desc=f"epoch {epoch + 1}/{t.epochs}" + (" gan" if gan else ""),
            disable=not chief,
            leave=False,
        )
        while t.steps_per_epoch is None or step < t.steps_per_epoch:
            batch = _next(iterator)
            if batch is None:
                break
            values = {k: float(v) for k, v in step_fn(batch).items()}
            bad = [k for k, v in values.items() if not math.isfinite(v)]
            if bad:
                best = train_io.latest_checkpoint(out["best"]) or "none saved yet"
                raise TrainingDiverged(
                    f"training stopped: {bad[0]} is {values[bad[0]]} at epoch "
                    f"{epoch + 1} step {step + 1}; best checkpoint: {best}"
                )
            step += 1
            global_step += 1
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + v
            bar.update(1)
            bar.set_postfix(loss=f"{values['loss']:.4f}")
            if t.save_every_steps and global_step % t.save_every_steps == 0:
                save("last", epoch, step)
        bar.close()
        if step == 0:
            raise ValueError(
                f"no training batch in epoch {epoch + 1}: fewer images than the "
                f"global batch {t.batch_size}?"
            )
        steps_run = step - step0
        metrics = {"epoch": epoch + 1, "steps": step, "global_step": global_step}
        metrics |= {k: v / max(steps_run, 1) for k, v in sums.items()}
        if val_ds is not None:
            metrics |= {
                f"val_{k}": v
                for k, v in evaluation.score_batches(predict, val_ds).items()
            }
        score = metrics.get("val_l1", metrics["l1"])
        if score < float(state["best"].numpy()):
            state["best"].assign(score)
            save("best", epoch + 1, 0)
        save("last", epoch + 1, 0)
        metrics["wall_hours"] = float(state["wall_seconds"].numpy()) / 3600
        metrics["cpu_hours"] = float(state["cpu_seconds"].numpy()) / 3600
        print(f"epoch {epoch + 1}: {_summary(metrics)}", file=sys.stderr)
        l_norm, ab, _ = grid_batch
        grid = train_io.image_grid(l_norm, ab, predict(l_norm))
        with writer.as_default():
            for k, v in metrics.items():
                train_io.summary_scalar(k, v, epoch + 1)
            train_io.summary_image("gray|prediction|truth", grid, epoch + 1)
        if chief:
            train_io.append_metrics(
                out["metrics"], _csv_row(metrics, gan_step is not None, val_ds)
            )
            sample = os.path.join(out["samples"], f"epoch_{epoch + 1:03d}.png")
            train_io.write_sample(sample, grid)
        step0 = 0
    writer.flush()
    if chief:
        generator.save(out["model"])
    return TrainResult(metrics, generator, discriminator)


def _summary(metrics):
    return " ".join(
        f"{k}={v:.4g}" for k, v in metrics.items() if k not in ("epoch", "steps")
    )


def _csv_row(metrics, has_gan, val_ds):
    names = ["epoch", "steps", "global_step", "wall_hours", "cpu_hours"]
    names += ["loss", "recon", "l1"]
    if has_gan:
        names += ["g_adv", "d_loss", "d_acc_real", "d_acc_fake"]
    if val_ds is not None:
        names += [f"val_{k}" for k in evaluation.BATCH_SCORES]
    return {k: metrics.get(k, "") for k in names}

"""The training loop: one custom loop for every strategy (one device, mirrored,
multi-worker, TPU).

Keras 3.15 `fit` fails under MultiWorkerMirroredStrategy (keras-team/keras#20585),
so the loop distributes the input with `distribute_datasets_from_function` and runs
`colorization.training.train_steps` with `strategy.run`.

    config = resolve_config("tiny", {"dataset": "folder", "data_dir": "photos"})
    metrics = train(config, "runs/tiny")

Resuming: whenever `workdir/checkpoints/last` holds a checkpoint the run continues from
its epoch and step (re-running a killed command just continues); `resume=True`
additionally insists that such a checkpoint exists. A workdir whose config.json differs
from the config is refused rather than mixed. A resumed run ends with the weights of the
run never interrupted: the batches of an epoch are a function of the seed, the epoch
and the step (`epoch_data`, `data_pipeline.dataset.make_dataset`), and the checkpoint
holds, besides the models and optimizers, the random state of their layers (dropout)
and the loss sums of the epoch so far.
"""

import dataclasses
import json
import math
import sys
import time

import keras
import tensorflow as tf
from tqdm import tqdm

from colorization.config.experiment import ExperimentConfig
from colorization.models import build_discriminator, build_generator
from colorization.models.efficientnet_lite import freeze_to_stride
from colorization.training import epoch_io, train_io, train_steps
from colorization.training import workdir as workdir_state
from colorization.training.distribute import (
    POLICIES,
    choose_jit,
    choose_precision,
    is_chief,
    make_strategy,
)
from colorization.training.epoch_io import GAN_VALUES, PLAIN_VALUES
from colorization.training.losses import CLASSIFICATION_KINDS
from colorization.training.workdir import OPTIONAL_STATE, TIMERS  # noqa: F401
from data_pipeline import dataset as data
from data_pipeline import files
from data_pipeline.stats import PipelineStats

# The running sums of an epoch, in their order in the checkpoint.
SUMMED = ("steps",) + GAN_VALUES


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message is one line for the user."""


@dataclasses.dataclass
class TrainResult:
    """What `fit` returns: the final metrics and the trained models."""

    metrics: dict
    generator: keras.Model
    discriminator: keras.Model | None


def train(config: ExperimentConfig, workdir: str, resume: bool = False) -> dict:
    """Trains as `config` says, writing into `workdir` (see `colorization.training.train_io`).

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


def fit(config: ExperimentConfig, workdir: str, resume: bool = False) -> TrainResult:
    """`train`, returning the trained models too (for tests and notebooks).

    The global Keras dtype policy is set for the run and restored afterwards.
    """
    previous = keras.mixed_precision.global_policy()
    try:
        return _fit(config, workdir, resume)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def epoch_data(data_config, epoch):
    """The DataConfig of training epoch `epoch` (0-based): its seed is a function of
    the run's seed and the epoch, so every epoch draws its own order, crops, scales
    and degradations, and a resumed epoch replays exactly the batches it had. The
    first epoch keeps the run's seed."""
    if epoch == 0:
        return data_config
    seed = (data_config.seed * 1_000_003 + epoch) % 2**31
    return dataclasses.replace(data_config, seed=seed)


def _fit(config, workdir, resume):
    run = _Run(config, workdir, resume)
    epoch0, step0 = run.position()
    metrics = run.last_metrics()
    for epoch in range(epoch0, config.train.epochs):
        metrics = run.epoch(epoch, start=step0 if epoch == epoch0 else 0)
    run.finish()
    return TrainResult(metrics, run.generator, run.discriminator)


class _Run:
    """One training run in this process: its models and their checkpointed state, its
    workdir, data and compiled steps; `epoch` trains, validates and saves one epoch."""

    def __init__(self, config, workdir, resume):
        t = config.train
        self.config = config
        self.strategy = make_strategy(t.strategy)
        precision = choose_precision(t.mixed_precision, self.strategy)
        keras.mixed_precision.set_global_policy(POLICIES[precision])
        self.chief = is_chief(self.strategy)
        self.out = train_io.paths(workdir)
        workdir_state.check_workdir(config, self.out, resume)
        if self.chief:
            with files.atomic_path(self.out["config"]) as temporary:
                with open(temporary, "w", encoding="utf-8") as f:
                    f.write(config.to_json())
        built = _build(config, self.strategy, precision)
        self.generator, self.discriminator, g_opt, d_opt, self.state, trackables = built
        self.checkpoint = tf.train.Checkpoint(**trackables)
        self._restore_or_init(trackables)
        self.global_step = int(self.state["global_step"].numpy())

        self.stats, val_stats = PipelineStats(), PipelineStats()
        self.val_ds, self.grid_batch = epoch_io.validation_batches(config, val_stats)
        if self.grid_batch is None:
            raise ValueError("the training data yielded no image")
        if self.val_ds is not None and self.chief and val_stats.skipped():
            print(f"validation: {val_stats.report()}", file=sys.stderr)
        class_weights = None
        if config.loss.recon in CLASSIFICATION_KINDS:
            class_weights = epoch_io.class_weights(
                config, self.out["prior"], self.chief
            )
        self.plain_step, self.gan_step = train_steps.make_steps(
            self.strategy,
            self.generator,
            self.discriminator,
            g_opt,
            d_opt,
            config.loss,
            t.batch_size,
            choose_jit(t.jit, self.strategy),
            class_weights,
        )
        self.predict = train_steps.make_predict(self.generator)
        self.writer = (
            tf.summary.create_file_writer(self.out["logs"])
            if self.chief
            else tf.summary.create_noop_writer()
        )
        self.clock = [time.monotonic(), time.process_time()]

    def _restore_or_init(self, trackables):
        last = train_io.latest_checkpoint(self.out["last"])
        if last:
            workdir_state.restore(self.checkpoint, trackables, last)
        elif self.config.train.init_from:
            workdir_state.init_from(self.generator, self.config.train.init_from)
        if not self.chief:
            return
        epoch, step = self.position()
        train_io.truncate_metrics(self.out["metrics"], epoch)
        if last:
            global_step = int(self.state["global_step"].numpy())
            print(
                f"resuming from {last} (epoch {epoch + 1}, step {step}, "
                f"global step {global_step})",
                file=sys.stderr,
            )

    def position(self):
        """(epoch, step in it) where training continues, both 0-based."""
        state = self.state
        return int(state["epoch"].numpy()), int(state["step_in_epoch"].numpy())

    def last_metrics(self):
        """The last metrics.csv row (what a run resumed after its end returns)."""
        if not self.chief:
            return {}
        return (train_io.read_metrics(self.out["metrics"]) or [{}])[-1]

    def epoch(self, epoch, start=0):
        """Trains epoch `epoch` (0-based) from its step `start`, validates, saves
        and logs it; returns its metrics."""
        skipped_before = self.stats.skips()
        steps, means = self.train_epoch(epoch, start)
        skips = {k: n - skipped_before[k] for k, n in self.stats.skips().items()}
        metrics = {"epoch": epoch + 1, "steps": steps, "global_step": self.global_step}
        metrics |= means | epoch_io.validate(self.predict, self.val_ds)
        self.end_epoch(epoch, metrics, skips)
        return metrics

    def train_epoch(self, epoch, start):
        """Runs the training steps of epoch `epoch` from its step `start` to its end.

        Returns:
            (steps of the epoch, the means over the epoch of the step values).
        """
        t = self.config.train
        gan = self.gan_step is not None and epoch >= self.config.loss.pretrain_epochs
        step_fn = self.gan_step if gan else self.plain_step
        sums = dict.fromkeys(SUMMED, 0.0)
        if start:  # the sums of the steps before the checkpoint
            sums = dict(zip(SUMMED, self.state["epoch_sums"].numpy().tolist()))
        iterator = iter(
            _train_dataset(self.config, self.strategy, self.stats, epoch, start)
        )
        step = start
        bar = tqdm(
            total=t.steps_per_epoch,
            initial=start,
            desc=f"epoch {epoch + 1}/{t.epochs}" + (" gan" if gan else ""),
            disable=not self.chief,
            leave=False,
        )
        while t.steps_per_epoch is None or step < t.steps_per_epoch:
            batch = _next(iterator)
            if batch is None:
                break
            values = {k: float(v) for k, v in step_fn(batch).items()}
            self._check_finite(values, epoch, step)
            step += 1
            self.global_step += 1
            sums["steps"] += 1
            for k, v in values.items():
                sums[k] += v
            bar.update(1)
            bar.set_postfix(loss=f"{values['loss']:.4f}")
            if t.save_every_steps and self.global_step % t.save_every_steps == 0:
                self.save("last", epoch, step, sums)
        bar.close()
        del iterator  # stops its read-ahead before the skip counts are read
        if step == 0:
            raise ValueError(
                f"no training batch in epoch {epoch + 1}: fewer images than the "
                f"global batch {t.batch_size}?"
            )
        names = GAN_VALUES if gan else PLAIN_VALUES
        return step, {k: sums[k] / max(sums["steps"], 1) for k in names}

    def _check_finite(self, values, epoch, step):
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            best = train_io.latest_checkpoint(self.out["best"]) or "none saved yet"
            raise TrainingDiverged(
                f"training stopped: {bad[0]} is {values[bad[0]]} at epoch "
                f"{epoch + 1} step {step + 1}; best checkpoint: {best}"
            )

    def save(self, kind, epoch, step, sums=None):
        """Saves the "last" or "best" checkpoint at `step` of `epoch` (0-based), with
        the `sums` of the step values of the epoch so far."""
        state = self.state
        now = [time.monotonic(), time.process_time()]
        state["wall_seconds"].assign_add(now[0] - self.clock[0])
        state["cpu_seconds"].assign_add(now[1] - self.clock[1])
        self.clock = now
        state["epoch"].assign(epoch)
        state["step_in_epoch"].assign(step)
        state["global_step"].assign(self.global_step)
        sums = sums or dict.fromkeys(SUMMED, 0.0)
        state["epoch_sums"].assign([sums[k] for k in SUMMED])
        train_io.save_checkpoint(
            self.checkpoint, self.out[kind], self.global_step, self.chief
        )

    def end_epoch(self, epoch, metrics, skips):
        """Saves the best and last checkpoints, then writes the epoch's logs
        (`epoch_io.write_epoch`)."""
        state = self.state
        score = metrics.get("val_l1", metrics["l1"])
        if score < float(state["best"].numpy()):
            state["best"].assign(score)
            self.save("best", epoch + 1, 0)
        self.save("last", epoch + 1, 0)
        metrics["wall_hours"] = float(state["wall_seconds"].numpy()) / 3600
        metrics["cpu_hours"] = float(state["cpu_seconds"].numpy()) / 3600
        epoch_io.write_epoch(self, epoch, metrics, skips)

    def finish(self):
        """Flushes TensorBoard and saves the final generator with its facts (input
        size, the run's config) inside (chief only)."""
        from colorization.models import model_file

        self.writer.flush()
        if self.chief:
            facts = model_file.ModelFacts(
                image_size=self.config.data.image_size,
                training=model_file.portable_config(json.loads(self.config.to_json())),
            )
            model_file.save_model(self.generator, self.out["model"], facts)


def _build(config, strategy, precision):
    t = config.train
    keras.utils.set_random_seed(t.seed)
    fp16 = precision == "fp16"
    with strategy.scope():
        generator = build_generator(config.generator)
        if t.freeze_stride:
            freeze_to_stride(generator, t.freeze_stride)
        train_steps.synchronize_batch_norm(generator, strategy)
        g_opt = train_steps.make_optimizer(t, t.lr, fp16)
        g_opt.build(generator.trainable_variables)
        discriminator = d_opt = None
        models = [generator]
        if config.loss.gan is not None:
            discriminator = build_discriminator(config.discriminator)
            train_steps.synchronize_batch_norm(discriminator, strategy)
            d_opt = train_steps.make_optimizer(t, t.d_lr or t.lr, fp16)
            d_opt.build(discriminator.trainable_variables)
            models.append(discriminator)
        state = {
            "epoch": tf.Variable(0, dtype=tf.int64, trainable=False),
            "step_in_epoch": tf.Variable(0, dtype=tf.int64, trainable=False),
            "global_step": tf.Variable(0, dtype=tf.int64, trainable=False),
            "best": tf.Variable(math.inf, dtype=tf.float64, trainable=False),
            # Time spent training, over every process that resumed the run.
            "wall_seconds": tf.Variable(0.0, dtype=tf.float64, trainable=False),
            "cpu_seconds": tf.Variable(0.0, dtype=tf.float64, trainable=False),
            # The SUMMED of the epoch so far, for a resume within it.
            "epoch_sums": tf.Variable(
                tf.zeros([len(SUMMED)], tf.float64), trainable=False
            ),
        }
    trackables = {"generator": generator, "g_opt": g_opt, **state}
    trackables["rng_states"] = [v for m in models for v in _rng_states(m)]
    if discriminator is not None:
        trackables |= {"discriminator": discriminator, "d_opt": d_opt}
    return generator, discriminator, g_opt, d_opt, state, trackables


def _rng_states(model):
    """The variables of `model` that are not weights: the seed states of the layers
    that draw random numbers (Dropout), which the models' checkpoint leaves out."""
    weights = {id(w) for w in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def _train_dataset(config, strategy, stats, epoch, start):
    """The distributed batches of epoch `epoch` from its step `start` on."""
    make = data.dataset_fn(
        epoch_data(config.data, epoch),
        config.train.batch_size,
        True,
        stats,
        repeat=config.train.steps_per_epoch is not None,
        start=start,
    )
    return strategy.distribute_datasets_from_function(make)


def _next(iterator):
    optional = iterator.get_next_as_optional()
    return optional.get_value() if optional.has_value() else None

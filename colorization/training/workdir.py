"""What a training run does with its workdir before the first step: check that it
holds this run (or nothing), restore its last checkpoint, or start the generator from
another model's weights."""

import os
import sys

import tensorflow as tf

from colorization.config.experiment import ExperimentConfig
from colorization.training import train_io

# Checkpoint entries newer than the first checkpoints: one without them resumes too
# (they start from their initial values).
TIMERS = ("wall_seconds", "cpu_seconds")
OPTIONAL_STATE = TIMERS + ("epoch_sums", "rng_states")


def check_workdir(config, out, resume):
    """Raises ValueError if `resume` finds no checkpoint in the workdir of paths
    `out`, or if the workdir holds a checkpoint of another config."""
    has_checkpoint = train_io.latest_checkpoint(out["last"]) is not None
    if resume and not has_checkpoint:
        raise ValueError(f"--resume: no checkpoint in {out['last']}")
    if has_checkpoint and os.path.exists(out["config"]):
        with open(out["config"]) as f:
            if ExperimentConfig.from_json(f.read()) != config:
                raise ValueError(
                    f"{out['config']} holds a different run; use another --workdir"
                )


def restore(checkpoint, trackables, path):
    """Restores `path`; a checkpoint written before the `OPTIONAL_STATE` entries
    existed resumes too (they keep their initial values), anything else missing
    fails."""
    status = checkpoint.restore(path)
    try:
        status.assert_existing_objects_matched()
    except AssertionError:
        older = {k: v for k, v in trackables.items() if k not in OPTIONAL_STATE}
        tf.train.Checkpoint(**older).restore(path).assert_existing_objects_matched()


def init_from(generator, path):
    """Copies the weights of the `.keras` model `path` into `generator`
    (`colorization.training.warm_start`)."""
    from colorization.models.model_file import load_model
    from colorization.training.warm_start import copy_weights

    report = copy_weights(generator, load_model(path))
    print(f"initialised from {path}: {report.summary()}", file=sys.stderr)

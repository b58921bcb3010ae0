"""Turn a training checkpoint into a `.keras` model, e.g. the best one of a run.

    colorization-checkpoints runs/default best.keras          # best val L1
    colorization-checkpoints runs/default last.keras --which last
    colorization-checkpoints runs/default t.keras --which last --temperature 0.5
    colorization-checkpoints runs/default d.keras --which last --size 256 --blend 0.6
    colorization-checkpoints runs/hints h.keras --which last --propagate-hints

(the command is `colorization.cli.checkpoints`; this module is the library it calls.)

train.py saves the last epoch's generator as WORKDIR/model.keras; the checkpoint with
the lowest validation L1 (the one Zhu picks) is only a checkpoint until this writes it.
The model is rebuilt from WORKDIR/config.json in float32, so it runs on any CPU.
"""

import dataclasses
import json
import os


def generator_from_checkpoint(workdir, which="best"):
    """The generator of `workdir`'s best or last checkpoint, float32.

    Raises:
        FileNotFoundError: no config.json or no such checkpoint in `workdir`.
    """
    import keras
    import tensorflow as tf

    from colorization.config.experiment import ExperimentConfig
    from colorization.models import build_generator
    from colorization.training import train_io

    out = train_io.paths(workdir)
    if not os.path.isfile(out["config"]):
        raise FileNotFoundError(
            f"{out['config']!r} does not exist: is {workdir!r} a train.py workdir?"
        )
    checkpoint = train_io.latest_checkpoint(out[which])
    if checkpoint is None:
        raise FileNotFoundError(f"no {which} checkpoint in {out[which]!r}")
    with open(out["config"], encoding="utf-8") as f:
        config = ExperimentConfig.from_json(f.read())
    keras.mixed_precision.set_global_policy("float32")
    # The trained weights replace the pretrained ones, which need not be on this machine.
    generator = build_generator(
        dataclasses.replace(config.generator, encoder_weights=None)
    )
    tf.train.Checkpoint(generator=generator).restore(checkpoint).expect_partial()
    return generator, config


def write_model(
    workdir,
    output,
    which="best",
    temperature=None,
    blend=None,
    size=None,
    propagate_hints=False,
):
    """Writes the best or last generator of `workdir` to `output`, a .keras file
    written whole or not at all, with its facts inside (`colorization.models.model_file`):
    the network input size and the run's config. `temperature` sets the annealed mean
    of a bins head and `blend` the bins-head weight of a two-head model (default: as
    trained); `size` is the network input `Colorizer` uses (default: the training
    image size); `propagate_hints` ends a hinted generator with `HintPropagation`.

    Returns:
        (the run's ExperimentConfig, `output`).
    """
    from colorization.models.model_file import ModelFacts, portable_config, save_model

    generator, config = generator_from_checkpoint(workdir, which)
    if temperature is not None:
        from colorization.models import set_temperature

        set_temperature(generator, temperature)
    if blend is not None:
        from colorization.models import set_blend

        set_blend(generator, blend)
    if propagate_hints:
        from colorization.models.hint_propagation import add_hint_propagation

        generator = add_hint_propagation(generator)
    with open(os.path.join(workdir, "config.json"), encoding="utf-8") as f:
        values = json.load(f)
    facts = ModelFacts(
        image_size=size or config.data.image_size, training=portable_config(values)
    )
    save_model(generator, output, facts)
    return config, output

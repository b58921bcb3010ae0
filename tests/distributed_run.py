"""Run by tests/test_distributed.py in a fresh process: trains and saves the weights.

    python tests/distributed_run.py CONFIG_JSON WORKDIR WEIGHTS_NPZ [--logical-cpus N]

With --logical-cpus the CPU is split into N logical devices before TensorFlow starts
(MirroredStrategy then has N replicas). The strategy is the config's.

Batch norm is synchronised on one device too (the training loop skips that when there
is one replica): the synchronised layer computes its moments from sums and sums of
squares, the plain one in two passes, and Adam's first steps amplify that rounding to
whole steps where a gradient is near zero (3.6e-3 measured), which would hide what the
comparison is for: the distribution of the step.
"""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("workdir")
    parser.add_argument("weights")
    parser.add_argument("--logical-cpus", type=int, default=0)
    parser.add_argument("--strategies", default="")
    args = parser.parse_args(argv)

    import numpy as np
    import tensorflow as tf

    if args.logical_cpus:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus
        )
    import dataclasses
    import functools

    from colorization.config.experiment import ExperimentConfig
    from colorization.training import train_steps
    from colorization.training.loop import fit

    train_steps.synchronize_batch_norm = functools.partial(
        train_steps.synchronize_batch_norm, force=True
    )

    with open(args.config) as f:
        config = ExperimentConfig.from_json(f.read())
    weights = {}
    for name in args.strategies.split(",") if args.strategies else [""]:
        run = config
        if name:
            run = dataclasses.replace(
                config, train=dataclasses.replace(config.train, strategy=name)
            )
        result = fit(run, f"{args.workdir}/{name}" if name else args.workdir)
        models = [result.generator] + [m for m in [result.discriminator] if m]
        for model in models:
            for variable in model.weights:
                key = f"{name}/{model.name}/{variable.path}"
                weights[key] = np.asarray(variable.numpy())
        weights[f"{name}/loss"] = np.asarray(result.metrics["loss"])
    np.savez(args.weights, **weights)
    return 0


if __name__ == "__main__":
    sys.exit(main())

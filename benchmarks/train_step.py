"""Training-step throughput, FLOPs and the share of this CPU's measured matmul peak.

    python benchmarks/train_step.py --preset studienarbeit-l1 --image-size 256 --batch-size 8 --mixed-precision off
    python benchmarks/train_step.py --preset default --image-size 128 --batch-size 16 --mixed-precision bf16
    python benchmarks/train_step.py --preset default-hints --batch-size 16 --against-before

Runs the real training step of `colorization.training.train_steps` (the one train.py uses) on
random tensors of the given shape with one device, after warm-up steps, and splits its
time into the forward pass, the backward pass and the rest (the Adam update). The model's
FLOP per step (forward and backward) is counted by TensorFlow's profiler on the traced
graph; the matmul peak is measured in the same run (a 4096 x 4096 matmul in float32 and
in bfloat16). The last line is one JSON object with every figure.

`--against-before` also times the default recipe's step as it was before round three
of the default model (issue 22): Zhang et al.'s 5-nearest soft target found by `top_k`
and a gather, Keras' own batch norm, the bins head at half resolution, nothing frozen,
no global branch. The
two steps run in turns, one step each at every scale of the preset (128-224 px for the
default), so a load on the machine slows both alike, and their images per second and
ratio are printed.
"""

import argparse
import json
import os
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def matmul_peak(dtype, n=4096, repeats=5):
    """Measured GFLOP/s of an n x n matmul in `dtype` (the best of `repeats`)."""
    import tensorflow as tf

    a = tf.random.uniform((n, n), dtype=tf.float32)
    a = tf.cast(a, dtype)
    matmul = tf.function(lambda x: tf.linalg.matmul(x, x))
    matmul(a).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def step_flops(forward_loss, variables, batch):
    """FLOP of one forward + backward pass, from the profiler on the traced graph."""
    import tensorflow as tf

    @tf.function
    def forward_backward(l_norm, ab, mask):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(forward_loss(l_norm, ab, mask)[0])
        return tape.gradient(loss, variables)

    graph = forward_backward.get_concrete_function(*batch).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(graph, options=options).total_float_ops


def _median_seconds(fn, steps, warmup):
    import numpy as np

    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def time_split(generator, forward_loss, batch, steps, warmup):
    """Seconds of the forward pass alone and of forward + backward (no update)."""
    import tensorflow as tf

    @tf.function
    def forward(l_norm):
        return generator(l_norm, training=True)

    @tf.function
    def forward_backward(l_norm, ab, mask):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(forward_loss(l_norm, ab, mask)[0])
        return tape.gradient(loss, generator.trainable_variables)

    return (
        _median_seconds(lambda: forward(batch[0]).numpy(), steps, warmup),
        _median_seconds(
            lambda: [g.numpy() for g in forward_backward(*batch)], steps, warmup
        ),
    )


def topk_bin_loss(ab_true, logits, mask, centres, class_weights, sigma=5.0 / 128):
    """The bins loss before round three: the 5 nearest bins by `top_k` over the Q
    distances and their log-probabilities by a gather (whose gradient is a scatter)."""
    import tensorflow as tf

    from colorization.training import losses

    logits = tf.cast(logits, tf.float32)
    ab = tf.stop_gradient(tf.cast(ab_true, tf.float32))
    mask = tf.ones_like(ab[..., :1]) if mask is None else tf.cast(mask, tf.float32)
    if ab.shape[1:3] != logits.shape[1:3]:
        ab = tf.image.resize(ab, tf.shape(logits)[1:3], method="area")
        mask = tf.image.resize(mask, tf.shape(logits)[1:3], method="area")
    centres = tf.cast(centres, tf.float32)
    distance = (
        tf.reduce_sum(tf.square(ab), -1, keepdims=True)
        - 2.0 * tf.einsum("bhwc,qc->bhwq", ab, centres)
        + tf.reduce_sum(tf.square(centres), -1)
    )
    negative, index = tf.math.top_k(-distance, k=5)
    target = tf.nn.softmax(negative / (2.0 * sigma**2), axis=-1)
    log_p = tf.gather(tf.nn.log_softmax(logits, axis=-1), index, batch_dims=3)
    cross_entropy = -tf.reduce_sum(target * log_p, axis=-1)
    weight = tf.gather(tf.cast(class_weights, tf.float32), index[..., 0])
    valid = tf.cast(mask[..., 0] > 0.5, tf.float32)
    return losses._masked_mean(weight * cross_entropy, valid)


def before_round_three(config):
    """`config` with the default recipe's step as it was before round three."""
    import dataclasses

    generator = config.generator
    if generator.name == "effnet_unet":
        generator = dataclasses.replace(generator, bins_stride=2, global_context=False)
    train = dataclasses.replace(config.train, freeze_stride=0)
    return dataclasses.replace(config, generator=generator, train=train)


def recipe_step(config, strategy, batch_size, fp16=False):
    """The training step train.py builds for `config` (encoder frozen as it says), as
    `(step, generator, class_weights)`; uniform rebalancing weights stand in for the
    data's prior (same cost)."""
    import numpy as np

    from colorization.models import build_generator
    from colorization.models.efficientnet_lite import freeze_to_stride
    from colorization.training import losses, train_steps

    with strategy.scope():
        generator = build_generator(config.generator)
        if config.train.freeze_stride:
            freeze_to_stride(generator, config.train.freeze_stride)
        train_steps.synchronize_batch_norm(generator)
        optimizer = train_steps.make_optimizer(config.train, config.train.lr, fp16)
    class_weights = None
    if config.loss.recon in losses.CLASSIFICATION_KINDS:
        class_weights = np.ones(generator.get_layer("ab_logits").filters, np.float32)
    step, _ = train_steps.make_steps(
        strategy,
        generator,
        None,
        optimizer,
        None,
        config.loss,
        batch_size,
        jit=False,
        class_weights=class_weights,
    )
    return step, generator, class_weights


def against_before(config, strategy, batch_size, sides, rounds):
    """Images per second of this step and of the step before round three, run in
    turns at each side in `sides`: `(now, before)`."""
    import contextlib

    import keras
    import numpy as np
    import tensorflow as tf

    from colorization.models.layers import FusedBatchNormalization
    from colorization.training import losses

    @contextlib.contextmanager
    def as_before(active):
        """While tracing: the top_k loss and Keras' own batch norm."""
        saved = losses.rebalanced_bin_loss, FusedBatchNormalization.call
        if active:
            losses.rebalanced_bin_loss = topk_bin_loss
            FusedBatchNormalization.call = keras.layers.BatchNormalization.call
        try:
            yield
        finally:
            losses.rebalanced_bin_loss, FusedBatchNormalization.call = saved

    rng = np.random.default_rng(0)
    channels = config.generator.input_channels
    batches = {
        side: (
            tf.constant(
                rng.uniform(-1, 1, (batch_size, side, side, channels)), tf.float32
            ),
            tf.constant(
                rng.uniform(-0.3, 0.3, (batch_size, side, side, 2)), tf.float32
            ),
            tf.ones((batch_size, side, side, 1), tf.float32),
        )
        for side in sides
    }
    steps = {
        "now": recipe_step(config, strategy, batch_size)[0],
        "before": recipe_step(before_round_three(config), strategy, batch_size)[0],
    }
    for name, step in steps.items():
        with as_before(name == "before"):  # traced once per side, here
            for batch in batches.values():
                step(batch)["loss"].numpy()
                step(batch)["loss"].numpy()
    seconds = dict.fromkeys(steps, 0.0)
    for _ in range(rounds):
        for batch in batches.values():
            for name, step in steps.items():
                start = time.perf_counter()
                step(batch)["loss"].numpy()
                seconds[name] += time.perf_counter() - start
    images = rounds * len(sides) * batch_size
    return images / seconds["now"], images / seconds["before"]


def cpu_description(cpuinfo="/proc/cpuinfo"):
    """'model name (the vector extensions that matter here)' of this CPU."""
    name, flags = "unknown CPU", set()
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and name == "unknown CPU":
                    name = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
    return f"{name} ({', '.join(f for f in wanted if f in flags) or 'no AVX2'})"


def keras_baseline_seconds(config, batch, steps, warmup):
    """Seconds per step of the same generator trained the plain Keras way:
    `compile(Adam, "mae")` and `train_on_batch`, the baseline the issue measured."""
    import keras

    from colorization.models import build_generator

    model = build_generator(config.generator)
    model.compile(
        optimizer=keras.optimizers.Adam(config.train.lr), loss="mae", jit_compile=False
    )
    l_norm, ab, _ = batch
    return _median_seconds(lambda: model.train_on_batch(l_norm, ab), steps, warmup)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="studienarbeit-l1")
    parser.add_argument(
        "--image-size",
        type=int,
        default=None,
        help="the side of the timed batches (default: the preset's; with it, the "
        "preset's scales are not used)",
    )
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--mixed-precision",
        choices=("auto", "off", "bf16", "fp16"),
        default="off",
        help="auto: what train.py picks for the devices present",
    )
    parser.add_argument("--steps", type=int, default=5, help="timed steps")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--compare-sync-bn",
        action="store_true",
        help="also time the step with synchronised batch norm forced on one device "
        "(what the loop did before it skipped it for one replica)",
    )
    parser.add_argument(
        "--no-keras-baseline",
        action="store_true",
        help="skip timing the same model with Keras compile + train_on_batch",
    )
    parser.add_argument(
        "--against-before",
        action="store_true",
        help="also time the default recipe's step before round three, in turns with "
        "this one at every scale of the preset, and print the ratio",
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="turns of --against-before"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change the preset as train.py --set does (e.g. train.freeze_stride=8)",
    )
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    from colorization.config import overrides
    from colorization.config.presets import resolve_config
    from colorization.models import build_generator
    from colorization.models.layers import nested_layers
    from colorization.training import train_steps
    from colorization.training.distribute import (
        POLICIES,
        choose_precision,
        make_strategy,
    )

    changes = dict(overrides.parse_assignment(text) for text in args.set)
    config = resolve_config(
        args.preset,
        {"batch_size": args.batch_size}
        | ({"image_size": args.image_size} if args.image_size else {})
        | changes,
    )
    strategy = make_strategy("one")
    args.mixed_precision = choose_precision(args.mixed_precision, strategy)
    keras.mixed_precision.set_global_policy(POLICIES[args.mixed_precision])
    plain_step, generator, class_weights = recipe_step(
        config, strategy, args.batch_size, args.mixed_precision == "fp16"
    )
    rng = np.random.default_rng(0)
    side = config.data.image_size
    shape = (args.batch_size, side, side)
    batch = (
        tf.constant(
            rng.uniform(-1, 1, shape + (config.generator.input_channels,)), tf.float32
        ),
        tf.constant(rng.uniform(-0.3, 0.3, shape + (2,)), tf.float32),
        tf.ones(shape + (1,), tf.float32),
    )
    seconds = _median_seconds(
        lambda: plain_step(batch)["loss"].numpy(), args.steps, args.warmup
    )
    sync_seconds = None
    if args.compare_sync_bn:
        with strategy.scope():
            synced = build_generator(config.generator)
            for layer in nested_layers(synced):
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.synchronized = True
            sync_opt = train_steps.make_optimizer(config.train, config.train.lr, False)
        sync_step, _ = train_steps.make_steps(
            strategy,
            synced,
            None,
            sync_opt,
            None,
            config.loss,
            args.batch_size,
            jit=False,
            class_weights=class_weights,
        )
        sync_seconds = _median_seconds(
            lambda: sync_step(batch)["loss"].numpy(), args.steps, args.warmup
        )
    keras_seconds = None
    if not args.no_keras_baseline:
        keras_seconds = keras_baseline_seconds(config, batch, args.steps, args.warmup)
    forward_loss = train_steps.reconstruction(generator, config.loss, class_weights)
    forward, forward_backward = time_split(
        generator, forward_loss, batch, args.steps, 1
    )
    flops = step_flops(forward_loss, generator.trainable_variables, batch)
    peak = matmul_peak(tf.bfloat16 if args.mixed_precision == "bf16" else tf.float32)
    achieved = flops / seconds / 1e9
    now_rate = before_rate = None
    if args.against_before:
        sides = config.data.scales or (side,)
        now_rate, before_rate = against_before(
            config, strategy, args.batch_size, sides, args.rounds
        )
        print(
            f"the recipe's step at sides {', '.join(map(str, sides))} in turns: "
            f"{now_rate:.2f} images/s, before round three {before_rate:.2f}: "
            f"x{now_rate / before_rate:.2f} ({args.mixed_precision}, {cpu_description()})"
        )
    figures = {
        "preset": args.preset,
        "model": config.generator.name,
        "parameters": int(sum(np.prod(w.shape) for w in generator.trainable_weights)),
        "image_size": side,
        "batch_size": args.batch_size,
        "mixed_precision": args.mixed_precision,
        "seconds_per_step": round(seconds, 4),
        "images_per_s": round(args.batch_size / seconds, 2),
        "keras_train_on_batch_seconds_per_step": keras_seconds
        and round(keras_seconds, 4),
        "keras_train_on_batch_over_ours": keras_seconds
        and round(keras_seconds / seconds, 3),
        "sync_bn_seconds_per_step": sync_seconds and round(sync_seconds, 4),
        "sync_bn_over_ours": sync_seconds and round(sync_seconds / seconds, 3),
        "gflop_per_step": round(flops / 1e9, 2),
        "achieved_gflop_per_s": round(achieved, 1),
        "matmul_peak_gflop_per_s": round(peak, 1),
        "fraction_of_peak": round(achieved / peak, 3),
        "forward_share": round(forward / seconds, 3),
        "backward_share": round((forward_backward - forward) / seconds, 3),
        "update_and_overhead_share": round(1 - forward_backward / seconds, 3),
        "peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
        "cpu_count": os.cpu_count(),
        "cpu": cpu_description(),
        "recipe_images_per_s": now_rate and round(now_rate, 2),
        "before_round_three_images_per_s": before_rate and round(before_rate, 2),
        "speed_up_over_before": now_rate and round(now_rate / before_rate, 3),
    }
    print(
        f"{figures['seconds_per_step']:.3f} s/step, {figures['images_per_s']} images/s, "
        f"{figures['gflop_per_step']} GFLOP/step, {achieved:.0f} GFLOP/s = "
        f"{100 * figures['fraction_of_peak']:.0f} % of the {peak:.0f} GFLOP/s matmul peak, "
        f"peak RSS {figures['peak_rss_mb']:.0f} MB"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())

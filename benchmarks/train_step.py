"""Training-step throughput, FLOPs and the share of this CPU's measured matmul peak.

    python benchmarks/train_step.py --preset studienarbeit-l1 --image-size 256 --batch-size 8 --mixed-precision off
    python benchmarks/train_step.py --preset default --image-size 128 --batch-size 16 --mixed-precision bf16

Runs the real training step of `colorization.training.train_steps` (the one train.py uses) on
random tensors of the given shape with one device, after warm-up steps, and splits its
time into the forward pass, the backward pass and the rest (the Adam update). The model's
FLOP per step (forward and backward) is counted by TensorFlow's profiler on the traced
graph; the matmul peak is measured in the same run (a 4096 x 4096 matmul in float32 and
in bfloat16). The last line is one JSON object with every figure.
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
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--mixed-precision", choices=("off", "bf16", "fp16"), default="off"
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
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    from colorization.config.presets import resolve_config
    from colorization.models import build_generator
    from colorization.models.layers import nested_layers
    from colorization.training import losses, train_steps
    from colorization.training.distribute import POLICIES, make_strategy

    config = resolve_config(
        args.preset, {"image_size": args.image_size, "batch_size": args.batch_size}
    )
    strategy = make_strategy("one")
    keras.mixed_precision.set_global_policy(POLICIES[args.mixed_precision])
    with strategy.scope():
        generator = build_generator(config.generator)
        train_steps.synchronize_batch_norm(generator)
        optimizer = train_steps.make_optimizer(
            config.train, config.train.lr, args.mixed_precision == "fp16"
        )
    # Uniform rebalancing weights stand in for the data's prior (same cost).
    class_weights = None
    if config.loss.recon in losses.CLASSIFICATION_KINDS:
        class_weights = np.ones(generator.get_layer("ab_logits").filters, np.float32)
    plain_step, _ = train_steps.make_steps(
        strategy,
        generator,
        None,
        optimizer,
        None,
        config.loss,
        args.batch_size,
        jit=False,
        class_weights=class_weights,
    )
    rng = np.random.default_rng(0)
    shape = (args.batch_size, args.image_size, args.image_size)
    batch = (
        tf.constant(rng.uniform(-1, 1, shape + (1,)), tf.float32),
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
    figures = {
        "preset": args.preset,
        "model": config.generator.name,
        "parameters": int(sum(np.prod(w.shape) for w in generator.trainable_weights)),
        "image_size": args.image_size,
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

"""Choosing the tf.distribute strategy, the mixed-precision policy and XLA.

Nothing happens at import time; each function looks at the machine when called.

    strategy = make_strategy("auto")
    policy = choose_precision("auto", strategy)   # "off", "bf16" or "fp16"
    jit = choose_jit("auto")
"""

import json
import os

import tensorflow as tf

POLICIES = {"off": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


def _num_workers():
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON: {error}") from None
    return sum(len(v) for k, v in cluster.items() if k in ("worker", "chief"))


def make_strategy(name="auto"):
    """Returns a `tf.distribute.Strategy`.

    Args:
        name: "auto" (TF_CONFIG with more than one worker: MultiWorkerMirrored;
            several GPUs: Mirrored; one GPU: OneDevice on it; else OneDevice CPU),
            "one" (OneDevice on the first GPU or the CPU), "mirrored" (all GPUs, or all
            logical CPU devices when there is no GPU), "multiworker" (from TF_CONFIG)
            or "tpu" (TPUClusterResolver; never chosen automatically).
    """
    if name == "auto" and _num_workers() > 1:
        name = "multiworker"
    if name == "multiworker":
        # Before anything else touches TensorFlow: collective ops are configured at
        # startup.
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "one"
    if name == "one":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "mirrored":
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"unknown strategy {name!r}")


def is_tpu(strategy):
    """Whether `strategy` runs on TPUs."""
    return isinstance(strategy, tf.distribute.TPUStrategy)


def cpu_has_bf16(cpuinfo="/proc/cpuinfo"):
    """Whether the CPU has native bfloat16 matmul (AVX512_BF16 or AMX)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def choose_precision(flag, strategy):
    """Resolves "auto" to "bf16" (TPU, or CPU with bf16 hardware), "fp16" (GPU) or
    "off"; other flags are returned as they are.

    Args:
        flag: "auto", "off", "bf16" or "fp16".
        strategy: The strategy the models will run under.
    """
    if flag != "auto":
        if flag not in POLICIES:
            raise ValueError(f"unknown mixed precision {flag!r}")
        return flag
    if is_tpu(strategy):
        return "bf16"
    if tf.config.list_logical_devices("GPU"):
        return "fp16"
    return "bf16" if cpu_has_bf16() else "off"


def choose_jit(flag, strategy=None):
    """Resolves "auto" to XLA on GPUs and TPUs only (XLA trains 4-5x slower on this
    CPU); returns a bool.

    Args:
        flag: "auto", "on" or "off".
        strategy: The strategy, to recognise a TPU.
    """
    if flag == "on":
        return True
    if flag == "off":
        return False
    if flag != "auto":
        raise ValueError(f"unknown jit mode {flag!r}")
    return bool(
        (strategy is not None and is_tpu(strategy))
        or tf.config.list_logical_devices("GPU")
    )


def is_chief(strategy):
    """Whether this process writes outputs: always, except a non-chief worker of a
    multi-worker strategy."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(
        strategy, tf.distribute.MultiWorkerMirroredStrategy
    ):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type is None:
        return True
    return task_type == "chief" or (
        task_type == "worker"
        and task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict()
    )

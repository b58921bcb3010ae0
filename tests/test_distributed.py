"""tf.distribute: MirroredStrategy on 2 logical CPUs matches one device, and
MultiWorkerMirroredStrategy on 2 local processes keeps both workers identical.

Both tests run in subprocesses: the logical devices and TF_CONFIG must be set before
TensorFlow initialises. The models use dropout 0 (dropout masks are random per
replica); the multi-worker test trains the real tiny preset. Batch norm is synchronized
over the global batch by the training loop when there is more than one replica
(`train_steps.synchronize_batch_norm`); `distributed_run.py` synchronises it on one
device too, so both runs compute the same moments the same way.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from colorization.config.presets import resolve_config
from tests.train_data import REPO, free_port, run_python, write_photos

# One device against two, and two worker processes: minutes each.
pytestmark = pytest.mark.slow

# Measured on this machine (float32, one epoch = 2 steps of global batch 4): the
# largest absolute weight difference was 5.8e-6 (seed 1) for the tiny U-Net with synchronized
# batch norm (Adam lr 1e-3; a conv kernel just before a batch norm) and 4.7e-7 for
# the GAN (lr 2e-4); below 1e-6 for both with norm-free models. The all-reduce sums
# in another order than one device's batch mean, and Adam's first steps (update about
# lr * g / |g|) amplify that rounding where a gradient is near 0. A scaling bug moves
# whole steps (~lr), and shows in the reduced losses, which are compared too.
ATOL = 1e-4
LOSS_RTOL = 1e-5


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return write_photos(tmp_path_factory.mktemp("photos"), copies=2)  # 8 images


def _run_one_vs_mirrored(config, tmp_path):
    config_path = tmp_path / "config.json"
    config_path.write_text(config.to_json())
    weights = tmp_path / "weights.npz"
    result = run_python(
        [
            "tests/distributed_run.py",
            str(config_path),
            str(tmp_path / "runs"),
            str(weights),
            "--logical-cpus=2",
            "--strategies=one,mirrored",
        ]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    values = np.load(weights)
    one = {k[len("one/") :]: values[k] for k in values if k.startswith("one/")}
    mirrored = {
        k[len("mirrored/") :]: values[k] for k in values if k.startswith("mirrored/")
    }
    assert one.keys() == mirrored.keys() and len(one) > 4
    np.testing.assert_allclose(one.pop("loss"), mirrored.pop("loss"), rtol=LOSS_RTOL)
    return one, mirrored


def _max_difference(one, mirrored):
    """The largest absolute difference of any weight, and that weight's name."""
    return max((float(np.max(np.abs(one[k] - mirrored[k]))), k) for k in one)


def _common(photos):
    return {
        "dataset": "folder",
        "data_dir": photos,
        "image_size": 32,
        "batch_size": 4,  # global: 2 per replica on the mirrored run
        "epochs": 1,
        "mixed_precision": "off",
        "seed": 1,
    }


def test_mirrored_l1_matches_one_device(photos, tmp_path):
    config = resolve_config("tiny", _common(photos) | {"generator": {"dropout": 0.0}})
    one, mirrored = _run_one_vs_mirrored(config, tmp_path)
    difference, name = _max_difference(one, mirrored)
    print(f"L1 max |one - mirrored| = {difference:.3g} ({name})")
    assert difference < ATOL, name


def test_mirrored_gan_step_matches_one_device(photos, tmp_path):
    config = resolve_config(
        "zhu-gan",
        _common(photos)
        | {
            "pretrain_epochs": 0,
            "generator": {
                "base_filters": 4,
                "depth": 3,
                "max_filters": 8,
                "num_res_blocks": 1,
                "dropout": 0.0,
            },
            "discriminator": {"base_filters": 4, "max_filters": 8},
        },
    )
    one, mirrored = _run_one_vs_mirrored(config, tmp_path)
    difference, name = _max_difference(one, mirrored)
    print(f"GAN max |one - mirrored| = {difference:.3g} ({name})")
    assert difference < ATOL, name


def test_multiworker_two_processes_identical_weights(photos, tmp_path):
    config = resolve_config(
        "tiny",
        {
            "dataset": "folder",
            "data_dir": photos,
            "val_dir": photos,
            "batch_size": 4,
            "steps_per_epoch": 3,
            "epochs": 2,
            "mixed_precision": "off",
            "strategy": "multiworker",
        },
    )
    config_path = tmp_path / "config.json"
    config_path.write_text(config.to_json())
    ports = [free_port(), free_port()]
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    processes = []
    for index in range(2):
        tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps(tf_config),
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
        args = [
            "tests/distributed_run.py",
            str(config_path),
            str(tmp_path / f"workdir{index}"),
            str(tmp_path / f"weights{index}.npz"),
        ]
        processes.append(
            subprocess.Popen(
                [sys.executable, *args],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=300))
    finally:
        for process in processes:
            process.kill()
    for process, (_, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-3000:]

    chief, worker = (np.load(tmp_path / f"weights{i}.npz") for i in range(2))
    assert chief.files == worker.files
    for key in chief.files:
        np.testing.assert_array_equal(chief[key], worker[key], err_msg=key)
    assert (tmp_path / "workdir0" / "checkpoints" / "last").is_dir()
    assert (tmp_path / "workdir0" / "checkpoints" / "best").is_dir()
    assert (tmp_path / "workdir0" / "model.keras").exists()
    assert not (tmp_path / "workdir1").exists()


def test_precision_and_jit_choices(tmp_path):
    from colorization.training import distribute

    strategy = distribute.make_strategy("one")
    assert distribute.choose_precision("off", strategy) == "off"
    assert distribute.choose_precision("fp16", strategy) == "fp16"
    expected = "bf16" if distribute.cpu_has_bf16() else "off"
    assert distribute.choose_precision("auto", strategy) == expected
    assert distribute.choose_jit("auto", strategy) is False  # CPU: XLA is slower
    assert distribute.choose_jit("on") is True
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags : fpu avx2 amx_bf16 amx_tile\n")
    assert distribute.cpu_has_bf16(str(cpuinfo))
    cpuinfo.write_text("processor : 0\nflags : fpu avx2 avx512f\n")
    assert not distribute.cpu_has_bf16(str(cpuinfo))
    with pytest.raises(ValueError, match="jit"):
        distribute.choose_jit("maybe")

"""The training loop: outputs, NaN stop, and resume after a real SIGKILL."""

import csv
import dataclasses
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from colorization.config.experiment import ExperimentConfig
from colorization.training import train_steps
from colorization.training.loop import TrainingDiverged, fit, train
from tests.conftest import encode, huge_png_header, photo
from tests.train_data import REPO, tiny_config, write_photos


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return write_photos(tmp_path_factory.mktemp("photos"), copies=2)


def _with_bad_files(photos, folder):
    """A copy of `photos` plus one file of each kind the pipeline skips."""
    shutil.copytree(photos, folder)
    gray = np.stack([photo("astronaut", (48, 40))[..., 0]] * 3, -1)
    (folder / "gray.png").write_bytes(encode(gray))
    good = encode(photo("coffee", (48, 40)), "JPEG")
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (folder / "text.jpg").write_text("a text file renamed to .jpg\n" * 20)
    (folder / "huge.png").write_bytes(huge_png_header())
    return str(folder)


def _event_values(logdir):
    """{tag: [(step, value or plugin name)]} of the TensorBoard event files."""
    values = {}
    for path in sorted(glob.glob(os.path.join(logdir, "events.out*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for v in event.summary.value:
                data = tf.make_ndarray(v.tensor)
                value = float(data) if data.ndim == 0 else v.metadata.plugin_data
                values.setdefault(v.tag, []).append((event.step, value))
    return values


def test_train_writes_every_output(photos, tmp_path, capfd):
    config = tiny_config(_with_bad_files(photos, tmp_path / "photos"))
    # One pass over the files an epoch, so that every file is read exactly once.
    config = dataclasses.replace(
        config, train=dataclasses.replace(config.train, steps_per_epoch=None)
    )
    workdir = tmp_path / "run"
    metrics = train(config, str(workdir))
    assert metrics["global_step"] == 2 and np.isfinite(metrics["val_l1"])

    saved = ExperimentConfig.from_json((workdir / "config.json").read_text())
    assert saved == config
    with open(workdir / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1"]
    assert float(rows[0]["val_l1"]) == pytest.approx(metrics["val_l1"])
    for reason in ("grayscale", "unreadable", "not_an_image", "too_large"):
        assert rows[0][f"skipped_{reason}"] == "1"
    err = capfd.readouterr().err
    assert (
        "epoch 1: skipped 1 grayscale, 1 unreadable, 1 not_an_image, 1 too_large "
        "training files"
    ) in err
    # (Files read ahead of the validation batches taken are counted too.)
    assert re.search(r"validation: \d+ of \d+ images used; skipped 1 black-and-", err)
    assert tf.train.latest_checkpoint(str(workdir / "checkpoints" / "last"))
    assert tf.train.latest_checkpoint(str(workdir / "checkpoints" / "best"))

    events = _event_values(str(workdir / "logs"))
    assert {"loss", "l1", "val_l1", "global_step", "wall_hours"} <= set(events)
    assert events["loss"] == [(1, pytest.approx(metrics["loss"]))]
    assert events["val_l1"] == [(1, pytest.approx(metrics["val_l1"]))]
    [(step, image)] = events["gray|prediction|truth"]
    assert step == 1 and image.plugin_name == "images"

    grid = tf.io.decode_png(tf.io.read_file(str(workdir / "samples" / "epoch_001.png")))
    n = config.train.image_grid_size
    assert grid.shape == (n * 32, 3 * 32, 3)

    model = keras.models.load_model(workdir / "model.keras")
    out = model(np.zeros((1, 32, 32, 1), np.float32))
    assert out.shape == (1, 32, 32, 2)
    assert np.all(np.abs(out) <= 1.0)

    # The workdir now holds this run: another config is refused, not mixed in.
    with pytest.raises(ValueError, match="different run"):
        train(tiny_config(photos, lr=0.5), str(workdir))


def test_nan_loss_stops_and_keeps_checkpoints(photos, tmp_path, monkeypatch):
    make_steps = train_steps.make_steps

    def nan_after_two_steps(*args, **kwargs):
        plain, gan = make_steps(*args, **kwargs)
        calls = []

        def step(batch):
            calls.append(1)
            out = plain(batch)
            return {**out, "loss": tf.constant(np.nan)} if len(calls) > 2 else out

        return step, gan

    monkeypatch.setattr(train_steps, "make_steps", nan_after_two_steps)
    workdir = tmp_path / "run"
    with pytest.raises(TrainingDiverged) as error:
        train(tiny_config(photos, epochs=3), str(workdir))
    message = str(error.value)
    assert "\n" not in message
    assert "loss is nan at epoch 2 step 1" in message
    best = tf.train.latest_checkpoint(str(workdir / "checkpoints" / "best"))
    assert best and best in message
    # The last good checkpoint (end of epoch 1, global step 2) is untouched.
    last = tf.train.latest_checkpoint(str(workdir / "checkpoints" / "last"))
    assert last.endswith("ckpt-2")
    assert not (workdir / "model.keras").exists()


@pytest.mark.slow
def test_sigkill_then_same_command_resumes(photos, tmp_path):
    workdir = tmp_path / "run"
    command = [
        sys.executable,
        "train.py",
        "--preset=tiny",
        "--dataset=folder",
        f"--data-dir={photos}",
        f"--val-dir={photos}",
        f"--workdir={workdir}",
        "--epochs=4",
        "--steps-per-epoch=4",
        "--save-every-steps=1",
        "--mixed-precision=off",
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    last_dir = str(workdir / "checkpoints" / "last")
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        while not (os.path.isdir(last_dir) and tf.train.latest_checkpoint(last_dir)):
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no checkpoint after 120 s"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (workdir / "model.keras").exists(), "the run ended before the kill"
    saved_step = int(tf.train.latest_checkpoint(last_dir).rsplit("-", 1)[1])
    assert 1 <= saved_step < 16

    rerun = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"global step {saved_step})" in rerun.stderr
    with open(workdir / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert int(rows[-1]["global_step"]) == 16
    assert json.loads((workdir / "config.json").read_text())["name"] == "tiny"

    # Exactly the weights of the same run never killed (here, in this process).
    config = ExperimentConfig.from_json((workdir / "config.json").read_text())
    reference = fit(config, str(tmp_path / "reference")).generator
    resumed = keras.models.load_model(workdir / "model.keras")
    for a, b in zip(reference.weights, resumed.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


@pytest.mark.slow
def test_fp16_trains_with_loss_scaling(photos, tmp_path):
    result = fit(tiny_config(photos, mixed_precision="fp16"), str(tmp_path / "run"))
    assert np.isfinite(result.metrics["loss"]) and np.isfinite(result.metrics["val_l1"])
    conv = result.generator.get_layer("down1_conv1")
    assert conv.compute_dtype == "float16" and conv.kernel.dtype == "float32"
    assert result.generator.output.dtype == "float32"  # the tanh head stays float32
    assert keras.mixed_precision.global_policy().name == "float32"  # restored

"""A run stopped right after a mid-epoch checkpoint and started again ends with exactly
the weights of the run never stopped: the batches (order, crops, flips, scales,
degradations) continue where they stopped, and so do the optimizer, the dropout
layers' random state and the epoch's loss sums."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from colorization.training import train_io
from colorization.training.loop import fit
from data_pipeline.dataset import DataConfig, make_dataset
from tests.train_data import tiny_config, write_photos

STOP_AT = 4  # global step: epoch 2, step 1


class _Killed(Exception):
    """Stands for the process dying right after a checkpoint was written."""


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return write_photos(tmp_path_factory.mktemp("photos"), copies=2)


def _config(photos):
    # 8 photos in batches of 4 and 3 steps an epoch: each epoch starts a second pass.
    # (The degradations draw from the same per-file seed as the crops.)
    config = tiny_config(
        photos, epochs=2, steps_per_epoch=3, save_every_steps=1, scales=(24, 32)
    )
    data = dataclasses.replace(config.data, augment="crop_flip")
    return dataclasses.replace(config, data=data)


def _stop_after_checkpoint(monkeypatch, number):
    save = train_io.save_checkpoint

    def save_then_die(checkpoint, directory, global_step, chief):
        path = save(checkpoint, directory, global_step, chief)
        if global_step == number:
            raise _Killed(path)
        return path

    monkeypatch.setattr(train_io, "save_checkpoint", save_then_die)


@pytest.mark.slow
def test_a_run_stopped_mid_epoch_resumes_to_the_same_weights(
    photos, tmp_path, monkeypatch, capsys
):
    config = _config(photos)
    reference = fit(config, str(tmp_path / "reference"))
    assert any(isinstance(x, keras.layers.Dropout) for x in reference.generator.layers)

    workdir = tmp_path / "run"
    _stop_after_checkpoint(monkeypatch, STOP_AT)
    with pytest.raises(_Killed) as killed:
        fit(config, str(workdir))
    monkeypatch.undo()
    reader = tf.train.load_checkpoint(str(killed.value))
    assert reader.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE") == 1
    assert reader.get_tensor("step_in_epoch/.ATTRIBUTES/VARIABLE_VALUE") == 1

    resumed = fit(config, str(workdir))
    assert f"(epoch 2, step 1, global step {STOP_AT})" in capsys.readouterr().err
    for a, b in zip(reference.generator.weights, resumed.generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)

    # The epoch means count the steps before the stop too.
    def scores(rows):
        return [{k: v for k, v in r.items() if not k.endswith("hours")} for r in rows]

    expected = train_io.read_metrics(str(tmp_path / "reference" / "metrics.csv"))
    assert scores(train_io.read_metrics(str(workdir / "metrics.csv"))) == scores(
        expected
    )
    assert scores([resumed.metrics]) == scores([reference.metrics])


def test_batches_are_a_function_of_their_position(photos):
    config = DataConfig(
        source="folder",
        data_dir=photos,
        image_size=32,
        augment="crop_flip",
        scales=(24, 32),
        degrade=0.5,
    )

    def batches(start, count):
        dataset = make_dataset(config, 4, training=True, repeat=True, start=start)
        return [[x.numpy() for x in batch] for batch in dataset.take(count)]

    first = batches(0, 6)  # 3 passes over the 8 photos
    # Each pass has its own order and augmentation.
    passes = [[b[0] for b in first[i : i + 2]] for i in (0, 2, 4)]
    for a, b in zip(passes, passes[1:]):
        assert not any(np.array_equal(x, y) for x in a for y in b)
    # A dataset started at batch 3 (in a process that has read the one above) yields
    # the same batches from the 4th on.
    for a, b in zip(first[3:], batches(3, 3), strict=True):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)

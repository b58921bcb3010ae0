"""colorization.ensemble: several colorizers packed into one .keras model."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from colorization import ensemble
from colorization.inference import Colorizer, load_model
from colorization.models import ModelConfig, build_generator, set_temperature


def _member(tmp_path, name, head, size=32, seed=0):
    keras.utils.set_random_seed(seed)
    model = build_generator(
        ModelConfig(name="unet", base_filters=4, depth=2, head=head)
    )
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    with open(os.path.splitext(path)[0] + ".json", "w") as f:
        json.dump({"name": name, "data": {"image_size": size}}, f)
    return path, model


def test_ensemble_averages_its_members(tmp_path):
    (a, model_a), (b, model_b) = (
        _member(tmp_path, "l1", "tanh", seed=1),
        _member(tmp_path, "bins", "bins", seed=2),
    )
    out = str(tmp_path / "ensemble.keras")
    assert ensemble.main([out, a, b]) == 0
    loaded = load_model(out)
    x = tf.random.uniform((2, 32, 48, 1), -1, 1)
    expected = (model_a(x) + model_b(x)) / 2
    np.testing.assert_allclose(loaded(x).numpy(), expected.numpy(), atol=1e-5)
    sidecar = json.loads((tmp_path / "ensemble.json").read_text())
    assert sidecar["image_size"] == 32 and len(sidecar["members"]) == 2
    # It is an ordinary model for the Colorizer: training size, stride, temperature.
    colorizer = Colorizer.load(out, temperature=0.2)
    assert colorizer.size == 32 and colorizer.stride == 4
    assert colorizer.colorize_array(np.zeros((20, 30, 3), np.uint8)).shape == (
        20,
        30,
        3,
    )
    assert not list(tmp_path.glob(".*partial*"))  # no temporary file left


def test_temperature_reaches_a_nested_bins_member(tmp_path):
    _, model = _member(tmp_path, "bins", "bins")
    packed = ensemble.build_ensemble([model, model])
    set_temperature(packed, 0.25)
    assert model.get_layer("ab").temperature == 0.25


@pytest.mark.parametrize(
    ("members", "message"),
    [
        (["l1"], "at least two"),
        (["l1", "missing"], "model file"),
        (["l1", "big"], "different sizes"),
    ],
)
def test_ensemble_errors(tmp_path, capsys, members, message):
    paths = {
        "l1": _member(tmp_path, "l1", "tanh")[0],
        "big": _member(tmp_path, "big", "tanh", size=64)[0],
        "missing": str(tmp_path / "missing.keras"),
    }
    out = str(tmp_path / "out.keras")
    assert ensemble.main([out] + [paths[m] for m in members]) == 2
    assert message in capsys.readouterr().err
    assert not os.path.exists(out)

"""colorization.export.ensemble: several colorizers packed into one .keras model."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from colorization.cli import ensemble as ensemble_cli
from colorization.export import ensemble
from colorization.inference.colorizer import Colorizer, load_model
from colorization.models import ModelConfig, build_generator, set_temperature
from colorization.models.model_file import ModelFacts, model_facts, save_model


def _member(tmp_path, name, head, size=32, seed=0):
    keras.utils.set_random_seed(seed)
    model = build_generator(
        ModelConfig(name="unet", base_filters=4, depth=2, head=head)
    )
    path = str(tmp_path / f"{name}.keras")
    training = {"name": name, "data": {"image_size": size}}
    save_model(model, path, ModelFacts(size, training=training))
    return path, model


def test_ensemble_averages_its_members(tmp_path):
    (a, model_a), (b, model_b) = (
        _member(tmp_path, "l1", "tanh", seed=1),
        _member(tmp_path, "bins", "bins", seed=2),
    )
    out = str(tmp_path / "ensemble.keras")
    assert ensemble_cli.main([out, a, b]) == 0
    loaded = load_model(out)
    x = tf.random.uniform((2, 32, 48, 1), -1, 1)
    expected = (model_a(x) + model_b(x)) / 2
    np.testing.assert_allclose(loaded(x).numpy(), expected.numpy(), atol=1e-5)
    assert not (tmp_path / "ensemble.json").exists()  # the facts are inside
    facts = model_facts(loaded)
    assert facts.image_size == 32 and facts.ensemble["mean"] == "ab"
    names = [member["training"]["name"] for member in facts.ensemble["members"]]
    assert names == ["l1", "bins"]
    # It is an ordinary model for the Colorizer: training size, stride, temperature.
    colorizer = Colorizer.load(out, temperature=0.2)
    assert colorizer.size == 32 and colorizer.stride == 4
    assert colorizer.colorize_array(np.zeros((20, 30, 3), np.uint8)).shape == (
        20,
        30,
        3,
    )
    assert not list(tmp_path.glob(".*partial*"))  # no temporary file left


def test_a_hinted_member_is_given_no_hint(tmp_path):
    from data_pipeline.hints import no_hints
    from tests.inference_helpers import tiny_hinted_unet

    _, automatic = _member(tmp_path, "l1", "tanh", seed=3)
    hinted = tiny_hinted_unet()
    path = str(tmp_path / "mixed.keras")
    ensemble.build_ensemble([automatic, hinted]).save(path)
    loaded = load_model(path)
    assert loaded.inputs[0].shape[-1] == 1  # an automatic colorizer
    x = tf.random.uniform((2, 32, 48, 1), -1, 1)
    expected = (automatic(x) + hinted(no_hints(x))) / 2
    np.testing.assert_allclose(loaded(x).numpy(), expected.numpy(), atol=1e-5)


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
        (["l1", "sizeless"], "records no input size"),
    ],
)
def test_ensemble_errors(tmp_path, capsys, members, message):
    paths = {
        "l1": _member(tmp_path, "l1", "tanh")[0],
        "big": _member(tmp_path, "big", "tanh", size=64)[0],
        "missing": str(tmp_path / "missing.keras"),
        "sizeless": str(tmp_path / "sizeless.keras"),
    }
    build_generator(ModelConfig(name="unet", base_filters=4, depth=2)).save(
        paths["sizeless"]
    )
    out = str(tmp_path / "out.keras")
    assert ensemble_cli.main([out] + [paths[m] for m in members]) == 2
    assert message in capsys.readouterr().err
    assert not os.path.exists(out)


def test_chroma_preserving_mean_keeps_hue_and_mean_chroma(tmp_path):
    """Blue and a weaker cyan: the plain mean is paler than both members; the
    chroma mean has the plain mean's hue and the members' mean chroma."""
    from colorization.models.layers import ChromaPreservingMean

    blue = np.zeros((1, 2, 2, 2), np.float32) + [0.0, -0.6]
    cyan = np.zeros((1, 2, 2, 2), np.float32) + [-0.3, 0.0]
    plain = (blue + cyan) / 2
    out = ChromaPreservingMean()([blue, cyan]).numpy()
    chroma = np.linalg.norm(out, axis=-1)
    np.testing.assert_allclose(chroma, 0.45, atol=1e-6)  # (0.6 + 0.3) / 2
    assert np.linalg.norm(plain, axis=-1).max() < 0.34
    np.testing.assert_allclose(  # same hue as the plain mean
        np.arctan2(out[..., 1], out[..., 0]),
        np.arctan2(plain[..., 1], plain[..., 0]),
        atol=1e-6,
    )
    # Opposite members: the direction is noise, so the gain stops at max_gain.
    opposite = ChromaPreservingMean(max_gain=2.0)([blue, -blue * 0.9]).numpy()
    np.testing.assert_allclose(np.linalg.norm(opposite, axis=-1), 0.06, atol=1e-6)
    with pytest.raises(ValueError, match="max_gain"):
        ChromaPreservingMean(max_gain=0.5)


def test_chroma_ensemble_round_trips_through_a_file(tmp_path):
    (a, model_a), (b, model_b) = (
        _member(tmp_path, "l1", "tanh", seed=1),
        _member(tmp_path, "l1b", "tanh", seed=2),
    )
    out = str(tmp_path / "ensemble.keras")
    assert ensemble_cli.main([out, a, b, "--mean", "chroma"]) == 0
    x = tf.random.uniform((1, 32, 32, 1), -1, 1)
    members = np.stack([model_a(x).numpy(), model_b(x).numpy()])
    mean = members.mean(0)
    target = np.linalg.norm(members, axis=-1).mean(0)
    gain = np.minimum(target / np.maximum(np.linalg.norm(mean, axis=-1), 1e-6), 2.0)
    np.testing.assert_allclose(
        load_model(out)(x).numpy(), mean * gain[..., None], atol=1e-5
    )
    assert model_facts(load_model(out)).ensemble["mean"] == "chroma"

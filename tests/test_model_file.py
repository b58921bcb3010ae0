"""colorization.models.model_file: a .keras file carries its own facts (issue 21)."""

import json
import pathlib
import shutil

import keras
import numpy as np
import pytest

from colorization.cli import embed_facts
from colorization.inference.colorizer import (
    Colorizer,
    NoSizeError,
    default_model_path,
)
from colorization.models.model_file import (
    ModelFacts,
    load_model,
    model_facts,
    save_model,
)
from tests.inference_helpers import constant_ab_model, tiny_hinted_unet, tiny_unet

TRAINING = {"name": "tiny", "data": {"image_size": 48, "scales": [32, 48]}, "x": None}


def _rgb(seed=0):
    return np.random.default_rng(seed).integers(0, 256, (30, 50, 3), np.uint8)


def test_facts_survive_save_load_and_a_plain_keras_resave(tmp_path):
    model = tiny_unet()
    facts = ModelFacts(48, training=TRAINING)
    save_model(model, tmp_path / "m.keras", facts)
    loaded = load_model(tmp_path / "m.keras")
    assert model_facts(loaded) == facts
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 1)).astype("float32")
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    loaded.save(tmp_path / "again.keras")  # Keras' own save keeps them
    again = keras.saving.load_model(tmp_path / "again.keras", compile=False)
    assert model_facts(again) == facts
    assert model_facts(model) is None  # the caller's model is left as it was
    with pytest.raises(ValueError, match="image_size"):
        ModelFacts(0)


def test_a_file_copied_alone_runs_at_its_own_size(tmp_path):
    model = constant_ab_model(0.2, -0.1, stride=4)
    save_model(model, tmp_path / "run" / "m.keras", ModelFacts(48))
    (tmp_path / "elsewhere").mkdir()
    alone = tmp_path / "elsewhere" / "m.keras"
    shutil.copy(tmp_path / "run" / "m.keras", alone)
    colorizer = Colorizer.load(alone)
    assert colorizer.size == 48
    np.testing.assert_array_equal(
        colorizer.colorize_array(_rgb()),
        Colorizer([model], size=48).colorize_array(_rgb()),
    )
    assert Colorizer.load(alone, size=32).size == 32  # the caller's size wins


def test_facts_sit_after_the_input_so_hint_propagation_stays_last(tmp_path):
    from colorization.models.hint_propagation import (
        HintPropagation,
        add_hint_propagation,
        without_hint_propagation,
    )

    network = tiny_hinted_unet()
    save_model(add_hint_propagation(network), tmp_path / "h.keras", ModelFacts(32))
    loaded = load_model(tmp_path / "h.keras")
    assert isinstance(loaded.layers[-1], HintPropagation)
    assert without_hint_propagation(loaded).name == network.name


def test_an_old_sidecar_loads_with_one_deprecation_line(tmp_path, capsys):
    path = tmp_path / "old.keras"
    constant_ab_model(0.1, 0.2).save(path)
    (tmp_path / "old.json").write_text(json.dumps({"data": {"image_size": 40}}))
    capsys.readouterr()
    assert Colorizer.load(path).size == 40
    assert Colorizer.load(str(path)).size == 40
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "deprecated" in lines[0]
    assert f"colorization-embed-facts {path}" in lines[0]
    # The command it names embeds the facts; then no sidecar is needed.
    assert embed_facts.main([str(path)]) == 0
    (tmp_path / "old.json").unlink()
    capsys.readouterr()
    expected = ModelFacts(40, training={"data": {"image_size": 40}})
    assert model_facts(load_model(path)) == expected
    assert capsys.readouterr().err == ""


def test_a_workdir_config_json_is_an_old_sidecar_too(tmp_path, capsys):
    constant_ab_model(0.1, 0.2).save(tmp_path / "model.keras")
    (tmp_path / "config.json").write_text(json.dumps({"data": {"image_size": 24}}))
    assert Colorizer.load(tmp_path / "model.keras").size == 24
    assert capsys.readouterr().err.count("deprecated") == 1


def test_a_model_with_no_size_is_a_one_line_error(tmp_path, capsys):
    import infer

    path = tmp_path / "bare.keras"
    constant_ab_model(0.1, 0.2).save(path)
    with pytest.raises(NoSizeError, match="records no input size") as raised:
        Colorizer.load(path)
    assert "\n" not in str(raised.value)
    with pytest.raises(NoSizeError, match="records no input size"):
        Colorizer([constant_ab_model(0.1, 0.2)])
    (tmp_path / "in.png").write_bytes(b"")
    capsys.readouterr()
    argv = [str(tmp_path / "in.png"), "--model", str(path), "--quiet"]
    assert infer.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "records no input size" in err
    assert "--size" in err
    # The same file with --size runs.
    assert Colorizer.load(path, size=32).size == 32
    assert embed_facts.main([str(path)]) == 2  # nothing to embed without --size
    assert embed_facts.main([str(path), "--size", "32"]) == 0
    assert Colorizer.load(path).size == 32


def test_the_shipped_default_carries_its_size_and_training_config():
    facts = model_facts(load_model(default_model_path()))
    assert facts.image_size == 224
    assert facts.training["name"] == "default-hints"
    assert facts.training["data"]["image_size"] == 224
    assert not pathlib.Path(default_model_path()).with_suffix(".json").exists()

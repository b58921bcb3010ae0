"""colorization-checkpoints: a checkpoint of a run becomes a .keras model."""

import json

import keras
import numpy as np
import pytest

import train
from colorization.cli import checkpoints
from colorization.models.model_file import load_model, model_facts
from tests.train_data import write_photos


def test_last_checkpoint_equals_the_final_model_and_best_is_written(tmp_path, capsys):
    photos = write_photos(tmp_path / "photos", copies=1)
    workdir = tmp_path / "run"
    flags = ["--preset", "tiny", "--dataset", "folder", "--data-dir", str(photos)]
    flags += ["--val-dir", str(photos), "--epochs", "2", "--steps-per-epoch", "2"]
    assert (
        train.main(flags + ["--mixed-precision", "off", "--workdir", str(workdir)]) == 0
    )
    for which in ("last", "best"):
        out = tmp_path / f"{which}.keras"
        assert checkpoints.main([str(workdir), str(out), "--which", which]) == 0
        assert not (tmp_path / f"{which}.json").exists()  # the facts are inside
        facts = model_facts(load_model(out))
        assert facts.image_size == 32 and facts.training["data"]["image_size"] == 32
        # The run's absolute paths (tmp_path) stay on this machine.
        assert str(tmp_path) in (workdir / "config.json").read_text()
        assert str(tmp_path) not in json.dumps(facts.training)
    # Hint propagation needs a hinted run; nothing is written.
    out = tmp_path / "propagating.keras"
    assert checkpoints.main([str(workdir), str(out), "--propagate-hints"]) == 2
    assert "takes no hints: nothing to propagate" in capsys.readouterr().err
    assert not out.exists()
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 1)).astype("float32")
    final = keras.saving.load_model(workdir / "model.keras")
    last = keras.saving.load_model(tmp_path / "last.keras")
    np.testing.assert_allclose(np.asarray(last(x)), np.asarray(final(x)), atol=1e-6)


def test_errors_name_the_problem(tmp_path, capsys):
    assert checkpoints.main([str(tmp_path), str(tmp_path / "m.keras")]) == 2
    assert "config.json" in capsys.readouterr().err
    assert checkpoints.main([str(tmp_path), str(tmp_path / "m.h5")]) == 2
    assert ".keras" in capsys.readouterr().err


@pytest.mark.slow
def test_blend_and_size_of_a_two_head_model(tmp_path):
    from colorization.inference.colorizer import Colorizer

    photos = write_photos(tmp_path / "photos", copies=1)
    workdir = tmp_path / "run"
    flags = ["--preset", "tiny", "--dataset", "folder", "--data-dir", str(photos)]
    flags += ["--val-dir", str(photos), "--loss", "bins_l1", "--steps-per-epoch", "1"]
    assert (
        train.main(flags + ["--mixed-precision", "off", "--workdir", str(workdir)]) == 0
    )
    out = tmp_path / "dual.keras"
    argv = [str(workdir), str(out), "--which", "last", "--blend", "0.8", "--size", "64"]
    assert checkpoints.main(argv) == 0
    facts = model_facts(load_model(out))
    assert facts.image_size == 64 and facts.training["data"]["image_size"] == 32
    colorizer = Colorizer.load(str(out))
    assert colorizer.size == 64
    assert colorizer.models[0].get_layer("ab").weight == 0.8
    assert Colorizer.load(str(out), blend=0.1).models[0].get_layer("ab").weight == 0.1

"""Configs: every preset resolves, round-trips JSON, builds and trains at tiny size."""

import dataclasses
import json
import math

import pytest
import tensorflow as tf

from colorization.config.experiment import ExperimentConfig, LossConfig, TrainConfig
from colorization.config.presets import PRESETS, resolve_config
from colorization.models import build_generator
from colorization.training import loop
from colorization.training.loop import train
from tests.train_data import write_photos

# Per preset: ModelConfig overrides that keep the same architecture but make it tiny
# enough for a 32 px image on 2 CPU cores.
TINY_MODELS = {
    "default": ({"base_filters": 2}, None),
    "default-hints": ({"base_filters": 2}, None),
    "effnet-l1": ({"base_filters": 2}, None),
    "effnet-bins": ({"base_filters": 2}, None),
    "studienarbeit-l1": ({"base_filters": 4, "depth": 2}, None),
    "studienarbeit-l2": ({"base_filters": 4, "depth": 2}, None),
    "zhu-gan": (
        {"base_filters": 4, "depth": 3, "max_filters": 8, "num_res_blocks": 1},
        {"base_filters": 4, "max_filters": 8},
    ),
    "group4-lab-gan": (
        {"base_filters": 4, "num_res_blocks": 1},
        {"base_filters": 4, "max_filters": 8},
    ),
    "group4-pix2pix": (
        {"base_filters": 4, "depth": 3, "max_filters": 8},
        {"base_filters": 4, "max_filters": 8},
    ),
    "ehrenberg-unet-sn": (
        {"base_filters": 4, "max_filters": 8},
        {"base_filters": 4, "max_filters": 8},
    ),
    "ehrenberg-unet-bn": (
        {"base_filters": 4, "max_filters": 8},
        {"base_filters": 4, "max_filters": 8},
    ),
    "klefbom-resnet18": ({"base_filters": 4}, None),
    "cpu-unet-l1": ({"base_filters": 4, "depth": 2}, None),
    "cpu-unet-gan": ({"base_filters": 4, "depth": 2}, {"base_filters": 4}),
    "cpu-unet-bins": ({"base_filters": 4, "depth": 2}, None),
    "tiny": ({}, None),
}


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return write_photos(tmp_path_factory.mktemp("photos"), copies=1)


def _slow_but(keep, names):
    """Parameters for each name; all but `keep` are marked slow (the default run keeps
    one representative, `pytest -m slow` runs the rest)."""
    return [
        name if name == keep else pytest.param(name, marks=pytest.mark.slow)
        for name in names
    ]


def test_presets_cover_the_seed_systems():
    assert set(PRESETS) == set(TINY_MODELS)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_preset_resolves_and_round_trips_json(preset):
    config = resolve_config(preset)
    assert ExperimentConfig.from_json(config.to_json()) == config
    assert (config.discriminator is None) == (config.loss.gan is None)


def test_preset_values_follow_the_seed_reports():
    zhu = resolve_config("zhu-gan")
    assert (zhu.train.lr, zhu.train.beta_1, zhu.train.batch_size) == (2e-4, 0.5, 16)
    assert (zhu.loss.lam, zhu.loss.pretrain_epochs) == (100.0, 20)
    assert zhu.data.augment == "shorter_side_crop" and zhu.data.shorter_side == 300
    lab_gan = resolve_config("group4-lab-gan")
    assert lab_gan.loss.real_label == (0.9, 1.0)
    assert lab_gan.loss.fake_label == (0.0, 0.1)
    bn = resolve_config("ehrenberg-unet-bn")
    assert (bn.train.lr, bn.train.d_lr, bn.loss.w, bn.loss.real_label) == (
        3e-4,
        6e-5,
        0.99,
        0.9,
    )
    assert resolve_config("ehrenberg-unet-sn").discriminator.norm == "spectral"


def tiny_overrides(preset, photos):
    """Overrides that train `preset` for two steps at 32 px on `photos`."""
    generator, discriminator = TINY_MODELS[preset]
    overrides = {
        "dataset": "folder",
        "data_dir": photos,
        "val_dir": photos,
        "image_size": 32,
        "batch_size": 2,
        "epochs": 1,
        "steps_per_epoch": 2,
        "val_steps": 1,
        "generator": generator,
    }
    if discriminator is not None:
        overrides |= {"discriminator": discriminator, "pretrain_epochs": 0}
    if preset == "zhu-gan":  # one pretraining epoch, then one GAN epoch
        overrides |= {"epochs": 2, "steps_per_epoch": 1, "pretrain_epochs": 1}
    return overrides


@pytest.mark.parametrize("preset", _slow_but("tiny", sorted(PRESETS)))
def test_preset_trains_two_steps_at_tiny_size(preset, photos, tmp_path):
    config = resolve_config(preset, tiny_overrides(preset, photos))
    metrics = train(config, str(tmp_path / "run"))
    assert metrics["epoch"] == config.train.epochs
    # The loop stops on a non-finite training loss; the validation scores are not
    # checked there.
    assert all(math.isfinite(v) for v in metrics.values()), metrics
    if config.discriminator is not None:
        assert 0.0 <= metrics["d_acc_real"] <= 1.0


@pytest.mark.parametrize(
    "preset", _slow_but("tiny", ["tiny", "cpu-unet-bins", "cpu-unet-gan"])
)
def test_a_nan_stops_training_with_one_line(preset, photos, tmp_path, monkeypatch):
    def build_nan_generator(model_config):
        generator = build_generator(model_config)
        for weight in generator.trainable_variables:  # every output becomes NaN
            weight.assign(tf.fill(weight.shape, math.nan))
        return generator

    monkeypatch.setattr(loop, "build_generator", build_nan_generator)
    workdir = tmp_path / "run"
    with pytest.raises(loop.TrainingDiverged) as error:
        train(resolve_config(preset, tiny_overrides(preset, photos)), str(workdir))
    message = str(error.value)
    assert "\n" not in message
    assert "loss is nan at epoch 1 step 1; best checkpoint: none saved yet" in message
    assert not (workdir / "model.keras").exists()


@pytest.mark.parametrize(
    ("preset", "overrides", "message"),
    [
        ("nope", {}, "unknown preset"),
        ("tiny", {"colour": 1}, "unknown key 'colour'"),
        ("tiny", {"image_size": 30}, "not a multiple"),
        ("tiny", {"batch_size": "8"}, "wrong type"),
        ("tiny", {"loss": "l3"}, "loss.recon"),
        ("tiny", {"pretrain_epochs": 2}, "needs a GAN"),
        ("tiny", {"discriminator": {"base_filters": 4}}, "no discriminator"),
        ("tiny", {"dataset": "folder"}, "needs a data_dir"),
        ("tiny", {"generator": {"num_res_blocks": 2}}, "does not use"),
        ("tiny", {"strategy": "cluster"}, "strategy"),
        ("zhu-gan", {"image_size": 128}, "not a multiple"),
    ],
)
def test_contradictions_fail_with_one_line(preset, overrides, message):
    with pytest.raises(ValueError, match=message) as error:
        resolve_config(preset, overrides)
    assert "\n" not in str(error.value)


def test_from_json_rejects_unknown_keys_and_wrong_types():
    values = json.loads(resolve_config("tiny").to_json())
    with pytest.raises(ValueError, match="unknown keys"):
        ExperimentConfig.from_dict({**values, "optimiser": "sgd"})
    with pytest.raises(ValueError, match="unknown keys"):
        ExperimentConfig.from_dict(
            {**values, "train": {**values["train"], "learning_rate": 1.0}}
        )
    with pytest.raises(ValueError, match="wrong type"):
        ExperimentConfig.from_dict(
            {**values, "train": {**values["train"], "epochs": 1.5}}
        )
    with pytest.raises(ValueError, match="wrong type"):
        ExperimentConfig.from_dict({**values, "data": {**values["data"], "seed": "1"}})


def test_loss_and_train_configs_validate_their_fields():
    with pytest.raises(ValueError, match="range"):
        LossConfig(real_label=(1.0, 0.9))
    with pytest.raises(ValueError, match="lr_decay"):
        TrainConfig(lr_decay_rate=0.1)
    with pytest.raises(ValueError, match="wrong type"):
        TrainConfig(epochs=True)
    assert dataclasses.replace(TrainConfig(), epochs=3).epochs == 3

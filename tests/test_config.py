"""Configs: every preset resolves, round-trips JSON, builds and trains at tiny size."""

import dataclasses
import json
import math

import pytest
import tensorflow as tf

from colorization.config import overrides
from colorization.config.experiment import ExperimentConfig, LossConfig, TrainConfig
from colorization.config.presets import PRESETS, resolve_config
from colorization.models import build_generator
from colorization.models.config import ModelConfig
from colorization.training import loop, train_io
from colorization.training import workdir as workdir_state
from colorization.training.loop import train
from data_pipeline.config import DataConfig, HintConfig
from tests.train_data import run_python, write_photos

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
    # checked there. The hue error is undefined (NaN) while a model two steps old
    # paints no pixel with colour.
    defined = {k: v for k, v in metrics.items() if k != "val_hue_error"}
    assert all(math.isfinite(v) for v in defined.values()), metrics
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


# -- one configuration mechanism (issue 21) ---------------------------------------------

# The config.json that train.py wrote before configs were resolved (commit d159f65):
# `resolve_config("default-hints", {"dataset": "folder", "data_dir": "photos",
# "val_dir": "val"})`, model fields None for "the model's default", lists for tuples.
OLD_DEFAULT_HINTS_JSON = (
    '{"data":{"augment":"crop_flip","crop_min_fraction":0.6,"data_dir":"photos","degr'
    'ade":0.3,"download":false,"file_list":null,"hints":{"location":"gaussian","max_p'
    'atch":9,"max_points":32,"min_patch":1,"p_geometric":0.125,"p_none":0.5},"image_s'
    'ize":224,"jit_lab":true,"manual_dir":null,"max_pixels":80000000,"min_chroma":4.0'
    ',"min_colour_fraction":0.02,"resize_method":"bicubic","scales":[128,160,192,224]'
    ',"seed":1337,"shorter_side":300,"shuffle_buffer":1024,"skip_grayscale":true,"sou'
    'rce":"folder","split":"train"},"discriminator":null,"generator":{"base_filters":'
    'null,"decoder_hints":true,"depth":null,"dropout":null,"encoder_weights":null,"he'
    'ad":"dual","hint_gain":64.0,"input_channels":4,"max_filters":null,"name":"effnet'
    '_unet","norm":null,"num_res_blocks":null,"output_channels":null,"power_iteration'
    's":null},"loss":{"fake_label":0.0,"gan":null,"l1_weight":5.0,"lam":100.0,"pretra'
    'in_epochs":0,"real_label":1.0,"recon":"bins_l1","w":0.99,"weighting":"lambda"},"'
    'name":"default-hints","train":{"batch_size":16,"beta_1":0.9,"beta_2":0.999,"d_lr'
    '":null,"epochs":8,"image_grid_size":4,"init_from":null,"jit":"auto","lr":3e-05,"'
    'lr_decay_rate":0.5,"lr_decay_steps":2000,"mixed_precision":"auto","save_every_st'
    'eps":250,"seed":1337,"steps_per_epoch":500,"strategy":"auto","val_steps":null},"'
    'val_data":{"augment":"none","crop_min_fraction":0.6,"data_dir":"val","degrade":0'
    '.0,"download":false,"file_list":null,"hints":null,"image_size":224,"jit_lab":tru'
    'e,"manual_dir":null,"max_pixels":80000000,"min_chroma":4.0,"min_colour_fraction"'
    ':0.02,"resize_method":"bicubic","scales":null,"seed":1337,"shorter_side":300,"sh'
    'uffle_buffer":1024,"skip_grayscale":true,"source":"folder","split":"train"}}'
)


def _frozen_parts(config):
    parts = [config, config.data, config.val_data, config.generator, config.loss]
    return parts + [config.train, config.data.hints, config.discriminator]


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_part_of_a_config_is_frozen_and_resolved(preset):
    config = resolve_config(preset, {"hints": True} if preset == "tiny" else {})
    for part in filter(None, _frozen_parts(config)):
        field = dataclasses.fields(part)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(part, field, getattr(part, field))
        hash(part)  # no list or dict inside
    for model in filter(None, (config.generator, config.discriminator)):
        assert model == model.resolved()
        defaults = model.spec.defaults
        assert all(getattr(model, k) is not None for k, v in defaults.items() if v)


def test_an_unresolved_model_is_refused():
    config = resolve_config("tiny")
    with pytest.raises(ValueError, match="not resolved"):
        dataclasses.replace(config, generator=ModelConfig(name="unet"))


def test_data_config_validates_and_from_dict_normalises():
    data = DataConfig.from_dict(
        {"data_dir": "x", "scales": [16, 32.0], "image_size": 32, "hints": {}}
    )
    assert data.scales == (16, 32) and data.hints == HintConfig()
    with pytest.raises(ValueError, match="tuple of ints"):
        DataConfig(data_dir="x", scales=[16, 32], image_size=32)
    with pytest.raises(ValueError, match="HintConfig or None"):
        DataConfig(data_dir="x", hints={"p_none": 0.5})
    with pytest.raises(ValueError, match="unknown data keys"):
        DataConfig.from_dict({"data_dir": "x", "colour": 1})


def test_data_pipeline_does_not_import_colorization():
    code = (
        "import sys, data_pipeline.config; "
        "print(sorted(m for m in sys.modules if m.startswith('colorization')))"
    )
    assert run_python(code).stdout.strip() == "[]"


def test_an_old_config_json_loads_as_the_resolved_config():
    old = ExperimentConfig.from_json("".join(OLD_DEFAULT_HINTS_JSON))
    new = resolve_config(
        "default-hints", {"dataset": "folder", "data_dir": "photos", "val_dir": "val"}
    )
    # The recipe of round two: the newer fields missing from the file take the
    # values that mean "as before" (a half-resolution bins head, no global branch,
    # nothing frozen, no cast loss); the rate and length were round two's.
    round_two = dataclasses.replace(
        new,
        generator=dataclasses.replace(
            new.generator, bins_stride=2, global_context=False
        ),
        train=dataclasses.replace(new.train, lr=3e-5, epochs=8, freeze_stride=0),
        loss=dataclasses.replace(new.loss, cast_weight=0.0),
    )
    assert old == round_two
    assert old.generator.base_filters == 16 and old.data.scales == (128, 160, 192, 224)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_old_config_json_of_every_preset_loads(preset):
    """As earlier runs wrote it: model fields None, lists, newer keys missing."""
    config = resolve_config(preset)
    values = json.loads(config.to_json())
    for part in ("generator", "discriminator"):
        if values[part] is not None:
            model = getattr(config, part)
            values[part] = {
                k: None if v == model.spec.defaults.get(k) else v
                for k, v in values[part].items()
                if k not in ("hint_gain", "decoder_hints") or v is not None
            } | {"name": model.name}
    for section, key in (
        ("data", "degrade"),
        ("data", "file_list"),
        ("loss", "l1_weight"),
    ):
        if values[section][key] == getattr(
            DataConfig if section == "data" else LossConfig, key
        ):
            del values[section][key]
    assert ExperimentConfig.from_dict(values) == config


def test_a_workdir_with_an_old_config_json_resumes(tmp_path, monkeypatch):
    out = train_io.paths(str(tmp_path))
    (tmp_path / "config.json").write_text("".join(OLD_DEFAULT_HINTS_JSON))
    monkeypatch.setattr(train_io, "latest_checkpoint", lambda directory: "ckpt-1")
    given = {"dataset": "folder", "data_dir": "photos", "val_dir": "val"}
    round_two = given | {
        "train.lr": 3e-5,
        "train.epochs": 8,
        "train.freeze_stride": 0,
        "generator.bins_stride": 2,
        "generator.global_context": False,
        "loss.cast_weight": 0.0,
    }
    workdir_state.check_workdir(resolve_config("default-hints", round_two), out, True)
    other = resolve_config("default-hints", round_two | {"train.lr": 1e-5})
    with pytest.raises(ValueError, match="holds a different run"):
        workdir_state.check_workdir(other, out, True)


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("train.batch_size=6", "train.batch_size", 6),  # int
        ("lr=3e-5", "train.lr", 3e-5),  # float, through a shortcut
        ("data.jit_lab=false", "data.jit_lab", False),  # bool
        ("data.download=yes", "data.download", True),
        ("data.split=train[:10%]", "data.split", "train[:10%]"),  # str
        ("data.scales=128,160,192", "data.scales", (128, 160, 192)),  # tuple[int, ...]
        ("loss.real_label=0.9,1", "loss.real_label", (0.9, 1.0)),  # tuple[float, float]
        ("loss.real_label=0.9", "loss.real_label", 0.9),  # float | tuple
        ("train.steps_per_epoch=none", "train.steps_per_epoch", None),  # Optional
        ("train.d_lr=2e-4", "train.d_lr", 2e-4),
        ("loss.recon=huber", "loss.recon", "huber"),  # Literal
        ("train.strategy=mirrored", "train.strategy", "mirrored"),
        ("generator.norm=instance", "generator.norm", "instance"),
        ("generator.base_filters=8", "generator.base_filters", 8),
        ("data.hints=true", "data.hints", True),  # an optional section
        ("data.hints=none", "data.hints", None),
        ("data.hints.p_none=0.25", "data.hints.p_none", 0.25),
        ("dataset=tfds:mnist", "data.source", "tfds:mnist"),
    ],
)
def test_set_parses_each_type(text, key, value):
    assert overrides.parse_assignment(text) == (key, value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "train.learning_rate=3e-5",
            "unknown key 'train.learning_rate'; close keys: train.lr",
        ),
        ("data.image_sise=192", "close keys: data.image_size"),
        ("batch=4", "unknown key 'batch'"),
        ("train.lr", "expected KEY=VALUE"),
        ("train.batch_size=8.5", "train.batch_size=8.5: expected int"),
        ("train.lr=fast", "expected float"),
        ("data.jit_lab=maybe", "expected bool"),
        ("loss.recon=l3", "expected one of l1, l2, huber, bins, bins_l1"),
        ("data.scales=128,big", "expected a comma-separated list of int or none"),
        ("loss.real_label=0.9,1,2", "expected float or 2 comma-separated floats"),
        ("train.epochs=none", "expected int"),
        ("data.source=", "expected str"),
    ],
)
def test_set_errors_name_the_key_or_value_in_one_line(text, message):
    with pytest.raises(ValueError) as error:
        overrides.parse_assignment(text)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_override_keys_come_from_the_schema():
    keys = overrides.schema()
    for cls, section in ((TrainConfig, "train"), (LossConfig, "loss")):
        for field in dataclasses.fields(cls):
            assert f"{section}.{field.name}" in keys
            assert overrides.shortcuts()[field.name] == f"{section}.{field.name}"
    for field in dataclasses.fields(ModelConfig):
        assert f"generator.{field.name}" in keys
    assert "data.hints.max_patch" in keys and "val_data.augment" in keys
    assert overrides.shortcuts()["seed"] == "train.seed"


def test_dotted_keys_and_shortcuts_resolve_alike(tmp_path):
    flat = resolve_config(
        "tiny",
        {"batch_size": 2, "lr": 1e-3, "loss": "huber", "generator": {"depth": 3}},
    )
    dotted = resolve_config(
        "tiny",
        {
            "train.batch_size": 2,
            "train.lr": 1e-3,
            "loss.recon": "huber",
            "generator.depth": 3,
        },
    )
    assert flat == dotted and flat.generator.depth == 3


def test_resolve_config_carries_the_linked_settings():
    default = resolve_config("default", {"data.image_size": 192, "train.lr": 3e-5})
    assert default.data.image_size == 192 and default.data.scales is None
    assert default.train.lr == 3e-5
    scaled = resolve_config("tiny", {"data.scales": (16, 32), "train.seed": 7})
    assert scaled.data.image_size == 32 and scaled.data.seed == 7
    folder = {"dataset": "folder", "data_dir": "x", "val_dir": "v"}
    val = resolve_config("tiny", folder | {"val_data.augment": "flip"})
    assert val.val_data.data_dir == "v" and val.val_data.augment == "flip"
    hinted = resolve_config("default", {"data.hints.p_none": 0.25})
    assert hinted.data.hints == HintConfig(p_none=0.25)
    assert hinted.generator.input_channels == 4
    unet = resolve_config("zhu-gan", {"model": "unet", "discriminator.norm": "none"})
    assert unet.generator == ModelConfig(name="unet").resolved()
    assert unet.discriminator.norm == "none"
    with pytest.raises(ValueError, match="no validation data"):
        resolve_config(
            "tiny", {"dataset": "folder", "data_dir": "x", "val_data.seed": 1}
        )

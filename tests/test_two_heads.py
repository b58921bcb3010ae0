"""The two-head generator (bins + L1, blended), its loss, warm starts and the training
additions that came with it (per-epoch data seeds, validation scores)."""

import csv
import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from colorization.config.experiment import LossConfig
from colorization.config.presets import resolve_config
from colorization.evaluation import scoring
from colorization.export.ensemble import build_ensemble
from colorization.models import ModelConfig, build_generator
from colorization.models.layers import nested_layers, set_blend, set_temperature
from colorization.training import losses, train_steps
from colorization.training.loop import epoch_data, fit
from colorization.training.warm_start import copy_weights
from tests.train_data import tiny_config, write_photos


def _dual(name="unet", **fields):
    if name == "unet":
        fields = {"base_filters": 4, "depth": 2, "dropout": 0.0, **fields}
    return build_generator(ModelConfig(name=name, head="dual", **fields))


def _heads(model, l_norm, training=False):
    heads = keras.Model(
        model.inputs,
        [
            model.get_layer("ab_bins").output,
            model.get_layer("ab_l1").output,
            model.output,
        ],
    )
    return [t.numpy() for t in heads(l_norm, training=training)]


@pytest.mark.parametrize("name,sizes", [("unet", (16, 24)), ("effnet_unet", (64, 96))])
def test_dual_output_is_the_blend_of_its_heads(name, sizes):
    keras.utils.set_random_seed(0)
    model = _dual(name)
    for height, width in (sizes, sizes[::-1]):
        l_norm = tf.random.uniform((2, height, width, 1), -1, 1)
        bins_ab, l1_ab, out = _heads(model, l_norm)
        assert out.shape == (2, height, width, 2) and out.dtype == np.float32
        assert np.abs(out).max() <= 1.0
        np.testing.assert_allclose(out, 0.5 * bins_ab + 0.5 * l1_ab, atol=1e-6)


def test_set_blend_chooses_the_head_and_survives_save_load(tmp_path):
    keras.utils.set_random_seed(1)
    model = _dual()
    # A trained L1 head is not zero: give it weights so the heads differ.
    conv = model.get_layer("ab_conv")
    conv.set_weights([np.full(w.shape, 0.3, np.float32) for w in conv.get_weights()])
    l_norm = tf.random.uniform((1, 16, 16, 1), -1, 1)
    bins_ab, l1_ab, _ = _heads(model, l_norm)
    assert np.abs(bins_ab - l1_ab).mean() > 0.01
    set_blend(model, 0.0)
    np.testing.assert_allclose(model(l_norm).numpy(), l1_ab, atol=1e-6)
    set_blend(model, 1.0)
    np.testing.assert_allclose(model(l_norm).numpy(), bins_ab, atol=1e-6)
    set_blend(model, 0.7)
    set_temperature(model, 0.5)  # the bins head's annealed mean is still there
    expected = model(l_norm).numpy()
    path = str(tmp_path / "dual.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("ab").weight == pytest.approx(0.7)
    np.testing.assert_allclose(loaded(l_norm).numpy(), expected, atol=1e-6)


def test_set_blend_errors():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        set_blend(_dual(), 1.5)
    single = build_generator(ModelConfig(name="unet", base_filters=4, depth=2))
    with pytest.raises(ValueError, match="one head"):
        set_blend(single, 0.5)


def test_dual_effnet_in_bfloat16_gives_float32():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = _dual("effnet_unet")
        out = model(tf.random.uniform((1, 64, 64, 1), -1, 1))
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert out.dtype == tf.float32 and np.all(np.isfinite(out.numpy()))


def test_bins_l1_loss_reaches_every_weight_and_weights_the_l1_head():
    keras.utils.set_random_seed(2)
    model = _dual()
    centres = next(layer.centres for layer in model.layers if hasattr(layer, "centres"))
    weights = np.ones(len(centres), np.float32)
    l_norm = tf.random.uniform((2, 16, 16, 1), -1, 1)
    ab = tf.random.uniform((2, 16, 16, 2), -0.3, 0.3)
    mask = tf.ones((2, 16, 16, 1))
    values = {}
    for l1_weight in (0.0, 10.0):
        forward = train_steps.reconstruction(
            model, LossConfig(recon="bins_l1", l1_weight=l1_weight), weights
        )
        with tf.GradientTape() as tape:
            loss, pred = forward(l_norm, ab, mask)
            total = tf.reduce_mean(loss)
        grads = tape.gradient(total, model.trainable_variables)
        values[l1_weight] = float(total)
        assert pred.shape == (2, 16, 16, 2)
        if l1_weight:
            missing = [
                v.path for v, g in zip(model.trainable_variables, grads) if g is None
            ]
            assert not missing
    l1_ab = _heads(model, l_norm, training=True)[1]
    l1 = float(tf.reduce_mean(losses.masked_l1(ab, l1_ab, mask)))
    assert values[10.0] == pytest.approx(values[0.0] + 10.0 * l1, rel=1e-5)


def test_bins_l1_goes_with_the_dual_head_only(tmp_path):
    photos = write_photos(tmp_path / "p", copies=1)
    config = tiny_config(photos, loss="bins_l1")
    assert config.generator.head == "dual" and config.loss.recon == "bins_l1"
    with pytest.raises(ValueError, match="go together"):
        dataclasses.replace(
            config, generator=dataclasses.replace(config.generator, head="bins")
        )
    with pytest.raises(ValueError, match="l1_weight"):
        LossConfig(recon="bins_l1", l1_weight=-1.0)


@pytest.mark.slow
def test_train_with_bins_l1_logs_validation_scores(tmp_path):
    photos = write_photos(tmp_path / "photos", copies=2)
    config = tiny_config(photos, loss="bins_l1", steps_per_epoch=3, epochs=2)
    result = fit(config, str(tmp_path / "run"))
    assert result.metrics["global_step"] == 6
    for name in scoring.BATCH_SCORES:
        if name != "hue_error":  # undefined (NaN) while no pixel is coloured
            assert np.isfinite(result.metrics[f"val_{name}"]), name
    assert result.metrics["cpu_hours"] > 0 and result.metrics["wall_hours"] > 0
    with open(tmp_path / "run" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and float(rows[1]["cpu_hours"]) > float(rows[0]["cpu_hours"])
    assert {"val_psnr", "val_hist_a", "val_hist_b", "val_colourfulness_ratio"} <= set(
        rows[0]
    )


def test_epoch_data_differs_per_epoch_and_is_a_function_of_seed_and_epoch(tmp_path):
    photos = write_photos(tmp_path / "p", copies=1)
    data = tiny_config(photos).data
    seeds = [epoch_data(data, epoch).seed for epoch in range(5)]
    assert len(set(seeds)) == 5
    assert seeds == [epoch_data(data, epoch).seed for epoch in range(5)]
    assert epoch_data(dataclasses.replace(data, seed=2), 0).seed != seeds[0]


def test_batch_norm_is_not_synchronised_on_one_replica():
    model = build_generator(ModelConfig(name="unet", base_filters=4, depth=2))
    assert train_steps.synchronize_batch_norm(model) == 0
    layers = [
        layer
        for layer in nested_layers(model)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert layers and not any(layer.synchronized for layer in layers)


def test_copy_weights_reproduces_the_source():
    keras.utils.set_random_seed(3)
    source = _dual()
    keras.utils.set_random_seed(4)
    target = _dual()
    l_norm = tf.random.uniform((1, 16, 16, 1), -1, 1)
    assert np.abs(source(l_norm).numpy() - target(l_norm).numpy()).max() > 1e-4
    report = copy_weights(target, source)
    assert not report.missing and not report.mismatched
    np.testing.assert_allclose(
        target(l_norm).numpy(), source(l_norm).numpy(), atol=1e-6
    )


@pytest.mark.parametrize("mean", ["ab", "chroma"])
def test_copy_weights_from_an_ensemble_reads_its_last_member(mean):
    keras.utils.set_random_seed(5)
    cfg = {"name": "unet", "base_filters": 4, "depth": 2}
    l1_member = build_generator(ModelConfig(**cfg))
    bins_member = build_generator(ModelConfig(head="bins", **cfg))
    ensemble = build_ensemble([l1_member, bins_member], mean=mean)
    target = _dual()
    report = copy_weights(target, ensemble)
    assert report.missing == ["ab_conv"]  # the L1 head starts new (zero)
    np.testing.assert_array_equal(
        target.get_layer("ab_logits").get_weights()[0],
        bins_member.get_layer("ab_logits").get_weights()[0],
    )


def test_copy_weights_refuses_another_architecture():
    other = build_generator(ModelConfig(name="resnet_generator", base_filters=4))
    with pytest.raises(ValueError, match="same architecture"):
        copy_weights(_dual(), other)


@pytest.mark.slow  # a training run (~20 s)
def test_init_from_starts_the_run_and_a_resume_ignores_it(tmp_path):
    photos = write_photos(tmp_path / "photos", copies=2)
    keras.utils.set_random_seed(6)
    source = build_generator(resolve_config("tiny").generator)
    source_path = str(tmp_path / "source.keras")
    source.save(source_path)
    config = tiny_config(photos, lr=1e-12, init_from=source_path, steps_per_epoch=1)
    result = fit(config, str(tmp_path / "run"))
    for layer in source.layers:
        if isinstance(layer, keras.layers.Conv2D):
            np.testing.assert_allclose(
                result.generator.get_layer(layer.name).get_weights()[0],
                layer.get_weights()[0],
                atol=1e-6,
            )
    # The source is not read again once the workdir has a checkpoint.
    (tmp_path / "source.keras").unlink()
    again = fit(config, str(tmp_path / "run"))
    assert again.metrics["global_step"] == result.metrics["global_step"]


def _val_batches():
    from skimage import data

    from data_pipeline import lab

    rgb = tf.image.resize(data.astronaut()[None], (48, 48)) / 255.0
    l_norm, ab = lab.rgb_to_model(rgb)
    mask = tf.concat([tf.ones((1, 48, 40, 1)), tf.zeros((1, 48, 8, 1))], axis=2)
    return [(l_norm, ab * mask, mask)], ab * mask


def test_score_batches_of_a_perfect_and_a_colourless_model():
    batches, ab = _val_batches()
    perfect = scoring.score_batches(lambda l_norm: ab, batches)
    assert perfect["l1"] == pytest.approx(0.0, abs=1e-6)
    assert perfect["psnr"] > 40 and perfect["ab_auc"] > 0.99
    assert perfect["hist_a"] > 0.9 and perfect["hist_b"] > 0.9
    assert perfect["colourfulness_ratio"] == pytest.approx(1.0, abs=0.02)
    grey = scoring.score_batches(lambda l_norm: tf.zeros_like(ab), batches)
    assert grey["l1"] > 0.01 and grey["psnr"] < perfect["psnr"]
    assert grey["colourfulness_ratio"] < 0.05 and grey["hist_a"] < 0.5


@pytest.mark.slow
def test_default_preset_trains_at_several_scales(tmp_path):
    photos = write_photos(tmp_path / "photos", copies=2)
    config = resolve_config(
        "default",
        {
            "dataset": "folder",
            "data_dir": photos,
            "val_dir": photos,
            "scales": [32, 64],
            "generator": {"base_filters": 2},
            "batch_size": 2,
            "epochs": 1,
            "steps_per_epoch": 4,
            "mixed_precision": "off",
            "val_steps": 1,
        },
    )
    assert config.data.image_size == 64 and config.val_data.scales is None
    assert config.data.degrade > 0 and config.val_data.degrade == 0
    result = fit(config, str(tmp_path / "run"))
    assert result.metrics["global_step"] == 4 and np.isfinite(result.metrics["loss"])


def test_scales_must_fit_the_model_stride(tmp_path):
    photos = write_photos(tmp_path / "photos", copies=1)
    with pytest.raises(ValueError, match="stride 32"):
        resolve_config(
            "default", {"dataset": "folder", "data_dir": photos, "scales": [48, 64]}
        )


def test_blend_flags_of_infer_and_evaluate(tmp_path, capsys):
    import evaluate
    import infer

    photos = write_photos(tmp_path / "photos", copies=1)
    single = str(tmp_path / "single.keras")
    build_generator(ModelConfig(name="unet", base_filters=4, depth=2)).save(single)
    assert infer.main([photos, "--model", single, "--blend", "0.5"]) == 2
    assert "one head" in capsys.readouterr().err
    assert evaluate.main([photos, "--model", single, "--blend", "0.5"]) == 2
    capsys.readouterr()
    assert infer.main([photos, "--blend", "1.5"]) == 2
    assert capsys.readouterr().err == "infer.py: error: --blend must be in [0, 1]\n"
    dual = str(tmp_path / "dual.keras")
    _dual().save(dual)
    out = tmp_path / "out"
    assert (
        infer.main(
            [
                photos,
                "--model",
                dual,
                "--blend",
                "0.2",
                "--size",
                "32",
                "--output",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert len(list(out.iterdir())) == 4


@pytest.mark.slow
def test_a_checkpoint_from_before_the_time_counters_resumes(tmp_path):
    from colorization.training import loop, train_io
    from colorization.training.distribute import make_strategy

    photos = write_photos(tmp_path / "photos", copies=1)
    config = tiny_config(photos, steps_per_epoch=1)
    workdir = str(tmp_path / "run")
    fit(config, workdir)
    out = train_io.paths(workdir)
    *_, trackables = loop._build(config, make_strategy("one"), "off")
    tf.train.Checkpoint(**trackables).restore(train_io.latest_checkpoint(out["last"]))
    old = {k: v for k, v in trackables.items() if k not in loop.TIMERS}
    train_io.save_checkpoint(tf.train.Checkpoint(**old), out["last"], 99, True)
    result = fit(config, workdir)  # restores the old checkpoint, nothing left to train
    assert result.metrics["global_step"] == 1

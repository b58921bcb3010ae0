"""Tests of colorization.models: every generator and discriminator at a tiny size."""

import contextlib
import json
import math
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from colorization.models import (
    GENERATOR_NAMES,
    MODEL_DEFAULTS,
    ModelConfig,
    ReflectionPadding2D,
    SpectralNormalization,
    build_discriminator,
    build_generator,
    build_resnet18_encoder,
    load_encoder_weights,
    min_input_size,
    model_stride,
)

# Keras 3.15 calls np.array(copy=False) on its own tensors while saving.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = {
    "unet": ModelConfig("unet", base_filters=4, depth=2),
    "unet_instance": ModelConfig("unet", base_filters=4, depth=2, norm="instance"),
    "residual_unet": ModelConfig(
        "residual_unet", base_filters=4, depth=3, num_res_blocks=1
    ),
    "pix2pix_unet": ModelConfig("pix2pix_unet", base_filters=4, depth=3),
    "resnet_generator": ModelConfig(
        "resnet_generator", base_filters=4, num_res_blocks=2
    ),
    "ehrenberg_unet": ModelConfig("ehrenberg_unet", base_filters=4, depth=3),
    "resnet18_unet": ModelConfig("resnet18_unet", base_filters=4),
    "effnet_unet": ModelConfig("effnet_unet", base_filters=2),
    "patchgan": ModelConfig("patchgan", base_filters=4, depth=2),
    "patchgan_spectral": ModelConfig(
        "patchgan", base_filters=4, depth=2, norm="spectral", power_iterations=2
    ),
    "pixel": ModelConfig("pixel", base_filters=4, depth=2),
    "pixel_spectral": ModelConfig("pixel", base_filters=4, depth=2, norm="spectral"),
}


def build(cfg):
    if cfg.is_discriminator:
        return build_discriminator(cfg)
    return build_generator(cfg)


def sizes(cfg):
    """Two input sizes (square and not) that are multiples of the stride, >= 32."""
    stride = model_stride(cfg)
    side = math.ceil(max(32, min_input_size(cfg)) / stride) * stride
    return [(side, side), (side + stride, side + 2 * stride)]


def sample(cfg, height, width, batch=2, seed=0):
    channels = cfg.resolved().input_channels
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (batch, height, width, channels)).astype("float32")


def expected_shape(cfg, batch, height, width):
    stride = model_stride(cfg)
    if cfg.name == "patchgan":
        return (batch, height // stride - 2, width // stride - 2, 1)
    if cfg.name == "pixel":
        return (batch, 1)
    return (batch, height, width, 2)


@contextlib.contextmanager
def global_policy(name):
    """Sets Keras' global dtype policy, and restores the previous one on exit."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


@pytest.fixture(autouse=True)
def float32_policy():
    # Whatever an earlier test (of any module) left behind, each test here starts
    # from float32: the dtype assertions must not depend on the order tests run in.
    with global_policy("float32"):
        yield


@pytest.fixture
def mixed_bfloat16(float32_policy):
    with global_policy("mixed_bfloat16"):
        yield


@pytest.mark.parametrize("case", CASES)
def test_output_shape_dtype_and_range(case):
    cfg = CASES[case]
    model = build(cfg)
    for height, width in sizes(cfg):
        y = np.asarray(model(sample(cfg, height, width), training=False))
        assert y.shape == expected_shape(cfg, 2, height, width)
        assert y.dtype == np.float32
        assert np.all(np.isfinite(y))
        if not cfg.is_discriminator:
            assert np.all(np.abs(y) <= 1.0)


@pytest.mark.parametrize("case", CASES)
def test_save_load_gives_same_output(case, tmp_path):
    cfg = CASES[case]
    model = build(cfg)
    x = sample(cfg, *sizes(cfg)[0])
    model(x, training=True)  # moves batch-norm statistics and spectral-norm vectors
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded(x, training=False), model(x, training=False), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("case", CASES)
def test_config_round_trip(case):
    cfg = CASES[case]
    model = build(cfg)
    config = json.loads(json.dumps(model.get_config()))
    rebuilt = keras.Model.from_config(config)
    rebuilt.set_weights(model.get_weights())
    x = sample(cfg, *sizes(cfg)[0])
    np.testing.assert_allclose(
        rebuilt(x, training=False), model(x, training=False), rtol=1e-5, atol=1e-6
    )
    assert ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@pytest.mark.parametrize("case", CASES)
def test_every_trainable_weight_gets_a_gradient(case):
    cfg = CASES[case]
    model = build(cfg)
    x = tf.constant(sample(cfg, *sizes(cfg)[0]))
    with tf.GradientTape() as tape:
        y = model(x, training=True)
        loss = tf.reduce_mean(tf.square(y - 0.5))
    grads = tape.gradient(loss, model.trainable_variables)
    assert np.isfinite(float(loss))
    for variable, grad in zip(model.trainable_variables, grads, strict=True):
        assert grad is not None, variable.path
        assert np.all(np.isfinite(grad)), variable.path


@pytest.mark.parametrize("case", CASES)
def test_output_is_float32_under_mixed_bfloat16(case, mixed_bfloat16):
    cfg = CASES[case]
    model = build(cfg)
    assert any(layer.compute_dtype == "bfloat16" for layer in model.layers)
    y = model(sample(cfg, *sizes(cfg)[0]), training=True)
    assert y.dtype == tf.float32
    assert np.all(np.isfinite(y))
    if not cfg.is_discriminator:
        assert np.all(np.abs(y) <= 1.0)


def test_global_policy_helper_restores_the_policy_even_on_error():
    keras.mixed_precision.set_global_policy("mixed_float16")  # left by someone else
    with pytest.raises(RuntimeError, match="inside"):
        with global_policy("mixed_bfloat16"):
            assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
            raise RuntimeError("inside")
    assert keras.mixed_precision.global_policy().name == "mixed_float16"


def trainable_count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_studienarbeit_unet_has_the_published_parameter_count():
    model = build_generator("unet")  # 64 base filters, depth 4: built, never run
    assert trainable_count(model) == 31_389_634


def test_default_sizes_of_the_small_models():
    assert 1.6e6 < trainable_count(build_generator("resnet_generator")) < 1.8e6
    assert 0.9e6 < trainable_count(build_generator("resnet18_unet")) < 1.0e6
    patchgan = build_discriminator("patchgan")
    assert trainable_count(patchgan) == 2_765_633
    logits = patchgan(np.zeros((1, 256, 256, 3), "float32"), training=False)
    assert logits.shape == (1, 30, 30, 1)


def test_dropout_placement_follows_the_reference_code():
    def dropout_layers(model):
        return sorted(
            layer.name.split("_")[0]
            for layer in model.layers
            if isinstance(layer, keras.layers.Dropout)
        )

    # The depth - 5 blocks just outside the innermost one, as in pix2pix's U-Net.
    residual = build_generator("residual_unet", base_filters=2, num_res_blocks=1)
    assert dropout_layers(residual) == ["up5", "up6", "up7"]
    pix2pix = build_generator("pix2pix_unet", base_filters=2)
    assert dropout_layers(pix2pix) == ["up4", "up5", "up6"]
    # Harsanyi: the first two ups.
    assert dropout_layers(build_generator("ehrenberg_unet", base_filters=2)) == [
        "up3",
        "up4",
    ]
    # keras-unet: the encoder and bottleneck blocks only.
    assert dropout_layers(build_generator("unet", base_filters=2, depth=2)) == [
        "bottleneck",
        "down1",
        "down2",
    ]


def test_strides_and_minimum_sizes():
    strides = {name: model_stride(name) for name in MODEL_DEFAULTS}
    assert strides == {
        "unet": 16,
        "residual_unet": 256,
        "pix2pix_unet": 256,
        "resnet_generator": 4,
        "ehrenberg_unet": 32,
        "resnet18_unet": 8,
        "effnet_unet": 32,
        "patchgan": 8,
        "pixel": 8,
    }
    assert min_input_size("patchgan") == 24
    assert min_input_size("pixel") == 32
    assert model_stride(ModelConfig("unet", depth=5)) == 32


def test_config_resolves_defaults_and_rejects_mistakes():
    cfg = ModelConfig("unet", base_filters=16).resolved()
    assert (cfg.base_filters, cfg.depth, cfg.dropout, cfg.norm) == (16, 4, 0.2, "batch")
    assert cfg.num_res_blocks is None
    with pytest.raises(ValueError, match="valid names: unet, residual_unet"):
        ModelConfig("unet3")
    with pytest.raises(ValueError, match="does not use 'num_res_blocks'"):
        ModelConfig("unet", num_res_blocks=2)
    with pytest.raises(ValueError, match="batch, instance, none"):
        ModelConfig("unet", norm="spectral")
    with pytest.raises(ValueError, match="batch, instance, spectral, none"):
        ModelConfig("patchgan", norm="layer")
    with pytest.raises(ValueError, match="positive int"):
        ModelConfig("unet", base_filters="64")
    with pytest.raises(ValueError, match="positive int"):
        ModelConfig("unet", depth=True)
    with pytest.raises(ValueError, match=r"dropout must be a float in \[0, 1\)"):
        ModelConfig("unet", dropout=1.5)
    with pytest.raises(ValueError, match="valid keys: name, base_filters"):
        ModelConfig.from_dict({"name": "unet", "filters": 64})


def test_registries_reject_the_wrong_kind_of_model():
    with pytest.raises(
        ValueError, match="valid generators: " + ", ".join(GENERATOR_NAMES)
    ):
        build_generator("patchgan")
    with pytest.raises(ValueError, match="valid discriminators: patchgan, pixel"):
        build_discriminator("unet")
    model = build_generator(ModelConfig("unet"), base_filters=2, depth=1)
    assert model.get_layer("bottleneck_conv1").filters == 4


def test_spectral_normalization_matches_numpy_svd():
    rng = np.random.default_rng(1)
    # A kernel with a known spectrum (top singular value 3, next 1.5).
    left, _ = np.linalg.qr(rng.normal(size=(45, 6)))
    right, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    singular_values = np.array([3.0, 1.5, 1.0, 0.8, 0.5, 0.2])
    kernel = (left * singular_values) @ right.T
    kernel = kernel.reshape(3, 3, 5, 6).astype("float32")
    layer = SpectralNormalization(keras.layers.Conv2D(6, 3), power_iterations=1)
    layer.build((None, 8, 8, 5))
    layer.layer.kernel.assign(kernel)
    # One iteration per training step; u carries over from step to step.
    for _ in range(15):
        normalized = np.asarray(layer.normalized_kernel(training=True))
    sigma = np.linalg.svd(kernel.reshape(-1, 6), compute_uv=False)[0]
    np.testing.assert_allclose(normalized * sigma, kernel, rtol=1e-4, atol=1e-6)
    top = np.linalg.svd(normalized.reshape(-1, 6), compute_uv=False)[0]
    assert top == pytest.approx(1.0, abs=1e-4)
    # The layer applies exactly that kernel and never overwrites its own.
    x = rng.uniform(-1, 1, (2, 8, 8, 5)).astype("float32")
    kernel_now = layer.normalized_kernel(training=False)  # the stored u, unchanged
    expected = tf.nn.conv2d(x, kernel_now, 1, "VALID") + layer.layer.bias
    np.testing.assert_allclose(layer(x), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(layer.layer.kernel.numpy(), kernel)


def test_spectral_normalization_updates_u_only_when_training():
    layer = SpectralNormalization(keras.layers.Dense(4), power_iterations=1)
    x = np.ones((2, 3), "float32")
    layer(x)
    u0 = layer.vector_u.numpy().copy()
    layer(x, training=False)
    np.testing.assert_array_equal(layer.vector_u.numpy(), u0)
    layer(x, training=True)
    assert not np.array_equal(layer.vector_u.numpy(), u0)


def test_spectral_normalization_keeps_the_float32_kernel_under_mixed_precision(
    mixed_bfloat16,
):
    # keras.layers.SpectralNormalization rounds the kernel to bfloat16 here.
    layer = SpectralNormalization(keras.layers.Conv2D(4, 3, padding="same"))
    x = np.random.default_rng(2).uniform(size=(1, 8, 8, 3)).astype("float32")
    layer(x)
    kernel = layer.layer.kernel.numpy().copy()
    with tf.GradientTape() as tape:
        y = layer(x, training=True)
        loss = tf.reduce_sum(tf.cast(y, tf.float32))
    grads = tape.gradient(loss, layer.trainable_variables)
    assert y.dtype == tf.bfloat16
    assert layer.layer.kernel.dtype == "float32"
    np.testing.assert_array_equal(layer.layer.kernel.numpy(), kernel)
    assert all(g is not None and np.all(np.isfinite(g)) for g in grads)


def test_spectral_normalization_config_and_errors():
    layer = SpectralNormalization(keras.layers.Conv2D(2, 3), power_iterations=3)
    clone = SpectralNormalization.from_config(layer.get_config())
    assert (clone.power_iterations, clone.epsilon) == (3, layer.epsilon)
    assert isinstance(clone.layer, keras.layers.Conv2D)
    with pytest.raises(TypeError, match="Conv2D or Dense"):
        SpectralNormalization(keras.layers.ReLU())
    with pytest.raises(ValueError, match="power_iterations"):
        SpectralNormalization(keras.layers.Dense(2), power_iterations=0)


_DISTRIBUTED_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    import keras
    from colorization.models import SpectralNormalization, build_discriminator

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = build_discriminator(
            "patchgan", base_filters=4, depth=2, norm="spectral"
        )
        model.compile(optimizer="adam", loss="mse")
    layer = next(l for l in model.layers if isinstance(l, SpectralNormalization))
    u0 = layer.vector_u.numpy().copy()
    x = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    model.fit(x, np.zeros((4, 6, 6, 1), "float32"), batch_size=4, verbose=0)
    replicas = strategy.experimental_local_results(layer.vector_u.value)
    assert len(replicas) == 2
    np.testing.assert_allclose(replicas[0].numpy(), replicas[1].numpy())
    assert not np.allclose(replicas[0].numpy(), u0)
    print("DISTRIBUTED_OK")
    """
)


def test_spectral_normalization_trains_under_mirrored_strategy():
    # A fresh process: logical devices must be set before TensorFlow starts.
    env = {**os.environ, "PYTHONPATH": REPO_ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-c", _DISTRIBUTED_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert "DISTRIBUTED_OK" in result.stdout, result.stderr[-3000:]


def test_reflection_padding_matches_numpy():
    x = np.arange(2 * 3 * 4 * 2, dtype="float32").reshape(2, 3, 4, 2)
    layer = ReflectionPadding2D(2)
    expected = np.pad(x, [(0, 0), (2, 2), (2, 2), (0, 0)], mode="reflect")
    np.testing.assert_array_equal(layer(x), expected)
    assert layer.compute_output_shape((None, None, 5, 1)) == (None, None, 9, 1)
    assert ReflectionPadding2D.from_config(layer.get_config()).padding == 2
    with pytest.raises(ValueError, match="non-negative int"):
        ReflectionPadding2D(-1)


def test_resnet18_encoder_weights_are_loaded_from_local_files(tmp_path):
    source = build_resnet18_encoder(base_filters=4)
    weights_path = tmp_path / "encoder.weights.h5"
    source.save_weights(weights_path)
    full = build_generator("resnet18_unet", base_filters=4)
    full_path = tmp_path / "full.keras"
    full.save(full_path)
    expected = {
        str(weights_path): source.get_weights(),
        str(full_path): full.get_layer("resnet18_encoder").get_weights(),
    }
    for path, weights in expected.items():
        model = build_generator("resnet18_unet", base_filters=4, encoder_weights=path)
        loaded = model.get_layer("resnet18_encoder").get_weights()
        for got, want in zip(loaded, weights, strict=True):
            np.testing.assert_array_equal(got, want)
    encoder = build_resnet18_encoder(base_filters=4)
    with pytest.raises(FileNotFoundError):
        load_encoder_weights(encoder, tmp_path / "missing.weights.h5")
    (tmp_path / "encoder.pt").write_bytes(b"")
    with pytest.raises(ValueError, match=r"\.weights\.h5 or \.keras"):
        load_encoder_weights(encoder, tmp_path / "encoder.pt")


def test_bilinear_upsampling_works_on_unknown_sizes_and_serializes():
    from colorization.models.layers import BilinearUpSampling2D

    def clamped_centres(n, factor):
        # Where output pixel i samples the input: half-pixel centres, clamped at the
        # border (not align_corners; nearest would give a staircase).
        return np.clip((np.arange(n * factor) + 0.5) / factor - 0.5, 0, n - 1)

    # A ramp in both directions, and its negative: bilinear interpolation of a linear
    # function is exact, so the output is the ramp at the sampling positions.
    rows, cols = np.meshgrid(np.arange(5.0), np.arange(7.0), indexing="ij")
    ramp = 10 * rows + cols
    x = np.stack([ramp, -ramp, np.ones_like(ramp)], -1)[None].astype("float32")
    for factor in (2, 3):
        layer = BilinearUpSampling2D(factor)
        run = tf.function(
            layer, input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)]
        )  # Keras' UpSampling2D(interpolation="bilinear") fails here
        out = run(x).numpy()
        assert out.shape == (1, 5 * factor, 7 * factor, 3)
        expected = 10 * clamped_centres(5, factor)[:, None] + clamped_centres(7, factor)
        np.testing.assert_allclose(out[0, ..., 0], expected, atol=1e-5)
        np.testing.assert_allclose(out[0, ..., 1], -expected, atol=1e-5)
        np.testing.assert_allclose(out[0, ..., 2], 1.0, atol=1e-6)
    np.testing.assert_allclose(
        out[0, 0, :6, 0], [0, 0, 1 / 3, 2 / 3, 1, 4 / 3], atol=1e-5
    )  # factor 3 along the first row
    clone = BilinearUpSampling2D.from_config(layer.get_config())
    assert clone.factor == 3
    with pytest.raises(ValueError, match="factor"):
        BilinearUpSampling2D(0)

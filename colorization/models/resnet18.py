"""Klefbom and Mjoberg's generator: a ResNet-18 encoder and an upsampling decoder.

The encoder is torchvision's ResNet-18 stem, layer1 and layer2 with one input channel,
padded as PyTorch pads (explicit zero padding and 'valid' convolutions) so that
converted torchvision weights give the same features. It is a nested model named
"resnet18_encoder" and starts from random weights; `ModelConfig.encoder_weights` may
name a local file to load. Nothing is ever downloaded.
"""

import os

import keras

from colorization.models.blocks import conv_norm_act, tanh_output
from colorization.models.config import ModelSpec

ENCODER_NAME = "resnet18_encoder"


def basic_block(x, filters, *, name, norm, strides=1):
    """ResNet's BasicBlock: two conv3x3 with norm, a projected shortcut if needed.

    Args:
        x: Input tensor.
        filters: Output channels.
        name: Prefix of the layer names.
        norm: "batch", "instance" or "none".
        strides: 2 halves the resolution (PyTorch padding: pad 1, then 'valid').

    Returns:
        The block output, after the final ReLU.
    """
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = conv_norm_act(
            x, filters, 1, strides=strides, name=f"{name}_proj", norm=norm, act=None
        )
    if strides != 1:
        x = keras.layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
    x = conv_norm_act(
        x,
        filters,
        3,
        strides=strides,
        padding="valid" if strides != 1 else "same",
        name=f"{name}_1",
        norm=norm,
    )
    x = conv_norm_act(x, filters, 3, name=f"{name}_2", norm=norm, act=None)
    x = keras.layers.Add(name=f"{name}_add")([shortcut, x])
    return keras.layers.ReLU(name=f"{name}_out")(x)


def build_resnet18_encoder(input_channels=1, base_filters=64, norm="batch"):
    """ResNet-18 up to layer2: 2 * base_filters channels at stride 8.

    Args:
        input_channels: Input channels (1 for L).
        base_filters: Width of the stem and layer1 (64 in ResNet-18).
        norm: "batch", "instance" or "none".

    Returns:
        A functional `keras.Model` named "resnet18_encoder".
    """
    inputs = keras.Input((None, None, input_channels), name="L")
    x = keras.layers.ZeroPadding2D(3, name="stem_pad")(inputs)
    x = conv_norm_act(
        x, base_filters, 7, strides=2, padding="valid", name="stem", norm=norm
    )  # (batch, H / 2, W / 2, 64)
    # Zero padding equals PyTorch's -inf padding here: the inputs are after a ReLU.
    x = keras.layers.ZeroPadding2D(1, name="stem_pool_pad")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name="stem_pool")(x)
    # (batch, H / 4, W / 4, 64)
    x = basic_block(x, base_filters, name="layer1_block1", norm=norm)
    x = basic_block(x, base_filters, name="layer1_block2", norm=norm)
    x = basic_block(x, 2 * base_filters, strides=2, name="layer2_block1", norm=norm)
    x = basic_block(x, 2 * base_filters, name="layer2_block2", norm=norm)
    # (batch, H / 8, W / 8, 128)
    return keras.Model(inputs, x, name=ENCODER_NAME)


def load_encoder_weights(encoder, path):
    """Loads encoder weights from a local file.

    Args:
        encoder: The model `build_resnet18_encoder` returned.
        path: A `.weights.h5` file saved from an encoder (`encoder.save_weights`), or
            a `.keras` file holding either an encoder or a whole model with a layer
            named "resnet18_encoder".

    Raises:
        FileNotFoundError: If `path` does not exist.
        ValueError: If `path` has another extension.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"Encoder weights file not found: {path}")
    if path.endswith(".weights.h5"):
        encoder.load_weights(path)
    elif path.endswith(".keras"):
        source = keras.saving.load_model(path, compile=False)
        if source.name != ENCODER_NAME:
            source = source.get_layer(ENCODER_NAME)
        encoder.set_weights(source.get_weights())
    else:
        raise ValueError(
            f"encoder_weights must be a .weights.h5 or .keras file: {path}"
        )


def build_resnet18_unet(cfg):
    """Klefbom and Mjoberg's colorization net (about 0.95M parameters).

    Encoder as above; decoder conv3x3 (128), upsample x2, conv3x3 (64), conv3x3 (64),
    upsample x2, conv3x3 (32), conv3x3 to ab, upsample x2 (all nearest), norm and
    ReLU between, tanh. Widths scale with `base_filters` / 64.

    Args:
        cfg: A resolved `ModelConfig` named "resnet18_unet".

    Returns:
        The functional `keras.Model`.
    """
    base = cfg.base_filters
    encoder = build_resnet18_encoder(cfg.input_channels, base, cfg.norm)
    if cfg.encoder_weights:
        load_encoder_weights(encoder, cfg.encoder_weights)
    inputs = keras.Input((None, None, cfg.input_channels), name="L")
    x = encoder(inputs)  # (batch, H / 8, W / 8, 128)
    x = conv_norm_act(x, 2 * base, 3, name="dec1", norm=cfg.norm)
    x = keras.layers.UpSampling2D(2, name="dec1_up")(x)  # (batch, H / 4, W / 4, 128)
    x = conv_norm_act(x, base, 3, name="dec2", norm=cfg.norm)
    x = conv_norm_act(x, base, 3, name="dec3", norm=cfg.norm)
    x = keras.layers.UpSampling2D(2, name="dec3_up")(x)  # (batch, H / 2, W / 2, 64)
    x = conv_norm_act(x, max(base // 2, 1), 3, name="dec4", norm=cfg.norm)
    x = keras.layers.Conv2D(cfg.output_channels, 3, padding="same", name="ab_conv")(x)
    x = keras.layers.UpSampling2D(2, name="ab_up")(x)  # (batch, H, W, 2)
    return keras.Model(inputs, tanh_output(x), name="resnet18_unet")


# Klefbom and Mjoberg: ResNet-18 stem + layer1 + layer2 and an upsampling decoder.
RESNET18_UNET = ModelSpec(
    build_resnet18_unet,
    defaults={
        "base_filters": 64,
        "norm": "batch",
        "input_channels": 1,
        "output_channels": 2,
        "encoder_weights": None,
    },
    stride=lambda cfg: 8,  # the encoder's three stride-2 steps
)

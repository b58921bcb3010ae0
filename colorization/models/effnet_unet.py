"""A U-Net on an ImageNet-pretrained EfficientNet-Lite0 encoder.

Every strong colorizer (Zhang, Iizuka, Larsson, DDColor, DeOldify) stands on an encoder
pretrained on ImageNet: it already knows what is sky, skin or grass. The encoder is
EfficientNet-Lite0 (`efficientnet_lite.py`) on the L channel, its stem kernel summed
over RGB so the converted ImageNet weights see the grey image as they saw colour ones;
the decoder upsamples (bilinear) and joins the encoder's features at strides 16, 8, 4
and 2, and predicts ab at half resolution.
"""

import keras

from colorization.models.blocks import (
    bins_output,
    conv_norm_act,
    dual_output,
    tanh_output,
)
from colorization.models.config import ModelSpec
from colorization.models.efficientnet_lite import (
    FEATURE_STRIDES,
    build_efficientnet_lite0_encoder,
)
from colorization.models.layers import (
    BilinearUpSampling2D,
    GlobalModulation,
    HintGain,
    PooledHints,
)

DECODER_WIDTHS = (16, 8, 4, 2)  # x base_filters, at strides 16, 8, 4, 2
GLOBAL_WIDTH = 256  # the image-level vector of the global-context branch


def global_context(top, name="global"):
    """Iizuka et al.'s global features: the encoder's top features (stride 32)
    averaged over the image and one dense layer, (batch, GLOBAL_WIDTH)."""
    pooled = keras.layers.GlobalAveragePooling2D(name=f"{name}_pool")(top)
    return keras.layers.Dense(GLOBAL_WIDTH, activation="relu", name=f"{name}_dense")(
        pooled
    )


def modulate(x, context, filters, *, name):
    """A decoder level's features modulated by the image-level vector
    (`GlobalModulation`); the scales and shifts start at zero, so a model grown from
    one without the branch starts as exactly that model."""
    params = keras.layers.Dense(2 * filters, kernel_initializer="zeros", name=name)(
        context
    )
    return GlobalModulation(name=f"{name}_apply")([x, params])


def decoder_block(x, skip, filters, *, name, norm, hints=None):
    """Upsample x2 (bilinear), concatenate the skip (and the hints at this
    resolution, last), two conv3x3-norm-ReLU."""
    x = BilinearUpSampling2D(2, name=f"{name}_up")(x)
    joined = [x, skip] if hints is None else [x, skip, hints]
    x = keras.layers.Concatenate(name=f"{name}_concat")(joined)
    x = conv_norm_act(x, filters, 3, name=f"{name}_a", norm=norm)
    return conv_norm_act(x, filters, 3, name=f"{name}_b", norm=norm)


def build_effnet_unet(cfg):
    """EfficientNet-Lite0 encoder + U-Net decoder (5.2M parameters at 16 filters).

    Args:
        cfg: A resolved `ModelConfig` named "effnet_unet"; `encoder_weights` is a
            `.weights.h5` file written by `scripts/convert_efficientnet.py`
            (random initialisation if None).

    Returns:
        The functional `keras.Model` mapping L_norm (batch, H, W, 1) to ab_norm
        (batch, H, W, 2); H and W multiples of 32. With `input_channels` 4 the input
        is L_norm and the hint channels (`data_pipeline.hints`), which enter the
        encoder's stem convolution beside L, multiplied by `hint_gain`; with
        `decoder_hints` every decoder block also gets them at its resolution
        (`PooledHints`, last in its concatenation, so a model widened from an
        automatic one gives zero weights to them). `bins_stride` is the stride of
        the bins head's logits (2: half resolution; 4: a quarter, as Zhang et al.,
        4x less work for the head and its loss); `global_context` adds Iizuka et
        al.'s image-level branch (`global_context`, `modulate`) to every decoder
        level.
    """
    inputs = keras.Input((None, None, cfg.input_channels), name="L")
    x = inputs
    if cfg.input_channels > 1 and cfg.hint_gain != 1:
        x = HintGain(cfg.hint_gain, name="hint_gain")(x)
    encoder = build_efficientnet_lite0_encoder(
        (None, None, cfg.input_channels), weights=cfg.encoder_weights
    )
    features = encoder(x)  # strides 2, 4, 8, 16, 32: 16, 24, 40, 112, 320 channels
    x = features[-1]  # (batch, H / 32, W / 32, 320)
    context = global_context(x) if cfg.global_context else None
    skips = zip(reversed(features[:-1]), reversed(FEATURE_STRIDES[:-1]), DECODER_WIDTHS)
    for level, (skip, stride, width) in enumerate(skips):
        name = f"dec{level + 1}"
        hints = None
        if cfg.input_channels > 1 and cfg.decoder_hints:
            hints = PooledHints(stride, cfg.hint_gain, name=f"{name}_hints")(inputs)
        x = decoder_block(
            x, skip, width * cfg.base_filters, name=name, norm=cfg.norm, hints=hints
        )
        if context is not None:
            x = modulate(x, context, width * cfg.base_filters, name=f"{name}_global")
    # (batch, H / 2, W / 2, 2 * base_filters): colour is smooth, so ab is predicted at
    # half resolution (Zhang et al. predict at a quarter) and upsampled.
    if cfg.head == "bins":
        ab = bins_output(x, upsample=2, pool=cfg.bins_stride // 2)
        return keras.Model(inputs, ab, name="effnet_unet")
    if cfg.head == "dual":
        ab = dual_output(x, upsample=2, bins_pool=cfg.bins_stride // 2)
        return keras.Model(inputs, ab, name="effnet_unet")
    x = keras.layers.Conv2D(cfg.output_channels, 1, name="ab_conv")(x)
    x = BilinearUpSampling2D(2, name="ab_up")(x)
    return keras.Model(inputs, tanh_output(x), name="effnet_unet")


# U-Net on an ImageNet-pretrained EfficientNet-Lite0 encoder (the default model).
EFFNET_UNET = ModelSpec(
    build_effnet_unet,
    defaults={
        "base_filters": 16,
        "norm": "batch",
        "input_channels": 1,
        "output_channels": 2,
        "encoder_weights": None,
        "head": "tanh",
        "hint_gain": 1.0,
        "decoder_hints": False,
        "bins_stride": 2,
        "global_context": False,
    },
    stride=lambda cfg: FEATURE_STRIDES[-1],
)

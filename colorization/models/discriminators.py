"""Conditional discriminators on concat(L, ab): PatchGAN and the whole-image net.

Both take (batch, H, W, 3) and return float32 logits (no sigmoid; the losses apply
it), also under mixed precision. The first and the last convolution have no
normalization; the middle ones use `cfg.norm` ("spectral" wraps their kernels).
Convolutions are initialized N(0, 0.02), norm scales N(1, 0.02).
"""

import keras

from colorization.models.blocks import (
    conv,
    conv_norm_act,
    dcgan_gamma_initializer,
    dcgan_initializer,
    level_filters,
)
from colorization.models.config import ModelSpec


def _down(x, filters, *, name, norm, cfg, strides=2, padding="same"):
    return conv_norm_act(
        x,
        filters,
        4,
        strides=strides,
        padding=padding,
        name=name,
        norm=norm,
        act="leaky_relu",
        kernel_initializer=dcgan_initializer(),
        gamma_initializer=dcgan_gamma_initializer(),
        power_iterations=cfg.power_iterations,
    )


def build_patchgan(cfg):
    """The pix2pix PatchGAN: a 70x70 receptive field at the default depth of 3.

    conv4x4 stride 2 with `base_filters` (no norm), `depth - 1` more stride-2 convs
    (128, 256), one stride-1 conv (512), a stride-1 conv to one logit per patch;
    LeakyReLU 0.2. The stride-1 convs pad by 1 as in PyTorch, so a 256 x 256 input
    gives 30 x 30 logits. Inputs need H, W >= 3 * 2**depth.

    Args:
        cfg: A resolved `ModelConfig` named "patchgan".

    Returns:
        A `keras.Model` mapping (batch, H, W, 3) to (batch, H / 2**depth - 2,
        W / 2**depth - 2, 1) logits.
    """
    inputs = keras.Input((None, None, cfg.input_channels), name="Lab")
    x = _down(inputs, cfg.base_filters, name="down1", norm="none", cfg=cfg)
    for level in range(1, cfg.depth):
        filters = level_filters(cfg.base_filters, level, cfg.max_filters)
        x = _down(x, filters, name=f"down{level + 1}", norm=cfg.norm, cfg=cfg)
        # (batch, H / 2**(level + 1), W / 2**(level + 1), filters)
    x = keras.layers.ZeroPadding2D(1, name="middle_pad")(x)
    filters = level_filters(cfg.base_filters, cfg.depth, cfg.max_filters)
    x = _down(
        x, filters, name="middle", norm=cfg.norm, cfg=cfg, strides=1, padding="valid"
    )
    # (batch, H / 2**depth - 1, W / 2**depth - 1, filters)
    x = keras.layers.ZeroPadding2D(1, name="logits_pad")(x)
    logits = conv(
        x,
        1,
        4,
        padding="valid",
        name="logits",
        kernel_initializer=dcgan_initializer(),
        dtype="float32",
    )  # (batch, H / 2**depth - 2, W / 2**depth - 2, 1)
    return keras.Model(inputs, logits, name="patchgan")


def build_pixel_discriminator(cfg):
    """Harsanyi's / Ehrenberg's whole-image discriminator: one logit per image.

    conv4x4 stride 1 with `base_filters` (no norm), `depth` stride-2 conv4x4 (128,
    256, 512) with `cfg.norm`, LeakyReLU 0.2, an unpadded conv4x4 to one channel and
    the mean over what is left of the map. At 32 x 32 (CIFAR-10) the map is 1 x 1, as
    in the original; larger inputs average the logits of overlapping regions. Inputs
    need H, W >= 4 * 2**depth.

    Args:
        cfg: A resolved `ModelConfig` named "pixel".

    Returns:
        A `keras.Model` mapping (batch, H, W, 3) to (batch, 1) logits.
    """
    inputs = keras.Input((None, None, cfg.input_channels), name="Lab")
    x = _down(inputs, cfg.base_filters, name="down0", norm="none", cfg=cfg, strides=1)
    for level in range(1, cfg.depth + 1):
        filters = level_filters(cfg.base_filters, level, cfg.max_filters)
        x = _down(x, filters, name=f"down{level}", norm=cfg.norm, cfg=cfg)
        # (batch, H / 2**level, W / 2**level, filters)
    x = conv(
        x,
        1,
        4,
        padding="valid",
        name="logits_conv",
        kernel_initializer=dcgan_initializer(),
        dtype="float32",
    )  # (batch, H / 2**depth - 3, W / 2**depth - 3, 1)
    logits = keras.layers.GlobalAveragePooling2D(dtype="float32", name="logits")(x)
    return keras.Model(inputs, logits, name="pixel_discriminator")  # (batch, 1)


# Both on concat(L, ab), with the published sizes.
_DEFAULTS = {
    "base_filters": 64,
    "depth": 3,
    "max_filters": 512,
    "norm": "batch",
    "power_iterations": 1,
    "input_channels": 3,
}
# 70x70 PatchGAN; its two unpadded 4x4 convolutions need 3 rows.
PATCHGAN = ModelSpec(build_patchgan, _DEFAULTS, discriminator=True, min_rows=3)
# Ehrenberg / Harsanyi whole-image discriminator (one logit per image); its unpadded
# last 4x4 convolution needs 4 rows.
PIXEL = ModelSpec(build_pixel_discriminator, _DEFAULTS, discriminator=True, min_rows=4)

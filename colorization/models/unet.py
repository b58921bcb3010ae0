"""U-Net generators with concatenated skips: Studienarbeit, pix2pix and Ehrenberg.

All take L scaled to [-1, 1] with shape (batch, H, W, 1) and return ab in [-1, 1]
with shape (batch, H, W, 2), float32 also under mixed precision. H and W must be
multiples of 2**depth.
"""

import keras

from colorization.models.blocks import (
    bins_output,
    dcgan_init,
    dcgan_initializer,
    deconv_norm_act,
    dual_output,
    level_filters,
    normalization,
    strided_encoder,
    tanh_output,
)
from colorization.models.config import ModelSpec


def unet_conv_block(x, filters, *, name, norm, dropout):
    """keras-unet's `conv2d_block`: [conv3x3 ReLU, norm, dropout, conv3x3 ReLU, norm].

    The convolutions keep their bias and apply ReLU before the normalization, as in
    the keras-unet version the Studienarbeit used.
    """
    for i in (1, 2):
        x = keras.layers.Conv2D(
            filters,
            3,
            padding="same",
            activation="relu",
            kernel_initializer="he_uniform",
            name=f"{name}_conv{i}",
        )(x)
        layer = normalization(norm, f"{name}_norm{i}")
        if layer is not None:
            x = layer(x)
        if i == 1 and dropout:
            x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return x


def build_unet(cfg):
    """The Studienarbeit U-Net: keras-unet `custom_unet(upsample_mode="simple")`.

    Max-pooling down, a bottleneck of base * 2**depth filters, UpSampling2D followed by
    the skip concatenation and a conv block (dropout only in the encoder), a 1x1
    convolution to ab and tanh. 31,389,634 trainable parameters at 64 base filters
    and depth 4.

    Args:
        cfg: A resolved `ModelConfig` named "unet".

    Returns:
        The functional `keras.Model`.
    """
    inputs = keras.Input((None, None, cfg.input_channels), name="L")
    x = inputs
    skips = []
    for level in range(cfg.depth):
        filters = level_filters(cfg.base_filters, level)
        name = f"down{level + 1}"
        x = unet_conv_block(x, filters, name=name, norm=cfg.norm, dropout=cfg.dropout)
        skips.append(x)  # (batch, H / 2**level, W / 2**level, filters)
        x = keras.layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    bottleneck_filters = level_filters(cfg.base_filters, cfg.depth)
    x = unet_conv_block(
        x, bottleneck_filters, name="bottleneck", norm=cfg.norm, dropout=cfg.dropout
    )  # (batch, H / 2**depth, W / 2**depth, base * 2**depth)
    for level in reversed(range(cfg.depth)):
        name = f"up{level + 1}"
        x = keras.layers.UpSampling2D(2, name=f"{name}_upsample")(x)
        x = keras.layers.Concatenate(name=f"{name}_concat")([x, skips[level]])
        filters = level_filters(cfg.base_filters, level)
        x = unet_conv_block(x, filters, name=name, norm=cfg.norm, dropout=0.0)
        # (batch, H / 2**level, W / 2**level, filters)
    if cfg.head == "bins":
        return keras.Model(inputs, bins_output(x), name="unet")
    if cfg.head == "dual":
        return keras.Model(inputs, dual_output(x), name="unet")
    x = keras.layers.Conv2D(
        cfg.output_channels, 1, kernel_initializer="he_uniform", name="ab_conv"
    )(x)  # (batch, H, W, 2)
    return keras.Model(inputs, tanh_output(x), name="unet")


def _has_pix2pix_dropout(level, depth):
    """Whether the up step into `level` has dropout, as in pytorch-CycleGAN-and-pix2pix.

    Its U-Net puts dropout in the `depth - 5` blocks just outside the innermost one
    (the 512-filter blocks at depth 8), not in the innermost up itself.
    """
    return 3 <= level <= depth - 3


def build_pix2pix_unet(cfg):
    """The pix2pix U-Net generator (Isola et al.) for L -> ab.

    `depth` stride-2 4x4 convolutions with LeakyReLU 0.2 (no norm on the first and
    the innermost: instance norm of a 1x1 map would erase it), transposed
    convolutions with ReLU and dropout 0.5 in the inner 512-filter levels,
    concatenated skips, a last transposed convolution to ab and tanh. N(0, 0.02)
    initialization.

    Args:
        cfg: A resolved `ModelConfig` named "pix2pix_unet".

    Returns:
        The functional `keras.Model`.
    """
    init = dcgan_init()
    inputs = keras.Input((None, None, cfg.input_channels), name="L")
    # No norm on the outermost and the innermost (1 x 1 at 256 px) levels.
    x, skips = strided_encoder(inputs, cfg, plain_levels=(0, cfg.depth - 1), **init)
    for level in reversed(range(cfg.depth - 1)):
        filters = level_filters(cfg.base_filters, level, cfg.max_filters)
        dropout = cfg.dropout if _has_pix2pix_dropout(level, cfg.depth) else 0.0
        x = deconv_norm_act(
            x, filters, name=f"up{level + 1}", norm=cfg.norm, dropout=dropout, **init
        )
        x = keras.layers.Concatenate(name=f"up{level + 1}_concat")([x, skips[level]])
        # (batch, H / 2**(level + 1), W / 2**(level + 1), 2 * filters)
    x = keras.layers.Conv2DTranspose(
        cfg.output_channels,
        4,
        strides=2,
        padding="same",
        kernel_initializer=dcgan_initializer(),
        name="ab_deconv",
    )(x)  # (batch, H, W, 2)
    return keras.Model(inputs, tanh_output(x), name="pix2pix_unet")


def build_ehrenberg_unet(cfg):
    """Ehrenberg's / Harsanyi's CIFAR-10 U-Net without the 32 -> 35 resize.

    `depth` stride-2 4x4 convolutions with norm and LeakyReLU 0.2, `depth - 1`
    transposed convolutions with norm, ReLU and dropout in the first two, concatenated
    skips, a last transposed convolution back to full resolution, a 1x1 convolution to
    ab and tanh. N(0, 0.02) initialization.

    Args:
        cfg: A resolved `ModelConfig` named "ehrenberg_unet".

    Returns:
        The functional `keras.Model`.
    """
    init = dcgan_init()
    inputs = keras.Input((None, None, cfg.input_channels), name="L")
    x, skips = strided_encoder(inputs, cfg, **init)  # norm on every level
    for i, level in enumerate(reversed(range(cfg.depth - 1))):
        filters = level_filters(cfg.base_filters, level, cfg.max_filters)
        dropout = cfg.dropout if i < 2 else 0.0
        x = deconv_norm_act(
            x, filters, name=f"up{level + 1}", norm=cfg.norm, dropout=dropout, **init
        )
        x = keras.layers.Concatenate(name=f"up{level + 1}_concat")([x, skips[level]])
        # (batch, H / 2**(level + 1), W / 2**(level + 1), 2 * filters)
    x = deconv_norm_act(
        x, cfg.base_filters, name="up0", norm=cfg.norm, **init
    )  # (batch, H, W, base)
    x = keras.layers.Conv2D(
        cfg.output_channels, 1, kernel_initializer=dcgan_initializer(), name="ab_conv"
    )(x)  # (batch, H, W, 2)
    return keras.Model(inputs, tanh_output(x), name="ehrenberg_unet")


# Ketterer's Studienarbeit: keras-unet custom_unet(filters=64, dropout=0.2, ...).
UNET = ModelSpec(
    build_unet,
    defaults={
        "base_filters": 64,
        "depth": 4,
        "dropout": 0.2,
        "norm": "batch",
        "input_channels": 1,
        "output_channels": 2,
        "head": "tanh",
    },
)
# Group 4: pix2pix U-Net (1 channel L in, 2 channels ab out).
PIX2PIX_UNET = ModelSpec(
    build_pix2pix_unet,
    defaults={
        "base_filters": 64,
        "depth": 8,
        "max_filters": 512,
        "dropout": 0.5,
        "norm": "instance",
        "input_channels": 1,
        "output_channels": 2,
    },
)
# Ehrenberg / Harsanyi CIFAR-10 U-Net.
EHRENBERG_UNET = ModelSpec(
    build_ehrenberg_unet,
    defaults={
        "base_filters": 64,
        "depth": 5,
        "max_filters": 512,
        "dropout": 0.5,
        "norm": "batch",
        "input_channels": 1,
        "output_channels": 2,
    },
)

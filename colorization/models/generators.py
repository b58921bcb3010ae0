"""Residual generators: Zhu's residual U-Net and the Johnson-style ResNet generator.

Both take L scaled to [-1, 1] with shape (batch, H, W, 1) and return ab in [-1, 1]
with shape (batch, H, W, 2), float32 also under mixed precision.
"""

import keras

from colorization.models.blocks import (
    conv_norm_act,
    dcgan_gamma_initializer,
    dcgan_init,
    dcgan_initializer,
    deconv_norm_act,
    level_filters,
    strided_encoder,
    tanh_output,
)
from colorization.models.config import ModelSpec
from colorization.models.layers import ReflectionPadding2D


def zhu_residual_block(x, filters, *, name, norm):
    """[conv3x3, norm, ReLU] x 2 plus the identity, as in Zhu's `ResnetBlock`."""
    shortcut = x
    for i in (1, 2):
        x = conv_norm_act(
            x,
            filters,
            3,
            name=f"{name}_{i}",
            norm=norm,
            kernel_initializer=dcgan_initializer(),
            gamma_initializer=dcgan_gamma_initializer(),
        )
    return keras.layers.Add(name=f"{name}_add")([shortcut, x])


def _residual_stack(x, filters, *, name, cfg):
    for i in range(cfg.num_res_blocks):
        x = zhu_residual_block(x, filters, name=f"{name}_res{i + 1}", norm=cfg.norm)
    return x


def build_residual_unet(cfg):
    """Zhu's residual U-Net (about 140M parameters at 64 filters and depth 8).

    Each of `depth` levels: a 4x4 stride-2 convolution, norm (not on the first level),
    LeakyReLU 0.2 and `num_res_blocks` residual blocks on the way down; as many
    residual blocks, a 4x4 stride-2 transposed convolution, norm, ReLU (dropout in
    the inner 512-filter levels, as in pix2pix) on the way up, and the skip is ADDED to
    the level's input. The outermost up goes straight to ab and tanh. Convolutions
    are initialized N(0, 0.02), norm scales N(1, 0.02).

    Args:
        cfg: A resolved `ModelConfig` named "residual_unet".

    Returns:
        The functional `keras.Model`.
    """
    init = dcgan_init()
    inputs = keras.Input((None, None, cfg.input_channels), name="L")
    # Zhu's down convolutions have no bias, even the first one, which has no norm.
    x, skips = strided_encoder(
        inputs,
        cfg,
        plain_levels=(0,),
        use_bias=False,
        level_block=lambda x, filters, name: _residual_stack(
            x, filters, name=name, cfg=cfg
        ),
        **init,
    )
    for level in reversed(range(1, cfg.depth)):
        filters = level_filters(cfg.base_filters, level, cfg.max_filters)
        name = f"up{level + 1}"
        x = _residual_stack(x, filters, name=name, cfg=cfg)
        dropout = cfg.dropout if 4 <= level <= cfg.depth - 2 else 0.0
        outer_filters = level_filters(cfg.base_filters, level - 1, cfg.max_filters)
        x = deconv_norm_act(
            x, outer_filters, name=name, norm=cfg.norm, dropout=dropout, **init
        )
        x = keras.layers.Add(name=f"{name}_skip")([skips[level - 1], x])
        # (batch, H / 2**level, W / 2**level, outer_filters)
    x = _residual_stack(x, cfg.base_filters, name="up1", cfg=cfg)
    x = keras.layers.Conv2DTranspose(
        cfg.output_channels,
        4,
        strides=2,
        padding="same",
        kernel_initializer=dcgan_initializer(),
        name="ab_deconv",
    )(x)  # (batch, H, W, 2)
    return keras.Model(inputs, tanh_output(x), name="residual_unet")


def johnson_residual_block(x, filters, *, name, norm):
    """Reflection pad, conv3x3, norm, ReLU, reflection pad, conv3x3, norm, + identity.

    Johnson et al. used unpadded convolutions and cropped the identity; reflection
    padding keeps the size instead (as in CycleGAN's ResNet generator).
    """
    shortcut = x
    x = ReflectionPadding2D(1, name=f"{name}_pad1")(x)
    x = conv_norm_act(x, filters, 3, padding="valid", name=f"{name}_1", norm=norm)
    x = ReflectionPadding2D(1, name=f"{name}_pad2")(x)
    x = conv_norm_act(
        x, filters, 3, padding="valid", name=f"{name}_2", norm=norm, act=None
    )
    return keras.layers.Add(name=f"{name}_add")([shortcut, x])


def build_resnet_generator(cfg):
    """Johnson-style image transformation network for L -> ab (about 1.7M params).

    conv9x9 (32), `depth` stride-2 conv3x3 (64, 128), `num_res_blocks` residual
    blocks, `depth` stride-2 transposed conv3x3 (64, 32), conv9x9 to ab and tanh;
    norm and ReLU between. Deviation from the original: instead of one 40-pixel
    reflection pad and unpadded convolutions, each convolution keeps the size
    (reflection padding for the 9x9 and residual convolutions, "same" for the strided
    ones), so the output has the input's size for any H, W multiple of 2**depth.
    Glorot-uniform initialization, as in Ehrenberg's version.

    Args:
        cfg: A resolved `ModelConfig` named "resnet_generator".

    Returns:
        The functional `keras.Model`.
    """
    inputs = keras.Input((None, None, cfg.input_channels), name="L")
    x = ReflectionPadding2D(4, name="in_pad")(inputs)
    x = conv_norm_act(x, cfg.base_filters, 9, padding="valid", name="in", norm=cfg.norm)
    # (batch, H, W, base)
    for level in range(1, cfg.depth + 1):
        filters = level_filters(cfg.base_filters, level)
        x = conv_norm_act(x, filters, 3, strides=2, name=f"down{level}", norm=cfg.norm)
        # (batch, H / 2**level, W / 2**level, filters)
    filters = level_filters(cfg.base_filters, cfg.depth)
    for i in range(cfg.num_res_blocks):
        x = johnson_residual_block(x, filters, name=f"res{i + 1}", norm=cfg.norm)
    for level in reversed(range(cfg.depth)):
        filters = level_filters(cfg.base_filters, level)
        x = deconv_norm_act(x, filters, 3, name=f"up{level + 1}", norm=cfg.norm)
        # (batch, H / 2**level, W / 2**level, filters)
    x = ReflectionPadding2D(4, name="out_pad")(x)
    x = keras.layers.Conv2D(cfg.output_channels, 9, name="ab_conv")(
        x
    )  # (batch, H, W, 2)
    return keras.Model(inputs, tanh_output(x), name="resnet_generator")


# Zhu: residual U-Net with added skips.
RESIDUAL_UNET = ModelSpec(
    build_residual_unet,
    defaults={
        "base_filters": 64,
        "depth": 8,
        "max_filters": 512,
        "dropout": 0.5,
        "norm": "batch",
        "num_res_blocks": 2,
        "input_channels": 1,
        "output_channels": 2,
    },
)
# Group 4 Lab GAN: Johnson style-transfer network.
RESNET_GENERATOR = ModelSpec(
    build_resnet_generator,
    defaults={
        "base_filters": 32,
        "depth": 2,
        "num_res_blocks": 5,
        "norm": "batch",
        "input_channels": 1,
        "output_channels": 2,
    },
)

"""Named building blocks shared by the generators and discriminators.

Every block takes and returns a symbolic tensor and names its layers after the
`name` it is given (`f"{name}_conv"`, `f"{name}_norm"`, ...), so weights can be found
by name in a loaded model.
"""

import keras

from colorization.models import ab_gamut
from colorization.models.layers import (
    AnnealedMean,
    BilinearUpSampling2D,
    FusedBatchNormalization,
    HeadBlend,
)
from colorization.models.spectral_norm import SpectralNormalization


def dcgan_initializer():
    """Returns the N(0, 0.02) kernel initializer of DCGAN, pix2pix and Zhu."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def dcgan_gamma_initializer():
    """Returns the N(1, 0.02) batch-norm scale initializer that goes with it."""
    return keras.initializers.RandomNormal(mean=1.0, stddev=0.02)


def dcgan_init():
    """The keyword arguments of DCGAN's initialization for the blocks below:
    convolutions N(0, 0.02), norm scales N(1, 0.02)."""
    return {
        "kernel_initializer": dcgan_initializer(),
        "gamma_initializer": dcgan_gamma_initializer(),
    }


def normalization(norm, name, gamma_initializer="ones"):
    """Returns the normalization layer for `norm`, or None.

    Args:
        norm: "batch", "instance", "spectral" or "none". Spectral normalization acts on
            the convolution kernel (see `conv`), so it adds no layer here.
        name: Layer name.
        gamma_initializer: Initializer of the scale.
    """
    if norm == "batch":
        return FusedBatchNormalization(gamma_initializer=gamma_initializer, name=name)
    if norm == "instance":
        # GroupNormalization with one group per channel is instance normalization;
        # it computes in float32 under mixed precision and serializes as is.
        return keras.layers.GroupNormalization(
            groups=-1, epsilon=1e-5, gamma_initializer=gamma_initializer, name=name
        )
    if norm in ("spectral", "none"):
        return None
    raise ValueError(
        f"norm must be one of batch, instance, spectral, none; got {norm!r}."
    )


def activation(x, kind, name):
    """Applies "relu", "leaky_relu" (slope 0.2) or nothing (None) to `x`."""
    if kind is None:
        return x
    if kind == "relu":
        return keras.layers.ReLU(name=name)(x)
    if kind == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=0.2, name=name)(x)
    raise ValueError(f"activation must be relu, leaky_relu or None; got {kind!r}.")


def conv(
    x,
    filters,
    kernel_size,
    *,
    name,
    strides=1,
    padding="same",
    norm="none",
    use_bias=None,
    kernel_initializer="glorot_uniform",
    power_iterations=1,
    dtype=None,
):
    """A `Conv2D`, wrapped in spectral normalization when `norm` is "spectral".

    Args:
        x: Input tensor.
        filters: Output channels.
        kernel_size: Kernel side.
        name: Name of the convolution layer.
        strides: Convolution stride.
        padding: "same" or "valid".
        norm: The normalization that follows (decides the bias and the wrapper).
        use_bias: Defaults to no bias when a batch or instance norm follows, which
            would cancel it.
        kernel_initializer: Kernel initializer.
        power_iterations: Power iterations of spectral normalization.
        dtype: Layer dtype policy; "float32" for logits under mixed precision.
    """
    if use_bias is None:
        use_bias = norm in ("spectral", "none")
    layer = keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        use_bias=use_bias,
        kernel_initializer=kernel_initializer,
        name=name,
        dtype=dtype,
    )
    if norm == "spectral":
        layer = SpectralNormalization(
            layer, power_iterations=power_iterations, name=f"{name}_sn", dtype=dtype
        )
    return layer(x)


def conv_norm_act(
    x,
    filters,
    kernel_size,
    *,
    name,
    strides=1,
    padding="same",
    norm="batch",
    act="relu",
    dropout=0.0,
    use_bias=None,
    kernel_initializer="glorot_uniform",
    gamma_initializer="ones",
    power_iterations=1,
):
    """Convolution, normalization, activation and optional dropout.

    Args:
        x: Input tensor.
        filters: Output channels.
        kernel_size: Kernel side.
        name: Prefix of the layer names.
        strides: Convolution stride.
        padding: "same" or "valid".
        norm: "batch", "instance", "spectral" or "none".
        act: "relu", "leaky_relu" or None.
        dropout: Dropout rate after the activation; 0 adds no layer.
        use_bias: See `conv`.
        kernel_initializer: Kernel initializer.
        gamma_initializer: Scale initializer of the normalization.
        power_iterations: Power iterations of spectral normalization.
    """
    x = conv(
        x,
        filters,
        kernel_size,
        name=f"{name}_conv",
        strides=strides,
        padding=padding,
        norm=norm,
        use_bias=use_bias,
        kernel_initializer=kernel_initializer,
        power_iterations=power_iterations,
    )
    return _norm_act_dropout(x, name, norm, act, dropout, gamma_initializer)


def deconv_norm_act(
    x,
    filters,
    kernel_size=4,
    *,
    name,
    strides=2,
    norm="batch",
    act="relu",
    dropout=0.0,
    use_bias=None,
    kernel_initializer="glorot_uniform",
    gamma_initializer="ones",
):
    """Transposed convolution ("same", so the size grows by `strides`), norm, act.

    Args are those of `conv_norm_act`; spectral normalization is not offered here.
    """
    if norm == "spectral":
        raise ValueError("Spectral normalization is for discriminators only.")
    if use_bias is None:
        use_bias = norm == "none"
    x = keras.layers.Conv2DTranspose(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=use_bias,
        kernel_initializer=kernel_initializer,
        name=f"{name}_deconv",
    )(x)
    return _norm_act_dropout(x, name, norm, act, dropout, gamma_initializer)


def _norm_act_dropout(x, name, norm, act, dropout, gamma_initializer):
    layer = normalization(norm, f"{name}_norm", gamma_initializer)
    if layer is not None:
        x = layer(x)
    x = activation(x, act, f"{name}_act")
    if dropout:
        x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return x


def bins_output(x, upsample=1, name="ab", pool=1):
    """Zhang et al.'s head: a 1x1 convolution to logits over the in-gamut ab bins
    (layer "ab_logits", which the classification loss reads), their annealed mean in
    float32, and bilinear upsampling by `upsample`. The model's output stays ab in
    [-1, 1], so inference and export do not know which head was trained. With `pool`
    > 1 the features are average-pooled by it first (the logits at a lower
    resolution, upsampled by `upsample * pool`): the logits convolution's weights
    are the same, so a head trained at one resolution runs at another."""
    centres = ab_gamut.gamut_centres()
    if pool > 1:
        x = keras.layers.AveragePooling2D(pool, name=f"{name}_pool")(x)
    logits = keras.layers.Conv2D(len(centres), 1, name="ab_logits")(x)
    upsample *= pool
    mean_name = name if upsample == 1 else f"{name}_mean"
    ab = AnnealedMean(centres, ab_gamut.TEMPERATURE, dtype="float32", name=mean_name)(
        logits
    )
    if upsample > 1:
        ab = BilinearUpSampling2D(upsample, dtype="float32", name=name)(ab)
    return ab


def dual_output(x, upsample=1, blend=0.5, bins_pool=1):
    """Two heads on one trunk: Zhang et al.'s bins head ("ab_bins", from the logits
    layer "ab_logits", its features pooled by `bins_pool`) and an L1 regression head
    ("ab_l1", from "ab_conv"), blended by a `HeadBlend` layer into the output "ab".
    Training reads both heads; inference and export see one ab output, as for every
    other generator."""
    bins_ab = bins_output(x, upsample, name="ab_bins", pool=bins_pool)
    # Zero at the start: grey, so a trunk taken from a trained bins model is not
    # pulled about by a random second head.
    l1_ab = keras.layers.Conv2D(2, 1, kernel_initializer="zeros", name="ab_conv")(x)
    if upsample > 1:
        l1_ab = BilinearUpSampling2D(upsample, name="ab_l1_up")(l1_ab)
    l1_ab = tanh_output(l1_ab, name="ab_l1")
    return HeadBlend(blend, dtype="float32", name="ab")([bins_ab, l1_ab])


def tanh_output(x, name="ab"):
    """The generator output: tanh in float32, also under mixed precision."""
    return keras.layers.Activation("tanh", dtype="float32", name=name)(x)


def level_filters(base_filters, level, max_filters=None):
    """Filters of U-Net level `level` (0 = full resolution): base * 2**level, capped."""
    filters = base_filters * 2**level
    return filters if max_filters is None else min(filters, max_filters)


def strided_encoder(
    x, cfg, *, plain_levels=(), use_bias=None, level_block=None, **initializers
):
    """The down path of the strided U-Nets (pix2pix, Ehrenberg, Zhu): `cfg.depth`
    levels of a 4x4 stride-2 convolution, norm and LeakyReLU 0.2.

    Args:
        x: Input tensor (batch, H, W, C).
        cfg: A resolved ModelConfig (depth, base_filters, max_filters, norm).
        plain_levels: Levels (0 = the first) without normalization.
        use_bias: See `conv` (default: a bias only where no norm follows).
        level_block: Optional `f(x, filters, name) -> x` applied after each level's
            convolution (Zhu's residual blocks).
        **initializers: `kernel_initializer` and `gamma_initializer`.

    Returns:
        (x, skips): the innermost tensor and each level's output, skips[level] at
        (batch, H / 2**(level + 1), W / 2**(level + 1), filters).
    """
    skips = []
    for level in range(cfg.depth):
        filters = level_filters(cfg.base_filters, level, cfg.max_filters)
        name = f"down{level + 1}"
        x = conv_norm_act(
            x,
            filters,
            4,
            strides=2,
            name=name,
            norm="none" if level in plain_levels else cfg.norm,
            act="leaky_relu",
            use_bias=use_bias,
            **initializers,
        )
        if level_block is not None:
            x = level_block(x, filters, name)
        skips.append(x)
    return x, skips

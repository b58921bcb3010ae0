"""Small Keras models with known outputs, for the inference tests."""

import dataclasses

import keras
import numpy as np

from colorization.models.layers import nested_layers


def constant_ab_model(a_norm, b_norm, stride=1):
    """A model whose ab_norm output is (a_norm, b_norm) everywhere (tanh of a bias).

    With stride > 1 it pools and upsamples, so inputs must be multiples of `stride`.
    """
    inputs = keras.Input((None, None, 1))
    x = inputs
    if stride > 1:
        x = keras.layers.MaxPooling2D(stride)(x)
        x = keras.layers.UpSampling2D(stride)(x)
    bias = keras.initializers.Constant(np.arctanh([a_norm, b_norm]))
    outputs = keras.layers.Conv2D(
        2, 1, kernel_initializer="zeros", bias_initializer=bias, activation="tanh"
    )(x)
    return keras.Model(inputs, outputs)


def tiny_unet():
    from colorization.models import ModelConfig, build_generator

    return build_generator(ModelConfig(name="unet", base_filters=4, depth=2))


def hint_oracle_model():
    """A hinted model whose ab_norm is the hint ab it is given: grey without hints,
    the hint's colour exactly on its patch (where a hint lands is visible)."""
    inputs = keras.Input((None, None, 4))
    return keras.Model(inputs, keras.layers.Identity()(inputs)[..., 1:3])


def tiny_hinted_unet(seed=6):
    """A tiny hinted U-Net with random weights: hints change its output."""
    from colorization.models import ModelConfig, build_generator

    keras.utils.set_random_seed(seed)
    return build_generator(
        ModelConfig(name="unet", base_filters=4, depth=2, input_channels=4)
    )


def effnet_twin(model, hinted):
    """`model`'s weights in its own architecture (`effnet_unet`, two heads; its bins
    head's stride and global branch as `model` has them) taking
    L (`hinted` False, the "default" preset) or L and the hint channels (True,
    "default-hints"), its blend kept: `copy_weights` widens the first convolution
    (hint weights at zero) or narrows it to its L channel. Returns (twin, report)."""
    from colorization.config.presets import resolve_config
    from colorization.models import build_generator, set_blend
    from colorization.models.layers import HeadBlend
    from colorization.training.warm_start import copy_weights

    preset = "default-hints" if hinted else "default"
    names = {layer.name: layer for layer in nested_layers(model)}
    pool = names.get("ab_bins_pool")  # a bins head below half resolution
    generator = dataclasses.replace(
        resolve_config(preset).generator,
        bins_stride=2 * (pool.pool_size[0] if pool else 1),
        global_context="global_dense" in names,
    )
    twin = build_generator(generator)
    report = copy_weights(twin, model)
    for layer in nested_layers(model):
        if isinstance(layer, HeadBlend):  # a setting, not a weight
            set_blend(twin, layer.weight)
    return twin, report


def shipped_twins():
    """The shipped default model and its `effnet_twin` with the other input, as
    (automatic, hinted, report), whichever of the two is shipped: without hints
    they are one network."""
    from colorization.inference.colorizer import default_model_path, load_model
    from colorization.models import is_hinted

    shipped = load_model(default_model_path())
    twin, report = effnet_twin(shipped, hinted=not is_hinted(shipped))
    pair = (twin, shipped) if is_hinted(shipped) else (shipped, twin)
    return (*pair, report)

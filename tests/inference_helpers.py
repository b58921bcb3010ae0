"""Small Keras models with known outputs, for the inference tests."""

import keras
import numpy as np


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

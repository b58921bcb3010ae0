"""Colorization generators and discriminators, built by name from a `ModelConfig`.

Example:
    >>> from colorization.models import ModelConfig, build_generator
    >>> model = build_generator(ModelConfig(name="unet", base_filters=16))
"""

from colorization.models.config import (
    DISCRIMINATOR_NAMES,
    GENERATOR_NAMES,
    MODEL_DEFAULTS,
    NORMS,
    ModelConfig,
)
from colorization.models.layers import (
    AnnealedMean,
    HeadBlend,
    ReflectionPadding2D,
    set_blend,
    set_temperature,
)
from colorization.models.registry import (
    DISCRIMINATORS,
    GENERATORS,
    build_discriminator,
    build_generator,
    min_input_size,
    model_stride,
)
from colorization.models.resnet18 import build_resnet18_encoder, load_encoder_weights
from colorization.models.spectral_norm import SpectralNormalization

__all__ = [
    "AnnealedMean",
    "DISCRIMINATORS",
    "DISCRIMINATOR_NAMES",
    "GENERATORS",
    "GENERATOR_NAMES",
    "HeadBlend",
    "MODEL_DEFAULTS",
    "NORMS",
    "ModelConfig",
    "ReflectionPadding2D",
    "SpectralNormalization",
    "build_discriminator",
    "build_generator",
    "build_resnet18_encoder",
    "load_encoder_weights",
    "min_input_size",
    "model_stride",
    "set_blend",
    "set_temperature",
]
